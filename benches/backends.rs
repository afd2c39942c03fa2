//! The same engine workloads on the embedded redb file and on PostgreSQL
//! (a local server from the `postgresql` package with its default
//! durability: fsync on every commit), one criterion group per workload so
//! each ratio comes from one run:
//!
//! - `backend_put_durable_1k`: one durable put of 1 KiB.
//! - `backend_concurrent_put_1k`: 64 writers at once (group commit), per put.
//! - `backend_get_1k`: a point read, decrypted; beside it, `select_1`: a
//!   bare prepared `SELECT 1` on a connection to the same PostgreSQL
//!   server (the floor of any PostgreSQL read: one round trip).
//! - `backend_list_page_20` and `backend_list_page_50`: pages of 20 and
//!   50 records of 1 KiB, on PostgreSQL after `ANALYZE` (what autovacuum
//!   keeps up on a live server).
//! - `backend_purge_1000`: purging 1 000 expired records beside 1 000 live.
//!
//! Run: `cargo bench --bench backends` (needs PostgreSQL installed; without
//! it only the redb side runs, after a loud message).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::DAY;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use strongroom::engine::secrecy::{ExposeSecret, SecretString};
use strongroom::engine::{Clock, Engine, ManualClock, SystemClock, Timestamp, UserId};
use strongroom_testkit::postgres::PgCluster;

/// The two stores, opened the same way.
struct Backends {
    _dir: tempfile::TempDir,
    cluster: Option<PgCluster>,
    next: std::cell::Cell<u32>,
    /// The databases of the PostgreSQL engines opened so far.
    databases: std::cell::RefCell<Vec<SecretString>>,
}

impl Backends {
    fn new() -> Self {
        Self {
            _dir: tempfile::tempdir().expect("tempdir"),
            cluster: PgCluster::start_durable("benches/backends"),
            next: std::cell::Cell::new(0),
            databases: std::cell::RefCell::default(),
        }
    }

    /// A plain connection to the PostgreSQL server, if there is one.
    fn bare_client(&self) -> Option<postgres::Client> {
        let url = self.cluster.as_ref()?.database("bare");
        postgres::Client::connect(url.expose_secret(), postgres::NoTls).ok()
    }

    /// Brings PostgreSQL's statistics up to date in the engines'
    /// databases, as autovacuum does on a live server within a minute of a
    /// load. Without them a table just filled is planned as if it were
    /// tiny: a page becomes a bitmap scan and a sort of every row in range
    /// instead of a walk down the index that stops after the page (2× the
    /// time for 200 records of 1 KiB).
    fn analyze(&self) {
        for url in self.databases.borrow().iter() {
            let mut client =
                postgres::Client::connect(url.expose_secret(), postgres::NoTls).expect("connect");
            client.batch_execute("ANALYZE").expect("analyze");
        }
    }

    /// The backends this machine can run.
    fn names(&self) -> Vec<&'static str> {
        match self.cluster {
            Some(_) => vec!["redb", "postgres"],
            None => vec!["redb"],
        }
    }

    /// A fresh engine with one user on `backend`.
    fn engine(&self, backend: &str, clock: Arc<dyn Clock>) -> (Engine, UserId) {
        let n = self.next.get();
        self.next.set(n + 1);
        let mut builder = Engine::builder(common::master_key());
        builder.clock(clock);
        let engine = match (backend, &self.cluster) {
            ("postgres", Some(cluster)) => {
                let url = cluster.database(&format!("bench{n}"));
                let engine = builder.open_postgres(&url, 70).expect("postgres");
                self.databases.borrow_mut().push(url);
                engine
            }
            _ => builder
                .open(self._dir.path().join(format!("engine{n}.redb")))
                .expect("redb"),
        };
        let user = common::bench_user(&engine);
        (engine, user)
    }
}

fn workloads(c: &mut Criterion) {
    let backends = Backends::new();
    let payload = vec![0x5a; 1024];
    let engines: Vec<_> = backends
        .names()
        .into_iter()
        .map(|name| {
            let (engine, user) = backends.engine(name, Arc::new(SystemClock));
            (name, engine, user)
        })
        .collect();

    let mut group = c.benchmark_group("backend_put_durable_1k");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(8));
    for (name, engine, user) in &engines {
        group.bench_function(*name, |b| {
            b.iter(|| engine.records().put(*user, &payload, DAY).expect("put"))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("backend_concurrent_put_1k");
    group.sample_size(10).throughput(Throughput::Elements(1));
    for (name, engine, user) in &engines {
        group.bench_function(*name, |b| {
            b.iter_custom(|iters| common::concurrent_puts(engine, *user, &payload, 64, iters))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("backend_get_1k");
    for (name, engine, user) in &engines {
        let id = engine
            .records()
            .put(*user, &payload, DAY)
            .expect("put")
            .meta
            .id;
        group.bench_function(*name, |b| {
            b.iter(|| engine.records().get(*user, id).expect("get"))
        });
    }
    if let Some(mut client) = backends.bare_client() {
        let select = client.prepare("SELECT 1").expect("prepare");
        group.bench_function("select_1", |b| {
            b.iter(|| client.query_one(&select, &[]).expect("select"))
        });
    }
    group.finish();

    for (_, engine, user) in &engines {
        engine
            .records()
            .put_batch((0..200).map(|_| (*user, payload.as_slice())), DAY)
            .expect("load");
    }
    backends.analyze();
    for page in [20, 50] {
        let mut group = c.benchmark_group(format!("backend_list_page_{page}"));
        group.throughput(Throughput::Elements(page as u64));
        for (name, engine, user) in &engines {
            group.bench_function(*name, |b| {
                b.iter(|| engine.records().list(*user, None, page).expect("list"))
            });
        }
        group.finish();
    }
    drop(engines);

    let mut group = c.benchmark_group("backend_purge_1000");
    group.sample_size(10).throughput(Throughput::Elements(1000));
    let small = vec![0x44; 64];
    for name in backends.names() {
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    let clock = ManualClock::new(Timestamp::from_unix_millis(1_700_000_000_000));
                    let (engine, user) = backends.engine(name, Arc::new(clock.clone()));
                    engine
                        .records()
                        .put_batch((0..1000).map(|_| (user, small.as_slice())), DAY)
                        .expect("live");
                    engine
                        .records()
                        .put_batch(
                            (0..1000).map(|_| (user, small.as_slice())),
                            Some(Duration::from_secs(60)),
                        )
                        .expect("expiring");
                    clock.advance(Duration::from_secs(60));
                    (engine, clock)
                },
                |(engine, clock)| {
                    assert_eq!(
                        engine
                            .records()
                            .purge_expired(clock.now(), 1000)
                            .expect("purge"),
                        1000
                    );
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, workloads);
criterion_main!(benches);

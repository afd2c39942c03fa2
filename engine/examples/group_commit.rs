//! A measurement loop, not a usage example: WRITERS threads put 1 KiB
//! records through the engine's blocking API (`Records::put`, each thread
//! waiting for the commit that holds its record) for SECONDS, after one
//! second of warm-up, and it prints what the group commit did meanwhile,
//! from the engine's own commit metrics:
//!
//! ```text
//! cargo run --release -p strongroom-engine --example group_commit -- 64 10
//! ```
//!
//! puts per second and per commit (writes per fsync: one commit is one
//! flush), and the share of the time a commit was under way. The last two
//! say how the commits were formed and how long the store sat idle between
//! them, which the disk's speed moves far less than the puts per second
//! the `concurrent_put_1k` benchmark times (docs/performance.md).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use metrics::{Counter, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, SharedString, Unit};
use strongroom_engine::{Engine, MasterKey, SecretString};

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<u64>().ok());
    let (Some(Some(writers)), Some(Some(seconds))) = (args.next(), args.next()) else {
        eprintln!("usage: group_commit WRITERS SECONDS");
        std::process::exit(2);
    };
    let commits = Commits::default();
    metrics::set_global_recorder(commits.clone()).expect("the only recorder");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let engine = Engine::builder(MasterKey::generate().0)
        .open(dir.path().join("engine.redb"))
        .expect("open");
    let user = engine
        .accounts()
        .create("bench", &SecretString::from("correct horse battery"))
        .expect("account")
        .id;
    let (puts, stop) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicBool::new(false)),
    );
    let threads: Vec<_> = (0..writers)
        .map(|_| {
            let (engine, puts, stop) = (engine.clone(), puts.clone(), stop.clone());
            std::thread::spawn(move || {
                let ttl = Some(Duration::from_secs(86_400));
                while !stop.load(Ordering::Relaxed) {
                    engine.records().put(user, &[0x77; 1024], ttl).expect("put");
                    puts.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    let (start, puts0, before) = (Instant::now(), puts.load(Ordering::Relaxed), commits.now());
    std::thread::sleep(Duration::from_secs(seconds));
    let (wall, puts1, after) = (start.elapsed(), puts.load(Ordering::Relaxed), commits.now());
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().expect("writer");
    }
    let (done, wall) = ((puts1 - puts0) as f64, wall.as_secs_f64());
    let (count, records, busy) = (
        (after.0 - before.0) as f64,
        after.1 - before.1,
        after.2 - before.2,
    );
    println!(
        "{writers} writers, {seconds} s: {:.0} puts/s, {:.1} µs per put, {:.0} commits/s, \
         {:.1} records per commit, mean commit {:.3} ms, committing {:.1} % of the time",
        done / wall,
        1e6 * wall / done,
        count / wall,
        records / count,
        1e3 * busy / count,
        100.0 * busy / wall,
    );
}

/// The two commit histograms the engine records (batch size, duration),
/// summed; every other metric is dropped.
#[derive(Clone, Default)]
struct Commits {
    records: Arc<Sum>,
    seconds: Arc<Sum>,
}

impl Commits {
    /// (commits, records committed, seconds committing) so far.
    fn now(&self) -> (u64, f64, f64) {
        let (count, records) = self.records.read();
        (count, records, self.seconds.read().1)
    }
}

#[derive(Default)]
struct Sum(std::sync::Mutex<(u64, f64)>);

impl Sum {
    fn read(&self) -> (u64, f64) {
        *self.0.lock().expect("not poisoned")
    }
}

impl HistogramFn for Sum {
    fn record(&self, value: f64) {
        let mut sum = self.0.lock().expect("not poisoned");
        sum.0 += 1;
        sum.1 += value;
    }
}

impl metrics::Recorder for Commits {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, _: &Key, _: &Metadata<'_>) -> Counter {
        Counter::noop()
    }

    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        match key.name() {
            "strongroom_commit_batch_records" => Histogram::from_arc(self.records.clone()),
            "strongroom_commit_seconds" => Histogram::from_arc(self.seconds.clone()),
            _ => Histogram::noop(),
        }
    }
}

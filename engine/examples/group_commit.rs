//! A measurement loop, not a usage example: WRITERS threads put 1 KiB
//! records through the engine's blocking API (`Records::put`, each thread
//! waiting for the commit that holds its record) for SECONDS, after one
//! second of warm-up, and it prints what the group commit did meanwhile,
//! from the engine's own commit metrics, for the whole run or for each
//! EVERY seconds of it:
//!
//! ```text
//! cargo run --release -p strongroom-engine --example group_commit -- 64 8
//! cargo run --release -p strongroom-engine --example group_commit -- 64 70 10
//! ```
//!
//! puts per second and per commit (writes per fsync: one commit is one
//! flush), the share of the time a commit was under way, and the store
//! file's size. Records per commit and the committing share say how the
//! commits were formed and how long the store sat idle between them, which
//! the disk's speed moves far less than the puts per second the
//! `concurrent_put_1k` benchmark times (docs/performance.md).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use metrics::{Counter, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, SharedString, Unit};

mod common;

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<u64>().ok());
    let (Some(Some(writers @ 1..)), Some(Some(seconds @ 1..)), every) =
        (args.next(), args.next(), args.next())
    else {
        eprintln!("usage: group_commit WRITERS SECONDS [EVERY_SECONDS] (each at least 1)");
        std::process::exit(2);
    };
    let every = every.flatten();
    let commits = Commits::default();
    metrics::set_global_recorder(commits.clone()).expect("the only recorder");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (engine, user) = common::engine_with_account(dir.path());
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
    // One line per `every` seconds (all of the run by default): the store
    // grows as it runs, and its commits with it.
    let every = every.unwrap_or(seconds).clamp(1, seconds);
    let file = dir.path().join("engine.redb");
    let mut last = (Instant::now(), puts.load(Ordering::Relaxed), commits.now());
    for _ in 0..seconds / every {
        std::thread::sleep(Duration::from_secs(every));
        let now = (Instant::now(), puts.load(Ordering::Relaxed), commits.now());
        let size = std::fs::metadata(&file).map_or(0, |m| m.len());
        report(writers, &last, &now, size);
        last = now;
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().expect("writer");
    }
}

/// A moment of the run: when, puts so far, commits so far.
type Mark = (Instant, u64, (u64, f64, f64));

/// What happened between `from` and `to`.
fn report(writers: u64, from: &Mark, to: &Mark, store_bytes: u64) {
    let wall = (to.0 - from.0).as_secs_f64();
    let done = (to.1 - from.1) as f64;
    let (count, records, busy) = (
        (to.2.0 - from.2.0) as f64,
        to.2.1 - from.2.1,
        to.2.2 - from.2.2,
    );
    println!(
        "{writers} writers, {wall:.0} s: {:.0} puts/s, {:.1} µs per put, {:.0} commits/s, \
         {:.1} records per commit, mean commit {:.3} ms, committing {:.1} % of the time, \
         store {:.0} MB",
        done / wall,
        1e6 * wall / done,
        count / wall,
        records / count,
        1e3 * busy / count,
        100.0 * busy / wall,
        store_bytes as f64 / 1e6,
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

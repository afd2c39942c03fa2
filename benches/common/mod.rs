//! What the engine benchmarks share: the master key, the TTL, the bench
//! user, and the many-writers measurement, so `engine` and `backends`
//! measure the same way.
#![allow(dead_code)]

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use strongroom::engine::{Engine, MasterKey, SecretString, UserId};

/// Records live a day: nothing expires while a benchmark runs.
pub(crate) const DAY: Option<Duration> = Some(Duration::from_secs(86_400));

/// A fixed master key (benchmarks only).
pub(crate) fn master_key() -> MasterKey {
    strongroom_testkit::master(strongroom_testkit::KEY_A)
}

/// The one user every benchmark writes as, and its password.
pub(crate) const BENCH_USER: &str = "bench";
pub(crate) const BENCH_PASSWORD: &str = "benchmark password";

/// Creates [`BENCH_USER`].
pub(crate) fn bench_user(engine: &Engine) -> UserId {
    engine
        .accounts()
        .create(BENCH_USER, &SecretString::from(BENCH_PASSWORD))
        .expect("user")
        .id
}

/// Durable puts of `payload` from `writers` threads released together,
/// for criterion's `iter_custom`: the time per put, as if `iters` puts had
/// been made.
pub(crate) fn concurrent_puts(
    engine: &Engine,
    user: UserId,
    payload: &[u8],
    writers: usize,
    iters: u64,
) -> Duration {
    let payload: Arc<[u8]> = payload.into();
    let per_writer = iters.div_ceil(writers as u64);
    let barrier = Arc::new(Barrier::new(writers + 1));
    let handles: Vec<_> = (0..writers)
        .map(|_| {
            let (engine, payload, barrier) = (engine.clone(), payload.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                for _ in 0..per_writer {
                    engine.records().put(user, &payload, DAY).expect("put");
                }
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    for h in handles {
        h.join().expect("writer");
    }
    start
        .elapsed()
        .mul_f64(iters as f64 / (per_writer * writers as u64) as f64)
}

//! Threads released at one instant, for tests that race them.

use std::sync::Barrier;
use std::thread;

/// Runs `work(i)` for `i` in `0..n`, each on its own thread, all held at a
/// barrier until the last has started, and returns what each returned, in
/// order of `i`. A panic in any of them is resumed in the caller.
pub fn together<T: Send>(n: usize, work: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let barrier = Barrier::new(n);
    let (barrier, work) = (&barrier, &work);
    thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                scope.spawn(move || {
                    barrier.wait();
                    work(i)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn the_threads_run_at_the_same_time_and_results_keep_their_order() {
        // Each waits inside its work until all are inside theirs: run one
        // after another, the first would never see the others.
        let inside = AtomicUsize::new(0);
        let deadline = Instant::now() + Duration::from_secs(30);
        let seen = together(8, |i| {
            inside.fetch_add(1, Ordering::SeqCst);
            while inside.load(Ordering::SeqCst) < 8 {
                assert!(Instant::now() < deadline, "thread {i} ran alone");
                thread::yield_now();
            }
            i * 10
        });
        assert_eq!(seen, (0..8).map(|i| i * 10).collect::<Vec<_>>());
    }

    #[test]
    #[should_panic(expected = "thread 3 fails")]
    fn a_panic_in_one_thread_reaches_the_caller() {
        together(4, |i| assert!(i != 3, "thread {i} fails"));
    }
}

//! hyper's HTTP/1 header read timeout on one timer per connection.
//!
//! hyper starts a timer for every request head it reads and drops it once
//! the head is in. Through hyper-util's `TokioTimer` that is a new tokio
//! `Sleep` per request: an entry filed in the runtime's timer wheel and
//! taken out again, each under the wheel's lock, which every worker
//! shares. [`HeadTimer`] keeps one `Sleep` per connection. A new head only
//! records its deadline; the `Sleep` is moved to it when it wakes before
//! it (a timer filed once per header timeout, not once per request) or
//! when the deadline comes sooner than the one it is filed for.
//!
//! hyper holds at most one head timer of a connection at a time: it
//! starts one when it begins a head, may reset it, polls it while the head
//! is incomplete and drops it once the head is in. Every handle
//! this timer's `sleep_until` returns is that connection's one timer.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

/// A connection's head timer, for hyper's HTTP/1 builder.
pub(super) struct HeadTimer {
    head: Arc<Mutex<Head>>,
}

/// The current head's deadline, and the `Sleep` that wakes its task.
struct Head {
    deadline: tokio::time::Instant,
    /// Due at `deadline` or before it; filed when first polled.
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl Head {
    /// Ready once `deadline` has passed.
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.sleep.deadline() > self.deadline {
            self.sleep.as_mut().reset(self.deadline);
        }
        loop {
            ready!(self.sleep.as_mut().poll(cx));
            if self.sleep.deadline() >= self.deadline {
                return Poll::Ready(());
            }
            // Woke for an earlier head's deadline: on to this one's.
            self.sleep.as_mut().reset(self.deadline);
        }
    }
}

impl HeadTimer {
    pub(super) fn new() -> Self {
        // Far enough to be no deadline: the first head brings it forward.
        let unset = tokio::time::Instant::now() + Duration::from_secs(86_400);
        Self {
            head: Arc::new(Mutex::new(Head {
                deadline: unset,
                sleep: Box::pin(tokio::time::sleep_until(unset)),
            })),
        }
    }

    /// The connection's timer, now due at `deadline`.
    fn due_at(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        lock(&self.head).deadline = deadline.into();
        Box::pin(HeadSleep {
            head: self.head.clone(),
        })
    }
}

impl hyper::rt::Timer for HeadTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        self.due_at(self.now() + duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        self.due_at(deadline)
    }

    /// tokio's clock, as `TokioTimer`'s: a test that pauses time moves it.
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into()
    }

    /// `sleep` is a handle to this connection's one timer: moving that
    /// moves it.
    fn reset(&self, _sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        lock(&self.head).deadline = new_deadline.into();
    }
}

/// What hyper polls: a handle to its connection's timer.
struct HeadSleep {
    head: Arc<Mutex<Head>>,
}

impl Future for HeadSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        lock(&self.head).poll(cx)
    }
}

impl hyper::rt::Sleep for HeadSleep {}

/// The timer, whatever a panic elsewhere left (it holds no invariant a
/// panic could break).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};
    use std::time::Duration;

    use hyper::rt::Timer;
    use tokio::time::{Instant, timeout};

    use super::HeadTimer;

    // tokio's clock, not paused (pausing it needs tokio's `test-util`,
    // which would reach this crate's examples and benches too): the
    // deadlines are short, a timer never fires before its deadline, and
    // each wait is bounded far above what it should take.
    const LONG: Duration = Duration::from_secs(10);

    fn poll(sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>) -> Poll<()> {
        sleep.as_mut().poll(&mut Context::from_waker(Waker::noop()))
    }

    #[tokio::test]
    async fn a_head_times_out_at_its_own_deadline_not_an_earlier_ones() {
        let timer = HeadTimer::new();
        let mut first = timer.sleep(Duration::from_millis(100));
        assert!(poll(&mut first).is_pending());
        drop(first);
        tokio::time::sleep(Duration::from_millis(50)).await;
        // The next head's 200 ms run from now, although the first head's
        // deadline, which the timer is filed for, passes in 50.
        let started = Instant::now();
        let next = timer.sleep(Duration::from_millis(200));
        timeout(LONG, next).await.expect("woken");
        assert!(started.elapsed() >= Duration::from_millis(200));
    }

    #[tokio::test]
    async fn a_reset_moves_the_deadline_either_way() {
        let timer = HeadTimer::new();
        let mut sleep = timer.sleep(LONG * 2);
        assert!(poll(&mut sleep).is_pending());
        // Sooner: woken long before the first deadline.
        timer.reset(&mut sleep, timer.now() + Duration::from_millis(20));
        timeout(LONG, &mut sleep).await.expect("woken");
        // Elapsed, and moved on again: pending until the new deadline.
        let started = Instant::now();
        timer.reset(&mut sleep, timer.now() + Duration::from_millis(100));
        assert!(poll(&mut sleep).is_pending());
        timeout(LONG, sleep).await.expect("woken");
        assert!(started.elapsed() >= Duration::from_millis(100));
    }
}

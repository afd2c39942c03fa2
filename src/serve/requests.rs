//! The requests of one connection as hyper runs them: how many are in
//! flight, how many have started, and when the last one ended. The
//! connection's supervisor reads them for its header timeout, and the
//! watch between HTTP/1 requests for where one request ends and the next
//! begins.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use super::clock::now_millis;

/// One connection's requests.
#[derive(Debug)]
pub(super) struct InFlight {
    open: AtomicUsize,
    started: AtomicU64,
    last_end: AtomicU64,
}

impl InFlight {
    /// A connection opened now, with no request yet.
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Self {
            open: AtomicUsize::new(0),
            started: AtomicU64::new(0),
            last_end: AtomicU64::new(now_millis()),
        })
    }

    /// How long the connection has had no request in flight, if it has
    /// none now.
    pub(super) fn unused_for(&self, now: u64) -> Option<Duration> {
        (self.open.load(Ordering::Acquire) == 0).then(|| {
            Duration::from_millis(now.saturating_sub(self.last_end.load(Ordering::Acquire)))
        })
    }

    /// Requests started so far, if none is in flight now.
    pub(super) fn idle_after(&self) -> Option<u64> {
        (self.open.load(Ordering::Acquire) == 0).then(|| self.started.load(Ordering::Acquire))
    }

    /// Requests started so far.
    pub(super) fn started(&self) -> u64 {
        self.started.load(Ordering::Acquire)
    }
}

/// One request in flight, counted until dropped.
pub(super) struct Started(Arc<InFlight>);

impl Started {
    pub(super) fn new(requests: Arc<InFlight>) -> Self {
        requests.open.fetch_add(1, Ordering::AcqRel);
        requests.started.fetch_add(1, Ordering::AcqRel);
        Self(requests)
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        self.0.last_end.store(now_millis(), Ordering::Release);
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_counts_until_dropped() {
        let requests = InFlight::new();
        assert_eq!(requests.idle_after(), Some(0));
        let first = Started::new(requests.clone());
        assert_eq!(requests.idle_after(), None);
        assert!(requests.unused_for(now_millis()).is_none());
        drop(first);
        assert_eq!(requests.idle_after(), Some(1));
        assert_eq!(requests.started(), 1);
    }
}

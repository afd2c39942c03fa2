//! When an embedded database is opened again after an I/O failure, and
//! when writes are tried again after a full disk.
//!
//! redb latches a failed write or sync: every later call on that database
//! fails (`PreviousIo`) until it is closed and opened again, which
//! recovers it as a restart would (its last commit stands). The first call
//! that meets the latch does that, so readers go on and writers write
//! again once the cause is gone, without a restart of the process.
//!
//! A full disk is the common cause, and it lasts: every write that tries
//! fails and latches the database again, and opening it again costs what
//! opening after a crash costs (redb walks the file to rebuild its
//! allocator state: 0.3 s for a 285 MB file here) while the store's
//! readers and writers wait. So after a full disk, writes are refused as
//! such without trying for a while — a second on the engine's clock, or
//! ten times what the last reopening took if longer — and then one tries.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use redb::Database;

use crate::clock::{Clock, Timestamp};
use crate::error::StorageError;

/// Opens the same storage again.
pub(crate) type Opener = Box<dyn Fn() -> Result<Database, StorageError> + Send + Sync>;

/// The least time writes are refused after a full disk, and reopenings
/// after one that failed.
const MIN_PAUSE: Duration = Duration::from_secs(1);
/// How many times the last reopening's duration a pause lasts at least.
const PAUSE_FACTOR: u32 = 10;

/// How a store's database is opened again, and when writes may try.
pub(crate) struct Recovery {
    open: Opener,
    clock: Arc<dyn Clock>,
    /// Held through a reopening, so that one runs at a time.
    state: Mutex<State>,
    /// [`State::generation`], read without the lock.
    generation: AtomicU64,
    /// Whether [`State::writes_resume`] is set: the writers' fast path.
    paused: AtomicBool,
}

struct State {
    /// How many times the database was opened again.
    generation: u64,
    /// How long the last reopening took.
    last_took: Duration,
    /// Until when writes are refused after a full disk.
    writes_resume: Option<Timestamp>,
    /// Until when no reopening is tried, after one that failed.
    retry_at: Option<Timestamp>,
}

/// A reopening that may go ahead: the lock held while it runs.
pub(crate) struct Attempt<'r> {
    recovery: &'r Recovery,
    state: MutexGuard<'r, State>,
}

impl Recovery {
    pub(crate) fn new(open: Opener, clock: Arc<dyn Clock>) -> Self {
        Self {
            open,
            clock,
            state: Mutex::new(State {
                generation: 0,
                last_took: Duration::ZERO,
                writes_resume: None,
                retry_at: None,
            }),
            generation: AtomicU64::new(0),
            paused: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many times the database was opened again: a caller that met a
    /// latched database passes what it read before its call to
    /// [`Recovery::attempt`].
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// A reopening after a failure met in generation `seen`, or `None`
    /// when another caller has opened the database again since, or when
    /// the last reopening failed too recently (it is spaced as writes are
    /// after a full disk: a reopening that cannot finish, on a disk too
    /// full for it, would otherwise be tried again by every call).
    pub(crate) fn attempt(&self, seen: u64) -> Option<Attempt<'_>> {
        let state = self.lock();
        let too_soon = state.retry_at.is_some_and(|at| self.clock.now() < at);
        (state.generation == seen && !too_soon).then_some(Attempt {
            recovery: self,
            state,
        })
    }

    /// When a pause begun now ends: of writes after a full disk, or of
    /// reopenings after one that failed.
    fn pause_ends(&self, state: &State) -> Timestamp {
        let pause = MIN_PAUSE.max(state.last_took * PAUSE_FACTOR);
        self.clock.now().saturating_add(pause)
    }

    /// A write found the disk full: writes are refused for a while.
    pub(crate) fn pause_writes(&self) {
        let mut state = self.lock();
        state.writes_resume = Some(self.pause_ends(&state));
        self.paused.store(true, Ordering::Release);
    }

    /// Whether writes are refused (after a full disk) at this time.
    pub(crate) fn writes_paused(&self) -> bool {
        if !self.paused.load(Ordering::Acquire) {
            return false;
        }
        let mut state = self.lock();
        match state.writes_resume {
            Some(at) if self.clock.now() < at => true,
            _ => {
                // One write tries; if the disk is still full, it pauses
                // writes again.
                state.writes_resume = None;
                self.paused.store(false, Ordering::Release);
                false
            }
        }
    }
}

impl Attempt<'_> {
    /// Opens the database again (the old one closed by the caller first,
    /// since it holds the file's lock).
    pub(crate) fn open(mut self) -> Result<Database, StorageError> {
        let started = Instant::now();
        let opened = (self.recovery.open)();
        self.state.last_took = started.elapsed();
        if opened.is_ok() {
            self.state.retry_at = None;
            self.state.generation += 1;
            self.recovery
                .generation
                .store(self.state.generation, Ordering::Release);
        } else {
            self.state.retry_at = Some(self.recovery.pause_ends(&self.state));
        }
        opened
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::Recovery;
    use crate::clock::{ManualClock, Timestamp};
    use crate::error::StorageError;

    fn recovery(clock: &Arc<ManualClock>, opens: bool) -> Recovery {
        let open = move || {
            let backend = redb::backends::InMemoryBackend::new();
            match opens {
                true => redb::Database::builder()
                    .create_with_backend(backend)
                    .map_err(super::super::redb::backend),
                false => Err(StorageError::Full),
            }
        };
        Recovery::new(Box::new(open), clock.clone())
    }

    #[test]
    fn one_reopening_per_failure_however_many_callers_met_it() {
        let clock = Arc::new(ManualClock::new(Timestamp::from_unix_millis(1_000_000)));
        let recovery = recovery(&clock, true);
        let seen = recovery.generation();
        recovery.attempt(seen).expect("due").open().expect("opened");
        assert_eq!(recovery.generation(), seen + 1);
        assert!(
            recovery.attempt(seen).is_none(),
            "a caller that met the failure before the reopening goes on with it"
        );
        assert!(recovery.attempt(seen + 1).is_some(), "a new failure is");
    }

    #[test]
    fn a_failed_reopening_keeps_the_generation_and_is_tried_again_a_second_later() {
        let clock = Arc::new(ManualClock::new(Timestamp::from_unix_millis(1_000_000)));
        let recovery = recovery(&clock, false);
        let attempt = recovery.attempt(0).expect("due");
        assert!(matches!(attempt.open(), Err(StorageError::Full)));
        assert_eq!(recovery.generation(), 0);
        assert!(recovery.attempt(0).is_none(), "not at once");
        clock.advance(Duration::from_millis(999));
        assert!(recovery.attempt(0).is_none());
        clock.advance(Duration::from_millis(1));
        assert!(
            recovery.attempt(0).is_some(),
            "a second later, one tries again"
        );
    }

    #[test]
    fn writes_pause_a_second_after_a_full_disk_then_one_tries() {
        let clock = Arc::new(ManualClock::new(Timestamp::from_unix_millis(1_000_000)));
        let recovery = recovery(&clock, true);
        assert!(!recovery.writes_paused());
        recovery.pause_writes();
        assert!(recovery.writes_paused());
        clock.advance(Duration::from_millis(999));
        assert!(recovery.writes_paused());
        clock.advance(Duration::from_millis(1));
        assert!(!recovery.writes_paused(), "one write tries");
        assert!(
            !recovery.writes_paused(),
            "and the next, unless it paused them"
        );
    }
}

//! When an embedded database is opened again after an I/O failure, and
//! when writes are tried again after a full disk.
//!
//! redb latches a failed write, sync or read: every later call on that
//! database fails (`PreviousIo`), reads of pages its cache lacks too, until
//! it is closed and opened again, which recovers it as a restart would (its
//! last commit stands). The call that failed does that at once (and any
//! call that meets the latch, should one begin before), so readers go on
//! and writers write again once the cause is gone, without a restart of the
//! process.
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
/// How long a reopening waits for the database it closed to be released
/// by a write still under way on it.
const CLOSE_WAIT: Duration = Duration::from_secs(1);
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
    /// Whether [`State::resume`] is set, for each kind of write: the
    /// writers' fast path.
    paused: [AtomicBool; 2],
}

/// The writes a full disk pauses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Writes {
    /// Every write but a removal (which makes room).
    Adding = 0,
    /// Removals too, once one failed for want of room.
    Removing = 1,
}

struct State {
    /// How many times the database was opened again.
    generation: u64,
    /// How long the last reopening took.
    last_took: Duration,
    /// Until when writes of each kind are refused after a full disk.
    resume: [Option<Timestamp>; 2],
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
                resume: [None; 2],
                retry_at: None,
            }),
            generation: AtomicU64::new(0),
            paused: [AtomicBool::new(false), AtomicBool::new(false)],
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

    /// A write of kind `found` found the disk full: writes of that kind
    /// are refused for a while (a removal that found it full pauses the
    /// others too).
    pub(crate) fn pause(&self, found: Writes) {
        let mut state = self.lock();
        let ends = self.pause_ends(&state);
        let kinds: &[Writes] = match found {
            Writes::Adding => &[Writes::Adding],
            Writes::Removing => &[Writes::Adding, Writes::Removing],
        };
        for &kind in kinds {
            state.resume[kind as usize] = Some(ends);
            self.paused[kind as usize].store(true, Ordering::Release);
        }
    }

    /// Whether writes of `kind` are refused (after a full disk) now.
    pub(crate) fn paused(&self, kind: Writes) -> bool {
        let slot = kind as usize;
        if !self.paused[slot].load(Ordering::Acquire) {
            return false;
        }
        let mut state = self.lock();
        match state.resume[slot] {
            Some(at) if self.clock.now() < at => true,
            _ => {
                // One write tries; if the disk is still full, it pauses
                // writes again.
                state.resume[slot] = None;
                self.paused[slot].store(false, Ordering::Release);
                false
            }
        }
    }
}

impl Attempt<'_> {
    /// Opens the database again (the old one closed by the caller first,
    /// since it holds the file's lock).
    pub(crate) fn open(mut self) -> Result<Database, StorageError> {
        let waiting = Instant::now();
        let mut started = waiting;
        let mut opened = (self.recovery.open)();
        // The database closed while a write on another thread was under
        // way is closed when that write ends (at its next call, which
        // fails): until then the file is locked as if open elsewhere.
        while matches!(opened, Err(StorageError::InUse)) && waiting.elapsed() < CLOSE_WAIT {
            std::thread::sleep(Duration::from_millis(2));
            started = Instant::now();
            opened = (self.recovery.open)();
        }
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

    use super::{Recovery, Writes};
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
        let adding = || recovery.paused(Writes::Adding);
        let removing = || recovery.paused(Writes::Removing);
        assert!(!adding());
        recovery.pause(Writes::Adding);
        assert!(adding());
        assert!(!removing(), "removals still try: they make room");
        clock.advance(Duration::from_millis(999));
        assert!(adding());
        clock.advance(Duration::from_millis(1));
        assert!(!adding(), "one write tries");
        assert!(!adding(), "and the next, unless it paused them");

        recovery.pause(Writes::Removing);
        assert!(removing(), "a removal that found no room pauses removals");
        assert!(adding(), "and the rest");
        clock.advance(Duration::from_secs(1));
        assert!(!removing());
        assert!(!adding());
    }
}

//! Events: every stored message and broadcast gets a sequence number, in
//! commit order, carried in its record id, so a live stream can resume
//! after the last event it saw with one range read of the records table.
//! Listeners hear about commits in that same order.
//!
//! Broadcasts are records of a reserved key scope ([`BROADCAST_SCOPE`],
//! never a user id): the same envelope, their own data key, the same expiry
//! index and reaper.

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use redb::ReadableDatabase;
use zeroize::Zeroizing;

use crate::engine::Engine;
use crate::error::RecordError;
use crate::ids::{RecordId, UserId};
use crate::records::{Receipt, RecordMeta, live_row};
use crate::tables::RECORDS;
use crate::tokens::Session;

/// The key scope (owner) of broadcasts. User ids are never zero.
pub const BROADCAST_SCOPE: UserId = UserId::from_u128(0);

/// What an event is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A message stored for its owner.
    Message,
    /// A broadcast to everyone.
    Broadcast,
}

/// A stored message or broadcast, decrypted, with its sequence number.
/// `Debug` shows the plaintext's length only.
pub struct Event {
    /// Position in the engine's event order (commit order), from 1.
    pub seq: u64,
    /// Message or broadcast.
    pub kind: EventKind,
    /// The record's facts (`owner` is [`BROADCAST_SCOPE`] for broadcasts).
    pub meta: RecordMeta,
    /// The content, zeroized on drop.
    pub plaintext: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("seq", &self.seq)
            .field("kind", &self.kind)
            .field("meta", &self.meta)
            .field("plaintext_len", &self.plaintext.len())
            .finish()
    }
}

/// What listeners hear, after the change is durable, in commit order.
#[derive(Debug)]
#[non_exhaustive]
pub enum Notice<'a> {
    /// Messages or broadcasts were stored.
    Events(&'a [Event]),
    /// A session was revoked (logout, refresh reuse).
    SessionEnded(Session),
    /// A user was deleted.
    UserDeleted(UserId),
}

type Listener = Arc<dyn Fn(&Engine, &Notice<'_>) + Send + Sync>;

/// The registered listeners.
#[derive(Default)]
pub(crate) struct Listeners(RwLock<Vec<Listener>>);

impl Listeners {
    pub(crate) fn is_empty(&self) -> bool {
        self.0.read().unwrap_or_else(|e| e.into_inner()).is_empty()
    }

    fn notify(&self, engine: &Engine, notice: &Notice<'_>) {
        let listeners = self.0.read().unwrap_or_else(|e| e.into_inner()).clone();
        for listener in listeners {
            listener(engine, notice);
        }
    }
}

impl Engine {
    /// Registers `listener`, called after each durable change that a live
    /// stream cares about, in commit order, on the committing thread, with
    /// this engine (so the listener need not hold a handle that would keep
    /// the engine open). Keep it quick and non-blocking.
    pub fn add_listener(&self, listener: impl Fn(&Engine, &Notice<'_>) + Send + Sync + 'static) {
        let mut listeners = self
            .inner
            .listeners
            .0
            .write()
            .unwrap_or_else(|e| e.into_inner());
        listeners.push(Arc::new(listener));
    }

    pub(crate) fn notify(&self, notice: &Notice<'_>) {
        self.inner.listeners.notify(self, notice);
    }

    /// Stores `plaintext` as a broadcast from `sender`, sealed under the
    /// broadcast scope's own data key, expiring like a record.
    pub fn broadcast(
        &self,
        sender: UserId,
        plaintext: &[u8],
        ttl: Option<Duration>,
    ) -> Result<Receipt, RecordError> {
        self.write_event(
            sender,
            BROADCAST_SCOPE,
            EventKind::Broadcast,
            plaintext,
            ttl,
        )
    }

    /// Up to `limit` unexpired events `user` is entitled to (their messages
    /// and all broadcasts) with a sequence number above `after`, in order.
    pub fn events_after(
        &self,
        user: UserId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Event>, RecordError> {
        let now = self.inner.clock.now();
        let txn = self.inner.db.begin_read()?;
        let records = txn.open_table(RECORDS)?;
        let first = RecordId::first_for_seq(after.saturating_add(1)).as_u128();
        let mut found = Vec::new();
        for (scope, kind) in [
            (user, EventKind::Message),
            (BROADCAST_SCOPE, EventKind::Broadcast),
        ] {
            let s = scope.as_u128();
            let mut taken = 0;
            for row in records.range((s, first)..=(s, u128::MAX))? {
                if taken == limit {
                    break;
                }
                let (key, value) = row?;
                let id = RecordId::from_u128(key.value().1);
                let Some((meta, sealed)) = live_row(scope, id, value.value(), now) else {
                    continue;
                };
                let plaintext = self.open_sealed(&txn, meta, sealed)?;
                found.push(Event {
                    seq: id.seq(),
                    kind,
                    meta,
                    plaintext,
                });
                taken += 1;
            }
        }
        found.sort_unstable_by_key(|e| e.seq);
        found.truncate(limit);
        Ok(found)
    }
}

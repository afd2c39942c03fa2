//! Messages ([`Records`]): sealed under their owner's data key, stored
//! through group commit (many writers, one durable transaction), read,
//! listed newest first, deleted, and purged once expired.
//!
//! Async callers write with [`Records::send_queued`]: it validates a
//! message and queues it for the group commit without blocking; the
//! returned [`QueuedWrite`] is polled (from any executor) until its turn
//! comes — done, or lead: commit the queue, on a thread that may block. A
//! server then holds one blocking thread per commit, not one per waiting
//! request.
//!
//! ```
//! # use strongroom_engine::{Engine, MasterKey, SecretString};
//! # use strongroom_engine::records::Turn;
//! # let key = MasterKey::from_base64(&SecretString::from(
//! #     "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")).unwrap();
//! # let engine = Engine::builder(key).open_in_memory()?;
//! # let alice = engine.accounts().create("alice", &SecretString::from("correct horse battery"))?.id;
//! let mut queued = engine.records().send_queued(alice, alice, b"hello", None)?;
//! let waker = std::task::Waker::noop();
//! let receipt = match queued.poll_turn(&mut std::task::Context::from_waker(waker)) {
//!     std::task::Poll::Ready(Turn::Done(result)) => result?,
//!     // Nobody was committing: this caller does (an async server runs
//!     // this on its blocking pool).
//!     std::task::Poll::Ready(Turn::Lead) => queued.lead()?,
//!     std::task::Poll::Pending => unreachable!("alone in the queue, it leads"),
//! };
//! let record = engine.records().get(alice, receipt.meta.id)?;
//! assert_eq!(record.plaintext.as_slice(), b"hello");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::clock::Timestamp;
use crate::domain::records::{self, NewRecord};
use crate::error::{RecordError, StorageError};
use crate::handle::{Engine, handle};
use crate::ids::{KeyScope, RecordId, UserId};
use crate::model::audit::{Actor, AuditAction, AuditTarget};
pub use crate::model::{
    DEFAULT_MAX_PAGE, DEFAULT_MAX_RECORD_LEN, DEFAULT_MAX_TTL, DEFAULT_TTL, Page, Receipt, Record,
    RecordKind, RecordMeta,
};
use crate::write::{Enqueued, Lead, Slot, SlotState, single};

handle! {
    /// Messages of users: [`Engine::records`].
    Records
}

impl Records<'_> {
    fn commit(
        &self,
        job: Vec<NewRecord>,
    ) -> Result<Vec<Result<Receipt, RecordError>>, RecordError> {
        self.0.commits().submit(&self.0.commit_context(), job)
    }

    pub(crate) fn commit_one(&self, record: NewRecord) -> Result<Receipt, RecordError> {
        crate::write::single(self.commit(vec![record]))
    }

    /// Stores `plaintext` for `owner`, readable until `ttl` (default: the
    /// limits' default ttl) has passed. Durable when it returns.
    pub fn put(
        &self,
        owner: UserId,
        plaintext: &[u8],
        ttl: Option<Duration>,
    ) -> Result<Receipt, RecordError> {
        self.send(owner, owner, plaintext, ttl)
    }

    /// Stores `plaintext` for `recipient`, recording `sender` (and the
    /// sender's username as it is now). Durable when it returns.
    pub fn send(
        &self,
        sender: UserId,
        recipient: UserId,
        plaintext: &[u8],
        ttl: Option<Duration>,
    ) -> Result<Receipt, RecordError> {
        self.commit_one(self.message(sender, recipient, plaintext, ttl)?)
    }

    /// A message from `sender` to `recipient`, checked against the limits.
    pub(crate) fn message(
        &self,
        sender: UserId,
        recipient: UserId,
        plaintext: &[u8],
        ttl: Option<Duration>,
    ) -> Result<NewRecord, RecordError> {
        let scope = KeyScope::User(recipient);
        NewRecord::new(
            &self.0.inner.limits,
            self.0.origin,
            sender,
            scope,
            plaintext,
            ttl,
        )
    }

    /// Stores many records, each for its owner, in one durable transaction
    /// (for bulk loads; concurrent single puts are batched automatically).
    /// A record too large or a ttl out of range rejects the whole batch
    /// before anything is written; otherwise each record's result comes
    /// back in order: a record for an unknown user fails alone, a storage
    /// failure fails them all.
    pub fn put_batch<'a>(
        &self,
        records: impl IntoIterator<Item = (UserId, &'a [u8])>,
        ttl: Option<Duration>,
    ) -> Result<Vec<Result<Receipt, RecordError>>, RecordError> {
        let limits = &self.0.inner.limits;
        let job = records
            .into_iter()
            .map(|(owner, plaintext)| {
                let scope = KeyScope::User(owner);
                NewRecord::new(limits, self.0.origin, owner, scope, plaintext, ttl)
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.commit(job)
    }

    /// Stores many messages, each from its sender to its recipient, in one
    /// durable transaction (bulk loads and seeding); results as for
    /// [`Records::put_batch`].
    pub fn send_batch<'a>(
        &self,
        messages: impl IntoIterator<Item = (UserId, UserId, &'a [u8])>,
        ttl: Option<Duration>,
    ) -> Result<Vec<Result<Receipt, RecordError>>, RecordError> {
        let job = messages
            .into_iter()
            .map(|(sender, recipient, plaintext)| self.message(sender, recipient, plaintext, ttl))
            .collect::<Result<Vec<_>, _>>()?;
        self.commit(job)
    }

    /// The record `id` of `owner`; `NotFound` if absent, expired, owned by
    /// someone else, or not an id this engine issued.
    pub fn get(&self, owner: UserId, id: RecordId) -> Result<Record, RecordError> {
        let now = self.0.now();
        let keyring = &self.0.inner.keyring;
        self.0
            .store()
            .read_fresh(|tx| records::get(tx, keyring, owner, id, now))
    }

    /// Up to `limit` (1 to [`Limits::max_page`](crate::Limits::max_page)) unexpired records of
    /// `owner`, newest first, after `cursor` (the previous page's
    /// `next_cursor`).
    ///
    /// ```
    /// # use strongroom_engine::{Engine, MasterKey, SecretString};
    /// # fn main() -> Result<(), strongroom_engine::Error> {
    /// # let engine = Engine::builder(MasterKey::generate().0).open_in_memory()?;
    /// # let alice = engine.accounts().create("alice", &SecretString::from("correct horse battery"))?.id;
    /// let records = engine.records();
    /// for i in 0..5u8 {
    ///     records.put(alice, &[i], None)?;
    /// }
    /// let mut seen = Vec::new();
    /// let mut cursor = None;
    /// loop {
    ///     let page = records.list(alice, cursor, 2)?;
    ///     seen.extend(page.records.iter().map(|r| r.plaintext[0]));
    ///     match page.next_cursor {
    ///         Some(next) => cursor = Some(next),
    ///         None => break,
    ///     }
    /// }
    /// assert_eq!(seen, [4, 3, 2, 1, 0]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn list(
        &self,
        owner: UserId,
        cursor: Option<RecordId>,
        limit: usize,
    ) -> Result<Page, RecordError> {
        let max = self.0.inner.limits.max_page;
        if limit == 0 || limit > max {
            return Err(RecordError::InvalidLimit { max });
        }
        let now = self.0.now();
        let keyring = &self.0.inner.keyring;
        self.0
            .store()
            .read_fresh(|tx| records::list(tx, keyring, owner, cursor, limit, now))
    }

    /// Deletes record `id` of `owner`; `NotFound` as for [`Records::get`]
    /// (an expired record is removed all the same).
    pub fn delete(&self, owner: UserId, id: RecordId) -> Result<(), RecordError> {
        let now = self.0.now();
        let keyring = &self.0.inner.keyring;
        let target = AuditTarget::Message { owner, id };
        let note = self
            .0
            .note(Actor::User(owner), AuditAction::DeleteMessage, target);
        // Deleting makes room: it tries while a full disk pauses writes.
        let live = self.0.store().freeing_with(|tx| {
            let live = records::delete(tx, keyring, owner, id, now)?;
            self.0.audit_in(tx, note)?;
            Ok::<_, RecordError>(live)
        })?;
        if live {
            Ok(())
        } else {
            Err(RecordError::NotFound)
        }
    }

    /// Deletes up to `limit` records that expired at or before `now`,
    /// oldest first, in one transaction; returns how many went. Its cost
    /// grows with the number purged, not with the size of the store.
    pub fn purge_expired(&self, now: Timestamp, limit: usize) -> Result<usize, StorageError> {
        self.0
            .store()
            .freeing_with(|tx| records::purge_expired(tx, now, limit))
    }
}

/// Where a queued write stands.
#[derive(Debug)]
pub enum Turn {
    /// Committed (durable), or refused.
    Done(Result<Receipt, RecordError>),
    /// This caller must commit the queue: call [`QueuedWrite::lead`] where
    /// blocking is allowed.
    Lead,
}

/// A message in the group-commit queue, not yet durable. Dropping it does
/// not withdraw it: it is committed anyway (and if it held the turn to
/// lead, a thread is started to do so), so the queue never stalls.
#[must_use = "a queued write is durable only once its turn says Done"]
pub struct QueuedWrite {
    engine: Engine,
    ticket: u64,
    slot: Arc<Slot>,
    /// It holds the lead and has not used it.
    leads: bool,
    /// Its outcome was taken (or it led).
    finished: bool,
}

impl Records<'_> {
    /// [`Records::send`] for async callers: validates the message and
    /// queues it without blocking; poll [`QueuedWrite::poll_turn`].
    pub fn send_queued(
        &self,
        sender: UserId,
        recipient: UserId,
        plaintext: &[u8],
        ttl: Option<Duration>,
    ) -> Result<QueuedWrite, RecordError> {
        let record = self.message(sender, recipient, plaintext, ttl)?;
        let Enqueued {
            ticket,
            slot,
            leads,
        } = self.0.commits().enqueue(vec![record]);
        Ok(QueuedWrite {
            engine: self.0.clone(),
            ticket,
            slot,
            leads,
            finished: false,
        })
    }
}

impl QueuedWrite {
    /// `Done` once its commit is durable (or it was refused), `Lead` when
    /// this caller must commit the queue; `Pending` meanwhile, waking
    /// `cx`'s waker when that changes.
    pub fn poll_turn(&mut self, cx: &mut Context<'_>) -> Poll<Turn> {
        if self.leads {
            return Poll::Ready(Turn::Lead);
        }
        match self.slot.poll(cx.waker()) {
            Poll::Ready(SlotState::Done(result)) => {
                self.finished = true;
                Poll::Ready(Turn::Done(single(result)))
            }
            Poll::Ready(SlotState::Lead) => {
                self.leads = true;
                Poll::Ready(Turn::Lead)
            }
            Poll::Ready(SlotState::Waiting) | Poll::Pending => Poll::Pending,
        }
    }

    /// Commits everything queued, this write included, in one durable
    /// transaction (blocks: disk or network), and returns this write's
    /// outcome. Call it when the turn says `Lead` (before, it waits for
    /// the commit underway like [`Records::send`] would).
    pub fn lead(mut self) -> Result<Receipt, RecordError> {
        self.finished = true;
        let ctx = self.engine.commit_context();
        let commits = self.engine.commits();
        single(commits.finish(&ctx, self.ticket, &self.slot, self.leads))
    }

    /// [`QueuedWrite::lead`] for a caller that waits elsewhere (an async
    /// task): `deliver` gets this write's outcome as soon as its commit is
    /// durable, and this thread then goes on committing, back to back,
    /// while writes are queued — under load one blocking thread commits
    /// batch after batch instead of handing the lead to the next caller
    /// through the async scheduler between commits. Returns when the
    /// queue is empty.
    pub fn lead_on(mut self, deliver: impl FnOnce(Result<Receipt, RecordError>)) {
        self.finished = true;
        let ctx = self.engine.commit_context();
        let commits = self.engine.commits();
        let lead = Lead::KeepWhileQueued;
        commits.see_through(&ctx, self.ticket, &self.slot, self.leads, lead, |result| {
            deliver(single(result))
        });
    }
}

impl Drop for QueuedWrite {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let handed_lead = self.slot.abandon();
        if self.leads || handed_lead {
            // The queue waits on this write's lead: exercise it elsewhere.
            let (engine, ticket) = (self.engine.clone(), self.ticket);
            std::thread::spawn(move || {
                let lead = Lead::KeepWhileQueued;
                engine
                    .commits()
                    .lead(&engine.commit_context(), ticket, lead, drop);
            });
        }
    }
}

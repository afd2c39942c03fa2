//! The write path for records: group commit. Concurrent puts queue up; one
//! caller at a time becomes the leader, writes every queued record in one
//! durable redb transaction, tells the listeners in sequence order, and
//! hands each caller its own result. A caller returns only after the
//! commit that holds its record, so durability is unchanged while N
//! concurrent writers share one fsync instead of paying N.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use redb::{Table, WriteTransaction};
use zeroize::Zeroizing;

use crate::engine::Engine;
use crate::error::RecordError;
use crate::error::StorageError;
use crate::events::{Event, EventKind, Notice};
use crate::ids::UserId;
use crate::records::Receipt;
use crate::tables::{COUNTERS, DATA_KEYS, KEYRING, RECORD_EXPIRY, RECORDS, RecordRow};

/// The tables a put writes, opened once per transaction.
pub(crate) struct WriteTables<'t> {
    pub(crate) keyring: Table<'t, u128, (u32, u64)>,
    pub(crate) data_keys: Table<'t, (u128, u32), &'static [u8]>,
    pub(crate) records: Table<'t, (u128, u128), RecordRow>,
    pub(crate) expiry: Table<'t, (u64, u128, u128), ()>,
    pub(crate) counters: Table<'t, &'static str, u64>,
}

impl<'t> WriteTables<'t> {
    fn open(txn: &'t WriteTransaction) -> Result<Self, StorageError> {
        Ok(Self {
            keyring: txn.open_table(KEYRING)?,
            data_keys: txn.open_table(DATA_KEYS)?,
            records: txn.open_table(RECORDS)?,
            expiry: txn.open_table(RECORD_EXPIRY)?,
            counters: txn.open_table(COUNTERS)?,
        })
    }
}

/// Event sequence numbers are persisted in blocks this large, so most
/// commits do not rewrite the counter; a restart skips the unused rest.
pub(crate) const SEQ_BLOCK: u64 = 1024;

/// One record waiting to be written.
pub(crate) struct Job {
    pub(crate) sender: UserId,
    pub(crate) owner: UserId,
    pub(crate) kind: EventKind,
    pub(crate) plaintext: Zeroizing<Vec<u8>>,
    pub(crate) ttl: Duration,
}

/// Where a waiting caller learns its outcome, or that it leads next.
#[derive(Default)]
struct Slot {
    state: Mutex<SlotState>,
    ready: Condvar,
}

#[derive(Default)]
enum SlotState {
    #[default]
    Waiting,
    /// Take the queue and commit it.
    Lead,
    Done(Result<Receipt, RecordError>),
}

impl Slot {
    fn set(&self, state: SlotState) {
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = state;
        self.ready.notify_one();
    }

    fn wait(&self) -> SlotState {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while matches!(*state, SlotState::Waiting) {
            state = self.ready.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        std::mem::take(&mut *state)
    }
}

#[derive(Default)]
struct Queue {
    next_ticket: u64,
    jobs: Vec<(u64, Job, Arc<Slot>)>,
    /// Whether some caller is committing (or has been told to).
    leading: bool,
}

/// The group-commit queue, and the event sequence counter it hands out.
#[derive(Default)]
pub(crate) struct Committer {
    queue: Mutex<Queue>,
    /// (next sequence number, highest one persisted as reserved).
    seq: Mutex<(u64, u64)>,
}

impl Committer {
    /// Resumes numbering after `reserved`, the persisted reservation.
    pub(crate) fn starting_after(reserved: u64) -> Self {
        Self {
            seq: Mutex::new((reserved + 1, reserved)),
            ..Self::default()
        }
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next sequence number, and the reservation to persist with it
    /// (if this number is past the persisted one).
    pub(crate) fn next_seq(&self) -> (u64, Option<u64>) {
        let mut seq = self.seq.lock().unwrap_or_else(|e| e.into_inner());
        let n = seq.0;
        seq.0 += 1;
        if n > seq.1 {
            seq.1 = n + SEQ_BLOCK - 1;
            return (n, Some(seq.1));
        }
        (n, None)
    }

    /// After a failed commit the in-memory reservation may be ahead of the
    /// disk: force the next commit to persist one again.
    fn forget_reservation(&self) {
        let mut seq = self.seq.lock().unwrap_or_else(|e| e.into_inner());
        seq.1 = 0;
    }
}

impl Engine {
    /// Writes one record through the group-commit queue; returns once the
    /// transaction holding it is durable.
    pub(crate) fn write_event(
        &self,
        sender: UserId,
        owner: UserId,
        kind: EventKind,
        plaintext: &[u8],
        ttl: Option<Duration>,
    ) -> Result<Receipt, RecordError> {
        let ttl = self.check_record(plaintext, ttl)?;
        let committer = &self.inner.committer;
        let job = Job {
            sender,
            owner,
            kind,
            plaintext: Zeroizing::new(plaintext.to_vec()),
            ttl,
        };
        let slot = Arc::new(Slot::default());
        let (mine, leads) = {
            let mut queue = committer.queue();
            let ticket = queue.next_ticket;
            queue.next_ticket += 1;
            queue.jobs.push((ticket, job, slot.clone()));
            (ticket, !std::mem::replace(&mut queue.leading, true))
        };
        // A waiter either gets its result, or is told to lead (its job is
        // then still queued).
        if !leads && let SlotState::Done(result) = slot.wait() {
            return result;
        }
        // Lead: commit everything queued (our job included) in one
        // transaction, hand each caller its result, then pass the lead to
        // the first caller that queued meanwhile, or give it up.
        let batch = std::mem::take(&mut committer.queue().jobs);
        let mut slots: HashMap<u64, Arc<Slot>> = HashMap::with_capacity(batch.len());
        let jobs: Vec<(u64, Job)> = batch
            .into_iter()
            .map(|(ticket, job, slot)| {
                slots.insert(ticket, slot);
                (ticket, job)
            })
            .collect();
        let mut own = None;
        for (ticket, result) in self.commit_batch(jobs) {
            if ticket == mine {
                own = Some(result);
            } else if let Some(waiter) = slots.remove(&ticket) {
                waiter.set(SlotState::Done(result));
            }
        }
        {
            let mut queue = committer.queue();
            match queue.jobs.first() {
                Some((_, _, next)) => next.set(SlotState::Lead),
                None => queue.leading = false,
            }
        }
        // Our job was queued before we led, so it was in the batch.
        own.unwrap_or_else(|| {
            let lost = redb::StorageError::Corrupted("group commit lost a record".into());
            Err(RecordError::Storage(lost.into()))
        })
    }

    /// Writes `batch` in one transaction. A record for an unknown user fails
    /// alone; a storage failure fails the whole batch (nothing of it is
    /// committed).
    pub(crate) fn commit_batch(
        &self,
        batch: Vec<(u64, Job)>,
    ) -> Vec<(u64, Result<Receipt, RecordError>)> {
        let _order = self.inner.publish.lock().unwrap_or_else(|e| e.into_inner());
        let mut results = Vec::with_capacity(batch.len());
        let mut events = Vec::new();
        let outcome = (|| -> Result<(), RecordError> {
            let txn = self.inner.db.begin_write()?;
            let mut tables = WriteTables::open(&txn)?;
            for (index, (ticket, job)) in batch.iter().enumerate() {
                match self.stage_put(&mut tables, job.sender, job.owner, &job.plaintext, job.ttl) {
                    Ok((receipt, seq)) => {
                        events.push((index, seq, receipt));
                    }
                    Err(RecordError::UnknownUser) => {
                        results.push((*ticket, Err(RecordError::UnknownUser)))
                    }
                    Err(e) => return Err(e),
                }
            }
            drop(tables);
            txn.commit()?;
            Ok(())
        })();
        if let Err(e) = outcome {
            self.inner.committer.forget_reservation();
            self.forget_seal_counts();
            return batch
                .iter()
                .map(|(ticket, _)| (*ticket, Err(e.clone())))
                .collect();
        }
        if !self.inner.listeners.is_empty() {
            let notice: Vec<Event> = events
                .iter()
                .filter_map(|(index, seq, receipt)| {
                    let (_, job) = batch.get(*index)?;
                    Some(Event {
                        seq: *seq,
                        kind: job.kind,
                        meta: receipt.meta,
                        plaintext: job.plaintext.clone(),
                    })
                })
                .collect();
            self.notify(&Notice::Events(&notice));
        }
        results.extend(events.into_iter().filter_map(|(index, _, receipt)| {
            batch.get(index).map(|(ticket, _)| (*ticket, Ok(receipt)))
        }));
        results
    }
}

impl Engine {
    /// Stores many records in one durable transaction, for bulk loads
    /// (concurrent single puts are batched automatically). A record that is
    /// too large or a ttl out of range rejects the whole batch before
    /// anything is written; otherwise each record's result is returned in
    /// order: a record for an unknown user fails alone, a storage failure
    /// fails them all.
    #[allow(clippy::type_complexity)]
    pub fn put_batch<'a>(
        &self,
        records: impl IntoIterator<Item = (UserId, &'a [u8])>,
        ttl: Option<Duration>,
    ) -> Result<Vec<Result<Receipt, RecordError>>, RecordError> {
        let mut batch = Vec::new();
        for (ticket, (owner, plaintext)) in (0u64..).zip(records) {
            // The broadcast scope takes broadcasts only.
            if owner == crate::events::BROADCAST_SCOPE {
                return Err(RecordError::UnknownUser);
            }
            let ttl = self.check_record(plaintext, ttl)?;
            let plaintext = Zeroizing::new(plaintext.to_vec());
            let kind = EventKind::Message;
            batch.push((
                ticket,
                Job {
                    sender: owner,
                    owner,
                    kind,
                    plaintext,
                    ttl,
                },
            ));
        }
        let mut results = self.commit_batch(batch);
        results.sort_unstable_by_key(|(ticket, _)| *ticket);
        Ok(results.into_iter().map(|(_, r)| r).collect())
    }
}

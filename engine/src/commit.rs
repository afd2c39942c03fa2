//! The write path for records: group commit. Concurrent puts queue up; one
//! caller at a time becomes the leader, writes every queued record in one
//! durable redb transaction, tells the listeners in sequence order, and
//! hands each caller its own result. A caller returns only after the
//! commit that holds its record, so durability is unchanged while N
//! concurrent writers share one fsync instead of paying N.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use zeroize::Zeroizing;

use crate::engine::Engine;
use crate::error::RecordError;
use crate::events::{Event, EventKind, Notice};
use crate::ids::UserId;
use crate::records::Receipt;

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

#[derive(Default)]
struct Queue {
    next_ticket: u64,
    jobs: Vec<(u64, Job)>,
    done: HashMap<u64, Result<Receipt, RecordError>>,
    leading: bool,
}

/// The group-commit queue, and the event sequence counter it hands out.
#[derive(Default)]
pub(crate) struct Committer {
    queue: Mutex<Queue>,
    turn: Condvar,
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
        let mut queue = committer.queue();
        let ticket = queue.next_ticket;
        queue.next_ticket += 1;
        queue.jobs.push((ticket, job));
        loop {
            if let Some(result) = queue.done.remove(&ticket) {
                return result;
            }
            if !queue.leading {
                queue.leading = true;
                let batch = std::mem::take(&mut queue.jobs);
                drop(queue);
                let results = self.commit_batch(batch);
                queue = committer.queue();
                queue.done.extend(results);
                queue.leading = false;
                committer.turn.notify_all();
                continue;
            }
            queue = committer
                .turn
                .wait(queue)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Writes `batch` in one transaction. A record for an unknown user fails
    /// alone; a storage failure fails the whole batch (nothing of it is
    /// committed).
    fn commit_batch(&self, batch: Vec<(u64, Job)>) -> Vec<(u64, Result<Receipt, RecordError>)> {
        let _order = self.inner.publish.lock().unwrap_or_else(|e| e.into_inner());
        let mut results = Vec::with_capacity(batch.len());
        let mut events = Vec::new();
        let outcome = (|| -> Result<(), RecordError> {
            let txn = self.inner.db.begin_write()?;
            for (ticket, job) in &batch {
                match self.stage_put(&txn, job.sender, job.owner, &job.plaintext, job.ttl) {
                    Ok((receipt, seq)) => {
                        events.push((*ticket, seq, receipt));
                    }
                    Err(RecordError::UnknownUser) => {
                        results.push((*ticket, Err(RecordError::UnknownUser)))
                    }
                    Err(e) => return Err(e),
                }
            }
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
            let jobs: HashMap<u64, &Job> = batch.iter().map(|(t, j)| (*t, j)).collect();
            let notice: Vec<Event> = events
                .iter()
                .map(|(ticket, seq, receipt)| Event {
                    seq: *seq,
                    kind: jobs[ticket].kind,
                    meta: receipt.meta,
                    plaintext: jobs[ticket].plaintext.clone(),
                })
                .collect();
            self.notify(&Notice::Events(&notice));
        }
        results.extend(
            events
                .into_iter()
                .map(|(ticket, _, receipt)| (ticket, Ok(receipt))),
        );
        results
    }
}

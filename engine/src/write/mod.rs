//! The write path for records: group commit. Concurrent writers queue their
//! jobs; one caller at a time becomes the leader, writes every queued
//! record in one durable transaction, tells the listeners in log order, and
//! hands each caller its own result. A caller returns only after the commit
//! that holds its records, so durability is unchanged while N concurrent
//! writers share one fsync instead of paying N.
//!
//! A caller waits either on a thread ([`GroupCommit::submit`]) or as a
//! future ([`GroupCommit::enqueue`], then polling its [`Slot`]): an async
//! server then occupies one blocking thread per commit (the leader's), not
//! one per waiting request. A waiter that goes away is marked abandoned;
//! the lead is never handed to it — its job is still committed.

pub(crate) mod listeners;

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Poll, Waker};

use crate::clock::{Clock, Timestamp};
use crate::domain::audit::Note;
use crate::domain::credits::{self, Meter};
use crate::domain::records::{self, Announced, NewRecord};
use crate::error::{InvariantViolated, RecordError};
use crate::ids::KeyScope;
use crate::keyring::Keyring;
use crate::model::RecordKind;
use crate::model::access::Quota;
use crate::model::audit::{Actor, AuditAction, AuditTarget};
use crate::model::credits::CreditsConfig;
use crate::model::credits::{Chargeable, Movement};
use crate::model::{Event, Notice, Receipt};
use crate::store::Store;
use crate::store::WriteTx;
use crate::write::listeners::Listeners;

/// Each record's own result (a record for an unknown user fails alone), or
/// one error for the whole job (a storage failure: nothing was written).
pub(crate) type JobResult = Result<Vec<Result<Receipt, RecordError>>, RecordError>;

/// The outcome of a one-record job.
pub(crate) fn single(result: JobResult) -> Result<Receipt, RecordError> {
    result?
        .pop()
        .unwrap_or(Err(InvariantViolated("commit returned no receipt").into()))
}

/// What a commit needs from the engine.
pub(crate) struct Context<'a> {
    pub(crate) store: &'a dyn Store,
    pub(crate) keyring: &'a Keyring,
    pub(crate) clock: &'a dyn Clock,
    pub(crate) listeners: &'a Listeners,
    /// The quota of senders who have none of their own.
    pub(crate) default_quota: Option<Quota>,
    /// What messages cost.
    pub(crate) credits: &'a CreditsConfig,
}

/// Where a waiting caller learns its outcome, or that it leads next.
#[derive(Default)]
pub(crate) struct Slot {
    inner: Mutex<SlotInner>,
    ready: Condvar,
}

#[derive(Default)]
struct SlotInner {
    state: SlotState,
    /// The waiting future's waker, if it waits as one.
    waker: Option<Waker>,
    /// A thread blocks in [`Slot::wait`]: only then is the condition
    /// variable notified (a notification costs a system call even when
    /// nobody waits, and async waiters never do).
    thread_waits: bool,
    /// Its caller went away: it must not be handed the lead.
    abandoned: bool,
}

#[derive(Default)]
pub(crate) enum SlotState {
    #[default]
    Waiting,
    /// Take the queue and commit it.
    Lead,
    Done(JobResult),
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, SlotInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, state: SlotState) {
        let mut inner = self.lock();
        inner.state = state;
        self.wake(inner);
    }

    /// Hands the lead over, unless the caller went away.
    fn offer_lead(&self) -> bool {
        let mut inner = self.lock();
        if inner.abandoned {
            return false;
        }
        inner.state = SlotState::Lead;
        self.wake(inner);
        true
    }

    /// Tells the waiter, on a thread or as a future, that its state moved
    /// (after the lock is released).
    fn wake(&self, mut inner: MutexGuard<'_, SlotInner>) {
        let (waker, thread_waits) = (inner.waker.take(), inner.thread_waits);
        drop(inner);
        if thread_waits {
            self.ready.notify_one();
        }
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Blocks until the outcome (or the lead) comes.
    pub(crate) fn wait(&self) -> SlotState {
        let mut inner = self.lock();
        while matches!(inner.state, SlotState::Waiting) {
            inner.thread_waits = true;
            inner = self.ready.wait(inner).unwrap_or_else(|e| e.into_inner());
        }
        std::mem::take(&mut inner.state)
    }

    /// The outcome, or `Pending` (waking `waker` when it comes).
    pub(crate) fn poll(&self, waker: &Waker) -> Poll<SlotState> {
        let mut inner = self.lock();
        match std::mem::take(&mut inner.state) {
            SlotState::Waiting => {
                inner.waker = Some(waker.clone());
                Poll::Pending
            }
            other => Poll::Ready(other),
        }
    }

    /// The caller goes away; whether it held the lead unused (then it must
    /// still be exercised, or the queue stalls).
    pub(crate) fn abandon(&self) -> bool {
        let mut inner = self.lock();
        inner.abandoned = true;
        inner.waker = None;
        matches!(inner.state, SlotState::Lead)
    }
}

/// A job in the queue: its ticket, its slot, and whether its caller must
/// lead at once (nobody was leading).
pub(crate) struct Enqueued {
    pub(crate) ticket: u64,
    pub(crate) slot: Arc<Slot>,
    pub(crate) leads: bool,
}

#[derive(Default)]
struct Queue {
    next_ticket: u64,
    jobs: Vec<(u64, Vec<NewRecord>, Arc<Slot>)>,
    /// Whether some caller is committing (or has been told to).
    leading: bool,
}

/// The group-commit queue.
#[derive(Default)]
pub(crate) struct GroupCommit {
    queue: Mutex<Queue>,
}

impl GroupCommit {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `job` without waiting.
    pub(crate) fn enqueue(&self, job: Vec<NewRecord>) -> Enqueued {
        let slot = Arc::new(Slot::default());
        let mut queue = self.queue();
        let ticket = queue.next_ticket;
        queue.next_ticket += 1;
        queue.jobs.push((ticket, job, slot.clone()));
        let leads = !std::mem::replace(&mut queue.leading, true);
        Enqueued {
            ticket,
            slot,
            leads,
        }
    }

    /// Writes `job` through the queue; returns once the transaction holding
    /// it is durable.
    pub(crate) fn submit(&self, ctx: &Context<'_>, job: Vec<NewRecord>) -> JobResult {
        let Enqueued {
            ticket,
            slot,
            leads,
        } = self.enqueue(job);
        self.finish(ctx, ticket, &slot, leads)
    }

    /// Sees a queued job through on this thread: waits for its result, or
    /// for the lead (its job then still queued), and leads if it must.
    pub(crate) fn finish(
        &self,
        ctx: &Context<'_>,
        ticket: u64,
        slot: &Slot,
        leads: bool,
    ) -> JobResult {
        let mut own = None;
        self.see_through(ctx, ticket, slot, leads, Lead::HandOver, |r| own = Some(r));
        own.unwrap_or(Err(InvariantViolated("group commit lost a job").into()))
    }

    /// Sees a queued job through as [`GroupCommit::finish`] does, but hands
    /// its result to `deliver` (as soon as it is durable) and leads as
    /// `lead` says: [`Lead::KeepWhileQueued`] for a caller that does not
    /// wait on this thread.
    pub(crate) fn see_through(
        &self,
        ctx: &Context<'_>,
        ticket: u64,
        slot: &Slot,
        leads: bool,
        lead: Lead,
        deliver: impl FnOnce(JobResult),
    ) {
        if !leads && let SlotState::Done(result) = slot.wait() {
            return deliver(result);
        }
        self.lead(ctx, ticket, lead, deliver)
    }

    /// As the leader: commits everything queued (job `mine` included) in
    /// one transaction, hands each caller its result (`mine`'s to
    /// `deliver`), then, while jobs are queued, leads on or hands the lead
    /// over as `lead` says (to the first caller that queued meanwhile; if
    /// that caller went away, it commits again), or gives it up.
    pub(crate) fn lead(
        &self,
        ctx: &Context<'_>,
        mine: u64,
        lead: Lead,
        deliver: impl FnOnce(JobResult),
    ) {
        let mut deliver = Some(deliver);
        loop {
            let (mut slots, jobs) = self.take_batch();
            let results = match catch_unwind(AssertUnwindSafe(|| commit(ctx, &jobs))) {
                Ok(results) => results,
                Err(panic) => {
                    // Its transaction was dropped uncommitted, and so were
                    // the counters it reserved.
                    ctx.keyring.forget_counters();
                    self.unwound(&slots);
                    resume_unwind(panic);
                }
            };
            for (ticket, result) in results {
                if ticket == mine {
                    if let Some(deliver) = deliver.take() {
                        deliver(result);
                    }
                } else if let Some(waiter) = slots.remove(&ticket) {
                    waiter.set(SlotState::Done(result));
                }
            }
            let mut queue = self.queue();
            match queue.jobs.first() {
                Some(_) if lead == Lead::KeepWhileQueued => {}
                Some((_, _, next)) if next.offer_lead() => break,
                Some(_) => {} // the next in line went away: lead on
                None => {
                    queue.leading = false;
                    break;
                }
            }
        }
        // Our job was queued before we led, so it was in the first batch.
        if let Some(deliver) = deliver.take() {
            deliver(Err(InvariantViolated("group commit lost a job").into()));
        }
    }

    /// Empties the queue into the next batch: each caller's slot by
    /// ticket, and the jobs to commit.
    fn take_batch(&self) -> Batch {
        let queued = std::mem::take(&mut self.queue().jobs);
        let mut slots = HashMap::with_capacity(queued.len());
        let jobs = queued
            .into_iter()
            .map(|(ticket, job, slot)| {
                slots.insert(ticket, slot);
                (ticket, job)
            })
            .collect();
        (slots, jobs)
    }

    /// After a commit panicked (a bug in the engine or the store; the
    /// panic goes on to the leader's caller): tells the batch's other
    /// callers their writes failed, and hands the lead to a caller still
    /// queued, else no write would ever commit again.
    fn unwound(&self, batch: &HashMap<u64, Arc<Slot>>) {
        for slot in batch.values() {
            slot.set(SlotState::Done(Err(InvariantViolated(
                "a commit panicked: nothing of its batch is stored",
            )
            .into())));
        }
        let mut queue = self.queue();
        if !queue.jobs.iter().any(|(_, _, next)| next.offer_lead()) {
            queue.leading = false;
        }
    }
}

/// A batch taken from the queue: each caller's slot by ticket, and the
/// jobs to commit.
type Batch = (HashMap<u64, Arc<Slot>>, Vec<(u64, Vec<NewRecord>)>);

/// What a leader does when jobs queued while it committed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Lead {
    /// Hands the lead to the first of them and returns: a caller waiting
    /// on its own thread for its own result.
    HandOver,
    /// Commits them too, and returns only when the queue is empty: a
    /// thread that commits for async callers. A hand-over would wake the
    /// next leader through the async scheduler, behind every response the
    /// commit just released, and the disk would sit idle meanwhile.
    KeepWhileQueued,
}

/// Stores `record` and charges its sender what it costs (a message,
/// a message to another user, a broadcast): refused with nothing written
/// when the balance cannot cover it. A low-balance notice the charge
/// stored joins `notices`.
fn store_paid(
    tx: &mut dyn WriteTx,
    ctx: &Context<'_>,
    now: Timestamp,
    record: &NewRecord,
    notices: &mut Vec<Announced>,
) -> Result<(Receipt, u64), RecordError> {
    let action = match record.scope {
        _ if record.kind != RecordKind::Message => None,
        KeyScope::Broadcast => Some(Chargeable::Broadcast),
        KeyScope::User(owner) if owner == record.sender => Some(Chargeable::Store),
        KeyScope::User(_) => Some(Chargeable::Send),
    };
    let priced = action.filter(|a| ctx.credits.price(*a) > 0);
    if let Some(action) = priced {
        credits::affordable(tx, ctx.credits, record.sender, action)??;
    }
    let stored = records::store(tx, ctx.keyring, now, record, ctx.default_quota)?;
    if let Some(action) = priced {
        let meter = Meter {
            config: ctx.credits,
            keyring: ctx.keyring,
            now,
            note: Note::new(
                record.origin,
                Actor::User(record.sender),
                AuditAction::Credits(Movement::Charge(action)),
                AuditTarget::User(record.sender),
            ),
        };
        if let Some((_, notice)) = credits::charge(tx, meter, record.sender, action)? {
            notices.extend(notice);
        }
    }
    Ok(stored)
}

/// Writes every job in one transaction, then tells the listeners.
fn commit(ctx: &Context<'_>, jobs: &[(u64, Vec<NewRecord>)]) -> Vec<(u64, JobResult)> {
    let now = ctx.clock.now();
    let started = std::time::Instant::now();
    let mut notices = Vec::new();
    let written = ctx.store.write_with(|tx| {
        notices.clear();
        let mut results = Vec::with_capacity(jobs.len());
        for (_, job) in jobs {
            let mut receipts = Vec::with_capacity(job.len());
            for record in job {
                // A record refused before anything was written fails
                // alone; any other failure fails the whole transaction.
                match store_paid(tx, ctx, now, record, &mut notices) {
                    Ok(stored) => receipts.push(Ok(stored)),
                    Err(
                        e @ (RecordError::UnknownUser
                        | RecordError::QuotaExceeded { .. }
                        | RecordError::Credits(_)),
                    ) => {
                        receipts.push(Err(e));
                    }
                    Err(e) => return Err(e),
                }
            }
            results.push(receipts);
        }
        Ok(results)
    });
    let records: usize = jobs.iter().map(|(_, job)| job.len()).sum();
    metrics::histogram!("strongroom_commit_batch_records").record(records as f64);
    metrics::histogram!("strongroom_commit_seconds").record(started.elapsed().as_secs_f64());
    let written = match written {
        Ok(written) => written,
        Err(e) => {
            ctx.keyring.forget_counters();
            return jobs.iter().map(|(t, _)| (*t, Err(e.clone()))).collect();
        }
    };
    if !ctx.listeners.is_empty() {
        let notices = notices.into_iter().map(records::event);
        let events: Vec<Event> = jobs
            .iter()
            .zip(&written)
            .flat_map(|((_, job), results)| job.iter().zip(results))
            .filter_map(|(record, result)| {
                let (receipt, position) = result.as_ref().ok()?;
                Some(Event {
                    scope: receipt.scope,
                    meta: receipt.meta.clone(),
                    plaintext: record.plaintext.clone(),
                    position: *position,
                })
            })
            .chain(notices)
            .collect();
        if !events.is_empty() {
            ctx.listeners.notify(&Notice::Events(&events));
        }
    }
    jobs.iter()
        .zip(written)
        .map(|((ticket, _), results)| {
            let receipts = results
                .into_iter()
                .map(|r| r.map(|(receipt, _)| receipt))
                .collect();
            (*ticket, Ok(receipts))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicked_commit_fails_its_batch_and_the_queue_gets_a_leader() {
        let group = GroupCommit::default();
        let leader = group.enqueue(Vec::new());
        let waiter = group.enqueue(Vec::new());
        assert!(leader.leads && !waiter.leads);
        // The leader takes the queue, as `lead` does; one more queues
        // while it commits, and one that went away.
        let (batch, _) = group.take_batch();
        let gone = group.enqueue(Vec::new());
        gone.slot.abandon();
        let later = group.enqueue(Vec::new());
        assert!(!later.leads);

        group.unwound(&batch);
        assert!(matches!(waiter.slot.wait(), SlotState::Done(Err(_))));
        assert!(matches!(later.slot.wait(), SlotState::Lead));
        assert!(group.queue().leading);

        // Nobody left to lead: the next caller leads at once.
        let group = GroupCommit::default();
        let leader = group.enqueue(Vec::new());
        let (batch, _) = group.take_batch();
        group.unwound(&batch);
        assert!(matches!(leader.slot.wait(), SlotState::Done(Err(_))));
        assert!(group.enqueue(Vec::new()).leads);
    }
}

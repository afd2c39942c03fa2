//! Writes for async callers: [`Engine::send_queued`] validates a message
//! and queues it for the group commit without blocking; the returned
//! [`QueuedWrite`] is polled (from any executor) until its turn comes —
//! done, or lead: commit the queue, on a thread that may block. A server
//! then holds one blocking thread per commit, not one per waiting request.
//!
//! ```
//! # use strongroom_engine::{Engine, MasterKey, SecretString, Turn};
//! # let key = MasterKey::from_base64(&SecretString::from(
//! #     "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")).unwrap();
//! # let engine = Engine::builder(key).open_in_memory()?;
//! # let alice = engine.create_user("alice", &SecretString::from("correct horse battery"))?.id;
//! let mut queued = engine.send_queued(alice, alice, b"hello", None)?;
//! let waker = std::task::Waker::noop();
//! let receipt = match queued.poll_turn(&mut std::task::Context::from_waker(waker)) {
//!     std::task::Poll::Ready(Turn::Done(result)) => result?,
//!     // Nobody was committing: this caller does (an async server runs
//!     // this on its blocking pool).
//!     std::task::Poll::Ready(Turn::Lead) => queued.lead()?,
//!     std::task::Poll::Pending => unreachable!("alone in the queue, it leads"),
//! };
//! assert_eq!(engine.get(alice, receipt.meta.id)?.plaintext.as_slice(), b"hello");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::error::RecordError;
use crate::handle::Engine;
use crate::ids::UserId;
use crate::model::Receipt;
use crate::write::{Enqueued, Slot, SlotState, single};

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

impl Engine {
    /// [`Engine::send`] for async callers: validates the message and
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
        } = self.commits().enqueue(vec![record]);
        Ok(QueuedWrite {
            engine: self.clone(),
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
    /// the commit underway like [`Engine::send`] would).
    pub fn lead(mut self) -> Result<Receipt, RecordError> {
        self.finished = true;
        let ctx = self.engine.commit_context();
        let commits = self.engine.commits();
        single(commits.finish(&ctx, self.ticket, &self.slot, self.leads))
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
                let _ = engine.commits().lead(&engine.commit_context(), ticket);
            });
        }
    }
}

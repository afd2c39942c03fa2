//! The in-memory fan-out: every open stream has a bounded queue; the
//! engine's commit listener routes each event to its owner's streams (or
//! to every stream, for broadcasts) with `try_send`, so the fan-out never
//! waits on a socket. A stream whose queue is full is dropped; the client
//! resumes with `Last-Event-ID`. Each event is serialised once and shared.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use strongroom_engine::{Event, EventPosition, KeyScope, Notice, SessionId, UserId};
use tokio::sync::mpsc;
use zeroize::Zeroizing;

use crate::wire::{StreamEvent, kind_name};

/// One event, serialised once for every stream that receives it.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) position: EventPosition,
    pub(crate) kind: &'static str,
    pub(crate) json: Zeroizing<String>,
}

impl From<&Event> for Prepared {
    fn from(event: &Event) -> Self {
        let data = StreamEvent::from(event);
        Self {
            position: event.position(),
            kind: kind_name(event.kind()),
            json: Zeroizing::new(poem_openapi::types::ToJSON::to_json_string(&data)),
        }
    }
}

struct Subscriber {
    id: u64,
    session: SessionId,
    tx: mpsc::Sender<Arc<Prepared>>,
}

#[derive(Default)]
struct Streams {
    next_id: u64,
    by_user: HashMap<UserId, Vec<Subscriber>>,
}

/// Open streams by user.
pub(crate) struct Hub {
    streams: Mutex<Streams>,
    queue: usize,
}

/// A registered stream; unregisters itself when dropped.
pub(crate) struct Subscription {
    hub: Arc<Hub>,
    user: UserId,
    id: u64,
    pub(crate) rx: mpsc::Receiver<Arc<Prepared>>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut streams = self.hub.lock();
        if let Some(subs) = streams.by_user.get_mut(&self.user) {
            subs.retain(|s| s.id != self.id);
            if subs.is_empty() {
                streams.by_user.remove(&self.user);
            }
        }
    }
}

impl Hub {
    pub(crate) fn new(queue: usize) -> Arc<Self> {
        Arc::new(Self {
            streams: Mutex::new(Streams::default()),
            queue: queue.max(1),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Streams> {
        self.streams.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a stream for `user` in `session`.
    pub(crate) fn subscribe(self: &Arc<Self>, user: UserId, session: SessionId) -> Subscription {
        let (tx, rx) = mpsc::channel(self.queue);
        let mut streams = self.lock();
        streams.next_id += 1;
        let id = streams.next_id;
        streams
            .by_user
            .entry(user)
            .or_default()
            .push(Subscriber { id, session, tx });
        Subscription {
            hub: self.clone(),
            user,
            id,
            rx,
        }
    }

    /// Open streams right now.
    pub(crate) fn len(&self) -> usize {
        self.lock().by_user.values().map(Vec::len).sum()
    }

    /// The engine's listener: routes events, closes revoked streams. Does
    /// no I/O: serialising is all the work done on the commit path.
    pub(crate) fn on_notice(&self, notice: &Notice<'_>) {
        match notice {
            Notice::Events(events) => {
                for event in events.iter() {
                    let prepared = Arc::new(Prepared::from(event));
                    let mut streams = self.lock();
                    match event.scope {
                        KeyScope::Broadcast => {
                            for subs in streams.by_user.values_mut() {
                                deliver(subs, &prepared);
                            }
                            streams.by_user.retain(|_, subs| !subs.is_empty());
                        }
                        KeyScope::User(owner) => {
                            if let Some(subs) = streams.by_user.get_mut(&owner) {
                                deliver(subs, &prepared);
                                if subs.is_empty() {
                                    streams.by_user.remove(&owner);
                                }
                            }
                        }
                    }
                }
            }
            Notice::SessionEnded(session) => {
                let mut streams = self.lock();
                if let Some(subs) = streams.by_user.get_mut(&session.user) {
                    subs.retain(|s| s.session != session.id);
                }
            }
            Notice::UserDeleted(user) => {
                self.lock().by_user.remove(user);
            }
            _ => {}
        }
    }
}

/// Queues `event` on every stream in `subs`, dropping those that are full
/// (too slow) or gone.
fn deliver(subs: &mut Vec<Subscriber>, event: &Arc<Prepared>) {
    subs.retain(|s| match s.tx.try_send(event.clone()) {
        Ok(()) => true,
        Err(mpsc::error::TrySendError::Full(_)) => {
            tracing::warn!(
                stream = s.id,
                "slow stream disconnected; it can resume with Last-Event-ID"
            );
            false
        }
        Err(mpsc::error::TrySendError::Closed(_)) => false,
    });
}

//! The in-memory fan-out: every open stream has a bounded queue; the
//! engine's commit listener routes each event to its owner's streams (or
//! to every stream, for broadcasts) with `try_send`, so the fan-out never
//! waits on a socket. A stream whose queue is full is dropped; the client
//! resumes with `Last-Event-ID`. Each event is serialised once and shared.
//!
//! A stream also learns here that it must end, with a reason it passes on
//! to its client: its session was revoked, its user deleted, the server is
//! shutting down. Each user may hold a bounded number of streams.
//!
//! Events committed by *another* instance on a shared store arrive as a
//! wake-up instead (`Item::Wake`, at most one queued per stream): the
//! stream reads what it has not seen from the store.

pub(crate) mod remote;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use strongroom_engine::events::{Event, EventPosition, Notice};
use strongroom_engine::{KeyScope, SessionId, UserId};
use tokio::sync::mpsc;

use crate::wire::secret_text::SecretText;

/// One event, serialised once for every stream that receives it.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) position: EventPosition,
    pub(crate) kind: &'static str,
    /// It carries message text: erased in bulk when the last stream lets
    /// it go, and not shown by `Debug`.
    pub(crate) json: SecretText,
}

/// How an event becomes what streams send (the events feature's wire
/// format): given to the hub, which knows no wire types.
pub(crate) type Render = fn(&Event) -> Prepared;

/// Why a stream ends (its final `end` event says so).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EndReason {
    /// Its access token (or the one its ticket was issued with) expired.
    TokenExpired,
    /// Its session was revoked: logout, or a refresh token reused.
    SessionRevoked,
    /// Its user was deleted.
    UserDeleted,
    /// Its account's role changed or it was disabled.
    AccountChanged,
    /// The server is shutting down.
    ShuttingDown,
}

impl EndReason {
    /// The reason as the `end` event states it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::TokenExpired => "token_expired",
            Self::SessionRevoked => "session_revoked",
            Self::UserDeleted => "user_deleted",
            Self::AccountChanged => "account_changed",
            Self::ShuttingDown => "shutting_down",
        }
    }
}

/// What a stream's queue carries.
#[derive(Debug)]
pub(crate) enum Item {
    Event(Arc<Prepared>),
    End(EndReason),
    /// Read the store: another instance committed events for this stream.
    Wake,
}

struct Subscriber {
    id: u64,
    session: SessionId,
    tx: mpsc::Sender<Item>,
    /// A wake-up is queued and not yet taken.
    woken: Arc<AtomicBool>,
}

impl Subscriber {
    /// Queues a wake-up unless one is pending; `false` if the stream is
    /// gone or too slow to take it (then it is dropped, like for events).
    fn wake(&self) -> bool {
        if self.woken.swap(true, Ordering::AcqRel) {
            return true;
        }
        self.tx.try_send(Item::Wake).is_ok()
    }

    /// Tells the stream to end (if its queue has room; it ends either way
    /// once the subscriber is dropped).
    fn end(&self, reason: EndReason) {
        let _ = self.tx.try_send(Item::End(reason));
    }
}

#[derive(Default)]
struct Streams {
    next_id: u64,
    by_user: HashMap<UserId, Vec<Subscriber>>,
    /// Set at shutdown: no new streams.
    closed: bool,
}

impl Streams {
    /// Whether an event in `scope` goes to any open stream.
    fn takes(&self, scope: KeyScope) -> bool {
        match scope {
            KeyScope::Broadcast => !self.by_user.is_empty(),
            KeyScope::User(owner) => self.by_user.contains_key(&owner),
        }
    }
}

/// Open streams by user.
pub(crate) struct Hub {
    streams: Mutex<Streams>,
    queue: usize,
    per_user: usize,
    render: Render,
}

/// Why a stream could not be opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The user already holds the most streams allowed.
    TooMany(usize),
    /// The server is shutting down.
    Closed,
}

/// A registered stream; unregisters itself when dropped.
pub(crate) struct Subscription {
    hub: Arc<Hub>,
    user: UserId,
    id: u64,
    pub(crate) rx: mpsc::Receiver<Item>,
    /// Cleared by the stream when it takes a wake-up.
    pub(crate) woken: Arc<AtomicBool>,
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
        metrics::gauge!("strongroom_streams_open").decrement(1.0);
    }
}

impl Hub {
    pub(crate) fn new(queue: usize, per_user: usize, render: Render) -> Arc<Self> {
        Arc::new(Self {
            streams: Mutex::new(Streams::default()),
            render,
            queue: queue.max(1),
            per_user: per_user.max(1),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Streams> {
        self.streams.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a stream for `user` in `session`, unless the user holds
    /// the most streams allowed already or the hub is closed.
    pub(crate) fn subscribe(
        self: &Arc<Self>,
        user: UserId,
        session: SessionId,
    ) -> Result<Subscription, Refused> {
        let (tx, rx) = mpsc::channel(self.queue);
        let mut streams = self.lock();
        if streams.closed {
            return Err(Refused::Closed);
        }
        streams.next_id += 1;
        let id = streams.next_id;
        let subs = streams.by_user.entry(user).or_default();
        if subs.len() >= self.per_user {
            return Err(Refused::TooMany(self.per_user));
        }
        let woken = Arc::new(AtomicBool::new(false));
        subs.push(Subscriber {
            id,
            session,
            tx,
            woken: woken.clone(),
        });
        metrics::gauge!("strongroom_streams_open").increment(1.0);
        Ok(Subscription {
            hub: self.clone(),
            user,
            id,
            rx,
            woken,
        })
    }

    /// Ends every stream (final event: shutting down) and refuses new ones.
    pub(crate) fn close(&self) {
        let mut streams = self.lock();
        streams.closed = true;
        for sub in streams.by_user.values().flatten() {
            sub.end(EndReason::ShuttingDown);
        }
        streams.by_user.clear();
    }

    /// Open streams right now.
    pub(crate) fn len(&self) -> usize {
        self.lock().by_user.values().map(Vec::len).sum()
    }

    /// The engine's listener: routes events, closes revoked streams. Does
    /// no I/O: serialising is all the work done on the commit path, and
    /// only for an event some open stream will take. A stream that opens
    /// after that check misses nothing: it registers before it replays
    /// from the store, and the event is committed before it is announced.
    pub(crate) fn on_notice(&self, notice: &Notice<'_>) {
        match notice {
            Notice::Events(events) => {
                for event in events.iter() {
                    if !self.lock().takes(event.scope) {
                        continue;
                    }
                    let prepared = Arc::new((self.render)(event));
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
            Notice::SessionEnded(session) => self.end_session(session.user, session.id),
            Notice::UserDeleted(user) => {
                for sub in self.lock().by_user.remove(user).into_iter().flatten() {
                    sub.end(EndReason::UserDeleted);
                }
            }
            Notice::AccountChanged(user) => {
                for sub in self.lock().by_user.remove(user).into_iter().flatten() {
                    sub.end(EndReason::AccountChanged);
                }
            }
            _ => {}
        }
    }
}

impl Hub {
    /// Ends the streams of one session (it was revoked).
    pub(crate) fn end_session(&self, user: UserId, session: SessionId) {
        let mut streams = self.lock();
        if let Some(subs) = streams.by_user.get_mut(&user) {
            subs.retain(|s| {
                let ended = s.session == session;
                if ended {
                    s.end(EndReason::SessionRevoked);
                }
                !ended
            });
        }
    }

    /// Wakes `user`'s streams (`None`: every stream) to read the store.
    pub(crate) fn wake(&self, user: Option<UserId>) {
        let mut streams = self.lock();
        match user {
            Some(user) => {
                if let Some(subs) = streams.by_user.get_mut(&user) {
                    subs.retain(Subscriber::wake);
                    if subs.is_empty() {
                        streams.by_user.remove(&user);
                    }
                }
            }
            None => {
                for subs in streams.by_user.values_mut() {
                    subs.retain(Subscriber::wake);
                }
                streams.by_user.retain(|_, subs| !subs.is_empty());
            }
        }
    }
}

/// Queues `event` on every stream in `subs`, dropping those that are full
/// (too slow) or gone.
fn deliver(subs: &mut Vec<Subscriber>, event: &Arc<Prepared>) {
    subs.retain(|s| match s.tx.try_send(Item::Event(event.clone())) {
        Ok(()) => {
            metrics::counter!("strongroom_events_delivered_total").increment(1);
            true
        }
        Err(mpsc::error::TrySendError::Full(_)) => {
            metrics::counter!("strongroom_stream_slow_drops_total").increment(1);
            tracing::warn!(
                stream = s.id,
                "slow stream disconnected; it can resume with Last-Event-ID"
            );
            false
        }
        Err(mpsc::error::TrySendError::Closed(_)) => false,
    });
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use strongroom_engine::events::Event;
    use strongroom_engine::{Engine, MasterKey, SecretString, SessionId};

    use super::{Hub, Item, Prepared};

    static RENDERED: AtomicUsize = AtomicUsize::new(0);

    fn counted(event: &Event) -> Prepared {
        RENDERED.fetch_add(1, Ordering::SeqCst);
        crate::events::wire::prepare(event)
    }

    /// A commit pays for serialising an event only when an open stream
    /// takes it: its owner's (or, for a broadcast, anyone's).
    #[test]
    fn events_are_serialised_only_for_open_streams() {
        let (key, _) = MasterKey::generate();
        let engine = Engine::builder(key).open_in_memory().expect("engine");
        let hub = Hub::new(64, 8, counted);
        let listener = hub.clone();
        engine.events().add_listener(move |n| listener.on_notice(n));
        let password = SecretString::from("correct horse battery");
        let alice = engine
            .accounts()
            .create("alice", &password)
            .expect("user")
            .id;
        let bob = engine.accounts().create("bob", &password).expect("user").id;

        engine
            .records()
            .put(alice, b"nobody listens", None)
            .expect("put");
        engine
            .events()
            .broadcast(alice, b"to nobody", None)
            .expect("broadcast");
        assert_eq!(RENDERED.load(Ordering::SeqCst), 0);

        let mut bobs = hub
            .subscribe(bob, SessionId::from_u128(1))
            .expect("subscribed");
        engine
            .records()
            .put(alice, b"bob does not get it", None)
            .expect("put");
        assert_eq!(RENDERED.load(Ordering::SeqCst), 0);
        engine.records().put(bob, b"for bob", None).expect("put");
        engine
            .events()
            .broadcast(alice, b"for all", None)
            .expect("broadcast");
        assert_eq!(RENDERED.load(Ordering::SeqCst), 2);
        for _ in 0..2 {
            assert!(matches!(bobs.rx.try_recv(), Ok(Item::Event(_))));
        }
        assert!(bobs.rx.try_recv().is_err(), "nothing else queued");
    }
}

//! Live delivery ([`Events`]): every stored message and broadcast has a
//! position in its scope's log, so a stream replays what it missed after
//! a [`StreamCursor`] and then follows [`Notice`]s from the listeners.
//! Cursors leave the engine only as opaque [`EventId`]s.

use std::time::Duration;

use crate::domain::events;
use crate::domain::records::NewRecord;
use crate::error::RecordError;
use crate::handle::handle;
use crate::ids::{EventId, KeyScope, UserId};
use crate::model::Receipt;
pub use crate::model::{Event, EventKind, EventPosition, Notice, StreamCursor};

handle! {
    /// Broadcasts, replay and listeners: [`Engine::events`](crate::Engine::events).
    Events
}

impl Events<'_> {
    /// Stores `plaintext` as a broadcast from `sender`: one record in the
    /// broadcast scope (its own data key), expiring like any record, that
    /// every user's stream delivers.
    pub fn broadcast(
        &self,
        sender: UserId,
        plaintext: &[u8],
        ttl: Option<Duration>,
    ) -> Result<Receipt, RecordError> {
        let record = NewRecord::new(
            &self.0.inner.limits,
            self.0.origin,
            sender,
            KeyScope::Broadcast,
            plaintext,
            ttl,
        )?;
        self.0.records().commit_one(record)
    }

    /// Up to `limit` unexpired events `user` is entitled to (their messages
    /// and all broadcasts) after `cursor`. Pass each through
    /// [`StreamCursor::advance`] to move on; publish the cursor as an
    /// [`EventId`] to let a client resume.
    ///
    /// ```
    /// # use strongroom_engine::{Engine, MasterKey, SecretString};
    /// use strongroom_engine::events::StreamCursor;
    /// # fn main() -> Result<(), strongroom_engine::Error> {
    /// # let engine = Engine::builder(MasterKey::generate().0).open_in_memory()?;
    /// # let alice = engine.accounts().create("alice", &SecretString::from("correct horse battery"))?.id;
    /// let events = engine.events();
    /// engine.records().put(alice, b"mine", None)?;
    /// events.broadcast(alice, b"everyone's", None)?;
    /// let mut cursor = StreamCursor::start();
    /// for event in events.after(alice, cursor, 100)? {
    ///     assert!(cursor.advance(event.position()));
    /// }
    /// // The client keeps an opaque id; later it resumes exactly there.
    /// let last_event_id = events.event_id(alice, cursor).to_string();
    /// engine.records().put(alice, b"later", None)?;
    /// let resumed = events.cursor(alice, last_event_id.parse()?).expect("ours");
    /// let missed = events.after(alice, resumed, 100)?;
    /// assert_eq!(missed.len(), 1);
    /// assert_eq!(missed[0].plaintext.as_slice(), b"later");
    /// # Ok(())
    /// # }
    /// ```
    pub fn after(
        &self,
        user: UserId,
        cursor: StreamCursor,
        limit: usize,
    ) -> Result<Vec<Event>, RecordError> {
        let now = self.0.now();
        let keyring = &self.0.inner.keyring;
        self.0
            .store()
            .read_with(|tx| events::replay(tx, keyring, user, cursor, limit, now))
    }

    /// The opaque id of `user`'s stream at `cursor`, to send as an SSE `id`.
    pub fn event_id(&self, user: UserId, cursor: StreamCursor) -> EventId {
        self.0.inner.keyring.event_id(user, cursor)
    }

    /// The cursor behind an event id; `None` unless this engine issued it
    /// to `user`.
    pub fn cursor(&self, user: UserId, id: EventId) -> Option<StreamCursor> {
        self.0.inner.keyring.cursor(user, id)
    }

    /// Registers `listener`, called after each durable change a live stream
    /// cares about, in commit order, on the committing thread. It gets the
    /// notice only; keep it quick and non-blocking. If it panics, the panic
    /// hook reports it and it misses that notice; the change stands and
    /// the other listeners are told.
    ///
    /// ```
    /// # use std::sync::{Arc, Mutex};
    /// # use strongroom_engine::{Engine, MasterKey, SecretString};
    /// use strongroom_engine::events::Notice;
    /// # fn main() -> Result<(), strongroom_engine::Error> {
    /// # let engine = Engine::builder(MasterKey::generate().0).open_in_memory()?;
    /// # let alice = engine.accounts().create("alice", &SecretString::from("correct horse battery"))?.id;
    /// let heard = Arc::new(Mutex::new(Vec::new()));
    /// let sink = heard.clone();
    /// engine.events().add_listener(move |notice| {
    ///     if let Notice::Events(events) = notice {
    ///         let mut sink = sink.lock().unwrap();
    ///         sink.extend(events.iter().map(|e| e.meta.sender_name.clone()));
    ///     }
    /// });
    /// engine.records().put(alice, b"hello", None)?;
    /// assert_eq!(*heard.lock().unwrap(), [Some("alice".to_owned())]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn add_listener(&self, listener: impl Fn(&Notice<'_>) + Send + Sync + 'static) {
        self.0.inner.listeners.add(listener);
    }
}

//! The [`Engine`]: the public handle. Each method validates its input,
//! runs one domain operation in one transaction (or through group commit)
//! and tells the listeners; the domain modules below do the work.

pub(crate) mod access;
pub(crate) mod audit;
pub(crate) mod builder;
pub(crate) mod e2e;
pub(crate) mod ops;
pub(crate) mod queued;
pub(crate) mod session_cache;
pub(crate) mod sessions;
pub(crate) mod shares;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use crate::clock::{Clock, Timestamp};
use crate::crypto::password::PasswordHasher;
use crate::domain;
use crate::domain::accounts;
use crate::domain::api_keys::KeyUse;
use crate::domain::audit::Note;
use crate::domain::events;
use crate::domain::integrity::{self, IntegrityReport};
use crate::domain::records::{self, NewRecord};
use crate::domain::tokens;
use crate::error::{AccountError, AuthError, RecordError, StorageError};
use crate::handle::session_cache::SessionCache;
use crate::ids::{EventId, KeyScope, RecordId, UserId};
use crate::keyring::Keyring;
use crate::model::access::Quota;
use crate::model::audit::{Actor, AuditAction, AuditTarget, Origin};
use crate::model::{
    Event, Limits, Notice, Page, Receipt, Record, Role, StreamCursor, User, UserPage,
};
use crate::store::Store;
use crate::store::watched::Watched;
use crate::write::listeners::Listeners;
use crate::write::{Context, GroupCommit};

pub(crate) struct Inner {
    pub(crate) store: Watched,
    pub(crate) sessions: SessionCache,
    pub(crate) keyring: Keyring,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) limits: Limits,
    pub(crate) hasher: PasswordHasher,
    pub(crate) listeners: Listeners,
    pub(crate) commits: GroupCommit,
    pub(crate) key_use: KeyUse,
    pub(crate) default_quota: Option<Quota>,
    pub(crate) audit_retention: Duration,
}

/// The storage engine: encrypted, expiring, user-scoped records plus
/// accounts and tokens, in one database.
///
/// Synchronous, `Send + Sync` and cheap to clone (clones share one
/// database). Writes block on a durable commit and password operations run
/// Argon2, so async callers run those on a blocking thread; reads are
/// in-memory B-tree lookups and decryption.
///
/// ```
/// use strongroom_engine::{Engine, MasterKey, SecretString};
///
/// # fn main() -> Result<(), strongroom_engine::Error> {
/// let (key, _text) = MasterKey::generate();
/// let engine = Engine::builder(key).open_in_memory()?;
/// let alice = engine.create_user("alice", &SecretString::from("correct horse battery"))?;
/// let bob = engine.create_user("bob", &SecretString::from("another long password"))?;
///
/// engine.send(alice.id, bob.id, b"hi bob", None)?;
/// let page = engine.list(bob.id, None, 10)?;
/// assert_eq!(page.records[0].plaintext.as_slice(), b"hi bob");
/// assert_eq!(page.records[0].meta.sender_name.as_deref(), Some("alice"));
/// assert!(engine.list(alice.id, None, 10)?.records.is_empty());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
    /// Who the changes made through this handle are recorded as.
    pub(crate) origin: Origin,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("limits", &self.inner.limits)
            .field("clock", &self.inner.clock)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// The engine's clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// The bounds this engine enforces.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// Whether reads may wait on the network. False for the embedded store:
    /// reads there are B-tree lookups in memory-mapped pages plus
    /// decryption, cheap enough for an async executor's thread; writes
    /// (durable commits) and password work always block.
    pub fn reads_block(&self) -> bool {
        self.store().reads_block()
    }

    /// This engine, recording the changes made through the returned handle
    /// as done by `origin` in the audit log (an API sets the signed-in
    /// caller and their address per request). Cheap: it shares the
    /// database.
    pub fn acting(&self, origin: Origin) -> Engine {
        Engine {
            inner: self.inner.clone(),
            origin,
        }
    }

    /// Who this handle records as acting.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    /// The audit note of `action` on `target`, by this handle's actor or
    /// else `default`.
    pub(crate) fn note(&self, default: Actor, action: AuditAction, target: AuditTarget) -> Note {
        Note::new(self.origin, default, action, target)
    }

    /// Appends `note` to the audit log in `tx`.
    pub(crate) fn audit(
        &self,
        tx: &mut dyn crate::store::WriteTx,
        note: Note,
    ) -> Result<(), StorageError> {
        domain::audit::append(tx, note, self.now()).map(drop)
    }

    pub(crate) fn store(&self) -> &dyn Store {
        &self.inner.store
    }

    /// What the group commit needs from this engine.
    pub(crate) fn commit_context(&self) -> Context<'_> {
        Context {
            store: self.store(),
            keyring: &self.inner.keyring,
            clock: &*self.inner.clock,
            listeners: &self.inner.listeners,
            default_quota: self.inner.default_quota,
        }
    }

    /// The group-commit queue.
    pub(crate) fn commits(&self) -> &crate::write::GroupCommit {
        &self.inner.commits
    }

    fn commit(
        &self,
        job: Vec<NewRecord>,
    ) -> Result<Vec<Result<Receipt, RecordError>>, RecordError> {
        self.inner.commits.submit(&self.commit_context(), job)
    }

    fn commit_one(&self, record: NewRecord) -> Result<Receipt, RecordError> {
        crate::write::single(self.commit(vec![record]))
    }

    // ----- records -----

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
            &self.inner.limits,
            self.origin,
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
        let limits = &self.inner.limits;
        let job = records
            .into_iter()
            .map(|(owner, plaintext)| {
                let scope = KeyScope::User(owner);
                NewRecord::new(limits, self.origin, owner, scope, plaintext, ttl)
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.commit(job)
    }

    /// Stores many messages, each from its sender to its recipient, in one
    /// durable transaction (bulk loads and seeding); results as for
    /// [`Engine::put_batch`].
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
        let now = self.now();
        let keyring = &self.inner.keyring;
        self.store()
            .read_with(|tx| records::get(tx, keyring, owner, id, now))
    }

    /// Up to `limit` (1 to [`Limits::max_page`]) unexpired records of
    /// `owner`, newest first, after `cursor` (the previous page's
    /// `next_cursor`).
    ///
    /// ```
    /// # use strongroom_engine::{Engine, MasterKey, SecretString};
    /// # fn main() -> Result<(), strongroom_engine::Error> {
    /// # let engine = Engine::builder(MasterKey::generate().0).open_in_memory()?;
    /// # let alice = engine.create_user("alice", &SecretString::from("correct horse battery"))?.id;
    /// for i in 0..5u8 {
    ///     engine.put(alice, &[i], None)?;
    /// }
    /// let mut seen = Vec::new();
    /// let mut cursor = None;
    /// loop {
    ///     let page = engine.list(alice, cursor, 2)?;
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
        let max = self.inner.limits.max_page;
        if limit == 0 || limit > max {
            return Err(RecordError::InvalidLimit { max });
        }
        let now = self.now();
        let keyring = &self.inner.keyring;
        self.store()
            .read_with(|tx| records::list(tx, keyring, owner, cursor, limit, now))
    }

    /// Deletes record `id` of `owner`; `NotFound` as for [`Engine::get`]
    /// (an expired record is removed all the same).
    pub fn delete(&self, owner: UserId, id: RecordId) -> Result<(), RecordError> {
        let now = self.now();
        let keyring = &self.inner.keyring;
        let target = AuditTarget::Message { owner, id };
        let note = self.note(Actor::User(owner), AuditAction::DeleteMessage, target);
        let live = self.store().write_with(|tx| {
            let live = records::delete(tx, keyring, owner, id, now)?;
            self.audit(tx, note)?;
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
        self.store()
            .write_with(|tx| records::purge_expired(tx, now, limit))
    }

    // ----- events -----

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
            &self.inner.limits,
            self.origin,
            sender,
            KeyScope::Broadcast,
            plaintext,
            ttl,
        )?;
        self.commit_one(record)
    }

    /// Up to `limit` unexpired events `user` is entitled to (their messages
    /// and all broadcasts) after `cursor`. Pass each through
    /// [`StreamCursor::advance`] to move on; publish the cursor as an
    /// [`EventId`] to let a client resume.
    ///
    /// ```
    /// # use strongroom_engine::{Engine, MasterKey, SecretString, StreamCursor};
    /// # fn main() -> Result<(), strongroom_engine::Error> {
    /// # let engine = Engine::builder(MasterKey::generate().0).open_in_memory()?;
    /// # let alice = engine.create_user("alice", &SecretString::from("correct horse battery"))?.id;
    /// engine.put(alice, b"mine", None)?;
    /// engine.broadcast(alice, b"everyone's", None)?;
    /// let mut cursor = StreamCursor::start();
    /// for event in engine.events_after(alice, cursor, 100)? {
    ///     assert!(cursor.advance(event.position()));
    /// }
    /// // The client keeps an opaque id; later it resumes exactly there.
    /// let last_event_id = engine.event_id(alice, cursor).to_string();
    /// engine.put(alice, b"later", None)?;
    /// let resumed = engine.stream_cursor(alice, last_event_id.parse()?).expect("ours");
    /// let missed = engine.events_after(alice, resumed, 100)?;
    /// assert_eq!(missed.len(), 1);
    /// assert_eq!(missed[0].plaintext.as_slice(), b"later");
    /// # Ok(())
    /// # }
    /// ```
    pub fn events_after(
        &self,
        user: UserId,
        cursor: StreamCursor,
        limit: usize,
    ) -> Result<Vec<Event>, RecordError> {
        let now = self.now();
        let keyring = &self.inner.keyring;
        self.store()
            .read_with(|tx| events::replay(tx, keyring, user, cursor, limit, now))
    }

    /// The opaque id of `user`'s stream at `cursor`, to send as an SSE `id`.
    pub fn event_id(&self, user: UserId, cursor: StreamCursor) -> EventId {
        self.inner.keyring.event_id(user, cursor)
    }

    /// The cursor behind an event id; `None` unless this engine issued it
    /// to `user`.
    pub fn stream_cursor(&self, user: UserId, id: EventId) -> Option<StreamCursor> {
        self.inner.keyring.cursor(user, id)
    }

    /// Registers `listener`, called after each durable change a live stream
    /// cares about, in commit order, on the committing thread. It gets the
    /// notice only; keep it quick and non-blocking.
    ///
    /// ```
    /// # use std::sync::{Arc, Mutex};
    /// # use strongroom_engine::{Engine, MasterKey, Notice, SecretString};
    /// # fn main() -> Result<(), strongroom_engine::Error> {
    /// # let engine = Engine::builder(MasterKey::generate().0).open_in_memory()?;
    /// # let alice = engine.create_user("alice", &SecretString::from("correct horse battery"))?.id;
    /// let heard = Arc::new(Mutex::new(Vec::new()));
    /// let sink = heard.clone();
    /// engine.add_listener(move |notice| {
    ///     if let Notice::Events(events) = notice {
    ///         let mut sink = sink.lock().unwrap();
    ///         sink.extend(events.iter().map(|e| e.meta.sender_name.clone()));
    ///     }
    /// });
    /// engine.put(alice, b"hello", None)?;
    /// assert_eq!(*heard.lock().unwrap(), [Some("alice".to_owned())]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn add_listener(&self, listener: impl Fn(&Notice<'_>) + Send + Sync + 'static) {
        self.inner.listeners.add(listener);
    }

    // ----- accounts -----

    /// Creates an account with the `user` role. Hashes the password with
    /// Argon2id (tens of milliseconds of CPU: call it from a blocking
    /// thread).
    pub fn create_user(
        &self,
        username: &str,
        password: &SecretString,
    ) -> Result<User, AccountError> {
        self.create_user_with_role(username, password, Role::User)
    }

    /// [`Engine::create_user`] with a chosen role (the first admin comes
    /// from the command line this way).
    pub fn create_user_with_role(
        &self,
        username: &str,
        password: &SecretString,
        role: Role,
    ) -> Result<User, AccountError> {
        accounts::validate_username(username)?;
        accounts::validate_password(password)?;
        // A taken name is refused before the Argon2 work.
        if self.user_id(username)?.is_some() {
            return Err(AccountError::UsernameTaken);
        }
        let mut created = self.store_accounts(&[username], password, role)?;
        Ok(created
            .pop()
            .unwrap_or_else(|| unreachable!("one name stores one account")))
    }

    /// Hashes `password` once and stores an account for each of `names`
    /// (validated by the caller), each with its key scope and audit entry,
    /// in one transaction: a taken name creates none of them. A handle
    /// acting for an anonymous caller records a registration (the new
    /// account acting), any other a creation by its actor (default: the
    /// operator).
    fn store_accounts(
        &self,
        names: &[&str],
        password: &SecretString,
        role: Role,
    ) -> Result<Vec<User>, AccountError> {
        let phc = self
            .inner
            .hasher
            .hash(password)
            .ok_or(AccountError::Hashing)?;
        let now = self.now();
        let keyring = &self.inner.keyring;
        let registers = self.origin.actor == Some(Actor::Anonymous);
        self.store().write_with(|tx| {
            names
                .iter()
                .map(|name| {
                    let user = accounts::create(tx, name, phc.clone(), role, now)?;
                    keyring.create_scope(tx, KeyScope::User(user.id))?;
                    let target = AuditTarget::User(user.id);
                    // An anonymous origin yields to the actor named here.
                    let note = if registers {
                        self.note(Actor::User(user.id), AuditAction::Register, target)
                    } else {
                        self.note(Actor::Operator, AuditAction::CreateUser, target)
                    };
                    self.audit(tx, note)?;
                    Ok(user)
                })
                .collect()
        })
    }

    /// Up to `limit` accounts after `after`, in id (creation) order.
    pub fn users(&self, after: Option<UserId>, limit: usize) -> Result<UserPage, StorageError> {
        let (users, next) = self
            .store()
            .read_with(|tx| accounts::page(tx, after, limit.max(1)))?;
        Ok(UserPage { users, next })
    }

    /// Ends every session of `user`: all their access and refresh tokens
    /// stop working and their streams end.
    pub fn end_sessions(&self, user: UserId) -> Result<(), AccountError> {
        let target = AuditTarget::User(user);
        let note = self.note(Actor::Operator, AuditAction::EndSessions, target);
        self.store().write_with(|tx| {
            accounts::get(tx, user)?.ok_or(AccountError::NotFound)?;
            tokens::end_all_sessions(tx, user)?;
            self.audit(tx, note)?;
            Ok::<_, AccountError>(())
        })?;
        self.inner.listeners.notify(&Notice::AccountChanged(user));
        Ok(())
    }

    /// Changes `user`'s role. Takes effect on their next request (every
    /// credential reads the role with the token); their streams end.
    pub fn set_role(&self, user: UserId, role: Role) -> Result<User, AccountError> {
        self.change_account(user, AuditAction::SetRole(role), |row| row.role = role)
    }

    /// Disables or enables `user`. A disabled account's credentials are
    /// refused from the next request on (its sessions are kept, so enabling
    /// it again restores them); its streams end.
    pub fn set_disabled(&self, user: UserId, disabled: bool) -> Result<User, AccountError> {
        let action = if disabled {
            AuditAction::DisableUser
        } else {
            AuditAction::EnableUser
        };
        self.change_account(user, action, |row| row.disabled = disabled)
    }

    /// Applies `change` to `user`'s row, records `action`, and ends their
    /// streams.
    fn change_account(
        &self,
        user: UserId,
        action: AuditAction,
        change: impl Fn(&mut crate::schema::UserRow),
    ) -> Result<User, AccountError> {
        let note = self.note(Actor::Operator, action, AuditTarget::User(user));
        let changed = self.store().write_with(|tx| {
            let changed = accounts::update(tx, user, &change)?;
            self.audit(tx, note)?;
            Ok::<_, AccountError>(changed)
        })?;
        self.inner.listeners.notify(&Notice::AccountChanged(user));
        Ok(changed)
    }

    /// Creates many accounts that share one password, hashed once, in one
    /// transaction: for seeding test data and bulk imports, not for people.
    /// Every name is validated first; a taken name creates none of them.
    pub fn create_users_sharing_password(
        &self,
        usernames: &[String],
        password: &SecretString,
    ) -> Result<Vec<User>, AccountError> {
        for name in usernames {
            accounts::validate_username(name)?;
        }
        accounts::validate_password(password)?;
        let names: Vec<&str> = usernames.iter().map(String::as_str).collect();
        self.store_accounts(&names, password, Role::User)
    }

    /// The id of the account named `username`, if there is one.
    pub fn user_id(&self, username: &str) -> Result<Option<UserId>, AccountError> {
        Ok(self.store().read_with(|tx| accounts::find(tx, username))?)
    }

    /// The account with this id.
    pub fn user(&self, id: UserId) -> Result<User, AccountError> {
        self.store()
            .read_with(|tx| accounts::get(tx, id))?
            .ok_or(AccountError::NotFound)
    }

    /// Checks a username and password. Unknown user and wrong password give
    /// the same error after the same Argon2 work.
    pub fn verify_credentials(
        &self,
        username: &str,
        password: &SecretString,
    ) -> Result<UserId, AuthError> {
        match self.check_password(username, password)? {
            (Some(id), true) => Ok(id),
            _ => Err(AuthError::InvalidCredentials),
        }
    }

    /// The account named `username`, if any, and whether `password` is
    /// its password (the same Argon2 work either way).
    pub(crate) fn check_password(
        &self,
        username: &str,
        password: &SecretString,
    ) -> Result<(Option<UserId>, bool), AuthError> {
        let found = self
            .store()
            .read_with(|tx| accounts::credentials(tx, username))?;
        let hasher = &self.inner.hasher;
        Ok(match found {
            Some((id, phc)) => (Some(id), hasher.verify(password, &phc)),
            None => {
                hasher.verify_dummy(password);
                (None, false)
            }
        })
    }

    /// Deletes an account in one transaction: its profile, its wrapped data
    /// keys (so every copy of its records, backups included, becomes
    /// unreadable), its records with their expiry entries, and its tokens.
    pub fn delete_user(&self, id: UserId) -> Result<(), AccountError> {
        let keyring = &self.inner.keyring;
        let scope = KeyScope::User(id);
        let note = self.note(
            Actor::Operator,
            AuditAction::DeleteUser,
            AuditTarget::User(id),
        );
        self.store().write_with(|tx| {
            accounts::remove(tx, id)?.ok_or(AccountError::NotFound)?;
            keyring.delete_scope(tx, scope)?;
            records::delete_scope(tx, scope)?;
            tokens::end_all_sessions(tx, id)?;
            domain::shares::delete_owner(tx, id)?;
            crate::domain::quotas::forget(tx, id)?;
            crate::domain::e2e_keys::forget(tx, id)?;
            self.audit(tx, note)?;
            Ok::<_, AccountError>(())
        })?;
        keyring.forget_scope(scope);
        self.inner.listeners.notify(&Notice::UserDeleted(id));
        Ok(())
    }

    // ----- operations -----

    /// Whether the store takes writes: commits an empty transaction.
    /// Blocks on a durable commit.
    pub fn check_writable(&self) -> Result<(), StorageError> {
        self.store().write_with(|_| Ok(()))
    }

    /// Checks that every record has exactly its expiry entry and a key ring,
    /// every token its expiry and session entries, and every user its name
    /// entry and current data key. Reads the whole store: O(size).
    pub fn check_integrity(&self) -> Result<IntegrityReport, StorageError> {
        let keyring = &self.inner.keyring;
        self.store()
            .read_with(|tx| integrity::check(tx, keyring, false))
    }

    /// [`Engine::check_integrity`], and also opens every record's envelope
    /// with its scope's keys (an operator's `verify --deep`). Plaintext is
    /// zeroized at once and never returned.
    pub fn check_integrity_deep(&self) -> Result<IntegrityReport, StorageError> {
        let keyring = &self.inner.keyring;
        self.store()
            .read_with(|tx| integrity::check(tx, keyring, true))
    }
}

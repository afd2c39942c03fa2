//! The public face: the [`Engine`] and its builder, and one handle per
//! domain — [`Engine::records`], [`Engine::events`], [`Engine::accounts`],
//! [`Engine::sessions`], [`Engine::api_keys`], [`Engine::files`],
//! [`Engine::shares`], [`Engine::credits`],
//! [`Engine::e2e`], [`Engine::admin`], [`Engine::audit`] and
//! [`Engine::maintenance`] — mirroring the HTTP API's groups. Each handle
//! method validates its input, runs one domain operation in one
//! transaction (or through group commit) and tells the listeners; the
//! domain modules below do the work.
//!
//! Each handle's module is public (for example
//! [`crate::records`]) and also holds the values its methods take
//! and return.

pub mod accounts;
pub mod admin;
pub mod api_keys;
pub mod audit;
pub(crate) mod builder;
pub mod credits;
pub mod e2e;
pub mod events;
pub mod files;
pub mod maintenance;
pub mod passkeys;
pub mod records;
pub(crate) mod session_cache;
pub mod sessions;
pub mod shares;
pub mod two_factor;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, Timestamp};
use crate::crypto::password::PasswordHasher;
use crate::domain;
use crate::domain::api_keys::KeyUse;
use crate::domain::audit::Note;
use crate::error::StorageError;
use crate::handle::session_cache::SessionCache;
use crate::keyring::Keyring;
use crate::model::Limits;
use crate::model::access::Quota;
use crate::model::audit::{Actor, AuditAction, AuditTarget, Origin};
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
    pub(crate) credits: crate::model::credits::CreditsConfig,
}

/// The storage engine: encrypted, expiring, user-scoped records plus
/// accounts and tokens, in one database.
///
/// Synchronous, `Send + Sync` and cheap to clone (clones share one
/// database). Its operations are grouped in handles, one per domain, each
/// borrowed from the engine: `engine.records().put(..)`,
/// `engine.accounts().create(..)`. Writes block on a durable commit and
/// password operations run Argon2, so async callers run those on a blocking
/// thread; reads are in-memory B-tree lookups and decryption.
///
/// ```
/// use strongroom_engine::{Engine, MasterKey, SecretString};
///
/// # fn main() -> Result<(), strongroom_engine::Error> {
/// let (key, _text) = MasterKey::generate();
/// let engine = Engine::builder(key).open_in_memory()?;
/// let accounts = engine.accounts();
/// let alice = accounts.create("alice", &SecretString::from("correct horse battery"))?;
/// let bob = accounts.create("bob", &SecretString::from("another long password"))?;
///
/// let records = engine.records();
/// records.send(alice.id, bob.id, b"hi bob", None)?;
/// let page = records.list(bob.id, None, 10)?;
/// assert_eq!(page.records[0].plaintext.as_slice(), b"hi bob");
/// assert_eq!(page.records[0].meta.sender_name.as_deref(), Some("alice"));
/// assert!(records.list(alice.id, None, 10)?.records.is_empty());
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

/// Defines a domain handle: a `Copy` borrow of the engine.
macro_rules! handle {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy)]
        pub struct $name<'a>(pub(crate) &'a crate::handle::Engine);

        impl std::fmt::Debug for $name<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_tuple(stringify!($name)).finish_non_exhaustive()
            }
        }
    };
}
pub(crate) use handle;

impl Engine {
    /// Messages: store, send, read, list, delete, expire.
    pub fn records(&self) -> records::Records<'_> {
        records::Records(self)
    }

    /// Live delivery: broadcasts, the event log a stream replays, opaque
    /// event ids and listeners.
    pub fn events(&self) -> events::Events<'_> {
        events::Events(self)
    }

    /// Accounts: registration, lookup, password checks, quotas in force.
    pub fn accounts(&self) -> accounts::Accounts<'_> {
        accounts::Accounts(self)
    }

    /// Sessions: log in, bearer checks, refresh, log out, stream tickets.
    pub fn sessions(&self) -> sessions::Sessions<'_> {
        sessions::Sessions(self)
    }

    /// Scoped API keys for services.
    pub fn api_keys(&self) -> api_keys::ApiKeys<'_> {
        api_keys::ApiKeys(self)
    }

    /// Encrypted files: streamed uploads, range reads, expiry.
    pub fn files(&self) -> files::Files<'_> {
        files::Files(self)
    }

    /// Share links for people without an account.
    pub fn shares(&self) -> shares::Shares<'_> {
        shares::Shares(self)
    }

    /// The end-to-end key directory.
    pub fn e2e(&self) -> e2e::E2eKeys<'_> {
        e2e::E2eKeys(self)
    }

    /// Passkeys (WebAuthn credentials) to sign in with.
    pub fn passkeys(&self) -> passkeys::Passkeys<'_> {
        passkeys::Passkeys(self)
    }

    /// Two-factor sign-in: TOTP and recovery codes.
    pub fn two_factor(&self) -> two_factor::TwoFactor<'_> {
        two_factor::TwoFactor(self)
    }

    /// Credits: balances, the ledger, adjustments and purchases.
    pub fn credits(&self) -> credits::Credits<'_> {
        credits::Credits(self)
    }

    /// Account management: roles, disabling, sessions, deletion, quotas.
    pub fn admin(&self) -> admin::Admin<'_> {
        admin::Admin(self)
    }

    /// The hash-chained audit log: pages, signed checkpoints, verification.
    pub fn audit(&self) -> audit::Audit<'_> {
        audit::Audit(self)
    }

    /// Operator work on the whole store: integrity checks, backups,
    /// data-key rotation, the maintenance lease.
    pub fn maintenance(&self) -> maintenance::Maintenance<'_> {
        maintenance::Maintenance(self)
    }

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
    pub(crate) fn audit_in(
        &self,
        tx: &mut dyn crate::store::WriteTx,
        note: Note,
    ) -> Result<(), StorageError> {
        let chain = self.inner.keyring.audit_chain();
        domain::audit::append(tx, chain, note, self.now()).map(drop)
    }

    /// Records an operator action that is not itself a database write
    /// (a backup) or spans many transactions (a data-key rotation).
    pub(crate) fn audit_operation(&self, action: AuditAction) -> Result<(), StorageError> {
        let note = self.note(Actor::Operator, action, AuditTarget::None);
        self.store().write_with(|tx| self.audit_in(tx, note))
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
            credits: &self.inner.credits,
        }
    }

    /// The group-commit queue.
    pub(crate) fn commits(&self) -> &GroupCommit {
        &self.inner.commits
    }
}

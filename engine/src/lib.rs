//! # strongroom-engine
//!
//! An embeddable store for secret, expiring, per-user records. Every record
//! is sealed with AES-256-GCM under its owner's data key, in an envelope
//! that carries its own random nonce; data keys are stored only wrapped
//! under the master key. Records expire after a time-to-live. Accounts
//! (Argon2id) and rotating bearer tokens live in the same database, so a
//! write is one ACID transaction. Identifiers that leave the engine are
//! opaque.
//!
//! ## Quick start
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use strongroom_engine::{Clock, Engine, ManualClock, MasterKey, SecretString, Timestamp};
//!
//! # fn main() -> Result<(), strongroom_engine::Error> {
//! let dir = tempfile::tempdir().expect("tempdir");
//! let clock = ManualClock::new(Timestamp::from_unix_millis(1_700_000_000_000));
//! let key = MasterKey::from_base64(&SecretString::from(
//!     "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
//! ))?;
//! let engine = Engine::builder(key)
//!     .clock(Arc::new(clock.clone()))
//!     .open(dir.path().join("strongroom.redb"))?;
//!
//! let alice = engine.create_user("alice", &SecretString::from("correct horse battery"))?;
//! let receipt = engine.put(alice.id, b"meet at noon", Some(Duration::from_secs(60)))?;
//! let record = engine.get(alice.id, receipt.meta.id)?;
//! assert_eq!(record.plaintext.as_slice(), b"meet at noon");
//!
//! clock.advance(Duration::from_secs(61));
//! assert!(engine.get(alice.id, receipt.meta.id).is_err()); // expired
//! assert_eq!(engine.purge_expired(clock.now(), 100)?, 1);
//! # Ok(())
//! # }
//! ```
//!
//! ## Layers
//!
//! Modules import downwards only:
//!
//! ```text
//! Engine, EngineBuilder           the public handle; delegates down
//!   commit                        group commit: many writers, one durable transaction
//!     records accounts tokens     domain modules: a transaction + the keyring,
//!     events integrity audit      never the Engine; records and tokens append
//!     api_keys quotas shares      to the audit log and tokens store API keys
//!       keyring                   master key, data-key cache, counters, id permutations
//!         model    schema         public values | tables, typed rows, versions
//!           store                 ordered byte tables in transactions (redb)
//!             keys envelope idcipher      crypto, no storage knowledge
//!             e2e                         HPKE seal/open of end-to-end messages
//!               ids clock error           ground
//! ```
//!
//! ## Features
//!
//! - `hazmat`: the `hazmat` module, raw crypto with caller-chosen nonces,
//!   for known-answer tests, fuzzing and benchmarks.
//! - `testing`: `testing::MemoryBackend`, a fault-injecting in-memory disk,
//!   and `EngineBuilder::open_with_backend`; with `postgres`, also
//!   `testing::PgCluster`, a throwaway PostgreSQL server for tests.
//! - `postgres`: the PostgreSQL backend, `EngineBuilder::open_postgres`, so
//!   several processes serve one store.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]
#![warn(unreachable_pub)]

mod clock;
mod crypto;
mod domain;
mod error;
mod handle;
mod ids;
mod keyring;
mod model;
mod schema;
mod scopes;
mod store;
mod write;

#[cfg(feature = "hazmat")]
pub use crypto::hazmat;
pub use crypto::{e2e, share_client};
#[cfg(all(feature = "testing", feature = "postgres"))]
mod pg_cluster;

/// Test support (feature `testing`).
#[cfg(feature = "testing")]
pub mod testing {
    #[cfg(feature = "postgres")]
    pub use crate::pg_cluster::PgCluster;
    pub use crate::store::memory::MemoryBackend;

    /// A change to the stored audit log made behind the chain's back
    /// ([`Engine::tamper_audit`](crate::Engine::tamper_audit)), for tests
    /// that verification catches it.
    #[derive(Clone, Copy, Debug)]
    pub enum AuditTamper {
        /// Flip entry N's outcome, keeping its stored hash.
        Modify(u64),
        /// Delete entry N.
        Delete(u64),
        /// Swap entries A and B.
        Swap(u64, u64),
        /// Delete entry N and everything after it (the head moves back
        /// with them).
        Truncate(u64),
    }
}

pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use crypto::keys::{KEY_LEN, MasterKey};
pub use crypto::password::PasswordCost;
pub use crypto::sharekeys::SHARE_TOKEN_LEN;
pub use domain::accounts::{PASSWORD_LEN, USERNAME_LEN, validate_password, validate_username};
pub use domain::integrity::{IntegrityProblem, IntegrityReport};
pub use domain::tokens::{ACCESS_TOKEN_TTL, REFRESH_TOKEN_TTL, TICKET_TTL};
pub use error::{
    AccountError, ApiKeyError, AuthError, DecryptionFailed, E2eKeyError, Error, InvariantViolated,
    KeyError, OpenError, RecordError, ShareError, StorageError,
};
pub use handle::Engine;
pub use handle::audit::DEFAULT_AUDIT_RETENTION;
pub use handle::builder::{DEFAULT_DEK_ROTATION, EngineBuilder};
pub use handle::ops::{BackupReport, DataKeyProgress, RotateError, compact};
pub use handle::queued::{QueuedWrite, Turn};
pub use ids::{EventId, KeyScope, ParseIdError, RecordId, SessionId, ShareId, UserId};
pub use model::access::{
    API_KEY_MAX_TTL, API_KEY_NAME_LEN, API_KEY_PREFIX, ApiKeyInfo, MAX_API_KEYS, NewApiKey, Quota,
    QuotaStatus, Usage,
};
pub use model::audit::{
    Actor, AuditAction, AuditEntry, AuditFilter, AuditOutcome, AuditPage, AuditProblem,
    AuditReport, AuditTarget, Checkpoint, Origin,
};
pub use model::e2e::{
    E2E_MAX_ITERATIONS, E2E_MAX_KEY_VERSIONS, E2E_MIN_ITERATIONS, E2eKey, PublishedKey,
};
pub use model::shares::{
    CreatedShare, NewShare, OpenedShare, SHARE_DEFAULT_TTL, SHARE_MAX_ATTEMPTS, SHARE_MAX_TTL,
    SHARE_MAX_VIEWS, SHARE_MIN_TTL, SHARE_PASSPHRASE_MAX, ShareInfo, ShareLife, ShareStatus,
};
pub use model::{
    BearerToken, Credential, DEFAULT_MAX_PAGE, DEFAULT_MAX_RECORD_LEN, DEFAULT_MAX_TTL,
    DEFAULT_TTL, Event, EventKind, EventPosition, Limits, Notice, Page, Receipt, Record,
    RecordMeta, Role, Session, StreamCursor, Ticket, TokenPair, User, UserPage,
};
pub use schema::SCHEMA_VERSION;
pub use scopes::{Scope, Scopes};
pub use secrecy::{self, SecretString};

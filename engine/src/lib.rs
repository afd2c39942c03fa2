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
//! let alice = engine.accounts().create("alice", &SecretString::from("correct horse battery"))?;
//! let records = engine.records();
//! let receipt = records.put(alice.id, b"meet at noon", Some(Duration::from_secs(60)))?;
//! let record = records.get(alice.id, receipt.meta.id)?;
//! assert_eq!(record.plaintext.as_slice(), b"meet at noon");
//!
//! clock.advance(Duration::from_secs(61));
//! assert!(records.get(alice.id, receipt.meta.id).is_err()); // expired
//! assert_eq!(records.purge_expired(clock.now(), 100)?, 1);
//! # Ok(())
//! # }
//! ```
//!
//! ## The way in
//!
//! An [`Engine`] groups its operations in handles, one per domain, each
//! with a module of its own holding the handle and its values:
//!
//! | handle | module | what |
//! |---|---|---|
//! | [`Engine::records`] | [`records`] | messages: store, send, read, list, delete, expire |
//! | [`Engine::events`] | [`events`] | broadcasts, stream replay, opaque event ids, listeners |
//! | [`Engine::accounts`] | [`accounts`] | registration, lookups, password checks and changes, deleting one's account, quotas in force |
//! | [`Engine::sessions`] | [`sessions`] | log in (with a second factor), bearer checks, refresh, log out, tickets |
//! | [`Engine::two_factor`] | [`two_factor`] | TOTP second factor and recovery codes |
//! | [`Engine::passkeys`] | [`passkeys`] | passkeys (WebAuthn credentials) to sign in with |
//! | [`Engine::api_keys`] | [`api_keys`] | scoped API keys for services |
//! | [`Engine::files`] | [`files`] | encrypted files: streamed uploads, range reads, expiry |
//! | [`Engine::shares`] | [`shares`] | share links for people without an account |
//! | [`Engine::credits`] | [`credits`] | balances, the chained ledger, adjustments, purchases |
//! | [`Engine::e2e`] | [`e2e`] | end-to-end key directory and the HPKE message format |
//! | [`Engine::admin`] | [`admin`] | roles, disabling, deletion, quotas |
//! | [`Engine::audit`] | [`audit`] | the hash-chained audit log and its checkpoints |
//! | [`Engine::maintenance`] | [`maintenance`] | integrity, backups, key rotation, compaction |
//!
//! The crate's folders are its layers (handle, write, domain, keyring,
//! schema, model, store, crypto, then ids, clock, scopes and errors); each
//! imports only from those below it. `docs/architecture.md` in the
//! repository draws the map.
//!
//! ## Features
//!
//! - `hazmat`: the `hazmat` module, raw crypto with caller-chosen nonces,
//!   for known-answer tests, fuzzing and benchmarks.
//! - `postgres`: the PostgreSQL backend, [`EngineBuilder::open_postgres`],
//!   so several processes serve one store.
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
pub use handle::{
    accounts, admin, api_keys, audit, credits, e2e, events, files, maintenance, passkeys, records,
    sessions, shares, two_factor,
};

pub use clock::{Clock, ManualClock, SystemClock, Timestamp};

/// The workspace README's Rust tour, compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeTour;
pub use crypto::keys::MasterKey;
pub use crypto::secret_bytes::SecretBytes;
pub use error::{
    AccountError, ApiKeyError, AuthError, CreditsError, DecryptionFailed, E2eKeyError, Error,
    InvariantViolated, KeyError, OpenError, PasskeyError, RecordError, ShareError, StorageError,
    TotpError,
};
pub use handle::Engine;
pub use handle::builder::{CopyReport, EngineBuilder};
pub use ids::{
    EventId, FileId, KeyScope, ParseIdError, PasskeyId, RecordId, SessionId, ShareId, UserId,
};
pub use model::Limits;
pub use scopes::{Role, Scope, Scopes};
pub use secrecy::{self, SecretString};

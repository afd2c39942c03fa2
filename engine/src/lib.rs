//! # strongroom-engine
//!
//! An embeddable store for secret, expiring, per-user records. Every record
//! is sealed with AES-256-GCM under its owner's data key, in an envelope
//! that carries its own random nonce; data keys are stored only wrapped
//! under the master key. Records expire after a time-to-live. Accounts
//! (Argon2id) and rotating bearer tokens live in the same redb file, so a
//! write is one ACID transaction.
//!
//! ## Quick start
//!
//! ```
//! use std::time::Duration;
//! use secrecy::SecretString;
//! use strongroom_engine::{Engine, ManualClock, MasterKey, Timestamp};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let clock = ManualClock::new(Timestamp::from_unix_millis(1_700_000_000_000));
//! let key = MasterKey::from_base64(&SecretString::from(
//!     "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
//! ))?;
//! let engine = Engine::builder()
//!     .master_key(key)
//!     .clock(std::sync::Arc::new(clock.clone()))
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
//! # use strongroom_engine::Clock;
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]
#![warn(unreachable_pub)]

mod accounts;
pub mod backends;
mod clock;
mod commit;
mod engine;
pub mod envelope;
mod error;
mod events;
mod ids;
mod integrity;
mod keyfile;
mod keyring;
mod keys;
mod records;
mod tables;
mod tokens;

pub use accounts::{
    PASSWORD_LEN, PasswordCost, USERNAME_LEN, User, validate_password, validate_username,
};
pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use engine::{
    DEFAULT_DEK_ROTATION, DEFAULT_MAX_RECORD_LEN, DEFAULT_MAX_TTL, DEFAULT_TTL, Engine,
    EngineBuilder,
};
pub use error::{
    AccountError, AuthError, DecryptionFailed, Error, OpenError, RecordError, StorageError,
};
pub use events::{BROADCAST_SCOPE, Event, EventKind, Notice};
pub use ids::{MAX_SEQ, ParseIdError, RecordId, SessionId, UserId};
pub use integrity::IntegrityReport;
pub use keyfile::{KeyError, MASTER_KEY_ENV};
pub use keys::{AuthenticationFailed, DataKey, KEY_LEN, MasterKey, NONCE_LEN, Nonce, TAG_LEN};
pub use records::{MAX_PAGE, Page, Receipt, Record, RecordMeta};
pub use secrecy::{self, SecretString};
pub use tokens::{
    ACCESS_TOKEN_TTL, BearerToken, REFRESH_TOKEN_TTL, Session, TICKET_TTL, TokenPair,
};

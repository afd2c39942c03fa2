//! Errors, one type per kind of operation, each convertible into [`Error`].
//! No error carries key material, tokens, passwords or plaintext.

use std::fmt;
use std::sync::Arc;

use crate::keyfile::KeyError;

/// The storage layer (redb) failed: I/O, corruption, or a full disk.
/// Cloneable, so every caller of a failed group commit gets it.
#[derive(Debug, Clone)]
pub struct StorageError(Arc<redb::Error>);

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "storage error: {}", self.0)
    }
}

impl std::error::Error for StorageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

impl<E: Into<redb::Error>> From<E> for StorageError {
    fn from(e: E) -> Self {
        Self(Arc::new(e.into()))
    }
}

/// A record could not be decrypted. Deliberately says nothing about why
/// (malformed, unknown key, or failed authentication): no oracle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("record could not be decrypted")]
pub struct DecryptionFailed;

/// Opening the engine failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// No master key was given to the builder.
    #[error("no master key configured")]
    MissingMasterKey,
    /// The database was created with a different master key.
    #[error("the master key does not match the one this database was created with")]
    WrongMasterKey,
    /// A builder setting is out of range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// The master key could not be loaded.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The database file could not be opened or initialised.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A record operation failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// No such record for this user, or it has expired.
    #[error("record not found")]
    NotFound,
    /// The owner (or recipient) does not exist.
    #[error("user not found")]
    UnknownUser,
    /// The time-to-live is zero or above the configured maximum.
    #[error("ttl must be between 1 second and {max_secs} seconds")]
    TtlOutOfRange {
        /// The largest accepted ttl, in seconds.
        max_secs: u64,
    },
    /// The plaintext is larger than the configured maximum.
    #[error("record is larger than {max} bytes")]
    TooLarge {
        /// The largest accepted plaintext, in bytes.
        max: usize,
    },
    /// A page size outside 1..=1000.
    #[error("limit must be between 1 and {max}")]
    InvalidLimit {
        /// The largest accepted page size.
        max: usize,
    },
    /// The stored record did not decrypt.
    #[error(transparent)]
    Decryption(#[from] DecryptionFailed),
    /// The storage layer failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// An account operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccountError {
    /// Username is not 3–64 characters of `a-z 0-9 _ . -`.
    #[error("username must be 3-64 characters of a-z, 0-9, '_', '.', '-'")]
    InvalidUsername,
    /// Password is not 12–1024 bytes.
    #[error("password must be 12-1024 bytes")]
    InvalidPassword,
    /// The username belongs to another account.
    #[error("username is taken")]
    UsernameTaken,
    /// No such user.
    #[error("user not found")]
    NotFound,
    /// The password hasher failed.
    #[error("password hashing failed")]
    Hashing,
    /// The storage layer failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Authentication or a token operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Unknown username or wrong password: the two are indistinguishable.
    #[error("invalid username or password")]
    InvalidCredentials,
    /// The token is malformed, unknown, expired, revoked or of the wrong kind.
    #[error("invalid or expired token")]
    InvalidToken,
    /// An already rotated refresh token was presented: its whole session
    /// (token family) has been revoked.
    #[error("refresh token reuse detected; session revoked")]
    RefreshTokenReused,
    /// The password hasher failed.
    #[error("password hashing failed")]
    Hashing,
    /// The storage layer failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Any engine error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// See [`OpenError`].
    #[error(transparent)]
    Open(#[from] OpenError),
    /// See [`RecordError`].
    #[error(transparent)]
    Record(#[from] RecordError),
    /// See [`AccountError`].
    #[error(transparent)]
    Account(#[from] AccountError),
    /// See [`AuthError`].
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// See [`KeyError`].
    #[error(transparent)]
    Key(#[from] KeyError),
}

macro_rules! storage_sources {
    ($($op:ty),*) => {$(
        impl From<redb::TransactionError> for $op {
            fn from(e: redb::TransactionError) -> Self { Self::Storage(e.into()) }
        }
        impl From<redb::TableError> for $op {
            fn from(e: redb::TableError) -> Self { Self::Storage(e.into()) }
        }
        impl From<redb::StorageError> for $op {
            fn from(e: redb::StorageError) -> Self { Self::Storage(e.into()) }
        }
        impl From<redb::CommitError> for $op {
            fn from(e: redb::CommitError) -> Self { Self::Storage(e.into()) }
        }
    )*};
}

storage_sources!(OpenError, RecordError, AccountError, AuthError);

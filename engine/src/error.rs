//! Errors, one type per kind of operation, each convertible into [`Error`].
//! No error carries key material, tokens, passwords or plaintext.

use std::fmt;
use std::sync::Arc;

use crate::ids::ParseIdError;

/// The storage layer failed: I/O, a full disk, or a stored value that does
/// not decode. Cloneable, so every caller of a failed group commit gets it.
#[derive(Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The storage backend (redb) reported an error.
    #[error("storage error: {0}")]
    Backend(Arc<dyn std::error::Error + Send + Sync>),
    /// A stored key or row of this table does not decode: the file was
    /// damaged or written by something else.
    #[error("storage error: a stored entry of table `{table}` is malformed")]
    Corrupt {
        /// The table holding the entry.
        table: &'static str,
    },
    /// The database file is damaged where redb cannot read it: redb says
    /// so (a checksum that does not match, a repair that failed), or
    /// answers the damaged page by panicking (a page of no known kind, an
    /// offset past its page), which the store turns into this error with
    /// redb's message instead of unwinding through its caller.
    #[error("storage error: the database file is damaged (redb: {0})")]
    Damaged(String),
    /// Another process holds the database open (its lock is exclusive).
    #[error("storage error: the database is already open in another process")]
    InUse,
    /// A networked database kept refusing the write for conflicting with
    /// others' (serialization failures, deadlocks), through every retry.
    /// Nothing was written; the same write may succeed a moment later.
    #[error("storage error: the database is busy with conflicting writes; nothing was written")]
    Busy,
    /// The disk holding the database (or the database server's) is full:
    /// the write was refused and nothing of it was written. Writes succeed
    /// again once space is freed; the embedded store reopens itself.
    #[error("storage error: the disk is full; nothing was written")]
    Full,
    /// A networked database gave no connection in time: it is down,
    /// unreachable, refusing connections, or too slow to hand one back; or
    /// the embedded one is being opened again after an I/O failure (a
    /// full disk) another call met. Nothing was written; the same call may
    /// succeed once it answers.
    #[error("storage error: the database gave no connection in time ({0}); nothing was written")]
    Unavailable(String),
    /// The store was opened read-only
    /// ([`EngineBuilder::open_read_only`](crate::EngineBuilder::open_read_only)):
    /// the write was refused before it began.
    #[error("storage error: the store is open read-only; nothing was written")]
    ReadOnly,
}

impl fmt::Debug for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl StorageError {
    pub(crate) fn backend(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Backend(Arc::new(e))
    }

    /// Whether an I/O error says the disk is full (or quota exceeded, or
    /// a file past what it may grow to): the kinds the embedded store
    /// reports as [`StorageError::Full`], for an application's own files
    /// beside the store (a backup) to be told apart the same way.
    pub fn io_is_full(e: &std::io::Error) -> bool {
        use std::io::ErrorKind;
        matches!(
            e.kind(),
            ErrorKind::StorageFull | ErrorKind::QuotaExceeded | ErrorKind::FileTooLarge
        )
    }
}

/// `is_busy`, `is_full` and `storage_error` for the errors that may hold
/// a [`StorageError`].
macro_rules! busy_when_storage_is {
    ($($error:ident),*) => {$(
        impl $error {
            /// The storage failure this is, if it is one (for a caller that
            /// answers each kind its own way: busy, full, unavailable).
            pub fn storage_error(&self) -> Option<&StorageError> {
                match self {
                    Self::Storage(e) => Some(e),
                    _ => None,
                }
            }

            /// Whether the database was busy ([`StorageError::Busy`]):
            /// nothing was written, and the same call may succeed a
            /// moment later.
            pub fn is_busy(&self) -> bool {
                matches!(self, Self::Storage(StorageError::Busy))
            }

            /// Whether the disk was full ([`StorageError::Full`]): nothing
            /// was written, and the same call succeeds once space is freed.
            pub fn is_full(&self) -> bool {
                matches!(self, Self::Storage(StorageError::Full))
            }
        }
    )*};
}
busy_when_storage_is!(
    RecordError,
    AccountError,
    TotpError,
    AuthError,
    ShareError,
    ApiKeyError,
    E2eKeyError,
    CreditsError,
    PasskeyError,
    Error
);

/// An internal invariant of the engine did not hold: a bug in the engine,
/// never the caller's fault. Nothing was written by the failed operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("engine invariant violated: {0}")]
pub struct InvariantViolated(pub(crate) &'static str);

/// A record could not be decrypted. Deliberately says nothing about why
/// (malformed, unknown key, or failed authentication): no oracle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("record could not be decrypted")]
pub struct DecryptionFailed;

/// A master key given as text could not be parsed. Never contains any part
/// of the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The text is not standard base64 (the offending text is not shown).
    #[error("master key is not valid base64")]
    NotBase64,
    /// The key decodes to the wrong number of bytes.
    #[error("master key must be exactly 32 bytes, got {len}")]
    WrongLength {
        /// How many bytes it decoded to (at least).
        len: usize,
    },
}

/// Opening the engine failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The database was created with a different master key.
    #[error("the master key does not match the one this database was created with")]
    WrongMasterKey,
    /// A builder setting is out of range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(&'static str),
    /// The database was written by a newer release, with a schema this one
    /// does not know. Nothing was changed.
    #[error(
        "database schema version {found} is newer than this release supports ({supported}); upgrade strongroom"
    )]
    SchemaTooNew {
        /// The version stored in the database.
        found: u32,
        /// The newest version this release reads.
        supported: u32,
    },
    /// The database file could not be opened, initialised or migrated.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A copy was asked into a database that already holds Strongroom
    /// data. Nothing was written.
    #[error("the target already holds Strongroom data; refusing to copy into it")]
    TargetNotEmpty,
    /// A read-only open found a store that must be written before it is
    /// read (why, in a few words): only a writable open repairs a file
    /// that was not closed cleanly or upgrades an older schema. Nothing
    /// was changed.
    #[error("the store cannot be opened read-only: {0}; a writable open would do that first")]
    NeedsWrite(&'static str),
}

/// A record operation failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// No such record for this user, or it has expired.
    #[error("record not found")]
    NotFound,
    /// The owner, recipient or sender does not exist.
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
    /// A list cursor that this engine did not issue.
    #[error("cursor is not a next_cursor this store issued")]
    InvalidCursor,
    /// Storing this would take the sender past their quota.
    #[error("quota exceeded: {used} of {limit} {what} in use")]
    QuotaExceeded {
        /// `bytes` or `messages`.
        what: &'static str,
        /// What the sender holds now.
        used: u64,
        /// Their quota.
        limit: u64,
    },
    /// A page size outside 1..=max.
    #[error("limit must be between 1 and {max}")]
    InvalidLimit {
        /// The largest accepted page size.
        max: usize,
    },
    /// The account cannot pay for this: nothing was stored.
    #[error(transparent)]
    Credits(#[from] InsufficientCredits),
    /// The stored record did not decrypt.
    #[error(transparent)]
    Decryption(#[from] DecryptionFailed),
    /// An engine invariant failed.
    #[error(transparent)]
    Invariant(#[from] InvariantViolated),
    /// The storage layer failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// An account operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccountError {
    /// Username is neither 3–64 characters of `a-z 0-9 _ . -` nor an
    /// email address of at most 254 characters.
    #[error(
        "username must be 3-64 characters of a-z, 0-9, '_', '.', '-', or an email address \
         (local@domain, at most 254 characters)"
    )]
    InvalidUsername,
    /// Password is not 12–1024 characters.
    #[error("password must be 12-1024 characters")]
    InvalidPassword,
    /// A password change to the password the account has: nothing would
    /// change.
    #[error("the new password is the one the account has already: choose another")]
    SamePassword,
    /// The username belongs to another account.
    #[error("username is taken")]
    UsernameTaken,
    /// No such user.
    #[error("user not found")]
    NotFound,
    /// The change would leave no enabled admin (the last one cannot be
    /// demoted, disabled or deleted; recovery would need the command line).
    #[error("this is the last enabled admin: make another admin first")]
    LastAdmin,
    /// The password hasher failed.
    #[error("password hashing failed")]
    Hashing,
    /// The password given to confirm a change is not the account's.
    #[error("the password is wrong")]
    WrongPassword,
    /// A password change did not carry every end-to-end key version
    /// re-wrapped under the new password.
    #[error(
        "the account holds end-to-end key versions {held:?}: send each one's private key \
         re-wrapped under the new password (e2e_keys)"
    )]
    KeysNotRewrapped {
        /// The versions the account holds.
        held: Vec<u32>,
    },
    /// A re-wrapped end-to-end key is out of bounds.
    #[error("a re-wrapped end-to-end key: {0}")]
    InvalidRewrappedKey(E2eKeyError),
    /// The account has two-factor sign-in on and no code came with the
    /// password.
    #[error("a second factor is required: a TOTP code or a recovery code")]
    SecondFactorRequired,
    /// The TOTP code or recovery code is wrong or was used already.
    #[error("the TOTP code or recovery code is wrong or was used already")]
    InvalidSecondFactor,
    /// The identity at the provider is linked to another account.
    #[error("this identity is linked to another account")]
    IdentityTaken,
    /// The storage layer failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Setting up or turning off a TOTP second factor failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TotpError {
    /// Two-factor sign-in is on already: turn it off before a new setup.
    #[error("two-factor sign-in is already on; turn it off first")]
    AlreadyEnabled,
    /// No setup waits for its first code.
    #[error("no TOTP setup is waiting to be confirmed; start one first")]
    NotPending,
    /// Two-factor sign-in is not on.
    #[error("two-factor sign-in is not on")]
    NotEnabled,
    /// The code is wrong or was used already.
    #[error("the code is wrong or was used already")]
    InvalidCode,
    /// No such user.
    #[error("user not found")]
    NotFound,
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
    /// The account is disabled: its credentials are refused.
    #[error("account disabled")]
    Disabled,
    /// The password was right, and the account has two-factor sign-in on:
    /// a TOTP code or a recovery code must come with it.
    #[error("a second factor is required: a TOTP code or a recovery code")]
    SecondFactorRequired,
    /// The password was right; the TOTP code or recovery code was wrong or
    /// was used already.
    #[error("the TOTP code or recovery code is wrong or was used already")]
    InvalidSecondFactor,
    /// No account is linked to this identity, and registration is closed.
    #[error("no account is linked to this identity")]
    UnknownIdentity,
    /// The password hasher failed.
    #[error("password hashing failed")]
    Hashing,
    /// The storage layer failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A share-link operation failed. Opening says only "unknown" or "gone",
/// never which kind of gone, and never anything about the content.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ShareError {
    /// No such share: never created, malformed token, or purged.
    #[error("share not found")]
    NotFound,
    /// The share existed and can no longer be opened: expired, every view
    /// used, revoked, or destroyed after wrong passphrases.
    #[error("share is gone")]
    Gone,
    /// The share has a passphrase and none, or a wrong one, was given. A
    /// wrong one counts toward the share's destruction.
    #[error("wrong or missing passphrase")]
    WrongPassphrase,
    /// `ttl` outside the allowed range.
    #[error("ttl must be between {min_secs} and {max_secs} seconds")]
    TtlOutOfRange {
        /// Shortest ttl, in seconds.
        min_secs: u64,
        /// Longest ttl, in seconds.
        max_secs: u64,
    },
    /// `max_views` outside 1..=max.
    #[error("max_views must be between 1 and {max}")]
    InvalidViews {
        /// The most views a share may allow.
        max: u32,
    },
    /// The content is empty or larger than allowed.
    #[error("content must be 1 to {max} bytes")]
    InvalidContent {
        /// The largest accepted content, in bytes.
        max: usize,
    },
    /// The passphrase is empty or longer than 1024 characters.
    #[error("passphrase must be 1 to 1024 characters")]
    InvalidPassphrase,
    /// Storing this share would take its creator past their quota (a share
    /// counts like a message until it is consumed, revoked or expires).
    #[error("quota exceeded: {used} of {limit} {what} in use")]
    QuotaExceeded {
        /// `bytes` or `messages`.
        what: &'static str,
        /// What the creator holds now.
        used: u64,
        /// Their quota.
        limit: u64,
    },
    /// The passphrase could not be hashed.
    #[error("passphrase hashing failed")]
    Hashing,
    /// The file to share is not one of the creator's (absent, expired,
    /// still uploading, or someone else's), or it was deleted or expired
    /// while the share copied it (nothing of the copy is kept).
    #[error("file not found")]
    FileNotFound,
    /// The creator's account does not exist (deleted meanwhile): nothing
    /// was stored or charged.
    #[error("user not found")]
    UnknownUser,
    /// The share holds a file (`file`) and was opened as a message, or the
    /// other way round; nothing was consumed.
    #[error("this share holds {}", if *file { "a file" } else { "a message" })]
    WrongKind {
        /// Whether it holds a file.
        file: bool,
    },
    /// A file share's bytes did not open or could not be copied.
    #[error("the shared file could not be read")]
    FileUnreadable,
    /// The account cannot pay for this: nothing was stored.
    #[error(transparent)]
    Credits(#[from] InsufficientCredits),
    /// See [`StorageError`].
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// See [`InvariantViolated`].
    #[error(transparent)]
    Invariant(#[from] InvariantViolated),
}

/// Why an API key operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiKeyError {
    /// The name is empty, too long or holds control characters.
    #[error("key name must be 1-64 characters, without control characters")]
    InvalidName,
    /// No scope was asked for.
    #[error("a key needs at least one scope")]
    NoScopes,
    /// A key may not do more than its owner's role allows.
    #[error("scope {0} exceeds the owner's role")]
    ExceedsRole(crate::scopes::Scope),
    /// The lifetime is zero or longer than a year.
    #[error("expires_in must be between 60 seconds and one year")]
    InvalidExpiry,
    /// The owner holds the most keys allowed.
    #[error("at most {max} keys per account")]
    TooMany {
        /// The limit.
        max: usize,
    },
    /// No such key of this owner.
    #[error("api key not found")]
    NotFound,
    /// No such account.
    #[error("user not found")]
    UnknownUser,
    /// The storage layer failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Why publishing an end-to-end key failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum E2eKeyError {
    /// The PBKDF2 iteration count is outside 600 000 to 10 000 000.
    #[error("iterations must be between 600000 and 10000000")]
    Iterations,
    /// The salt is not 16 to 64 bytes.
    #[error("salt must be 16 to 64 bytes")]
    Salt,
    /// The wrapped private key is not 32 to 512 bytes.
    #[error("wrapped_private_key must be 32 to 512 bytes")]
    WrappedKey,
    /// The account holds the most key versions allowed.
    #[error("at most {max} key versions per account")]
    TooMany {
        /// The limit.
        max: usize,
    },
    /// No such account.
    #[error("user not found")]
    UnknownUser,
    /// The storage layer failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A balance too small for a charge: nothing was done.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not enough credits: the balance is {balance}, this costs {cost}")]
pub struct InsufficientCredits {
    /// The account's balance.
    pub balance: u64,
    /// What the action costs.
    pub cost: u64,
}

/// A credits operation failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum CreditsError {
    /// The balance cannot pay for this: nothing was done.
    #[error(transparent)]
    Insufficient(#[from] InsufficientCredits),
    /// No such account.
    #[error("user not found")]
    UnknownUser,
    /// An adjustment of zero, or one beyond ±1,000,000,000 credits.
    #[error("amount must be a non-zero whole number of credits between -1000000000 and 1000000000")]
    InvalidAmount,
    /// A reason longer than 200 characters or with control characters.
    #[error("reason must be at most 200 characters, without control characters")]
    InvalidReason,
    /// Metering is off.
    #[error("credits are not enabled on this server")]
    Disabled,
    /// A ledger page size outside 1..=max.
    #[error("limit must be between 1 and {max}")]
    InvalidLimit {
        /// The largest accepted page size.
        max: usize,
    },
    /// The storage layer failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<CreditsError> for RecordError {
    fn from(e: CreditsError) -> Self {
        match e {
            CreditsError::Insufficient(e) => Self::Credits(e),
            CreditsError::UnknownUser => Self::UnknownUser,
            CreditsError::Storage(e) => Self::Storage(e),
            other => Self::Storage(StorageError::backend(other)),
        }
    }
}

impl From<CreditsError> for ShareError {
    fn from(e: CreditsError) -> Self {
        match e {
            CreditsError::Insufficient(e) => Self::Credits(e),
            CreditsError::UnknownUser => Self::UnknownUser,
            CreditsError::Storage(e) => Self::Storage(e),
            other => Self::Storage(StorageError::backend(other)),
        }
    }
}

/// A passkey operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PasskeyError {
    /// The name is empty, too long or holds control characters.
    #[error("passkey name must be 1-64 characters, without control characters")]
    InvalidName,
    /// The credential id or record is empty or too large.
    #[error("the credential is malformed")]
    InvalidCredential,
    /// This credential is registered already (to this or another account).
    #[error("this passkey is registered already")]
    Registered,
    /// The account holds the most passkeys allowed.
    #[error("at most {max} passkeys per account")]
    TooMany {
        /// The limit.
        max: usize,
    },
    /// No such passkey of this account.
    #[error("passkey not found")]
    NotFound,
    /// No such account.
    #[error("user not found")]
    UnknownUser,
    /// The storage layer failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Any engine error: every operation's error converts into it, so an
/// application can use `?` across operations.
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
    /// See [`ShareError`].
    #[error(transparent)]
    Share(#[from] ShareError),
    /// See [`ApiKeyError`].
    #[error(transparent)]
    ApiKey(#[from] ApiKeyError),
    /// See [`E2eKeyError`].
    #[error(transparent)]
    E2eKey(#[from] E2eKeyError),
    /// See [`TotpError`].
    #[error(transparent)]
    Totp(#[from] TotpError),
    /// See [`CreditsError`].
    #[error(transparent)]
    Credits(#[from] CreditsError),
    /// See [`PasskeyError`].
    #[error(transparent)]
    Passkey(#[from] PasskeyError),
    /// See [`StorageError`].
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// See [`ParseIdError`].
    #[error(transparent)]
    Id(#[from] ParseIdError),
}

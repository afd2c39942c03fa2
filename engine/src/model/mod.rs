//! The engine's public values: what goes in and comes out of an
//! [`Engine`](crate::Engine). Plain data; secrets (plaintext, tokens) are
//! zeroized on drop and never shown by `Debug`.

pub(crate) mod access;
pub(crate) mod audit;
pub(crate) mod credits;
pub(crate) mod e2e;
pub(crate) mod files;
pub(crate) mod passkeys;
pub(crate) mod shares;
pub(crate) mod totp;

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::clock::Timestamp;
use crate::crypto::secret_bytes::SecretBytes;
use crate::error::RecordError;
use crate::ids::{KeyScope, RecordId, SessionId, UserId};
use crate::model::audit::{Actor, AuditTarget};
pub(crate) use crate::scopes::Role;
use crate::scopes::Scopes;

/// Bounds the engine enforces, fixed when it opens (see
/// [`EngineBuilder`](crate::EngineBuilder)); a facade reads them to
/// validate and document its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Time-to-live of a record stored without one.
    pub default_ttl: Duration,
    /// Largest time-to-live a record may have.
    pub max_ttl: Duration,
    /// Largest plaintext of one record, in bytes.
    pub max_record_len: usize,
    /// Largest page [`Records::list`](crate::records::Records::list) returns.
    pub max_page: usize,
    /// Largest file, in bytes of plaintext.
    pub max_file_len: u64,
}

/// Default time-to-live of a record: 10 minutes.
pub const DEFAULT_TTL: Duration = Duration::from_secs(600);
/// Default upper bound on a record's time-to-live: 7 days.
pub const DEFAULT_MAX_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// Default largest plaintext: 64 KiB.
pub const DEFAULT_MAX_RECORD_LEN: usize = 64 * 1024;
/// Default largest page of a list: 100 records.
pub const DEFAULT_MAX_PAGE: usize = 100;
/// Default largest file: 100 MiB.
pub const DEFAULT_MAX_FILE_LEN: u64 = 100 * 1024 * 1024;

impl Limits {
    /// The time-to-live a record of `len` bytes asking for `ttl` gets, or
    /// why it cannot be stored. Checking this first lets a caller reject a
    /// bad request before it looks anything up.
    pub fn check_record(&self, len: usize, ttl: Option<Duration>) -> Result<Duration, RecordError> {
        if len > self.max_record_len {
            return Err(RecordError::TooLarge {
                max: self.max_record_len,
            });
        }
        let ttl = ttl.unwrap_or(self.default_ttl);
        if ttl < Duration::from_secs(1) || ttl > self.max_ttl {
            return Err(RecordError::TtlOutOfRange {
                max_secs: self.max_ttl.as_secs(),
            });
        }
        Ok(ttl)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            default_ttl: DEFAULT_TTL,
            max_ttl: DEFAULT_MAX_TTL,
            max_record_len: DEFAULT_MAX_RECORD_LEN,
            max_page: DEFAULT_MAX_PAGE,
            max_file_len: DEFAULT_MAX_FILE_LEN,
        }
    }
}

/// An account's public facts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// The account's id.
    pub id: UserId,
    /// The account's unique name.
    pub username: String,
    /// When the account was created.
    pub created_at: Timestamp,
    /// What it may do.
    pub role: Role,
    /// A disabled account's credentials are refused.
    pub disabled: bool,
}

/// A page of accounts, in id order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserPage {
    /// The accounts.
    pub users: Vec<User>,
    /// Pass as `after` for the next page; `None` on the last.
    pub next: Option<UserId>,
}

/// A record's public facts (no plaintext).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordMeta {
    /// The record's id, as its owner sees it.
    pub id: RecordId,
    /// Who stored it (the owner, for records stored for oneself).
    pub sender: UserId,
    /// The sender's username when the record was stored (`None` only for
    /// records migrated from schema 1 whose sender had been deleted).
    pub sender_name: Option<String>,
    /// When it was stored.
    pub created_at: Timestamp,
    /// When it stops being readable.
    pub expires_at: Timestamp,
    /// A message, or the notice of a file sent to the owner.
    pub kind: RecordKind,
}

/// What a record in a user's log is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    /// A message: listed and read through [`Records`](crate::records::Records).
    Message,
    /// The notice that a file was sent to the log's owner (its content is
    /// a [`FileNotice`](crate::files::FileNotice)): delivered on their
    /// stream, never listed as a message.
    File,
    /// The notice that the log owner's credits ran low (its content is a
    /// [`CreditsNotice`](crate::credits::CreditsNotice)): delivered on
    /// their stream, never listed as a message.
    Credits,
}

/// What a successful write returns: the record's facts and its envelope.
#[derive(Clone, Debug)]
pub struct Receipt {
    /// Whose log the record went to.
    pub scope: KeyScope,
    /// The stored record's facts.
    pub meta: RecordMeta,
    /// The sealed envelope as stored: `version (1) || key version (4) ||
    /// nonce (12) || ciphertext || tag (16)`.
    pub envelope: Vec<u8>,
}

/// A decrypted record. `Debug` shows the plaintext's length, not its bytes.
pub struct Record {
    /// The record's owner.
    pub owner: UserId,
    /// The record's facts.
    pub meta: RecordMeta,
    /// The decrypted content, zeroized on drop.
    pub plaintext: SecretBytes,
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Record")
            .field("owner", &self.owner)
            .field("meta", &self.meta)
            .field("plaintext_len", &self.plaintext.len())
            .finish()
    }
}

/// One page of [`Records::list`](crate::records::Records::list), newest first.
#[derive(Debug)]
pub struct Page {
    /// The records on this page.
    pub records: Vec<Record>,
    /// Pass this as the cursor to get the next page; `None` on the last.
    pub next_cursor: Option<RecordId>,
}

/// What an event is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A message stored for one user.
    Message,
    /// A broadcast to everyone.
    Broadcast,
    /// A file sent to one user (see [`Event::file`]).
    File,
    /// One's credits ran low (see [`Event::credits`]).
    Credits,
}

/// A stored message or broadcast, decrypted, as a stream delivers it.
/// `Debug` shows the plaintext's length only.
pub struct Event {
    /// Whose log it is in: the recipient's, or the broadcast scope.
    pub scope: KeyScope,
    /// The record's facts. For a broadcast, `id` is its id in the broadcast
    /// scope.
    pub meta: RecordMeta,
    /// The content, zeroized on drop.
    pub plaintext: SecretBytes,
    /// Position in its scope's log.
    pub(crate) position: u64,
}

impl Event {
    /// Message or broadcast.
    pub fn kind(&self) -> EventKind {
        match (self.scope, self.meta.kind) {
            (KeyScope::Broadcast, _) => EventKind::Broadcast,
            (KeyScope::User(_), RecordKind::Message) => EventKind::Message,
            (KeyScope::User(_), RecordKind::File) => EventKind::File,
            (KeyScope::User(_), RecordKind::Credits) => EventKind::Credits,
        }
    }

    /// The balance a [`EventKind::Credits`] event tells of.
    pub fn credits(&self) -> Option<crate::model::credits::CreditsNotice> {
        match self.kind() {
            EventKind::Credits => crate::model::credits::CreditsNotice::decode(&self.plaintext),
            _ => None,
        }
    }

    /// The file a [`EventKind::File`] event announces.
    pub fn file(&self) -> Option<crate::model::files::FileNotice> {
        match self.kind() {
            EventKind::File => crate::model::files::FileNotice::decode(&self.plaintext),
            _ => None,
        }
    }

    /// Where the event stands in its log, for [`StreamCursor::advance`].
    pub fn position(&self) -> EventPosition {
        EventPosition {
            broadcast: self.scope == KeyScope::Broadcast,
            position: self.position,
        }
    }
}

/// An event's place in its log: small and `Copy`, so a stream can keep it
/// beside a prepared event without the event itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventPosition {
    broadcast: bool,
    position: u64,
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("scope", &self.scope)
            .field("meta", &self.meta)
            .field("plaintext_len", &self.plaintext.len())
            .finish_non_exhaustive()
    }
}

/// Where one user's event stream stands: the last position delivered in
/// their own log and in the broadcast log. Published as an opaque
/// [`EventId`](crate::EventId) (see
/// [`Events::event_id`](crate::events::Events::event_id)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamCursor {
    pub(crate) own: u64,
    pub(crate) broadcast: u64,
}

impl StreamCursor {
    /// A stream that has delivered nothing yet.
    pub fn start() -> Self {
        Self::default()
    }

    /// Whether the event at `at` comes after this cursor; if so, moves past
    /// it. A stream that delivers exactly the events this accepts delivers
    /// each once, in log order, whether it came from a replay or live.
    pub fn advance(&mut self, at: EventPosition) -> bool {
        let seen = if at.broadcast {
            &mut self.broadcast
        } else {
            &mut self.own
        };
        let fresh = at.position > *seen;
        if fresh {
            *seen = at.position;
        }
        fresh
    }
}

/// What listeners hear, after the change is durable, in commit order.
#[derive(Debug)]
#[non_exhaustive]
pub enum Notice<'a> {
    /// Messages or broadcasts were stored.
    Events(&'a [Event]),
    /// A session was revoked (logout, refresh reuse).
    SessionEnded(Session),
    /// A user was deleted.
    UserDeleted(UserId),
    /// A user's role changed or they were disabled: what their credentials
    /// allowed has changed, so their streams end.
    AccountChanged(UserId),
}

/// A person as an OpenID Connect provider vouches for them, from a
/// verified ID token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalIdentity {
    /// The provider's issuer URL (`iss`).
    pub issuer: String,
    /// The person's id at the provider (`sub`).
    pub subject: String,
    /// Their email address, only when the provider says it is verified.
    pub email: Option<String>,
}

/// Who a valid access token (or stream ticket) speaks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Session {
    /// The authenticated user.
    pub user: UserId,
    /// The login session the token belongs to.
    pub id: SessionId,
    /// The account's role, as it is now (read with the token).
    pub role: Role,
    /// When the access token behind this credential expires (for a
    /// ticket: the access token it was issued with). A stream opened with
    /// it must end then.
    pub expires_at: Timestamp,
    /// What this credential may do now: its role's scopes for a login, the
    /// key's scopes within its owner's role for an API key.
    pub scopes: Scopes,
    /// A login session's token, or an API key (whose id is `id`).
    pub credential: Credential,
}

/// The kind of credential behind a [`Session`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential {
    /// An access token (or a stream ticket) of a login.
    Login,
    /// An API key.
    ApiKey,
}

impl Session {
    /// This session as the target of an audit entry.
    pub(crate) fn audit_target(&self) -> AuditTarget {
        AuditTarget::Session {
            owner: self.user,
            id: self.id,
        }
    }

    /// Who acts with this credential, for the audit log.
    pub fn actor(&self) -> Actor {
        match self.credential {
            Credential::Login => Actor::User(self.user),
            Credential::ApiKey => Actor::ApiKey {
                owner: self.user,
                key: self.id,
            },
        }
    }
}

/// A bearer token as the client holds it: 256 random bits, base64url.
/// `Debug` never shows it; only its SHA-256 is ever stored.
pub struct BearerToken(SecretString);

impl BearerToken {
    /// Wraps token text received from a client.
    pub fn new(text: SecretString) -> Self {
        Self(text)
    }

    /// The token text, to hand to its owner and no one else.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }
}

impl From<String> for BearerToken {
    fn from(text: String) -> Self {
        Self(SecretString::from(text))
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken([REDACTED])")
    }
}

/// A fresh access and refresh token.
#[derive(Debug)]
pub struct TokenPair {
    /// The session both tokens belong to.
    pub session: Session,
    /// Authenticates requests until `access_expires_in` has passed.
    pub access_token: BearerToken,
    /// Obtains a new pair once, until `refresh_expires_in` has passed.
    pub refresh_token: BearerToken,
    /// Lifetime of the access token.
    pub access_expires_in: Duration,
    /// Lifetime of the refresh token.
    pub refresh_expires_in: Duration,
}

/// A single-use ticket that opens one event stream.
#[derive(Debug)]
pub struct Ticket {
    /// The ticket text.
    pub token: BearerToken,
    /// How long it stays valid.
    pub expires_in: Duration,
}

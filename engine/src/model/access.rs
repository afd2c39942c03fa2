//! Public values of API keys and quotas.

use std::time::Duration;

use crate::clock::Timestamp;
use crate::ids::SessionId;
use crate::model::BearerToken;
use crate::scopes::Scopes;

pub use crate::crypto::api_key_text::API_KEY_PREFIX;
/// Longest API key name, in characters.
pub const API_KEY_NAME_LEN: usize = 64;
/// API keys one account may hold.
pub const MAX_API_KEYS: usize = 100;
/// Longest lifetime an API key may be given: one year.
pub const API_KEY_MAX_TTL: Duration = Duration::from_secs(366 * 24 * 3600);

/// What the owner of an API key sees of it (never the secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyInfo {
    /// The key's id (revoke by it).
    pub id: SessionId,
    /// The name its owner gave it.
    pub name: String,
    /// What it may do (at most its owner's role).
    pub scopes: Scopes,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it stops working; `None`: never.
    pub expires_at: Option<Timestamp>,
    /// When it was last used (to within a minute), if ever.
    pub last_used: Option<Timestamp>,
}

/// A new API key: its facts, and its secret, shown this once.
#[derive(Debug)]
pub struct NewApiKey {
    /// The key's facts.
    pub info: ApiKeyInfo,
    /// The key text, sent as `Authorization: Bearer`. Only its hash is
    /// stored.
    pub secret: BearerToken,
}

/// What one account may hold and write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    /// Bytes of sealed messages it may have stored (sent and not yet
    /// deleted or expired; a message counts against its sender).
    pub max_bytes: u64,
    /// Messages it may have stored.
    pub max_records: u64,
    /// Writes it may make per minute (enforced by the HTTP API).
    pub writes_per_minute: u32,
}

impl Default for Quota {
    /// 100 MiB, 100 000 messages, 600 writes a minute.
    fn default() -> Self {
        Self {
            max_bytes: 100 * 1024 * 1024,
            max_records: 100_000,
            writes_per_minute: 600,
        }
    }
}

/// What an account holds now: its stored messages (it sent), counted in the
/// transaction that stores or removes them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Sealed bytes (plaintext plus 33 bytes of envelope each).
    pub bytes: u64,
    /// Messages.
    pub records: u64,
}

/// An account's quota and usage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaStatus {
    /// The quota in force.
    pub quota: Quota,
    /// Whether an admin set it for this account (else: the defaults).
    pub custom: bool,
    /// What the account holds.
    pub usage: Usage,
}

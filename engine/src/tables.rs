//! The whole storage schema. Ids are stored as `u128`, times as Unix
//! milliseconds, token ids as the SHA-256 of the token.

use redb::TableDefinition;

/// Token hash: SHA-256 of the token's 32 random bytes.
pub(crate) type TokenHash = [u8; 32];

/// Engine metadata: schema version, master key check value.
pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// user id → (username, Argon2id PHC string, created_at).
pub(crate) const USERS: TableDefinition<u128, (&str, &str, u64)> = TableDefinition::new("users");

/// username → user id.
pub(crate) const USERS_BY_NAME: TableDefinition<&str, u128> = TableDefinition::new("users_by_name");

/// key scope (user id) → (current data key version, reservation: at least
/// as many records as were sealed under it).
pub(crate) const KEYRING: TableDefinition<u128, (u32, u64)> = TableDefinition::new("keyring");

/// (key scope, version) → data key wrapped under the master key.
pub(crate) const DATA_KEYS: TableDefinition<(u128, u32), &[u8]> = TableDefinition::new("data_keys");

/// A stored record: (sender, created_at, expires_at, envelope).
pub(crate) type RecordRow = (u128, u64, u64, &'static [u8]);

/// (owner or broadcast scope, record id) → record row. Record ids carry
/// the event sequence number in their high bits, so this table is also the
/// event log a stream resumes from.
pub(crate) const RECORDS: TableDefinition<(u128, u128), RecordRow> =
    TableDefinition::new("records");

/// (expires_at, owner, record id) → (): the reaper's index.
pub(crate) const RECORD_EXPIRY: TableDefinition<(u64, u128, u128), ()> =
    TableDefinition::new("record_expiry");

/// Named counters: `event_seq`, the highest event sequence number reserved.
pub(crate) const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters");

/// A stored token: (owner, kind, expires_at, family, state).
pub(crate) type TokenRow = (u128, u8, u64, u128, u8);

/// token hash → token row.
pub(crate) const TOKENS: TableDefinition<TokenHash, TokenRow> = TableDefinition::new("tokens");

/// (expires_at, token hash) → (): the token reaper's index.
pub(crate) const TOKEN_EXPIRY: TableDefinition<(u64, TokenHash), ()> =
    TableDefinition::new("token_expiry");

/// (owner, family, token hash) → (): every token of a user, by session.
pub(crate) const SESSIONS: TableDefinition<(u128, u128, TokenHash), ()> =
    TableDefinition::new("sessions");

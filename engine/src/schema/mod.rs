//! The storage schema: every table with its typed key and row, on one
//! screen, the schema version, and how a database gets to it (creation,
//! migration, the upgrade from the first release's layout). Domain modules
//! reach storage only through these tables.

mod access_rows;
mod audit_row;
mod codec;
mod credit_rows;
mod file_row;
pub(crate) mod legacy;
mod rows;
mod share_row;
mod usage;
mod version;

use std::marker::PhantomData;
use std::ops::{Bound, RangeBounds};

pub(crate) use access_rows::{ApiKeyRow, E2eKeyRow, IdentityRow, PasskeyRef, PasskeyRow, TotpRow};
pub(crate) use audit_row::{canonical as audit_canonical, legacy_chain_hash};
pub(crate) use codec::{Key, Reader, Row, Writer};
pub(crate) use credit_rows::CreditRow;
pub(crate) use file_row::{FileRow, FileState};
pub(crate) use rows::{
    MetaKey, RecordRef, RecordRow, ScopeRow, TokenHash, TokenKind, TokenRow, TokenState, UserRef,
    UserRow,
};
pub(crate) use share_row::{ShareRow, ShareState};
pub(crate) use usage::{Refunds, charge, charge_bytes, refund};
pub use version::SCHEMA_VERSION;
pub(crate) use version::{check, prepare};

use crate::clock::Timestamp;
use crate::crypto::sharekeys::LookupHash;
use crate::error::StorageError;
use crate::ids::{FileId, KeyScope, PasskeyId, RecordKey, SessionId, ShareId, UserId};
use crate::model::access::{Quota, Usage};
use crate::model::audit::AuditEntry;
use crate::model::credits::LedgerEntry;
use crate::store::{Flow, Order, ReadTx, TableName, WriteTx};

/// Engine metadata: schema version, master key check, wrapped id root.
pub(crate) const META: Table<MetaKey, Vec<u8>> = Table::new("meta", 0);
/// user id → account.
pub(crate) const USERS: Table<UserId, UserRow> = Table::new("users", 1);
/// username → user id.
pub(crate) const USERS_BY_NAME: Table<String, UserId> = Table::new("users_by_name", 2);
/// key scope → current data key version and counter reservations.
pub(crate) const SCOPES: Table<KeyScope, ScopeRow> = Table::new("scopes", 3);
/// (key scope, version) → data key wrapped under the master key.
pub(crate) const DATA_KEYS: Table<(KeyScope, u32), Vec<u8>> = Table::new("data_keys", 4);
/// (key scope, record key) → record. Keys sort by log position, so this
/// table is also the event log a stream resumes from.
pub(crate) const RECORDS: Table<(KeyScope, RecordKey), RecordRow> = Table::new("records", 5);
/// (expires_at, key scope, record key) → (): the reaper's index.
pub(crate) const RECORD_EXPIRY: Table<(Timestamp, KeyScope, RecordKey), ()> =
    Table::new("record_expiry", 6);
/// token hash → token.
pub(crate) const TOKENS: Table<TokenHash, TokenRow> = Table::new("tokens", 7);
/// (expires_at, token hash) → (): the token reaper's index.
pub(crate) const TOKEN_EXPIRY: Table<(Timestamp, TokenHash), ()> = Table::new("token_expiry", 8);
/// (owner, session, token hash) → (): every token of a user, by session.
pub(crate) const SESSIONS: Table<(UserId, SessionId, TokenHash), ()> = Table::new("sessions", 9);
/// share lookup hash → share (content, or a tombstone until expiry).
pub(crate) const SHARES: Table<LookupHash, ShareRow> = Table::new("shares", 10);
/// (expires_at, lookup hash) → (): the share reaper's index.
pub(crate) const SHARE_EXPIRY: Table<(Timestamp, LookupHash), ()> = Table::new("share_expiry", 11);
/// (creator, share id) → lookup hash: a user's shares, for listing and
/// revoking by id.
pub(crate) const SHARES_BY_OWNER: Table<(UserId, ShareId), LookupHash> =
    Table::new("shares_by_owner", 12);
/// (owner, key id) → API key facts; the key's secret hash is its row in
/// `tokens` (kind `ApiKey`, session = key id).
pub(crate) const API_KEYS: Table<(UserId, SessionId), ApiKeyRow> = Table::new("api_keys", 13);
/// sequence number → audit entry (hash-chained; head in `meta`).
pub(crate) const AUDIT: Table<u64, AuditEntry> = Table::new("audit", 14);
/// user id → quota set by an admin (absent: the engine's defaults).
pub(crate) const QUOTAS: Table<UserId, Quota> = Table::new("quotas", 15);
/// user id → what the user's sent messages occupy now.
pub(crate) const USAGE: Table<UserId, Usage> = Table::new("usage", 16);
/// (user id, key version) → an end-to-end public key with its
/// password-wrapped private key (opaque to the server).
pub(crate) const E2E_KEYS: Table<(UserId, u32), E2eKeyRow> = Table::new("e2e_keys", 17);
/// user id → the account's TOTP second factor (pending or confirmed).
pub(crate) const TOTP: Table<UserId, TotpRow> = Table::new("totp", 18);
/// SHA-256 of (issuer, subject) → the account an OpenID Connect identity
/// signs in to.
pub(crate) const IDENTITIES: Table<[u8; 32], IdentityRow> = Table::new("identities", 19);
/// (owner, file id) → a file, or an upload under way.
pub(crate) const FILES: Table<(UserId, FileId), FileRow> = Table::new("files", 20);
/// (owner, file id, segment index) → a sealed segment.
pub(crate) const FILE_SEGMENTS: Table<(UserId, FileId, u32), Vec<u8>> =
    Table::new("file_segments", 21);
/// (expires_at, owner, file id) → (): the reaper's index of files and of
/// uploads whose lease runs out.
pub(crate) const FILE_EXPIRY: Table<(Timestamp, UserId, FileId), ()> =
    Table::new("file_expiry", 22);
/// user id → the account's credit balance (absent: never granted).
pub(crate) const CREDITS: Table<UserId, CreditRow> = Table::new("credits", 23);
/// audit sequence number → a movement of credits.
pub(crate) const LEDGER: Table<u64, LedgerEntry> = Table::new("ledger", 24);
/// (account, audit sequence number) → (): an account's ledger.
pub(crate) const LEDGER_BY_ACCOUNT: Table<(UserId, u64), ()> = Table::new("ledger_by_account", 25);
/// payment provider's event id → (): purchases already credited.
pub(crate) const BILLING_EVENTS: Table<String, ()> = Table::new("billing_events", 26);
/// (owner, passkey id) → a passkey.
pub(crate) const PASSKEYS: Table<(UserId, PasskeyId), PasskeyRow> = Table::new("passkeys", 27);
/// SHA-256 of a credential id → the passkey it belongs to (one account
/// per credential).
pub(crate) const PASSKEY_IDS: Table<[u8; 32], PasskeyRef> = Table::new("passkey_ids", 28);

/// Every table of the schema, for backends that create tables up front.
#[cfg(feature = "postgres")]
pub(crate) const TABLES: [TableName; 29] = [
    META.name,
    USERS.name,
    USERS_BY_NAME.name,
    SCOPES.name,
    DATA_KEYS.name,
    RECORDS.name,
    RECORD_EXPIRY.name,
    TOKENS.name,
    TOKEN_EXPIRY.name,
    SESSIONS.name,
    SHARES.name,
    SHARE_EXPIRY.name,
    SHARES_BY_OWNER.name,
    API_KEYS.name,
    AUDIT.name,
    QUOTAS.name,
    USAGE.name,
    E2E_KEYS.name,
    TOTP.name,
    IDENTITIES.name,
    FILES.name,
    FILE_SEGMENTS.name,
    FILE_EXPIRY.name,
    CREDITS.name,
    LEDGER.name,
    LEDGER_BY_ACCOUNT.name,
    BILLING_EVENTS.name,
    PASSKEYS.name,
    PASSKEY_IDS.name,
];

/// A table of `K` keys and `V` rows.
pub(crate) struct Table<K, V> {
    name: TableName,
    types: PhantomData<fn() -> (K, V)>,
}

impl<K, V> Clone for Table<K, V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K, V> Copy for Table<K, V> {}

impl<K: Key, V: Row> Table<K, V> {
    const fn new(name: &'static str, slot: usize) -> Self {
        Self {
            name: TableName { name, slot },
            types: PhantomData,
        }
    }

    /// The table's name.
    pub(crate) fn name(&self) -> &'static str {
        self.name.name
    }

    /// The table as a backend sees it.
    pub(crate) const fn id(&self) -> TableName {
        self.name
    }

    pub(crate) fn corrupt(&self) -> StorageError {
        StorageError::Corrupt {
            table: self.name.name,
        }
    }

    /// The row under `key`.
    pub(crate) fn get(
        &self,
        tx: &(impl ReadTx + ?Sized),
        key: &K,
    ) -> Result<Option<V>, StorageError> {
        self.get_part(tx, key, V::decode)
    }

    /// Calls `f` with the stored bytes under `key` (no copy, no decoding).
    pub(crate) fn get_bytes<R>(
        &self,
        tx: &(impl ReadTx + ?Sized),
        key: &K,
        f: impl FnOnce(&[u8]) -> R,
    ) -> Result<Option<R>, StorageError> {
        let mut f = Some(f);
        let mut out = None;
        tx.get(self.name, &key.to_bytes(), &mut |bytes| {
            out = f.take().map(|f| f(bytes));
        })?;
        Ok(out)
    }

    /// What `part` reads from the row under `key` in place (a partial
    /// decoding: `None` from it means the row is corrupt).
    pub(crate) fn get_part<R>(
        &self,
        tx: &(impl ReadTx + ?Sized),
        key: &K,
        part: impl FnOnce(&[u8]) -> Option<R>,
    ) -> Result<Option<R>, StorageError> {
        match self.get_bytes(tx, key, part)? {
            None => Ok(None),
            Some(Some(part)) => Ok(Some(part)),
            Some(None) => Err(self.corrupt()),
        }
    }

    /// Whether `key` is present.
    pub(crate) fn contains(
        &self,
        tx: &(impl ReadTx + ?Sized),
        key: &K,
    ) -> Result<bool, StorageError> {
        tx.get(self.name, &key.to_bytes(), &mut |_| {})
    }

    /// Stores `row` under `key`.
    pub(crate) fn insert(
        &self,
        tx: &mut (impl WriteTx + ?Sized),
        key: &K,
        row: &V,
    ) -> Result<(), StorageError> {
        tx.insert(self.name, &key.to_bytes(), &row.to_bytes())
    }

    /// Removes `key`; returns its row.
    pub(crate) fn remove(
        &self,
        tx: &mut (impl WriteTx + ?Sized),
        key: &K,
    ) -> Result<Option<V>, StorageError> {
        match tx.remove(self.name, &key.to_bytes())? {
            None => Ok(None),
            Some(bytes) => V::decode(&bytes).map(Some).ok_or_else(|| self.corrupt()),
        }
    }

    /// Removes `key`; returns its stored bytes, undecoded.
    pub(crate) fn take_bytes(
        &self,
        tx: &mut (impl WriteTx + ?Sized),
        key: &K,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        tx.remove(self.name, &key.to_bytes())
    }

    /// Removes `key` without decoding what it held; says whether it was there.
    pub(crate) fn delete(
        &self,
        tx: &mut (impl WriteTx + ?Sized),
        key: &K,
    ) -> Result<bool, StorageError> {
        Ok(tx.remove(self.name, &key.to_bytes())?.is_some())
    }

    /// Calls `visit` with every entry whose key is in `range`, in `order`,
    /// until it answers [`Flow::Stop`] or fails.
    pub(crate) fn scan<E: From<StorageError>>(
        &self,
        tx: &(impl ReadTx + ?Sized),
        range: impl RangeBounds<K>,
        order: Order,
        mut visit: impl FnMut(K, V) -> Result<Flow, E>,
    ) -> Result<(), E> {
        self.scan_bytes(tx, range, order, |k, v| match V::decode(v) {
            Some(v) => visit(k, v),
            None => Err(self.corrupt().into()),
        })
    }

    /// [`Table::scan`] with each row as its stored bytes (decode a borrowed
    /// view of them to avoid copies).
    pub(crate) fn scan_bytes<E: From<StorageError>>(
        &self,
        tx: &(impl ReadTx + ?Sized),
        range: impl RangeBounds<K>,
        order: Order,
        visit: impl FnMut(K, &[u8]) -> Result<Flow, E>,
    ) -> Result<(), E> {
        self.scan_page_bytes(tx, range, order, None, visit)
    }

    /// [`Table::scan_bytes`] for a page: the caller expects to visit about
    /// `rows` entries, if it says (see [`ReadTx::scan`]).
    pub(crate) fn scan_page_bytes<E: From<StorageError>>(
        &self,
        tx: &(impl ReadTx + ?Sized),
        range: impl RangeBounds<K>,
        order: Order,
        rows: Option<usize>,
        mut visit: impl FnMut(K, &[u8]) -> Result<Flow, E>,
    ) -> Result<(), E> {
        let encode = |bound: Bound<&K>| bound.map(Key::to_bytes);
        let (start, end) = (encode(range.start_bound()), encode(range.end_bound()));
        let bounds = (
            start.as_ref().map(Vec::as_slice),
            end.as_ref().map(Vec::as_slice),
        );
        let mut failure = None;
        tx.scan(self.name, bounds, order, rows, &mut |k, v| {
            let step = match K::decode(k) {
                Some(k) => visit(k, v),
                None => Err(self.corrupt().into()),
            };
            step.unwrap_or_else(|e| {
                failure = Some(e);
                Flow::Stop
            })
        })?;
        failure.map_or(Ok(()), Err)
    }

    /// Every key in `range`, in order, up to `limit`.
    pub(crate) fn keys(
        &self,
        tx: &(impl ReadTx + ?Sized),
        range: impl RangeBounds<K>,
        limit: usize,
    ) -> Result<Vec<K>, StorageError> {
        let mut keys = Vec::new();
        self.scan(tx, range, Order::Ascending, |k, _| {
            if keys.len() == limit {
                return Ok::<_, StorageError>(Flow::Stop);
            }
            keys.push(k);
            Ok(Flow::Continue)
        })?;
        Ok(keys)
    }
}

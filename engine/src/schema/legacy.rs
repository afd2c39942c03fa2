//! The upgrade from schema 1, the first release's layout: typed redb tables
//! (tuple keys, positional tuple rows, no version stored) to the byte
//! tables of schema 2, in one redb write transaction. Runs at open, only on
//! a redb file that still holds the typed `meta` table; checks the master
//! key before it changes anything.
//!
//! What changes besides the encoding: the key ring becomes `scopes`, whose
//! rows also reserve log positions (every scope starts after the old global
//! event sequence, so positions only grow); records gain their sender's
//! username (absent if the sender was already deleted); the id root is
//! created. Record keys and envelopes are kept as they are, so every
//! ciphertext still opens under its original associated data. Published
//! record and event ids change (they were plain before).

use std::collections::HashMap;

use redb::{
    Database, ReadableDatabase, ReadableTable, TableDefinition, TableError, WriteTransaction,
};

use super::version::{set_version, write_secret};
use super::{
    DATA_KEYS, META, MetaKey, RECORD_EXPIRY, RECORDS, RecordRow, SCOPES, SESSIONS, ScopeRow,
    TOKEN_EXPIRY, TOKENS, TokenKind, TokenRow, TokenState, USERS, USERS_BY_NAME, UserRow,
};
use crate::clock::Timestamp;
use crate::crypto::keys::{MasterKey, StoreSecret};
use crate::error::{OpenError, StorageError};
use crate::ids::{KeyScope, RecordKey, SessionId, UserId};
use crate::store::WriteTx;
use crate::store::redb::{RedbStore, backend, shielded, write_in};

const META_V1: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const USERS_V1: TableDefinition<u128, (&str, &str, u64)> = TableDefinition::new("users");
const USERS_BY_NAME_V1: TableDefinition<&str, u128> = TableDefinition::new("users_by_name");
const KEYRING_V1: TableDefinition<u128, (u32, u64)> = TableDefinition::new("keyring");
const DATA_KEYS_V1: TableDefinition<(u128, u32), &[u8]> = TableDefinition::new("data_keys");
type RecordV1 = (u128, u64, u64, &'static [u8]);
const RECORDS_V1: TableDefinition<(u128, u128), RecordV1> = TableDefinition::new("records");
const RECORD_EXPIRY_V1: TableDefinition<(u64, u128, u128), ()> =
    TableDefinition::new("record_expiry");
const COUNTERS_V1: TableDefinition<&str, u64> = TableDefinition::new("counters");
type TokenV1 = (u128, u8, u64, u128, u8);
const TOKENS_V1: TableDefinition<[u8; 32], TokenV1> = TableDefinition::new("tokens");
const TOKEN_EXPIRY_V1: TableDefinition<(u64, [u8; 32]), ()> = TableDefinition::new("token_expiry");
const SESSIONS_V1: TableDefinition<(u128, u128, [u8; 32]), ()> = TableDefinition::new("sessions");

/// Upgrades a schema-1 file in place; returns whether it was one.
pub(crate) fn upgrade(store: &RedbStore, master: &MasterKey) -> Result<bool, OpenError> {
    store.with_database(|db| upgrade_in(db, master))
}

fn upgrade_in(db: &Database, master: &MasterKey) -> Result<bool, OpenError> {
    // Every open reads this far: shielded, like the store's own calls.
    let legacy = shielded(|| {
        let read = db.begin_read().map_err(backend)?;
        match read.open_table(META_V1) {
            Ok(meta) => Ok(Some(
                meta.get("master_key_check")
                    .map_err(backend)?
                    .map(|v| v.value().to_vec()),
            )),
            Err(TableError::TableDoesNotExist(_)) => Ok(None),
            Err(e) => Err(backend(e)),
        }
    })?;
    let Some(check) = legacy else {
        return Ok(false);
    };
    let check = check.ok_or(StorageError::Corrupt { table: "meta" })?;
    if !master.verifies_key_check(&check) {
        return Err(OpenError::WrongMasterKey);
    }
    let txn = db.begin_write().map_err(backend)?;
    write_in(&txn, |tx| convert(&txn, tx, master, &check))?;
    delete_v1_tables(&txn)?;
    txn.commit().map_err(backend)?;
    Ok(true)
}

fn convert(
    txn: &WriteTransaction,
    tx: &mut dyn WriteTx,
    master: &MasterKey,
    check: &[u8],
) -> Result<(), StorageError> {
    // The layout of schema 4; `prepare` takes it on from there.
    set_version(tx, 4)?;
    META.insert(tx, &MetaKey::KeyCheck, &check.to_vec())?;
    write_secret(tx, master, StoreSecret::IdRoot)?;

    let mut names = HashMap::new();
    for entry in txn
        .open_table(USERS_V1)
        .map_err(backend)?
        .iter()
        .map_err(backend)?
    {
        let (id, row) = entry.map_err(backend)?;
        let (username, phc, created) = row.value();
        let id = UserId::from_u128(id.value());
        names.insert(id, username.to_owned());
        let row = UserRow {
            username: username.to_owned(),
            password_hash: phc.to_owned(),
            created_at: Timestamp::from_unix_millis(created),
            role: crate::model::Role::User,
            disabled: false,
        };
        USERS.insert(tx, &id, &row)?;
    }
    for entry in txn
        .open_table(USERS_BY_NAME_V1)
        .map_err(backend)?
        .iter()
        .map_err(backend)?
    {
        let (name, id) = entry.map_err(backend)?;
        USERS_BY_NAME.insert(tx, &name.value().to_owned(), &UserId::from_u128(id.value()))?;
    }
    let event_seq = txn
        .open_table(COUNTERS_V1)
        .map_err(backend)?
        .get("event_seq")
        .map_err(backend)?
        .map_or(0, |v| v.value());
    for entry in txn
        .open_table(KEYRING_V1)
        .map_err(backend)?
        .iter()
        .map_err(backend)?
    {
        let (scope, row) = entry.map_err(backend)?;
        let (key_version, seals_reserved) = row.value();
        let row = ScopeRow {
            key_version,
            seals_reserved,
            positions_reserved: event_seq,
        };
        SCOPES.insert(tx, &KeyScope::from_u128(scope.value()), &row)?;
    }
    for entry in txn
        .open_table(DATA_KEYS_V1)
        .map_err(backend)?
        .iter()
        .map_err(backend)?
    {
        let (key, wrapped) = entry.map_err(backend)?;
        let (scope, version) = key.value();
        DATA_KEYS.insert(
            tx,
            &(KeyScope::from_u128(scope), version),
            &wrapped.value().to_vec(),
        )?;
    }
    for entry in txn
        .open_table(RECORDS_V1)
        .map_err(backend)?
        .iter()
        .map_err(backend)?
    {
        let (key, row) = entry.map_err(backend)?;
        let (scope, id) = key.value();
        let (sender, created, expires, envelope) = row.value();
        let sender = UserId::from_u128(sender);
        let row = RecordRow {
            kind: crate::model::RecordKind::Message,
            sender,
            sender_name: names.get(&sender).cloned(),
            created_at: Timestamp::from_unix_millis(created),
            expires_at: Timestamp::from_unix_millis(expires),
            envelope: envelope.to_vec(),
        };
        let key = (KeyScope::from_u128(scope), RecordKey::from_u128(id));
        RECORDS.insert(tx, &key, &row)?;
    }
    for entry in txn
        .open_table(RECORD_EXPIRY_V1)
        .map_err(backend)?
        .iter()
        .map_err(backend)?
    {
        let (expires, scope, id) = entry.map_err(backend)?.0.value();
        let key = (
            Timestamp::from_unix_millis(expires),
            KeyScope::from_u128(scope),
            RecordKey::from_u128(id),
        );
        RECORD_EXPIRY.insert(tx, &key, &())?;
    }
    let corrupt = || StorageError::Corrupt { table: "tokens" };
    for entry in txn
        .open_table(TOKENS_V1)
        .map_err(backend)?
        .iter()
        .map_err(backend)?
    {
        let (hash, row) = entry.map_err(backend)?;
        let (owner, kind, expires, session, state) = row.value();
        let row = TokenRow {
            owner: UserId::from_u128(owner),
            kind: TokenKind::from_code(kind).ok_or_else(corrupt)?,
            expires_at: Timestamp::from_unix_millis(expires),
            session: SessionId::from_u128(session),
            state: TokenState::from_code(state).ok_or_else(corrupt)?,
            grants_until: Timestamp::from_unix_millis(expires),
        };
        TOKENS.insert(tx, &hash.value(), &row)?;
    }
    for entry in txn
        .open_table(TOKEN_EXPIRY_V1)
        .map_err(backend)?
        .iter()
        .map_err(backend)?
    {
        let (expires, hash) = entry.map_err(backend)?.0.value();
        TOKEN_EXPIRY.insert(tx, &(Timestamp::from_unix_millis(expires), hash), &())?;
    }
    for entry in txn
        .open_table(SESSIONS_V1)
        .map_err(backend)?
        .iter()
        .map_err(backend)?
    {
        let (owner, session, hash) = entry.map_err(backend)?.0.value();
        let key = (
            UserId::from_u128(owner),
            SessionId::from_u128(session),
            hash,
        );
        SESSIONS.insert(tx, &key, &())?;
    }
    Ok(())
}

fn delete_v1_tables(txn: &WriteTransaction) -> Result<(), StorageError> {
    txn.delete_table(META_V1).map_err(backend)?;
    txn.delete_table(USERS_V1).map_err(backend)?;
    txn.delete_table(USERS_BY_NAME_V1).map_err(backend)?;
    txn.delete_table(KEYRING_V1).map_err(backend)?;
    txn.delete_table(DATA_KEYS_V1).map_err(backend)?;
    txn.delete_table(RECORDS_V1).map_err(backend)?;
    txn.delete_table(RECORD_EXPIRY_V1).map_err(backend)?;
    txn.delete_table(COUNTERS_V1).map_err(backend)?;
    txn.delete_table(TOKENS_V1).map_err(backend)?;
    txn.delete_table(TOKEN_EXPIRY_V1).map_err(backend)?;
    txn.delete_table(SESSIONS_V1).map_err(backend)?;
    Ok(())
}

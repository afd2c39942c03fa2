//! A consistency check of the storage indexes, for tests, fuzzing and the
//! operator's `verify` command.

use std::collections::HashSet;

use redb::{ReadableDatabase, ReadableTable};

use crate::engine::Engine;
use crate::error::StorageError;
use crate::tables::{
    DATA_KEYS, KEYRING, RECORD_EXPIRY, RECORDS, SESSIONS, TOKEN_EXPIRY, TOKENS, USERS,
    USERS_BY_NAME,
};

/// What [`Engine::check_integrity`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IntegrityReport {
    /// Records stored (expired or not).
    pub records: u64,
    /// Tokens stored.
    pub tokens: u64,
    /// Users stored.
    pub users: u64,
    /// Every inconsistency found; empty when the store is sound.
    pub problems: Vec<String>,
}

impl IntegrityReport {
    /// Whether no problem was found.
    pub fn is_sound(&self) -> bool {
        self.problems.is_empty()
    }
}

impl Engine {
    /// Checks that every record has exactly its expiry entry and an existing
    /// owner key, every token its expiry and session entries, and every user
    /// its name entry and key ring. Reads the whole store: O(size).
    pub fn check_integrity(&self) -> Result<IntegrityReport, StorageError> {
        let txn = self.inner.db.begin_read()?;
        let mut report = IntegrityReport::default();
        let keyring = txn.open_table(KEYRING)?;
        let data_keys = txn.open_table(DATA_KEYS)?;
        let mut expiry: HashSet<(u64, u128, u128)> = HashSet::new();
        for entry in txn.open_table(RECORD_EXPIRY)?.iter()? {
            expiry.insert(entry?.0.value());
        }
        for row in txn.open_table(RECORDS)?.iter()? {
            let (key, value) = row?;
            let (owner, id) = key.value();
            let expires = value.value().2;
            report.records += 1;
            if !expiry.remove(&(expires, owner, id)) {
                report
                    .problems
                    .push(format!("record {owner:x}/{id:x} has no expiry entry"));
            }
            if keyring.get(owner)?.is_none() {
                report
                    .problems
                    .push(format!("record {owner:x}/{id:x} has no key ring"));
            }
        }
        for (expires, owner, id) in expiry {
            report.problems.push(format!(
                "expiry entry {expires}/{owner:x}/{id:x} has no record"
            ));
        }
        let token_expiry: HashSet<(u64, [u8; 32])> = txn
            .open_table(TOKEN_EXPIRY)?
            .iter()?
            .map(|e| e.map(|(k, _)| k.value()))
            .collect::<Result<_, _>>()?;
        let sessions = txn.open_table(SESSIONS)?;
        for row in txn.open_table(TOKENS)?.iter()? {
            let (hash, value) = row?;
            let (owner, _, expires, family, _) = value.value();
            let hash = hash.value();
            report.tokens += 1;
            if !token_expiry.contains(&(expires, hash)) {
                report.problems.push("token without expiry entry".into());
            }
            if sessions.get((owner, family, hash))?.is_none() {
                report.problems.push("token without session entry".into());
            }
        }
        if token_expiry.len() as u64 != report.tokens {
            report
                .problems
                .push("token expiry entries without token".into());
        }
        let by_name = txn.open_table(USERS_BY_NAME)?;
        for row in txn.open_table(USERS)?.iter()? {
            let (id, value) = row?;
            let id = id.value();
            report.users += 1;
            let name_ok = by_name
                .get(value.value().0)?
                .is_some_and(|v| v.value() == id);
            if !name_ok {
                report
                    .problems
                    .push(format!("user {id:x} has no name entry"));
            }
            let current = keyring.get(id)?.map(|v| v.value().0);
            match current {
                Some(version) if data_keys.get((id, version))?.is_some() => {}
                _ => report
                    .problems
                    .push(format!("user {id:x} has no current data key")),
            }
        }
        Ok(report)
    }
}

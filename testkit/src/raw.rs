//! The engine's stored tables read and changed behind its back, on either
//! backend: a redb file (no engine may hold it open: redb locks it) or a
//! PostgreSQL database. Each engine table is a key-value table of bytes
//! (`kv/NAME` in redb, `strongroom_NAME` in PostgreSQL), so tests can
//! corrupt, remove or forge rows the way an attacker with the database
//! would, and check the engine notices.

use sha2::Digest as _;
use std::path::PathBuf;

use strongroom_engine::SecretString;
use strongroom_engine::secrecy::ExposeSecret;

/// Where a store's tables are.
pub enum RawStore {
    /// A redb file.
    Redb(PathBuf),
    /// A PostgreSQL database, by URL.
    Postgres(SecretString),
}

impl RawStore {
    /// Every entry of engine table `table`, in key order.
    pub fn rows(&self, table: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
        match self {
            Self::Redb(path) => {
                use redb::{ReadableDatabase, ReadableTable};
                let db = redb::Database::open(path).expect("open raw");
                let read = db.begin_read().expect("read");
                let name = format!("kv/{table}");
                let def: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new(&name);
                let t = read.open_table(def).expect("table");
                let rows = t.iter().expect("iter");
                rows.map(|r| {
                    let (k, v) = r.expect("row");
                    (k.value().to_vec(), v.value().to_vec())
                })
                .collect()
            }
            Self::Postgres(url) => sql(url)
                .query(
                    &format!("SELECT k, v FROM strongroom_{table} ORDER BY k"),
                    &[],
                )
                .expect("select")
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect(),
        }
    }

    /// The value under `key` in `table`, if any.
    pub fn get(&self, table: &str, key: &[u8]) -> Option<Vec<u8>> {
        self.rows(table)
            .into_iter()
            .find_map(|(k, v)| (k == key).then_some(v))
    }

    /// Stores `value` under `key` in `table` (replacing any).
    pub fn insert(&self, table: &str, key: &[u8], value: &[u8]) {
        match self {
            Self::Redb(path) => redb_write(path, table, |write, def| {
                write
                    .open_table(def)
                    .expect("table")
                    .insert(key, value)
                    .expect("insert");
            }),
            Self::Postgres(url) => {
                let query = format!(
                    "INSERT INTO strongroom_{table} (k, v) VALUES ($1, $2) \
                     ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v"
                );
                sql(url).execute(&query, &[&key, &value]).expect("insert");
            }
        }
    }

    /// Removes `key` from `table`, or with `None` every entry.
    pub fn remove(&self, table: &str, key: Option<&[u8]>) {
        match self {
            Self::Redb(path) => redb_write(path, table, |write, def| match key {
                Some(key) => {
                    write
                        .open_table(def)
                        .expect("table")
                        .remove(key)
                        .expect("remove");
                }
                None => {
                    write.delete_table(def).expect("drop table");
                }
            }),
            Self::Postgres(url) => {
                let table = format!("strongroom_{table}");
                let mut sql = sql(url);
                match key {
                    Some(key) => sql.execute(&format!("DELETE FROM {table} WHERE k = $1"), &[&key]),
                    None => sql.execute(&format!("DELETE FROM {table}"), &[]),
                }
                .expect("delete");
            }
        }
    }
}

fn sql(url: &SecretString) -> postgres::Client {
    postgres::Client::connect(url.expose_secret(), postgres::NoTls).expect("connect")
}

/// Runs `f` on a write transaction of the redb file at `path` with engine
/// table `table`'s definition, and commits.
fn redb_write(
    path: &std::path::Path,
    table: &str,
    f: impl FnOnce(&redb::WriteTransaction, redb::TableDefinition<&[u8], &[u8]>),
) {
    let db = redb::Database::open(path).expect("open raw");
    let write = db.begin_write().expect("write");
    let name = format!("kv/{table}");
    f(&write, redb::TableDefinition::new(&name));
    write.commit().expect("commit");
}

/// A change to the stored audit log made behind the chain's back, as
/// someone who can write the database would make it.
#[derive(Clone, Copy, Debug)]
pub enum AuditTamper {
    /// Flip entry N's outcome (success ↔ denied), keeping its stored hash.
    Modify(u64),
    /// Delete entry N.
    Delete(u64),
    /// Swap entries A and B.
    Swap(u64, u64),
    /// Delete entry N and everything after it.
    Truncate(u64),
    /// Flip entry N's outcome, then re-chain it and every later entry with
    /// plain `SHA-256(prev_hash || canonical)`: what anyone who can write
    /// the file could do to an unkeyed chain.
    ModifyAndRechain(u64),
}

/// The audit table's name and its key: the entry's sequence number,
/// big-endian.
const AUDIT: &str = "audit";

fn seq_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

/// Where an entry's outcome byte sits in its stored row, from the
/// documented canonical layout: seq u64, time u64, actor kind u8, user
/// u128, key u128, action (u32 length + UTF-8), target kind u8, owner
/// u128, id u128, outcome u8 (1 success, 2 denied), …
fn outcome_offset(row: &[u8]) -> usize {
    let action_at = 8 + 8 + 1 + 16 + 16;
    let len_bytes: [u8; 4] = row[action_at..action_at + 4].try_into().expect("length");
    action_at + 4 + u32::from_be_bytes(len_bytes) as usize + 1 + 16 + 16
}

/// A stored row is the canonical encoding, then the previous entry's hash,
/// then the entry's own: 32 bytes each.
const HASH_LEN: usize = 32;

/// Applies `how` to the audit log of `store`.
pub fn tamper_audit(store: &RawStore, how: AuditTamper) {
    let row = |seq| store.get(AUDIT, &seq_key(seq)).expect("audit entry");
    match how {
        AuditTamper::Modify(seq) => {
            let mut entry = row(seq);
            let at = outcome_offset(&entry);
            entry[at] = if entry[at] == 1 { 2 } else { 1 };
            store.insert(AUDIT, &seq_key(seq), &entry);
        }
        AuditTamper::Delete(seq) => store.remove(AUDIT, Some(&seq_key(seq))),
        AuditTamper::Swap(a, b) => {
            let (ea, eb) = (row(a), row(b));
            store.insert(AUDIT, &seq_key(a), &eb);
            store.insert(AUDIT, &seq_key(b), &ea);
        }
        AuditTamper::ModifyAndRechain(from) => {
            tamper_audit(store, AuditTamper::Modify(from));
            let mut prev: Option<[u8; HASH_LEN]> = None;
            let mut rows = store.rows(AUDIT);
            rows.sort();
            for (key, mut entry) in rows {
                let seq = u64::from_be_bytes(key.as_slice().try_into().expect("seq key"));
                let canonical = entry.len() - 2 * HASH_LEN;
                if seq >= from {
                    let prev = prev.expect("an entry before the edited one");
                    entry[canonical..canonical + HASH_LEN].copy_from_slice(&prev);
                    let hash = sha2::Sha256::new()
                        .chain_update(prev)
                        .chain_update(&entry[..canonical])
                        .finalize();
                    entry[canonical + HASH_LEN..].copy_from_slice(&hash);
                    store.insert(AUDIT, &key, &entry);
                }
                prev = Some(entry[canonical + HASH_LEN..].try_into().expect("hash"));
            }
        }
        AuditTamper::Truncate(from) => {
            for (key, _) in store.rows(AUDIT) {
                let seq = u64::from_be_bytes(key.as_slice().try_into().expect("seq key"));
                if seq >= from {
                    store.remove(AUDIT, Some(&key));
                }
            }
        }
    }
}

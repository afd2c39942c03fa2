//! The engine's integration suite, through its public API only. Run on
//! the embedded redb backend by default and, unchanged, on PostgreSQL with
//! `STRONGROOM_TEST_BACKEND=postgres` (scripts/test.sh runs both).

mod access;
mod accounts;
mod audit;
mod broken_decrypt;
mod copy;
mod crash_consistency;
mod crash_process;
mod credits;
mod durability;
mod e2e;
mod events;
mod files;
mod group_commit;
mod identity;
mod maintenance;
mod model;
mod passkeys;
mod records;
mod schema;
mod shared_store;
mod shares;
mod wycheproof;

/// The test kit's keys and engines, under the names these tests use.
mod common {
    use std::path::Path;

    use strongroom_engine::SecretString;
    pub(crate) use strongroom_testkit::store::{
        Backend, backend, builder, embedded_only, engine, open, open_with, user,
    };
    pub(crate) use strongroom_testkit::{KEY_A, KEY_B, PASSWORD, clock as start, master};

    pub(crate) fn password(text: &str) -> SecretString {
        SecretString::from(text)
    }

    /// Every entry of engine table `table` at `path`, behind the engine's
    /// back (no engine may have it open, for redb).
    pub(crate) fn raw_rows(path: &Path, table: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
        strongroom_testkit::store::raw(path).rows(table)
    }

    /// Stores `value` under `key` in `table` at `path`, behind the engine's
    /// back.
    pub(crate) fn raw_insert(path: &Path, table: &str, key: &[u8], value: &[u8]) {
        strongroom_testkit::store::raw(path).insert(table, key, value);
    }

    /// Removes `key` (or with `None` everything) from `table` at `path`,
    /// behind the engine's back.
    pub(crate) fn raw_remove(path: &Path, table: &str, key: Option<&[u8]>) {
        strongroom_testkit::store::raw(path).remove(table, key);
    }
}

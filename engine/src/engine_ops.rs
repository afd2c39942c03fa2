//! Operator operations on a whole store: a consistent backup from one read
//! transaction, and compaction of a closed database file.

use std::path::Path;

use crate::engine::Engine;
use crate::error::StorageError;

/// What a backup wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BackupReport {
    /// Records (messages and broadcasts) in the backup.
    pub records: u64,
    /// Users in the backup.
    pub users: u64,
    /// Entries copied, in all tables.
    pub entries: u64,
}

impl Engine {
    /// Writes a consistent copy of the whole store, as one read transaction
    /// sees it, to a new database file at `to` (an empty or absent file).
    /// It stays encrypted: records under their data keys, data keys wrapped
    /// under the master key (which is not in it). Writers are not blocked
    /// while it runs; a record acknowledged before the call is in it.
    pub fn backup_to(&self, to: &Path) -> Result<BackupReport, StorageError> {
        let copied = self.inner.store.snapshot_to(to)?;
        let count = |table: &str| {
            copied
                .iter()
                .find(|(name, _)| name == table)
                .map_or(0, |(_, n)| *n)
        };
        Ok(BackupReport {
            records: count("records"),
            users: count("users"),
            entries: copied.iter().map(|(_, n)| n).sum(),
        })
    }
}

/// Compacts the database file at `path` (which no process may hold open),
/// returning its size in bytes before and after. redb files grow under
/// put/expire churn until compacted.
pub fn compact(path: &Path) -> Result<(u64, u64), StorageError> {
    crate::store::redb::compact(path)
}

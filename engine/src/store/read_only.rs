//! A redb file opened read-only: a snapshot on a read-only mount, or a
//! file this process may read but not write. Reads run as in the embedded
//! store; every write is refused with [`StorageError::ReadOnly`] before it
//! begins, so the file is never written, not even to repair it.

use std::path::Path;

use redb::{Database, ReadOnlyDatabase, ReadableDatabase};

use super::redb::{RedbRead, backend, copy_tables, opening, shielded};
use super::{Outcome, ReadTx, Store, WriteTx};
use crate::error::{OpenError, StorageError};

/// The engine's tables in a redb file open read-only.
pub(crate) struct ReadOnlyStore {
    db: ReadOnlyDatabase,
}

impl ReadOnlyStore {
    /// Opens the database file at `path` read-only, with `cache` bytes of
    /// page cache (default: redb's). A file another process holds open
    /// for writing is in use; one that was not closed cleanly needs the
    /// repair only a writable open makes.
    pub(crate) fn open(path: &Path, cache: Option<usize>) -> Result<Self, OpenError> {
        let mut builder = Database::builder();
        if let Some(bytes) = cache {
            builder.set_cache_size(bytes);
        }
        match shielded(|| Ok(builder.open_read_only(path)))? {
            Ok(db) => Ok(Self { db }),
            Err(redb::DatabaseError::RepairAborted) => Err(OpenError::NeedsWrite(
                "the file was not closed cleanly and needs a repair",
            )),
            Err(e) => Err(opening(e).into()),
        }
    }
}

impl Store for ReadOnlyStore {
    fn read(
        &self,
        body: &mut dyn FnMut(&dyn ReadTx) -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        // Nothing commits under it: one transaction per read is as fresh
        // as a shared one, and a read-only store serves few reads.
        body(&RedbRead::begin(&self.db, 0)?)
    }

    fn write(&self, _: &mut dyn FnMut(&mut dyn WriteTx) -> Outcome) -> Result<(), StorageError> {
        Err(StorageError::ReadOnly)
    }

    fn snapshot_to(&self, to: &Path) -> Result<Vec<(String, u64)>, StorageError> {
        let read = shielded(|| self.db.begin_read().map_err(backend))?;
        copy_tables(&read, to)
    }
}

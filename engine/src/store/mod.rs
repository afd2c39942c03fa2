//! The storage interface: named tables of byte keys and byte values, kept in
//! key order, read and written in transactions. The schema above encodes
//! typed keys so that byte order is key order; a backend only has to keep
//! bytes sorted and transactions atomic. Redb is the embedded backend.
//!
//! Transactions are closures: a backend may run a write body more than once
//! (a database that retries on serialization failures), so a body's only
//! lasting effects are the writes it makes through its transaction.

use std::ops::Bound;
use std::path::Path;

use crate::error::StorageError;

#[cfg(feature = "postgres")]
pub(crate) mod postgres;
#[cfg(feature = "postgres")]
mod postgres_tls;
pub(crate) mod read_only;
mod recovery;
pub(crate) mod redb;
pub(crate) mod watched;

/// Most tables a schema may define (backends keep per-table state in slots).
pub(crate) const MAX_TABLES: usize = 32;

/// A table as a backend sees it: its name, and a slot below [`MAX_TABLES`]
/// unique to it, where the backend may cache its open handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TableName {
    pub(crate) name: &'static str,
    pub(crate) slot: usize,
}

/// Whether a scan goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    Stop,
}

/// Direction of a scan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Order {
    Ascending,
    Descending,
}

/// A range of encoded keys.
pub(crate) type Bounds<'a> = (Bound<&'a [u8]>, Bound<&'a [u8]>);

/// What a write body decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Commit,
    Abort,
}

/// Reads within one transaction: a consistent snapshot.
pub(crate) trait ReadTx {
    /// Calls `found` with the value stored under `key`, if any; says whether
    /// there was one.
    fn get(
        &self,
        table: TableName,
        key: &[u8],
        found: &mut dyn FnMut(&[u8]),
    ) -> Result<bool, StorageError>;

    /// Calls `visit` with every entry in `bounds`, in key `order`, until it
    /// answers [`Flow::Stop`]. `visit` must not write. A caller that
    /// expects to visit about `expect` entries (a page and the one that
    /// tells whether another follows) says so: a networked backend fetches
    /// that many in its first statement.
    fn scan(
        &self,
        table: TableName,
        bounds: Bounds<'_>,
        order: Order,
        expect: Option<usize>,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> Flow,
    ) -> Result<(), StorageError>;
}

/// Reads and writes within one transaction.
pub(crate) trait WriteTx: ReadTx {
    /// Stores `value` under `key`, replacing any value there.
    fn insert(&mut self, table: TableName, key: &[u8], value: &[u8]) -> Result<(), StorageError>;

    /// Removes `key`; returns the value it held.
    fn remove(&mut self, table: TableName, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError>;
}

/// A transactional store of ordered tables.
pub(crate) trait Store: Send + Sync {
    /// Runs `body` in a read transaction. Its only effect must be what it
    /// returns: a body that met the database failed by another call may be
    /// run again, once the store has recovered.
    fn read(
        &self,
        body: &mut dyn FnMut(&dyn ReadTx) -> Result<(), StorageError>,
    ) -> Result<(), StorageError>;

    /// Like [`Store::read`], for a body the backend may also run more than
    /// once where it gains by it (a networked database
    /// first tries it as a single statement without a transaction, and
    /// runs it again in one when it asks for more).
    fn read_restartable(
        &self,
        body: &mut dyn FnMut(&dyn ReadTx) -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        self.read(body)
    }

    /// Runs `body` in a write transaction and commits it durably (or aborts
    /// it) as the body decides. Write transactions run one at a time.
    fn write(&self, body: &mut dyn FnMut(&mut dyn WriteTx) -> Outcome) -> Result<(), StorageError>;

    /// [`Store::write`] for a body that removes (an upload's segments,
    /// what expired): a store that pauses writes after a full disk lets
    /// this one try, since it is what makes room.
    fn write_freeing(
        &self,
        body: &mut dyn FnMut(&mut dyn WriteTx) -> Outcome,
    ) -> Result<(), StorageError> {
        self.write(body)
    }

    /// Whether a read may wait on more than local memory and disk (a
    /// networked database): then async callers should not read on their
    /// executor's threads.
    fn reads_block(&self) -> bool {
        false
    }

    /// Whether other processes may write the same store (several
    /// instances on one database): then what the engine counts in memory
    /// (log positions) must be taken from the store on every use.
    fn shared(&self) -> bool {
        false
    }

    /// Copies every table, as one read transaction sees them, into a new
    /// embedded database at `to` (an empty or absent file) and makes it
    /// durable; returns the number of entries copied per table.
    fn snapshot_to(&self, to: &Path) -> Result<Vec<(String, u64)>, StorageError>;
}

impl dyn Store + '_ {
    /// Runs `f` in a read transaction and returns what its last run
    /// returned (its only effect must be that, see [`Store::read`]).
    pub(crate) fn read_with<T, E: From<StorageError>>(
        &self,
        f: impl FnMut(&dyn ReadTx) -> Result<T, E>,
    ) -> Result<T, E> {
        returning(|body| self.read(body), f)
    }

    /// Runs `f`, which may run more than once (its only effect must be
    /// what it returns), in a read transaction or, where the backend
    /// gains by it, as a single statement; returns what it returned. For
    /// the hot reads: a record, a page of them.
    pub(crate) fn read_fresh<T, E: From<StorageError>>(
        &self,
        f: impl FnMut(&dyn ReadTx) -> Result<T, E>,
    ) -> Result<T, E> {
        returning(|body| self.read_restartable(body), f)
    }

    /// Runs `f` in a write transaction, committed if it returns `Ok` and
    /// aborted if it returns `Err`; returns what it returned.
    pub(crate) fn write_with<T, E: From<StorageError>>(
        &self,
        f: impl FnMut(&mut dyn WriteTx) -> Result<T, E>,
    ) -> Result<T, E> {
        committing(|body| self.write(body), f)
    }

    /// `write_with` through [`Store::write_freeing`],
    /// for `f` that removes.
    pub(crate) fn freeing_with<T, E: From<StorageError>>(
        &self,
        f: impl FnMut(&mut dyn WriteTx) -> Result<T, E>,
    ) -> Result<T, E> {
        committing(|body| self.write_freeing(body), f)
    }
}

/// Runs `f` through `write` (one of the store's write entry points),
/// committed if it returns `Ok` and aborted if it returns `Err`; returns
/// what its last run returned.
fn committing<T, E: From<StorageError>>(
    write: impl FnOnce(&mut dyn FnMut(&mut dyn WriteTx) -> Outcome) -> Result<(), StorageError>,
    mut f: impl FnMut(&mut dyn WriteTx) -> Result<T, E>,
) -> Result<T, E> {
    let mut out = None;
    write(&mut |tx| {
        let result = f(tx);
        let outcome = match result {
            Ok(_) => Outcome::Commit,
            Err(_) => Outcome::Abort,
        };
        out = Some(result);
        outcome
    })?;
    out.unwrap_or_else(|| Err(body_did_not_run().into()))
}

/// Runs `f` through `read` (one of the store's read entry points) and
/// returns what its last run returned.
fn returning<T, E: From<StorageError>>(
    read: impl FnOnce(
        &mut dyn FnMut(&dyn ReadTx) -> Result<(), StorageError>,
    ) -> Result<(), StorageError>,
    mut f: impl FnMut(&dyn ReadTx) -> Result<T, E>,
) -> Result<T, E> {
    let mut out = None;
    read(&mut |tx| {
        out = Some(f(tx));
        Ok(())
    })?;
    out.unwrap_or_else(|| Err(body_did_not_run().into()))
}

/// Copies `tables`, as one read transaction of `source` sees them, into
/// `target` in one write transaction of it: nothing is decoded, so records
/// stay sealed. Returns the entries copied per table, or `None` (having
/// written nothing) when one of the tables of `target` holds an entry.
#[cfg(feature = "postgres")]
pub(crate) fn copy_all(
    source: &dyn Store,
    target: &dyn Store,
    tables: &[TableName],
) -> Result<Option<Vec<(String, u64)>>, StorageError> {
    let all = || (Bound::Unbounded, Bound::Unbounded);
    target.write_with(|into| {
        for table in tables {
            let mut found = false;
            into.scan(*table, all(), Order::Ascending, Some(1), &mut |_, _| {
                found = true;
                Flow::Stop
            })?;
            if found {
                // Nothing was written: the commit changes nothing.
                return Ok(None);
            }
        }
        // Run again (the source recovering from another call's failure),
        // the read inserts the same entries again: the same result.
        source.read_with(|from| {
            let mut copied = Vec::with_capacity(tables.len());
            for table in tables {
                let mut count = 0;
                let mut failed = None;
                from.scan(
                    *table,
                    all(),
                    Order::Ascending,
                    None,
                    &mut |k, v| match into.insert(*table, k, v) {
                        Ok(()) => {
                            count += 1;
                            Flow::Continue
                        }
                        Err(e) => {
                            failed = Some(e);
                            Flow::Stop
                        }
                    },
                )?;
                if let Some(e) = failed {
                    return Err(e);
                }
                copied.push((table.name.to_owned(), count));
            }
            Ok(Some(copied))
        })
    })
}

#[derive(Debug, thiserror::Error)]
#[error("the storage backend finished a transaction without running its body")]
struct BodyDidNotRun;

fn body_did_not_run() -> StorageError {
    StorageError::backend(BodyDidNotRun)
}

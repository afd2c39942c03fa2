//! A store that counts the write transactions touching some of its tables.
//! Whatever was read from those tables stays true for as long as the count
//! stands, so a reader may keep it in memory, tagged with the count it read
//! first (the engine keeps checked sessions this way, in `sessions.rs`).
//!
//! The count goes up after the write has committed and before `write`
//! returns: a reader that sees the old count may have read the old rows,
//! and whoever made the change has not yet been told it is done.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Bounds, Flow, MAX_TABLES, Order, Outcome, ReadTx, Store, TableName, WriteTx};
use crate::error::StorageError;

/// `inner`, with a count of the writes to the watched tables.
pub(crate) struct Watched {
    inner: Box<dyn Store>,
    /// The watched tables' slots, one bit each.
    tables: u32,
    generation: AtomicU64,
}

impl Watched {
    /// Watches `tables` of `inner`.
    pub(crate) fn new(inner: Box<dyn Store>, tables: &[TableName]) -> Self {
        Self {
            inner,
            tables: tables.iter().fold(0, |bits, t| bits | bit(*t)),
            generation: AtomicU64::new(0),
        }
    }

    /// How many write transactions have written a watched table so far
    /// (committed or not: an abort counts too, which is only cautious).
    /// Read it before the read transaction whose result it will tag.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Runs `body` through `write` (one of the inner store's write entry
    /// points), counting it if it wrote a watched table.
    fn counting(
        &self,
        body: &mut dyn FnMut(&mut dyn WriteTx) -> Outcome,
        write: impl FnOnce(&mut dyn FnMut(&mut dyn WriteTx) -> Outcome) -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        let mut touched = false;
        let result = write(&mut |tx| {
            let mut noting = Noting {
                tx,
                tables: self.tables,
                touched: &mut touched,
            };
            body(&mut noting)
        });
        if touched {
            self.generation.fetch_add(1, Ordering::SeqCst);
        }
        result
    }
}

const _: () = assert!(MAX_TABLES <= u32::BITS as usize, "one bit per table slot");

/// The table's bit. A slot beyond the mask (none exists: slots are below
/// `MAX_TABLES`) gets every bit, so that a write to it is counted rather
/// than missed.
fn bit(table: TableName) -> u32 {
    1u32.checked_shl(table.slot as u32).unwrap_or(u32::MAX)
}

impl Store for Watched {
    fn read(
        &self,
        body: &mut dyn FnMut(&dyn ReadTx) -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        self.inner.read(body)
    }

    fn write(&self, body: &mut dyn FnMut(&mut dyn WriteTx) -> Outcome) -> Result<(), StorageError> {
        self.counting(body, |body| self.inner.write(body))
    }

    fn write_freeing(
        &self,
        body: &mut dyn FnMut(&mut dyn WriteTx) -> Outcome,
    ) -> Result<(), StorageError> {
        self.counting(body, |body| self.inner.write_freeing(body))
    }

    fn read_restartable(
        &self,
        body: &mut dyn FnMut(&dyn ReadTx) -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        self.inner.read_restartable(body)
    }

    fn reads_block(&self) -> bool {
        self.inner.reads_block()
    }

    fn shared(&self) -> bool {
        self.inner.shared()
    }

    fn snapshot_to(&self, to: &Path) -> Result<Vec<(String, u64)>, StorageError> {
        self.inner.snapshot_to(to)
    }
}

/// A write transaction that notes whether it wrote a watched table.
struct Noting<'a> {
    tx: &'a mut dyn WriteTx,
    tables: u32,
    touched: &'a mut bool,
}

impl Noting<'_> {
    fn note(&mut self, table: TableName) {
        if self.tables & bit(table) != 0 {
            *self.touched = true;
        }
    }
}

impl ReadTx for Noting<'_> {
    fn get(
        &self,
        table: TableName,
        key: &[u8],
        found: &mut dyn FnMut(&[u8]),
    ) -> Result<bool, StorageError> {
        self.tx.get(table, key, found)
    }

    fn scan(
        &self,
        table: TableName,
        bounds: Bounds<'_>,
        order: Order,
        expect: Option<usize>,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> Flow,
    ) -> Result<(), StorageError> {
        self.tx.scan(table, bounds, order, expect, visit)
    }
}

impl WriteTx for Noting<'_> {
    fn insert(&mut self, table: TableName, key: &[u8], value: &[u8]) -> Result<(), StorageError> {
        self.note(table);
        self.tx.insert(table, key, value)
    }

    fn remove(&mut self, table: TableName, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        self.note(table);
        self.tx.remove(table, key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::redb::RedbStore;

    const WATCHED: TableName = TableName {
        name: "watched",
        slot: 3,
    };
    const OTHER: TableName = TableName {
        name: "other",
        slot: 4,
    };

    fn store() -> Watched {
        let inner = RedbStore::in_memory().expect("in-memory store");
        Watched::new(Box::new(inner), &[WATCHED])
    }

    fn write(store: &Watched, outcome: Outcome, f: impl Fn(&mut dyn WriteTx)) {
        store
            .write(&mut |tx| {
                f(tx);
                outcome
            })
            .expect("write");
    }

    #[test]
    fn counts_writes_to_watched_tables_only() {
        let store = store();
        write(&store, Outcome::Commit, |tx| {
            tx.insert(OTHER, b"k", b"v").expect("insert");
        });
        store.read(&mut |_| Ok(())).expect("read");
        assert_eq!(store.generation(), 0, "other tables and reads do not count");

        write(&store, Outcome::Commit, |tx| {
            tx.insert(WATCHED, b"k", b"v").expect("insert");
            tx.insert(WATCHED, b"l", b"v").expect("insert");
        });
        assert_eq!(store.generation(), 1, "one per transaction");

        write(&store, Outcome::Commit, |tx| {
            tx.remove(WATCHED, b"k").expect("remove");
        });
        assert_eq!(store.generation(), 2, "a removal counts");

        write(&store, Outcome::Commit, |tx| {
            tx.remove(WATCHED, b"absent").expect("remove");
        });
        write(&store, Outcome::Abort, |tx| {
            tx.insert(WATCHED, b"m", b"v").expect("insert");
        });
        assert_eq!(store.generation(), 4, "attempts count too");
    }

    #[test]
    fn a_slot_beyond_the_mask_is_counted_not_missed() {
        let store = store();
        let beyond = TableName {
            name: "beyond",
            slot: 40,
        };
        // The backend refuses such a slot; the attempt still counts.
        write(&store, Outcome::Abort, |tx| {
            assert!(tx.insert(beyond, b"k", b"v").is_err());
        });
        assert_eq!(store.generation(), 1);
    }

    #[test]
    fn passes_reads_and_writes_through() {
        let store = store();
        write(&store, Outcome::Commit, |tx| {
            tx.insert(WATCHED, b"k", b"v").expect("insert");
            let mut seen = Vec::new();
            tx.get(WATCHED, b"k", &mut |v| seen.extend_from_slice(v))
                .expect("get in the write");
            assert_eq!(seen, b"v");
        });
        let mut seen = Vec::new();
        store
            .read(&mut |tx| {
                tx.scan(
                    WATCHED,
                    (std::ops::Bound::Unbounded, std::ops::Bound::Unbounded),
                    Order::Ascending,
                    None,
                    &mut |k, v| {
                        seen.push((k.to_vec(), v.to_vec()));
                        Flow::Continue
                    },
                )
            })
            .expect("read");
        assert_eq!(seen, vec![(b"k".to_vec(), b"v".to_vec())]);
    }
}

//! The embedded backend: every table a redb table of `&[u8]` keys and
//! values, opened once per transaction on first use.
//!
//! Readers share one read transaction, the newest snapshot, until a write
//! commits: beginning a redb read transaction and opening its tables cost
//! more than a point read's lookup. A commit retires the shared snapshot
//! before it returns, so a read that starts after a write was acknowledged
//! sees it.
//!
//! Every call into redb here, and the schema-1 check every open makes, is
//! [`shielded`]: redb meets some damaged pages with a panic, which comes
//! back as [`StorageError::Damaged`] rather than unwinding through the
//! engine and its caller (a server's request, an operator's `verify`).
//! (The one-time conversion of a schema-1 file is not.)

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock, RwLockReadGuard};

use redb::TableHandle as _;
use redb::{
    Database, ReadOnlyTable, ReadTransaction, ReadableDatabase, ReadableTable, Table,
    TableDefinition, TableError, WriteTransaction,
};

use super::recovery::{Opener, Recovery, Writes};
use super::{Bounds, Flow, MAX_TABLES, Order, Outcome, ReadTx, Store, TableName, WriteTx};
use crate::clock::Clock;
use crate::error::StorageError;

type Bytes = &'static [u8];
type ReadTable = ReadOnlyTable<Bytes, Bytes>;

/// Prefix of every table name: the byte layout never collides with the
/// typed tables of the first release's layout (schema 1).
const PREFIX: &str = "kv/";

fn definition(name: &str) -> TableDefinition<'_, Bytes, Bytes> {
    TableDefinition::new(name)
}

/// `kv/<name>`, made once per table slot (tables are constants).
fn stored_name(table: TableName) -> &'static str {
    static NAMES: [OnceLock<String>; MAX_TABLES] = [const { OnceLock::new() }; MAX_TABLES];
    match NAMES.get(table.slot) {
        Some(cell) => cell.get_or_init(|| format!("{PREFIX}{}", table.name)),
        None => "kv/invalid-slot",
    }
}

/// A redb error as a storage error; damage redb names (a checksum that
/// does not match, a repair that failed) as [`StorageError::Damaged`].
pub(crate) fn backend<E: Into<redb::Error>>(e: E) -> StorageError {
    match e.into() {
        redb::Error::Corrupted(what) => StorageError::Damaged(what),
        e => StorageError::backend(e),
    }
}

/// [`backend`] for a call that writes: an I/O error that says the disk is
/// full (or the file past what it may grow to) is [`StorageError::Full`].
/// Apart from `backend`, which every read's step maps its errors with:
/// there it would cost each step of a scan instructions (measured, 30
/// per record of a page).
pub(crate) fn written<E: Into<redb::Error>>(e: E) -> StorageError {
    match e.into() {
        redb::Error::Io(io) if StorageError::io_is_full(&io) => StorageError::Full,
        e => backend(e),
    }
}

/// Whether `e` says the database failed before the call was made: redb
/// latched an earlier I/O failure, or a recovery closed it.
fn is_latched(e: &StorageError) -> bool {
    let StorageError::Backend(cause) = e else {
        return false;
    };
    matches!(
        cause.downcast_ref::<redb::Error>(),
        Some(redb::Error::PreviousIo | redb::Error::DatabaseClosed)
    ) || cause.downcast_ref::<Closed>().is_some()
}

/// Whether `e` leaves the database latched: an I/O failure (a full disk
/// among them: redb latches a write or sync that fails, and a read), or
/// the latch met.
fn latches(e: &StorageError) -> bool {
    match e {
        StorageError::Full => true,
        StorageError::Backend(cause) => {
            matches!(
                cause.downcast_ref::<redb::Error>(),
                Some(redb::Error::Io(_))
            ) || is_latched(e)
        }
        _ => false,
    }
}

/// What a call finds while the database is closed by a recovery that
/// failed (until the next attempt).
#[derive(Debug, thiserror::Error)]
#[error("the database was closed after an I/O failure, and opening it again failed")]
struct Closed;

/// Runs `call`, a call into redb, turning a panic inside it into
/// [`StorageError::Damaged`]. Only redb's own calls go in here, never the
/// engine's code around them, so a panic of the engine's is not mistaken
/// for a damaged file.
pub(crate) fn shielded<T>(
    call: impl FnOnce() -> Result<T, StorageError>,
) -> Result<T, StorageError> {
    catch_unwind(AssertUnwindSafe(call)).unwrap_or_else(|panic| Err(damaged(&*panic)))
}

/// A panic's message as the damage found.
fn damaged(panic: &(dyn Any + Send)) -> StorageError {
    let message = match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(text), _) => (*text).to_owned(),
        (_, Some(text)) => text.clone(),
        _ => "a panic without a message".to_owned(),
    };
    StorageError::Damaged(message)
}

/// An error opening a database file: a lock held elsewhere is named as such.
pub(super) fn opening(e: redb::DatabaseError) -> StorageError {
    match e {
        redb::DatabaseError::DatabaseAlreadyOpen => StorageError::InUse,
        other => written(other),
    }
}

/// redb's builder, with `cache` bytes of page cache (default: redb's).
fn builder(cache: Option<usize>) -> redb::Builder {
    let mut builder = Database::builder();
    if let Some(bytes) = cache {
        builder.set_cache_size(bytes);
    }
    builder
}

/// A redb database holding the engine's tables.
pub(crate) struct RedbStore {
    /// Dropped before the database it reads.
    snapshot: Snapshot,
    /// `None` only while a recovery has closed it and not yet opened it
    /// again (or failed to).
    db: RwLock<Option<Database>>,
    /// How the database is opened again after an I/O failure, and when
    /// writes try again after a full disk; `None` for a database in
    /// memory, which can be neither.
    recovery: Option<Recovery>,
}

/// The read transaction readers share. A reader that finds none begins one
/// and shares it under the same lock, so every reader between two commits
/// reads one snapshot, and a snapshot is never followed by an older one: a
/// transaction begun by one reader while another began its own could see a
/// commit the other's did not, and sharing the older after the newer would
/// take a reader back in time. A commit takes the shared one after redb has
/// committed: one begun before that is gone once the write is acknowledged.
#[derive(Default)]
struct Snapshot {
    shared: Mutex<Option<Arc<RedbRead>>>,
}

impl Snapshot {
    /// The shared read transaction, begun by `begin` if there is none
    /// (the first read after a commit; readers meanwhile wait for it).
    fn get_or_begin(
        &self,
        begin: impl FnOnce() -> Result<RedbRead, StorageError>,
    ) -> Result<Arc<RedbRead>, StorageError> {
        let mut shared = self.lock();
        if let Some(read) = &*shared {
            return Ok(Arc::clone(read));
        }
        let read = Arc::new(begin()?);
        *shared = Some(Arc::clone(&read));
        Ok(read)
    }

    /// A write transaction has ended (committed, or failed to): readers
    /// from now on begin a new snapshot.
    fn retire(&self) {
        let old = self.lock().take();
        drop(old);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Arc<RedbRead>>> {
        // The lock guards a plain value: a panic elsewhere leaves it whole.
        self.shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl RedbStore {
    /// Opens or creates the database file at `path` (exclusively locked),
    /// with `cache` bytes of page cache (default: redb's). After an I/O
    /// failure it is opened again, spaced on `clock`.
    pub(crate) fn open(
        path: &Path,
        cache: Option<usize>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StorageError> {
        let path = PathBuf::from(path);
        Self::reopening(
            Box::new(move || shielded(|| builder(cache).create(&path).map_err(opening))),
            clock,
        )
    }

    /// A database on a caller-supplied backend (in memory, fault-injecting),
    /// with `cache` bytes of page cache; after an I/O failure it is opened
    /// again on a clone of `backend`.
    pub(crate) fn with_backend(
        backend: impl redb::StorageBackend + Clone,
        cache: Option<usize>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StorageError> {
        Self::reopening(
            Box::new(move || {
                let backend = backend.clone();
                shielded(|| builder(cache).create_with_backend(backend).map_err(opening))
            }),
            clock,
        )
    }

    /// A database `open` opens, and opens again after an I/O failure.
    fn reopening(open: Opener, clock: Arc<dyn Clock>) -> Result<Self, StorageError> {
        let db = open()?;
        Ok(Self::new(db, Some(Recovery::new(open, clock))))
    }

    /// A database held in memory only.
    pub(crate) fn in_memory() -> Result<Self, StorageError> {
        let db = Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(backend)?;
        Ok(Self::new(db, None))
    }

    fn new(db: Database, recovery: Option<Recovery>) -> Self {
        Self {
            snapshot: Snapshot::default(),
            db: RwLock::new(Some(db)),
            recovery,
        }
    }

    /// Runs `body` on the redb database itself, for the schema's upgrade
    /// from the legacy (typed) layout; what it commits, readers see after.
    pub(crate) fn with_database<R, E: From<StorageError>>(
        &self,
        body: impl FnOnce(&Database) -> Result<R, E>,
    ) -> Result<R, E> {
        let result = match &*self.database() {
            Some(db) => body(db),
            None => Err(StorageError::backend(Closed).into()),
        };
        self.snapshot.retire();
        result
    }

    fn database(&self) -> RwLockReadGuard<'_, Option<Database>> {
        self.db.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The read transaction readers share (see [`Snapshot`]).
    fn shared_read(&self) -> Result<Arc<RedbRead>, StorageError> {
        self.snapshot
            .get_or_begin(|| self.on_database(RedbRead::begin))
    }

    /// Runs `call` on the database with the number of times it was opened
    /// again (while it holds the lock, that number is the database's).
    fn on_database<T>(
        &self,
        call: impl FnOnce(&Database, u64) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        match &*self.database() {
            Some(db) => call(db, self.generation()),
            None => Err(StorageError::backend(Closed)),
        }
    }

    /// How many times the database was opened again.
    fn generation(&self) -> u64 {
        self.recovery.as_ref().map_or(0, Recovery::generation)
    }

    /// What `begin`, which failed with `failed`, gives when tried again:
    /// if the database was latched by an earlier I/O failure, once more
    /// (another caller may have opened it again meanwhile), then after
    /// opening it again. `begin` has no effect when it fails so.
    #[cold]
    #[inline(never)]
    fn begin_again<T>(
        &self,
        failed: StorageError,
        mut begin: impl FnMut() -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        if !is_latched(&failed) || self.recovery.is_none() {
            return Err(failed);
        }
        let seen = self.generation();
        match begin() {
            Err(e) if is_latched(&e) => {
                self.recover(seen)?;
                begin()
            }
            other => other,
        }
    }

    /// `result`, the end of a call that ran on the database as opened
    /// again `generation` times: a latched database is opened again for
    /// the next call.
    fn after<T>(
        &self,
        generation: u64,
        result: Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        match result {
            Ok(value) => Ok(value),
            Err(e) => Err(self.failed(generation, e)),
        }
    }

    /// [`RedbStore::after`] for an error, out of the way of the calls that
    /// succeed.
    #[cold]
    #[inline(never)]
    fn failed(&self, generation: u64, e: StorageError) -> StorageError {
        if latches(&e) {
            // The caller's error stands. redb now fails every later call
            // (reads of pages its cache lacks too), so the database is
            // opened again now rather than by the reader that would meet
            // it; a reopening that fails is tried again by a later call.
            drop(self.recover(generation));
        }
        e
    }

    fn pause(&self, found: Writes) {
        if let Some(recovery) = &self.recovery {
            recovery.pause(found);
        }
    }

    fn paused(&self, kind: Writes) -> bool {
        self.recovery.as_ref().is_some_and(|r| r.paused(kind))
    }

    /// Closes the latched database and opens it again, unless another
    /// caller has since `seen`.
    fn recover(&self, seen: u64) -> Result<(), StorageError> {
        let Some(attempt) = self.recovery.as_ref().and_then(|r| r.attempt(seen)) else {
            return Ok(());
        };
        // One lock at a time (a reader holds the snapshot's while it takes
        // the database's): the database out, the snapshot of it retired,
        // the database back.
        let old = self
            .db
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        // No reader begins on it from here; one that began meanwhile
        // shared its snapshot, which goes now, before the close (which
        // waits for the reads under way).
        self.snapshot.retire();
        // Closing fails, the database having failed before; it releases
        // the file either way (once a write still under way ends).
        drop(old.map(Database::close));
        let db = attempt.open()?;
        *self.db.write().unwrap_or_else(PoisonError::into_inner) = Some(db);
        Ok(())
    }
}

impl Store for RedbStore {
    fn read(
        &self,
        body: &mut dyn FnMut(&dyn ReadTx) -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        let begin = || match self.shared_read() {
            Ok(tx) => Ok(tx),
            Err(e) => self.begin_again(e, || self.shared_read()),
        };
        let mut retried = false;
        loop {
            let tx = begin()?;
            let met = Met::default();
            let result = body(&Noting { tx: &tx, met: &met });
            if met.retry() && !retried {
                // The body met the database latched by another call's
                // failure (between that failure and its reopening):
                // opened again, the body runs once more, on it.
                retried = true;
                self.recover(tx.generation)?;
                continue;
            }
            // The body's error stands (it may have kept it to itself).
            met.act(self, tx.generation);
            return self.after(tx.generation, result);
        }
    }

    fn snapshot_to(&self, to: &Path) -> Result<Vec<(String, u64)>, StorageError> {
        let begin = || self.on_database(|db, _| shielded(|| db.begin_read().map_err(backend)));
        let read = begin().or_else(|e| self.begin_again(e, begin))?;
        // A latch met here is the copy's own or the source's: the source's
        // is recovered by the next call that begins on it.
        copy_tables(&read, to)
    }

    fn write(&self, body: &mut dyn FnMut(&mut dyn WriteTx) -> Outcome) -> Result<(), StorageError> {
        self.write_as(Writes::Adding, body)
    }

    fn write_freeing(
        &self,
        body: &mut dyn FnMut(&mut dyn WriteTx) -> Outcome,
    ) -> Result<(), StorageError> {
        self.write_as(Writes::Removing, body)
    }
}

impl RedbStore {
    /// A write of `kind`: refused without trying while a full disk pauses
    /// that kind, and pausing it when it finds the disk full.
    fn write_as(
        &self,
        kind: Writes,
        body: &mut dyn FnMut(&mut dyn WriteTx) -> Outcome,
    ) -> Result<(), StorageError> {
        if self.paused(kind) {
            return Err(StorageError::Full);
        }
        let begin = || {
            self.on_database(|db, generation| {
                shielded(|| db.begin_write().map_err(written)).map(|txn| (txn, generation))
            })
        };
        let (txn, generation) = begin().or_else(|e| self.begin_again(e, begin))?;
        let met = Met::default();
        let outcome = body(&mut RedbWrite::new(&txn, &met));
        let result = self.end(txn, generation, outcome);
        if met.full.get() || matches!(result, Err(StorageError::Full)) {
            self.pause(kind);
        }
        // The body may have kept its error to itself; the transaction is
        // over, so the database may be opened again.
        met.act(self, generation);
        self.after(generation, result)
    }

    /// Commits or aborts `txn` as its body decided.
    fn end(
        &self,
        txn: WriteTransaction,
        generation: u64,
        outcome: Outcome,
    ) -> Result<(), StorageError> {
        match outcome {
            Outcome::Commit => {
                let committed = shielded(|| txn.commit().map_err(written));
                self.snapshot.retire();
                committed
            }
            // An abort that fails has still written nothing: the body's
            // own error is the caller's.
            Outcome::Abort => match shielded(|| txn.abort().map_err(written)) {
                Err(e) if is_latched(&e) => {
                    drop(self.failed(generation, e));
                    Ok(())
                }
                other => other,
            },
        }
    }
}

/// Copies every engine table `read` sees into a new database file at `to`
/// and commits it durably; the entries copied per table.
pub(super) fn copy_tables(
    read: &ReadTransaction,
    to: &Path,
) -> Result<Vec<(String, u64)>, StorageError> {
    // Only redb's work in here: shielded whole.
    shielded(|| {
        let target = Database::create(to).map_err(opening)?;
        let write = target.begin_write().map_err(written)?;
        let mut copied = Vec::new();
        for handle in read.list_tables().map_err(backend)? {
            let name = handle.name();
            let Some(short) = name.strip_prefix(PREFIX) else {
                continue; // not an engine table
            };
            let from = read.open_table(definition(name)).map_err(backend)?;
            let mut into = write.open_table(definition(name)).map_err(written)?;
            let mut count = 0;
            for entry in from.iter().map_err(backend)? {
                let (key, value) = entry.map_err(backend)?;
                into.insert(key.value(), value.value()).map_err(written)?;
                count += 1;
            }
            copied.push((short.to_owned(), count));
        }
        write.commit().map_err(written)?;
        Ok(copied)
    })
}

/// Compacts the database file at `path` (not open elsewhere), returning its
/// size before and after, in bytes.
pub(crate) fn compact(path: &Path) -> Result<(u64, u64), StorageError> {
    let size = || {
        std::fs::metadata(path)
            .map(|m| m.len())
            .map_err(StorageError::backend)
    };
    let before = size()?;
    let mut db = shielded(|| Database::open(path).map_err(opening))?;
    // Each pass may free pages that let the next one move more.
    for _ in 0..8 {
        if !shielded(|| db.compact().map_err(backend))? {
            break;
        }
    }
    drop(db);
    Ok((before, size()?))
}

/// Runs `body` on the byte tables of an open redb write transaction (which
/// the caller commits), for the upgrade from the legacy layout.
pub(crate) fn write_in<R>(txn: &WriteTransaction, body: impl FnOnce(&mut dyn WriteTx) -> R) -> R {
    body(&mut RedbWrite::new(txn, &Met::default()))
}

pub(super) struct RedbRead {
    txn: ReadTransaction,
    /// How many times the database had been opened again when it began.
    generation: u64,
    /// Each table opened once per transaction, on first use: `None` when
    /// it does not exist (yet). Shared references once set, so a reader
    /// may open another table (or the same) from inside a visit, and
    /// readers on other threads use it too. Boxed: most transactions open
    /// two or three of the slots, and an open table is 176 bytes.
    tables: [OnceLock<Option<Box<ReadTable>>>; MAX_TABLES],
}

impl RedbRead {
    pub(super) fn begin(db: &impl ReadableDatabase, generation: u64) -> Result<Self, StorageError> {
        Ok(Self {
            txn: shielded(|| db.begin_read().map_err(backend))?,
            generation,
            tables: std::array::from_fn(|_| OnceLock::new()),
        })
    }

    /// The open table, or `None` if it does not exist (yet): an empty table.
    fn table(&self, table: TableName) -> Result<Option<&ReadTable>, StorageError> {
        let slot = self
            .tables
            .get(table.slot)
            .ok_or_else(|| slot_error(table))?;
        if let Some(opened) = slot.get() {
            return Ok(opened.as_deref());
        }
        let opened = shielded(
            || match self.txn.open_table(definition(stored_name(table))) {
                Ok(t) => Ok(Some(Box::new(t))),
                Err(TableError::TableDoesNotExist(_)) => Ok(None),
                Err(e) => Err(backend(e)),
            },
        )?;
        Ok(slot.get_or_init(|| opened).as_deref())
    }
}

impl ReadTx for RedbRead {
    fn get(
        &self,
        table: TableName,
        key: &[u8],
        found: &mut dyn FnMut(&[u8]),
    ) -> Result<bool, StorageError> {
        let Some(t) = self.table(table)? else {
            return Ok(false);
        };
        get(t, key, found)
    }

    fn scan(
        &self,
        table: TableName,
        bounds: Bounds<'_>,
        order: Order,
        _expect: Option<usize>,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> Flow,
    ) -> Result<(), StorageError> {
        match self.table(table)? {
            Some(t) => scan(t, bounds, order, visit),
            None => Ok(()),
        }
    }
}

/// What the calls of one run of a body failed with, which the body may
/// keep to itself (in its own error type): the store acts on it after.
#[derive(Default)]
struct Met {
    /// The disk was full: writes pause.
    full: Cell<bool>,
    /// An I/O failure, which latched the database: it is opened again.
    io: Cell<bool>,
    /// The database latched by an earlier failure (another call's): it
    /// is opened again, and a read's body runs once more.
    latch: Cell<bool>,
}

impl Met {
    /// Whether a read's body should run again once the database is opened
    /// again: it met the latch, and nothing of its own failed.
    fn retry(&self) -> bool {
        self.latch.get() && !self.full.get() && !self.io.get()
    }

    /// What a run that failed so leaves to do: the database opened again
    /// after a failure that latched it.
    fn act(&self, store: &RedbStore, generation: u64) {
        if self.full.get() || self.io.get() || self.latch.get() {
            drop(store.recover(generation));
        }
    }

    /// `result`, noted. The latch met is answered as what it is to the
    /// caller: the database out of reach for a moment, nothing written
    /// (neither a read nor a body whose commit has not begun writes).
    fn note<T>(&self, result: Result<T, StorageError>) -> Result<T, StorageError> {
        match result {
            Err(e) if is_latched(&e) => {
                self.latch.set(true);
                Err(StorageError::Unavailable(
                    "it is being opened again after an I/O failure".to_owned(),
                ))
            }
            Err(e) => {
                if matches!(e, StorageError::Full) {
                    self.full.set(true);
                } else if latches(&e) {
                    self.io.set(true);
                }
                Err(e)
            }
            ok => ok,
        }
    }
}

/// A shared read transaction as one body sees it: what its calls fail
/// with is noted for that body's run alone.
struct Noting<'a> {
    tx: &'a RedbRead,
    met: &'a Met,
}

impl ReadTx for Noting<'_> {
    fn get(
        &self,
        table: TableName,
        key: &[u8],
        found: &mut dyn FnMut(&[u8]),
    ) -> Result<bool, StorageError> {
        self.met.note(self.tx.get(table, key, found))
    }

    fn scan(
        &self,
        table: TableName,
        bounds: Bounds<'_>,
        order: Order,
        expect: Option<usize>,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> Flow,
    ) -> Result<(), StorageError> {
        self.met
            .note(self.tx.scan(table, bounds, order, expect, visit))
    }
}

struct RedbWrite<'t> {
    txn: &'t WriteTransaction,
    tables: [RefCell<Option<Table<'t, Bytes, Bytes>>>; MAX_TABLES],
    met: &'t Met,
}

impl<'t> RedbWrite<'t> {
    fn new(txn: &'t WriteTransaction, met: &'t Met) -> Self {
        Self {
            txn,
            tables: std::array::from_fn(|_| RefCell::new(None)),
            met,
        }
    }

    /// `result`, noted.
    fn noting<T>(&self, result: Result<T, StorageError>) -> Result<T, StorageError> {
        self.met.note(result)
    }

    fn slot(
        &self,
        table: TableName,
    ) -> Result<&RefCell<Option<Table<'t, Bytes, Bytes>>>, StorageError> {
        let slot = self
            .tables
            .get(table.slot)
            .ok_or_else(|| slot_error(table))?;
        if slot.try_borrow().map_err(|_| busy(table))?.is_none() {
            let opened = self.noting(shielded(|| {
                self.txn
                    .open_table(definition(stored_name(table)))
                    .map_err(written)
            }))?;
            *slot.try_borrow_mut().map_err(|_| busy(table))? = Some(opened);
        }
        Ok(slot)
    }

    fn with_table<R>(
        &mut self,
        table: TableName,
        f: impl FnOnce(&mut Table<'t, Bytes, Bytes>) -> Result<R, redb::StorageError>,
    ) -> Result<R, StorageError> {
        let slot = self.slot(table)?;
        let mut guard = slot.try_borrow_mut().map_err(|_| busy(table))?;
        let t = guard.as_mut().ok_or_else(|| busy(table))?;
        self.noting(shielded(|| f(t).map_err(written)))
    }
}

impl ReadTx for RedbWrite<'_> {
    fn get(
        &self,
        table: TableName,
        key: &[u8],
        found: &mut dyn FnMut(&[u8]),
    ) -> Result<bool, StorageError> {
        let guard = self.slot(table)?.try_borrow().map_err(|_| busy(table))?;
        let t = guard.as_ref().ok_or_else(|| busy(table))?;
        self.noting(get(t, key, found))
    }

    fn scan(
        &self,
        table: TableName,
        bounds: Bounds<'_>,
        order: Order,
        _expect: Option<usize>,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> Flow,
    ) -> Result<(), StorageError> {
        let guard = self.slot(table)?.try_borrow().map_err(|_| busy(table))?;
        let t = guard.as_ref().ok_or_else(|| busy(table))?;
        self.noting(scan(t, bounds, order, visit))
    }
}

impl WriteTx for RedbWrite<'_> {
    fn insert(&mut self, table: TableName, key: &[u8], value: &[u8]) -> Result<(), StorageError> {
        self.with_table(table, |t| t.insert(key, value).map(drop))
    }

    fn remove(&mut self, table: TableName, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        self.with_table(table, |t| Ok(t.remove(key)?.map(|v| v.value().to_vec())))
    }
}

fn get(
    table: &impl ReadableTable<Bytes, Bytes>,
    key: &[u8],
    found: &mut dyn FnMut(&[u8]),
) -> Result<bool, StorageError> {
    match shielded(|| table.get(key).map_err(backend))? {
        Some(value) => {
            found(value.value());
            Ok(true)
        }
        None => Ok(false),
    }
}

fn scan(
    table: &impl ReadableTable<Bytes, Bytes>,
    bounds: Bounds<'_>,
    order: Order,
    visit: &mut dyn FnMut(&[u8], &[u8]) -> Flow,
) -> Result<(), StorageError> {
    let mut range = shielded(|| table.range::<&[u8]>(bounds).map_err(backend))?;
    loop {
        // Each step reads pages: shielded, the visit is the engine's.
        let entry = shielded(|| {
            let next = match order {
                Order::Ascending => range.next(),
                Order::Descending => range.next_back(),
            };
            next.transpose().map_err(backend)
        })?;
        let Some((k, v)) = entry else {
            return Ok(());
        };
        if visit(k.value(), v.value()) == Flow::Stop {
            return Ok(());
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("table `{0}` was written while a scan of it was running, or has no slot")]
struct TableBusy(&'static str);

fn busy(table: TableName) -> StorageError {
    StorageError::backend(TableBusy(table.name))
}

fn slot_error(table: TableName) -> StorageError {
    busy(table)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{RedbRead, RedbStore};
    use crate::error::StorageError;
    use crate::store::{Outcome, ReadTx, Store, TableName};

    const TABLE: TableName = TableName { name: "t", slot: 0 };

    fn put(store: &RedbStore, value: &[u8]) {
        store
            .write(&mut |tx| {
                tx.insert(TABLE, b"k", value).expect("insert");
                Outcome::Commit
            })
            .expect("write");
    }

    fn value(tx: &dyn ReadTx) -> Option<Vec<u8>> {
        let mut seen = None;
        tx.get(TABLE, b"k", &mut |v| seen = Some(v.to_vec()))
            .expect("get");
        seen
    }

    fn read(store: &RedbStore) -> Option<Vec<u8>> {
        let mut seen = None;
        store
            .read(&mut |tx| {
                seen = value(tx);
                Ok(())
            })
            .expect("read");
        seen
    }

    #[test]
    fn damage_redb_reports_is_damage() {
        let named = super::backend(redb::StorageError::Corrupted("all roots".into()));
        assert!(matches!(named, StorageError::Damaged(ref what) if what == "all roots"));
        let io = super::backend(redb::StorageError::Io(std::io::Error::other("disk")));
        assert!(matches!(io, StorageError::Backend(_)));
    }

    #[test]
    fn readers_share_a_snapshot_until_a_write_commits() {
        let store = RedbStore::in_memory().expect("store");
        put(&store, b"1");
        let first = store.shared_read().expect("snapshot");
        let again = store.shared_read().expect("snapshot");
        assert!(Arc::ptr_eq(&first, &again), "one transaction, shared");

        put(&store, b"2");
        assert_eq!(read(&store).as_deref(), Some(&b"2"[..]), "sees the commit");
        assert_eq!(
            value(&*first).as_deref(),
            Some(&b"1"[..]),
            "a reader already under way keeps its snapshot"
        );
        let after = store.shared_read().expect("snapshot");
        assert!(!Arc::ptr_eq(&first, &after));

        // An aborted write changes nothing: the snapshot stays.
        store
            .write(&mut |tx| {
                tx.insert(TABLE, b"k", b"3").expect("insert");
                Outcome::Abort
            })
            .expect("abort");
        let kept = store.shared_read().expect("snapshot");
        assert!(Arc::ptr_eq(&after, &kept));
        assert_eq!(value(&*kept).as_deref(), Some(&b"2"[..]));
    }

    #[test]
    fn a_reader_never_gets_a_snapshot_older_than_one_it_has_read() {
        use std::sync::mpsc;
        use std::time::Duration;

        let store = Arc::new(RedbStore::in_memory().expect("store"));
        // Nothing shared after the write: reader A begins a transaction
        // before the next commit and is held there.
        put(&store, b"1");
        let (begun, is_begun) = mpsc::channel();
        let (go, goes) = mpsc::channel::<()>();
        let a = {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                let read = store
                    .snapshot
                    .get_or_begin(|| {
                        let read = RedbRead::begin(store.database().as_ref().expect("open"), 0);
                        begun.send(()).expect("send");
                        goes.recv().expect("go");
                        read
                    })
                    .expect("snapshot");
                value(&*read)
            })
        };
        is_begun.recv().expect("begun");
        // The commit is visible to new transactions, and not yet retired
        // (the window inside `write` between redb's commit and `retire`).
        let txn = store
            .database()
            .as_ref()
            .expect("open")
            .begin_write()
            .expect("write");
        super::write_in(&txn, |tx| tx.insert(TABLE, b"k", b"2")).expect("insert");
        txn.commit().expect("commit");
        // Reader B reads meanwhile, and again once A is done: it may see 1
        // or 2, but never 2 then 1 (A's older transaction shared over a
        // newer one B began).
        let (a_done, is_a_done) = mpsc::channel::<()>();
        let b = {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                let first = read(&store);
                is_a_done.recv().expect("a done");
                (first, read(&store))
            })
        };
        std::thread::sleep(Duration::from_millis(50));
        go.send(()).expect("go");
        assert_eq!(a.join().expect("a").as_deref(), Some(&b"1"[..]));
        a_done.send(()).expect("send");
        let (first, second) = b.join().expect("b");
        assert!(first <= second, "went back from {first:?} to {second:?}");
        store.snapshot.retire();
        assert_eq!(read(&store).as_deref(), Some(&b"2"[..]));
    }

    #[test]
    fn a_table_created_after_a_snapshot_is_seen_by_the_next() {
        let store = RedbStore::in_memory().expect("store");
        assert_eq!(read(&store), None, "no table yet");
        put(&store, b"v");
        assert_eq!(read(&store).as_deref(), Some(&b"v"[..]));
    }

    #[test]
    fn a_read_that_met_another_calls_failure_runs_again_on_the_database_opened_again() {
        use crate::clock::{ManualClock, Timestamp};
        use strongroom_testkit::memory::MemoryBackend;

        let clock = Arc::new(ManualClock::new(Timestamp::from_unix_millis(1_000_000)));
        let backend = MemoryBackend::new();
        // A cache too small for the table: reads go to the disk.
        let store = RedbStore::with_backend(backend.clone(), Some(16 * 1024), clock.clone())
            .expect("store");
        let keys = 0..200u32;
        store
            .write(&mut |tx| {
                for i in keys.clone() {
                    tx.insert(TABLE, &i.to_be_bytes(), &[7; 1024])
                        .expect("insert");
                }
                Outcome::Commit
            })
            .expect("write");
        let mut runs = 0;
        let read = store.read(&mut |tx| {
            runs += 1;
            if runs == 1 {
                // Meanwhile another call's write fails, which latches the
                // database; the store opens it again (once the disk takes
                // writes again, a second on) under this reader.
                backend.fail_after(Some(0));
                let refused = store.write(&mut |tx| {
                    tx.insert(TABLE, b"k", b"v").expect("insert");
                    Outcome::Commit
                });
                assert!(refused.is_err(), "the write fails");
                backend.fail_after(None);
                clock.advance(std::time::Duration::from_secs(1));
            }
            for i in keys.clone() {
                match tx.get(TABLE, &i.to_be_bytes(), &mut |_| {}) {
                    Ok(found) => assert!(found, "key {i}"),
                    Err(e) => {
                        // Told as what it is: out of reach for a moment.
                        assert!(matches!(e, StorageError::Unavailable(_)), "{e}");
                        return Err(e);
                    }
                }
            }
            Ok(())
        });
        assert!(read.is_ok(), "{read:?}");
        assert_eq!(
            runs, 2,
            "the first run met the failure, the second read all"
        );
    }

    #[test]
    fn readers_on_many_threads_see_every_acknowledged_write() {
        let store = Arc::new(RedbStore::in_memory().expect("store"));
        put(&store, &0u64.to_be_bytes());
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let store = Arc::clone(&store);
                std::thread::spawn(move || {
                    let mut last = 0;
                    while last < 200 {
                        let seen = read(&store).expect("a value");
                        let seen = u64::from_be_bytes(seen.try_into().expect("8 bytes"));
                        assert!(seen >= last, "went back from {last} to {seen}");
                        last = seen;
                    }
                })
            })
            .collect();
        for n in 1..=200u64 {
            put(&store, &n.to_be_bytes());
            let seen = read(&store).expect("a value");
            assert_eq!(seen, n.to_be_bytes(), "a write is seen once acknowledged");
        }
        for reader in readers {
            reader.join().expect("reader");
        }
    }
}

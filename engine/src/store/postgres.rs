//! The PostgreSQL backend: every engine table a SQL table
//! `strongroom_<name> (k bytea PRIMARY KEY, v bytea NOT NULL)`. `bytea`
//! compares bytewise, the order the schema's key encoding is built for, so
//! range scans come back in the same order as from redb. The database only
//! ever holds what the engine hands a backend: sealed envelopes, wrapped
//! keys, hashes and opaque ids.
//!
//! Writes run `SERIALIZABLE`; a transaction PostgreSQL aborts for a
//! serialization failure or a deadlock is rolled back and its body run
//! again (the store interface allows it), so concurrent instances never see
//! a lost update. A write sends its rows at the commit, in one statement,
//! and reads its own writes from memory until then. Reads run
//! `REPEATABLE READ READ ONLY`: one snapshot. Scans fetch in growing
//! batches, so a scan that stops early reads little.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{NoTls, Statement, Transaction};
use secrecy::{ExposeSecret, SecretString};

use super::postgres_tls::{self, Connector};
use super::{Bounds, Flow, Order, Outcome, ReadTx, Store, TableName, WriteTx};
use crate::error::StorageError;

type Pool = r2d2::Pool<Manager>;

/// A connection with the statements it prepared, by SQL text (the
/// engine's statements are few and fixed per table).
struct Connection {
    client: postgres::Client,
    statements: HashMap<String, Statement>,
}

/// Makes [`Connection`]s for the pool.
struct Manager {
    config: postgres::Config,
    connector: Connector,
}

impl Manager {
    fn client(&self) -> Result<postgres::Client, postgres::Error> {
        match &self.connector {
            Connector::Plain => self.config.connect(NoTls),
            Connector::Tls(tls) => self.config.connect(tls.clone()),
        }
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = Connection;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Connection, postgres::Error> {
        Ok(Connection {
            client: self.client()?,
            statements: HashMap::new(),
        })
    }

    fn is_valid(&self, conn: &mut Connection) -> Result<(), postgres::Error> {
        conn.client.simple_query("").map(drop)
    }

    fn has_broken(&self, conn: &mut Connection) -> bool {
        conn.client.is_closed()
    }
}

/// Attempts of one write transaction before a conflict is reported.
const ATTEMPTS: u32 = 64;
/// Rows the first batch of a scan fetches, unless its caller expects
/// another number; each further batch doubles, up to [`MAX_BATCH`].
const FIRST_BATCH: usize = 32;
const MAX_BATCH: usize = 1024;

/// A PostgreSQL database holding the engine's tables.
pub(crate) struct PgStore {
    /// Always `Some` until dropped.
    pool: Option<Pool>,
    tables: Vec<TableName>,
    /// Set when the pool last gave no connection within its timeout,
    /// cleared when it has one idle again (the pool keeps connecting in
    /// the background, every 5 s at most): meanwhile a call takes an idle
    /// connection or fails at once, instead of each waiting the timeout
    /// out on a blocking thread while the server is down.
    down: AtomicBool,
}

impl Drop for PgStore {
    /// Closing a connection blocks (the client runs its own runtime), which
    /// must not happen on an async executor's thread: the engine may be
    /// dropped there, so the pool is closed on a thread of its own.
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            let _ = std::thread::spawn(move || drop(pool)).join();
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the database URL is not valid: {0}")]
struct BadUrl(String);

#[derive(Debug, thiserror::Error)]
#[error("postgres: {0}")]
struct PgError(String);

#[derive(Debug, thiserror::Error)]
#[error("a statement of the transaction failed, so it was rolled back, not committed")]
struct FailedStatement;

/// A PostgreSQL error as a storage error: its code and message, never the
/// connection string; the server's disk full is [`StorageError::Full`].
fn pg(e: &postgres::Error) -> StorageError {
    if e.code() == Some(&SqlState::DISK_FULL) {
        return StorageError::Full;
    }
    let text = match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    };
    StorageError::backend(PgError(text))
}

/// The driver's configuration of `url`, and what it asks of TLS.
fn parse(url: &SecretString) -> Result<(postgres::Config, postgres_tls::TlsParams), StorageError> {
    let bad = |e: String| StorageError::backend(BadUrl(e));
    let split = postgres_tls::split(url.expose_secret()).map_err(|e| bad(e.to_string()))?;
    // The parser's message names the bad part, not the password.
    let config = split
        .rest
        .parse()
        .map_err(|e: postgres::Error| bad(e.to_string()))?;
    Ok((config, split.tls))
}

/// The first host `url` names that is neither loopback nor a Unix socket,
/// when its `sslmode` lets the connection to it be plain text (`disable`,
/// `allow` or `prefer`, the default): worth a warning, since credentials
/// and ciphertext would cross the network in clear.
pub(crate) fn remote_in_clear(url: &SecretString) -> Result<Option<String>, StorageError> {
    let (config, tls) = parse(url)?;
    Ok(postgres_tls::remote_in_clear(&config, &tls))
}

/// A first connection that failed: the error and its cause ("error
/// connecting to server: Connection refused"), never the URL.
fn unreachable(e: &postgres::Error) -> StorageError {
    use std::error::Error as _;
    if e.as_db_error().is_some() {
        return pg(e);
    }
    let text = match e.source() {
        Some(cause) => format!("cannot connect: {e}: {cause}"),
        None => format!("cannot connect: {e}"),
    };
    StorageError::backend(PgError(text))
}

/// The pool gave no connection within its timeout (its only error): the
/// server is down or refusing connections (r2d2 logs why), or every
/// connection stayed busy that long.
fn pool_error(e: &r2d2::Error) -> StorageError {
    StorageError::Unavailable(e.to_string())
}

/// Whether PostgreSQL asks for the transaction to be retried.
fn is_conflict(e: &postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE
            || *c == SqlState::T_R_DEADLOCK_DETECTED
            || *c == SqlState::UNIQUE_VIOLATION
    )
}

fn sql_table(table: TableName) -> String {
    format!("strongroom_{}", table.name)
}

/// How a transaction on one pooled connection went.
enum Ran<T> {
    /// It ran: its result.
    Done(Result<T, StorageError>),
    /// The server had ended the connection (a restart, a failover, an idle
    /// timeout) before anything of the transaction counted: another
    /// connection may run it.
    Ended(StorageError),
}

/// `e`, the failure of the first round trip of a transaction on `client`,
/// as [`Ran::Ended`] when the server had ended the connection.
fn first_failed<T>(client: &postgres::Client, e: &postgres::Error) -> Ran<T> {
    if client.is_closed() {
        Ran::Ended(pg(e))
    } else {
        Ran::Done(Err(pg(e)))
    }
}

impl PgStore {
    /// Runs `run` on a pooled connection, and again on another while the
    /// server turns out to have ended the one it had (each fails at its
    /// first use, so after a restart as many times as the pool holds
    /// connections; the pool discards a closed one when it comes back).
    fn on_connection<T>(
        &self,
        mut run: impl FnMut(&mut Connection) -> Ran<T>,
    ) -> Result<T, StorageError> {
        let tries = self.pool.as_ref().map_or(1, |pool| pool.max_size() + 1);
        let mut ended = StorageError::backend(PgError("no connection".into()));
        for _ in 0..tries {
            let mut conn = self.connection()?;
            match run(&mut conn) {
                Ran::Done(result) => return result,
                Ran::Ended(e) => ended = e,
            }
        }
        Err(ended)
    }

    /// Runs `body` in a `SERIALIZABLE` transaction on `client`, again after
    /// each conflict (up to [`ATTEMPTS`] times), and commits or aborts it as
    /// the body decides.
    fn write_on(
        client: &mut postgres::Client,
        statements: &mut HashMap<String, Statement>,
        body: &mut dyn FnMut(&mut dyn WriteTx) -> Outcome,
    ) -> Ran<()> {
        for attempt in 0..ATTEMPTS {
            // Matched where it is made: nothing borrows `client` after.
            let failed = match client
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::Serializable)
                .start()
            {
                Ok(tx) => match Self::write_once(tx, statements, body) {
                    Some(result) => return Ran::Done(result),
                    None => {
                        backoff(attempt);
                        continue;
                    }
                },
                Err(e) => e,
            };
            // Nothing of the body ran on it yet.
            return first_failed(client, &failed);
        }
        Ran::Done(Err(StorageError::Busy))
    }

    /// Runs `body` in `tx` and ends it; `None` when it conflicted with
    /// another transaction and may run again.
    fn write_once(
        tx: Transaction<'_>,
        statements: &mut HashMap<String, Statement>,
        body: &mut dyn FnMut(&mut dyn WriteTx) -> Outcome,
    ) -> Option<Result<(), StorageError>> {
        let mut write = PgTx::writing(tx, statements);
        let outcome = body(&mut write);
        // The inserts still waiting go before the commit; if they fail the
        // transaction cannot commit (a conflict is also marked as such, and
        // retried).
        let flushed = match outcome {
            Outcome::Commit => write.flush(),
            Outcome::Abort => Ok(()),
        };
        if flushed.is_err() {
            write.failed.set(true);
        }
        let (conflicted, failed) = (write.conflicted.get(), write.failed.get());
        let Conn::Tx(tx) = write.tx.into_inner() else {
            // `PgTx::new` made it: a write always runs in a transaction.
            return Some(Err(StorageError::backend(PgError(
                "a write outside a transaction".into(),
            ))));
        };
        if conflicted {
            let _ = tx.rollback();
            return None;
        }
        match outcome {
            Outcome::Abort => Some(tx.rollback().map_err(|e| pg(&e))),
            // PostgreSQL answers COMMIT of a failed transaction with a
            // silent rollback: never report that as written.
            Outcome::Commit if failed => {
                let _ = tx.rollback();
                Some(Err(match flushed {
                    Err(StorageError::Full) => StorageError::Full,
                    _ => StorageError::backend(FailedStatement),
                }))
            }
            Outcome::Commit => match tx.commit() {
                Ok(()) => Some(Ok(())),
                Err(e) if is_conflict(&e) => None,
                Err(e) => Some(Err(pg(&e))),
            },
        }
    }

    /// Runs `body` in one `REPEATABLE READ READ ONLY` transaction.
    fn in_snapshot(
        &self,
        client: &mut postgres::Client,
        statements: &mut HashMap<String, Statement>,
        body: &mut dyn FnMut(&dyn ReadTx) -> Result<(), StorageError>,
    ) -> Ran<()> {
        let failed = match client
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
        {
            Ok(tx) => {
                let read = PgTx::snapshot(tx, statements);
                let result = body(&read);
                // A read-only transaction has nothing to keep: end it
                // either way.
                if let Conn::Tx(tx) = read.tx.into_inner() {
                    let _ = tx.rollback();
                }
                return Ran::Done(result);
            }
            Err(e) => e,
        };
        first_failed(client, &failed)
    }

    fn connection(&self) -> Result<r2d2::PooledConnection<Manager>, StorageError> {
        let pool = self
            .pool
            .as_ref()
            .ok_or_else(|| StorageError::backend(PgError("closed".into())))?;
        if self.down.load(Ordering::Relaxed) {
            let idle = pool.try_get().ok_or_else(|| {
                StorageError::Unavailable("none since the last wait for one timed out".into())
            })?;
            self.down.store(false, Ordering::Relaxed);
            return Ok(idle);
        }
        pool.get().map_err(|e| {
            self.down.store(true, Ordering::Relaxed);
            pool_error(&e)
        })
    }

    /// Connects to `url` (`postgres://user:password@host:port/db` or the
    /// key=value form, TLS as its `sslmode` and `sslrootcert` say) with a
    /// pool of `connections`, and creates the `tables` that do not exist
    /// yet.
    pub(crate) fn connect(
        url: &SecretString,
        connections: u32,
        tables: &[TableName],
    ) -> Result<Self, StorageError> {
        let (mut config, tls) = parse(url)?;
        let (mode, connector) = tls
            .connector()
            .map_err(|e| StorageError::backend(PgError(e.to_string())))?;
        config.ssl_mode(mode);
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let manager = Manager { config, connector };
        // One connection first, so an unreachable or refusing server (or
        // one whose certificate is not trusted) is one clear error, with
        // its cause, rather than the pool's retries.
        manager
            .client()
            .map_err(|e| unreachable(&e))?
            .close()
            .map_err(|e| pg(&e))?;
        // A broken connection shows as closed or as a failed statement;
        // testing each one on checkout would cost a round trip per
        // transaction.
        let pool = r2d2::Pool::builder()
            .test_on_check_out(false)
            .max_size(connections.max(1))
            .connection_timeout(Duration::from_secs(10))
            .build(manager)
            .map_err(|e| pool_error(&e))?;
        let store = Self {
            pool: Some(pool),
            tables: tables.to_vec(),
            down: AtomicBool::new(false),
        };
        store.create_tables(tables)?;
        Ok(store)
    }

    /// Creates the tables, under a transaction-scoped advisory lock so
    /// instances starting together do not race on the catalog.
    fn create_tables(&self, tables: &[TableName]) -> Result<(), StorageError> {
        let mut conn = self.connection()?;
        let mut tx = conn.client.transaction().map_err(|e| pg(&e))?;
        tx.execute("SELECT pg_advisory_xact_lock(7325917101)", &[])
            .map_err(|e| pg(&e))?;
        // "relation already exists, skipping" is not news at every start.
        tx.batch_execute("SET LOCAL client_min_messages = warning")
            .map_err(|e| pg(&e))?;
        for table in tables {
            let ddl = format!(
                "CREATE TABLE IF NOT EXISTS {} (k bytea PRIMARY KEY, v bytea NOT NULL)",
                sql_table(*table)
            );
            tx.batch_execute(&ddl).map_err(|e| pg(&e))?;
        }
        tx.commit().map_err(|e| pg(&e))
    }
}

impl Store for PgStore {
    fn read(
        &self,
        body: &mut dyn FnMut(&dyn ReadTx) -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        self.on_connection(|conn| {
            let Connection { client, statements } = conn;
            self.in_snapshot(client, statements, body)
        })
    }

    /// First tried as one statement on its own (PostgreSQL runs it in a
    /// transaction of its own: one round trip, one snapshot); a body that
    /// asks for a second statement is stopped there and run again whole in
    /// one `REPEATABLE READ READ ONLY` transaction, since its statements
    /// must see one snapshot.
    fn read_restartable(
        &self,
        body: &mut dyn FnMut(&dyn ReadTx) -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        self.on_connection(|conn| {
            let Connection { client, statements } = conn;
            let (result, wanted_more) = {
                let single = PgTx::single(client, statements);
                (body(&single), single.wanted_more.get())
            };
            if wanted_more {
                return self.in_snapshot(client, statements, body);
            }
            match result {
                // Its only effect is its result: another connection may
                // run it again.
                Err(e) if client.is_closed() => Ran::Ended(e),
                result => Ran::Done(result),
            }
        })
    }

    fn write(&self, body: &mut dyn FnMut(&mut dyn WriteTx) -> Outcome) -> Result<(), StorageError> {
        self.on_connection(|conn| {
            let Connection { client, statements } = conn;
            Self::write_on(client, statements, body)
        })
    }

    fn reads_block(&self) -> bool {
        true
    }

    fn shared(&self) -> bool {
        true
    }

    /// One snapshot of every table, copied into an embedded database file
    /// that `EngineBuilder::open` (or `restore`) opens.
    fn snapshot_to(&self, to: &Path) -> Result<Vec<(String, u64)>, StorageError> {
        let clock = std::sync::Arc::new(crate::clock::SystemClock);
        let target = super::redb::RedbStore::open(to, None, clock)?;
        super::copy_all(self, &target, &self.tables)?
            .ok_or_else(|| StorageError::backend(PgError(format!("{} holds data", to.display()))))
    }
}

/// Waits a little before a retry, longer after each conflict, with jitter
/// so two conflicting writers do not meet again at once.
fn backoff(attempt: u32) {
    let base = 200u64 << attempt.min(6);
    let jitter = u64::from(rand::random::<u16>()) % base;
    std::thread::sleep(Duration::from_micros(base + jitter));
}

/// What a write transaction wrote to one table and has not sent yet: the
/// value now under each key, `None` where it removed one.
type Written = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// Entries of [`Written`] in the order of a scan.
type Entries<'a> = Box<dyn Iterator<Item = (&'a Vec<u8>, &'a Option<Vec<u8>>)> + 'a>;

/// Rows a write transaction already read, by statement and parameters.
type Seen = HashMap<(String, Vec<Vec<u8>>), Rc<Vec<postgres::Row>>>;

/// Where a [`PgTx`]'s statements go.
enum Conn<'c> {
    /// An explicit transaction.
    Tx(Transaction<'c>),
    /// The connection itself: each statement is a transaction of its own
    /// (a read of one statement).
    Single(&'c mut postgres::Client),
}

/// The statements [`PgTx`] runs, on a transaction or a bare connection.
trait Query {
    fn prepare(&mut self, sql: &str) -> Result<Statement, postgres::Error>;
    fn query(
        &mut self,
        statement: &Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<postgres::Row>, postgres::Error>;
    fn execute(
        &mut self,
        statement: &Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, postgres::Error>;
}

/// [`Query`] for a type with the same inherent methods.
macro_rules! query_through {
    ($type:ty) => {
        impl Query for $type {
            fn prepare(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
                <$type>::prepare(self, sql)
            }
            fn query(
                &mut self,
                statement: &Statement,
                params: &[&(dyn ToSql + Sync)],
            ) -> Result<Vec<postgres::Row>, postgres::Error> {
                <$type>::query(self, statement, params)
            }
            fn execute(
                &mut self,
                statement: &Statement,
                params: &[&(dyn ToSql + Sync)],
            ) -> Result<u64, postgres::Error> {
                <$type>::execute(self, statement, params)
            }
        }
    };
}
query_through!(Transaction<'_>);
query_through!(postgres::Client);

/// One transaction, read or write. A statement that fails with a
/// serialization failure marks the transaction as conflicted (PostgreSQL
/// rejects every later statement of it), so the store retries it whole.
///
/// A write transaction keeps its writes until the commit, which sends them
/// all in one statement, and answers its own reads from them: a
/// group commit's many records cost a few round trips, not a few each.
/// Until then its snapshot holds only what others committed before its
/// first statement, so it also keeps what its point reads and the first
/// batch of its scans returned, and answers the same statement again
/// from there (the account, quota and audit head that every record in a
/// batch reads).
struct PgTx<'c> {
    tx: RefCell<Conn<'c>>,
    statements: RefCell<&'c mut HashMap<String, Statement>>,
    conflicted: Cell<bool>,
    /// Some statement failed: the transaction can only roll back.
    failed: Cell<bool>,
    /// Some statement has run.
    ran: Cell<bool>,
    /// On a bare connection: the body asked for a second statement, which
    /// was refused (it must run again in a transaction).
    wanted_more: Cell<bool>,
    /// What this transaction wrote, by table (a few tables, so a list).
    written: RefCell<Vec<(TableName, Written)>>,
    /// On a write transaction: the small results it read.
    seen: Option<RefCell<Seen>>,
}

/// What `written` holds for `table`.
fn written_to(written: &[(TableName, Written)], table: TableName) -> Option<&Written> {
    written.iter().find(|(t, _)| *t == table).map(|(_, w)| w)
}

/// Whether `bounds` may be handed to `BTreeMap::range`, which panics on a
/// start after the end or an empty range excluded at both ends.
fn ordered(bounds: Bounds<'_>) -> bool {
    match bounds {
        (Bound::Excluded(a), Bound::Excluded(b)) => a < b,
        (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => {
            a <= b
        }
        _ => true,
    }
}

impl<'c> PgTx<'c> {
    /// A read of one snapshot.
    fn snapshot(tx: Transaction<'c>, statements: &'c mut HashMap<String, Statement>) -> Self {
        Self::on(Conn::Tx(tx), statements, None)
    }

    /// A write.
    fn writing(tx: Transaction<'c>, statements: &'c mut HashMap<String, Statement>) -> Self {
        Self::on(Conn::Tx(tx), statements, Some(RefCell::default()))
    }

    /// A read of at most one statement, on the connection itself.
    fn single(
        client: &'c mut postgres::Client,
        statements: &'c mut HashMap<String, Statement>,
    ) -> Self {
        Self::on(Conn::Single(client), statements, None)
    }

    fn on(
        conn: Conn<'c>,
        statements: &'c mut HashMap<String, Statement>,
        seen: Option<RefCell<Seen>>,
    ) -> Self {
        Self {
            tx: RefCell::new(conn),
            statements: RefCell::new(statements),
            conflicted: Cell::new(false),
            failed: Cell::new(false),
            ran: Cell::new(false),
            wanted_more: Cell::new(false),
            written: RefCell::default(),
            seen,
        }
    }

    /// The rows `sql` returns with `params`: on a write transaction and
    /// when `small` (one row, a scan's first batch), those of the same
    /// statement run earlier in it, if it was.
    fn rows(
        &self,
        sql: String,
        params: Vec<Vec<u8>>,
        small: bool,
    ) -> Result<Rc<Vec<postgres::Row>>, StorageError> {
        let seen = self.seen.as_ref().filter(|_| small);
        let statement = (sql, params);
        if let Some(rows) = seen.and_then(|s| s.borrow().get(&statement).cloned()) {
            return Ok(rows);
        }
        let rows = {
            let params: Vec<&(dyn ToSql + Sync)> = statement.1.iter().map(|p| p as _).collect();
            Rc::new(self.execute(&statement.0, |tx, st| tx.query(st, &params))?)
        };
        if let Some(seen) = seen {
            seen.borrow_mut().insert(statement, rows.clone());
        }
        Ok(rows)
    }

    /// Sends what the transaction wrote, in one statement: per table, a
    /// part that stores its rows and one that removes its removed keys,
    /// each in key order so that concurrent transactions lock rows in one
    /// order.
    fn flush(&self) -> Result<(), StorageError> {
        let written = std::mem::take(&mut *self.written.borrow_mut());
        let mut parts = Vec::new();
        let mut arrays: Vec<Vec<&[u8]>> = Vec::new();
        for (table, rows) in &written {
            let (mut keys, mut values, mut removed) = (Vec::new(), Vec::new(), Vec::new());
            for (k, v) in rows {
                match v {
                    Some(v) => {
                        keys.push(k.as_slice());
                        values.push(v.as_slice());
                    }
                    None => removed.push(k.as_slice()),
                }
            }
            let (name, n) = (sql_table(*table), arrays.len());
            if !keys.is_empty() {
                parts.push(format!(
                    "INSERT INTO {name} (k, v) SELECT * FROM unnest(${}::bytea[], ${}::bytea[]) \
                     ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v",
                    n + 1,
                    n + 2
                ));
                arrays.extend([keys, values]);
            }
            if !removed.is_empty() {
                parts.push(format!(
                    "DELETE FROM {name} WHERE k = ANY(${}::bytea[])",
                    arrays.len() + 1
                ));
                arrays.push(removed);
            }
        }
        if parts.is_empty() {
            return Ok(());
        }
        let parts: Vec<String> = parts
            .iter()
            .enumerate()
            .map(|(i, part)| format!("w{i} AS ({part})"))
            .collect();
        let sql = format!("WITH {} SELECT 1", parts.join(", "));
        let params: Vec<&(dyn ToSql + Sync)> = arrays.iter().map(|a| a as _).collect();
        self.execute(&sql, |tx, st| tx.execute(st, &params))?;
        Ok(())
    }

    fn execute<R>(
        &self,
        sql: &str,
        f: impl FnOnce(&mut dyn Query, &Statement) -> Result<R, postgres::Error>,
    ) -> Result<R, StorageError> {
        let busy = || {
            StorageError::backend(PgError(
                "a transaction was used from inside its own scan".into(),
            ))
        };
        let mut conn = self.tx.try_borrow_mut().map_err(|_| busy())?;
        let mut statements = self.statements.try_borrow_mut().map_err(|_| busy())?;
        let tx: &mut dyn Query = match &mut *conn {
            Conn::Tx(tx) => tx,
            Conn::Single(client) => {
                if self.ran.get() {
                    self.wanted_more.set(true);
                    return Err(StorageError::backend(PgError(
                        "a second statement outside a transaction".into(),
                    )));
                }
                *client
            }
        };
        self.ran.set(true);
        let result = match statements.get(sql) {
            Some(statement) => f(tx, statement),
            None => tx.prepare(sql).and_then(|statement| {
                let out = f(tx, &statement);
                statements.insert(sql.to_owned(), statement);
                out
            }),
        };
        result.map_err(|e| {
            self.failed.set(true);
            if is_conflict(&e) {
                self.conflicted.set(true);
            }
            pg(&e)
        })
    }
}

impl ReadTx for PgTx<'_> {
    fn get(
        &self,
        table: TableName,
        key: &[u8],
        found: &mut dyn FnMut(&[u8]),
    ) -> Result<bool, StorageError> {
        self.lookup(table, key, true, found)
    }

    /// The database's rows in `bounds`, fetched in growing batches (the
    /// first of `expect` rows, or [`FIRST_BATCH`]), merged in order with
    /// what this transaction wrote there.
    fn scan(
        &self,
        table: TableName,
        bounds: Bounds<'_>,
        order: Order,
        expect: Option<usize>,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> Flow,
    ) -> Result<(), StorageError> {
        let written = self.written.borrow();
        let range = written_to(&written, table)
            .filter(|_| ordered(bounds))
            .map(|w| w.range::<[u8], _>(bounds));
        let mine: Entries<'_> = match (range, order) {
            (None, _) => Box::new(std::iter::empty()),
            (Some(range), Order::Ascending) => Box::new(range),
            (Some(range), Order::Descending) => Box::new(range.rev()),
        };
        let mut mine = mine.peekable();
        let before = |a: &[u8], b: &[u8]| match order {
            Order::Ascending => a < b,
            Order::Descending => a > b,
        };
        let (mut low, mut high) = (bounds.0.map(<[u8]>::to_vec), bounds.1.map(<[u8]>::to_vec));
        let mut batch = batch_for(expect.unwrap_or(FIRST_BATCH).clamp(1, MAX_BATCH));
        let mut first = true;
        loop {
            let (sql, params) = range_query(table, &low, &high, order, batch);
            let rows = self.rows(sql, params, first && batch <= FIRST_BATCH)?;
            first = false;
            for row in rows.iter() {
                let (k, v): (&[u8], &[u8]) = (row.get(0), row.get(1));
                // What this transaction wrote before `k`, then `k` as it
                // wrote it, if it did.
                let mut value = Some(v);
                while let Some(&(mk, mv)) = mine.peek() {
                    if before(mk, k) {
                        mine.next();
                        if let Some(mv) = mv
                            && visit(mk, mv) == Flow::Stop
                        {
                            return Ok(());
                        }
                    } else {
                        if mk.as_slice() == k {
                            mine.next();
                            value = mv.as_deref();
                        }
                        break;
                    }
                }
                if let Some(v) = value
                    && visit(k, v) == Flow::Stop
                {
                    return Ok(());
                }
            }
            let full = rows.len() == batch;
            match (full, rows.last()) {
                (true, Some(row)) => {
                    let last = Bound::Excluded(row.get::<_, &[u8]>(0).to_vec());
                    match order {
                        Order::Ascending => low = last,
                        Order::Descending => high = last,
                    }
                }
                _ => break,
            }
            batch = (batch * 2).min(MAX_BATCH);
        }
        for (k, v) in mine {
            if let Some(v) = v
                && visit(k, v) == Flow::Stop
            {
                break;
            }
        }
        Ok(())
    }
}

impl WriteTx for PgTx<'_> {
    /// Kept until the commit, which sends every table's rows in one
    /// statement. An error shows there.
    fn insert(&mut self, table: TableName, key: &[u8], value: &[u8]) -> Result<(), StorageError> {
        self.written_mut(table)
            .insert(key.to_vec(), Some(value.to_vec()));
        Ok(())
    }

    /// Read now (and not kept: removing a whole account's records must not
    /// hold them all), removed at the commit.
    fn remove(&mut self, table: TableName, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        let mut old = None;
        if self.lookup(table, key, false, &mut |v| old = Some(v.to_vec()))? {
            self.written_mut(table).insert(key.to_vec(), None);
        }
        Ok(old)
    }
}

impl PgTx<'_> {
    /// The value under `key`: as this transaction wrote it, or from the
    /// database (kept for the next read of it if `keep`).
    fn lookup(
        &self,
        table: TableName,
        key: &[u8],
        keep: bool,
        found: &mut dyn FnMut(&[u8]),
    ) -> Result<bool, StorageError> {
        if let Some(value) = written_to(&self.written.borrow(), table).and_then(|w| w.get(key)) {
            return Ok(value.as_deref().map(found).is_some());
        }
        let sql = format!("SELECT v FROM {} WHERE k = $1", sql_table(table));
        let rows = self.rows(sql, vec![key.to_vec()], keep)?;
        Ok(rows.first().map(|row| found(row.get(0))).is_some())
    }

    fn written_mut(&mut self, table: TableName) -> &mut Written {
        let written = self.written.get_mut();
        let at = match written.iter().position(|(t, _)| *t == table) {
            Some(at) => at,
            None => {
                written.push((table, Written::new()));
                written.len() - 1
            }
        };
        &mut written[at].1
    }
}

/// The first batch for a scan that expects `rows`: the smallest `2^k` or
/// `3·2^k` that holds them. The limit is part of the statement's text (a
/// parameter would leave PostgreSQL a generic plan that guesses it, slower
/// for a page), so few sizes — two per doubling — mean few prepared
/// statements, and a batch fetches at most half as many rows again as
/// asked (a page of 20 asks 21: 24 rows of 1 KiB each, where a power of
/// two fetched 32).
fn batch_for(rows: usize) -> usize {
    let power = rows.next_power_of_two();
    let smaller = power / 4 * 3;
    if power >= 4 && smaller >= rows {
        smaller
    } else {
        power
    }
}

/// `SELECT k, v … ORDER BY k … LIMIT batch` over the bounds, and its
/// parameters (the bound keys).
fn range_query(
    table: TableName,
    low: &Bound<Vec<u8>>,
    high: &Bound<Vec<u8>>,
    order: Order,
    batch: usize,
) -> (String, Vec<Vec<u8>>) {
    let mut conditions = Vec::new();
    let mut params = Vec::new();
    for (bound, included, excluded) in [(low, ">=", ">"), (high, "<=", "<")] {
        let (op, key) = match bound {
            Bound::Included(k) => (included, k),
            Bound::Excluded(k) => (excluded, k),
            Bound::Unbounded => continue,
        };
        params.push(key.clone());
        conditions.push(format!("k {op} ${}", params.len()));
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    let direction = match order {
        Order::Ascending => "ASC",
        Order::Descending => "DESC",
    };
    let sql = format!(
        "SELECT k, v FROM {}{filter} ORDER BY k {direction} LIMIT {batch}",
        sql_table(table)
    );
    (sql, params)
}

#[cfg(test)]
mod tests {
    use super::{PgStore, TableName, batch_for};
    use crate::store::{Outcome, Store};

    /// A first batch holds what was asked, at most half as many again,
    /// and takes one of two sizes per doubling.
    #[test]
    fn first_batches_hold_what_is_asked_with_little_to_spare() {
        assert_eq!(batch_for(21), 24); // a page of 20
        assert_eq!(batch_for(51), 64); // a page of 50
        assert_eq!(batch_for(32), 32);
        let mut sizes = std::collections::BTreeSet::new();
        for rows in 1..=1024 {
            let batch = batch_for(rows);
            assert!(batch >= rows && 2 * batch <= 3 * rows, "{rows} -> {batch}");
            sizes.insert(batch);
        }
        assert!(sizes.len() <= 2 * 11, "{sizes:?}");
    }

    const KV: TableName = TableName {
        name: "unit_kv",
        slot: 0,
    };
    const MISSING: TableName = TableName {
        name: "never_created",
        slot: 1,
    };

    fn read_all(store: &PgStore) -> Vec<(Vec<u8>, Vec<u8>)> {
        let store: &dyn Store = store;
        store
            .read_with(|tx| {
                let mut rows = Vec::new();
                let all = (std::ops::Bound::Unbounded, std::ops::Bound::Unbounded);
                tx.scan(
                    KV,
                    all,
                    crate::store::Order::Ascending,
                    None,
                    &mut |k, v| {
                        rows.push((k.to_vec(), v.to_vec()));
                        crate::store::Flow::Continue
                    },
                )?;
                Ok::<_, crate::error::StorageError>(rows)
            })
            .expect("read")
    }

    #[test]
    fn a_body_that_ignores_a_failed_statement_is_not_reported_written() {
        let Some(cluster) = strongroom_testkit::postgres::PgCluster::start("postgres unit tests")
        else {
            return;
        };
        let store = PgStore::connect(&cluster.database("unit_failed"), 2, &[KV]).expect("connect");
        let result = store.write(&mut |tx| {
            tx.insert(KV, b"kept?", b"no").expect("first insert");
            let _ = tx.insert(MISSING, b"k", b"v"); // fails: no such table
            Outcome::Commit
        });
        assert!(
            result.is_err(),
            "a rolled-back transaction reported as committed"
        );
        assert!(read_all(&store).is_empty());
        // Bytes sort as bytes, in both directions, across batch boundaries.
        let keys: Vec<Vec<u8>> = (0..100u8).rev().map(|i| vec![i, 0xff - i]).collect();
        store
            .write(&mut |tx| {
                for k in &keys {
                    tx.insert(KV, k, b"v").expect("insert");
                }
                Outcome::Commit
            })
            .expect("write");
        let stored: Vec<Vec<u8>> = read_all(&store).into_iter().map(|(k, _)| k).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(stored, sorted);
    }

    #[test]
    fn a_write_reads_its_own_writes_merged_in_order_before_sending_them() {
        use std::collections::BTreeMap;
        use std::ops::Bound::{self, Excluded, Included, Unbounded};
        use std::ops::RangeBounds;

        use crate::store::{Flow, Order, WriteTx};

        let Some(cluster) = strongroom_testkit::postgres::PgCluster::start("postgres unit tests")
        else {
            return;
        };
        let store = PgStore::connect(&cluster.database("unit_overlay"), 1, &[KV]).expect("connect");
        // Committed: the even keys below 200 (more than two scan batches).
        let mut model: BTreeMap<Vec<u8>, Vec<u8>> = (0..200u8)
            .step_by(2)
            .map(|i| (vec![i], b"old".to_vec()))
            .collect();
        store
            .write(&mut |tx| {
                for (k, v) in &model {
                    tx.insert(KV, k, v).expect("insert");
                }
                Outcome::Commit
            })
            .expect("write");
        let scan = |tx: &dyn WriteTx, bounds: (Bound<&[u8]>, Bound<&[u8]>), order, stop: usize| {
            let mut seen = Vec::new();
            tx.scan(KV, bounds, order, None, &mut |k, v| {
                seen.push((k.to_vec(), v.to_vec()));
                if seen.len() == stop {
                    Flow::Stop
                } else {
                    Flow::Continue
                }
            })
            .expect("scan");
            seen
        };
        store
            .write(&mut |tx| {
                let mut model = model.clone();
                // Odd keys added, every third key removed, every fifth rewritten.
                for i in (1..200u8).step_by(2) {
                    tx.insert(KV, &[i], b"new").expect("insert");
                    model.insert(vec![i], b"new".to_vec());
                }
                for i in (0..200u8).step_by(3) {
                    let old = tx.remove(KV, &[i]).expect("remove");
                    assert_eq!(old, model.remove([i].as_slice()), "removed {i}");
                }
                assert_eq!(tx.remove(KV, &[3]).expect("again"), None);
                for i in (0..200u8).step_by(5) {
                    tx.insert(KV, &[i], b"again").expect("insert");
                    model.insert(vec![i], b"again".to_vec());
                }
                for i in [0u8, 1, 2, 3, 5, 6, 199] {
                    let mut value = None;
                    let found = tx
                        .get(KV, &[i], &mut |v| value = Some(v.to_vec()))
                        .expect("get");
                    assert_eq!(found, value.is_some());
                    assert_eq!(value.as_ref(), model.get([i].as_slice()), "get {i}");
                }
                let cases: [crate::store::Bounds<'_>; 5] = [
                    (Unbounded, Unbounded),
                    (Included(&[7]), Excluded(&[150])),
                    (Excluded(&[6]), Included(&[90])),
                    (Included(&[9]), Excluded(&[9])),
                    (Included(&[90]), Included(&[9])),
                ];
                for bounds in cases {
                    let want: Vec<_> = model
                        .iter()
                        .filter(|(k, _)| RangeBounds::<[u8]>::contains(&bounds, k.as_slice()))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    let all = usize::MAX;
                    assert_eq!(scan(tx, bounds, Order::Ascending, all), want, "{bounds:?}");
                    let mut backwards = want.clone();
                    backwards.reverse();
                    assert_eq!(scan(tx, bounds, Order::Descending, all), backwards);
                    // A stop holds, and the same scan again reads the same.
                    assert_eq!(
                        scan(tx, bounds, Order::Descending, 1),
                        backwards[..want.len().min(1)]
                    );
                    assert_eq!(
                        scan(tx, bounds, Order::Ascending, 40),
                        want[..want.len().min(40)]
                    );
                }
                Outcome::Commit
            })
            .expect("write");
        // What the commit sent is what the transaction saw.
        let mut after = model.clone();
        for i in (1..200u8).step_by(2) {
            after.insert(vec![i], b"new".to_vec());
        }
        for i in (0..200u8).step_by(3) {
            after.remove([i].as_slice());
        }
        for i in (0..200u8).step_by(5) {
            after.insert(vec![i], b"again".to_vec());
        }
        model = after;
        assert_eq!(read_all(&store), model.into_iter().collect::<Vec<_>>());
    }

    #[test]
    fn a_write_that_conflicts_on_every_attempt_is_busy_and_writes_nothing() {
        use secrecy::ExposeSecret;

        let Some(cluster) = strongroom_testkit::postgres::PgCluster::start("postgres unit tests")
        else {
            return;
        };
        let url = cluster.database("unit_busy");
        let store = PgStore::connect(&url, 1, &[KV]).expect("connect");
        store
            .write(&mut |tx| {
                tx.insert(KV, b"n", &[0]).expect("insert");
                Outcome::Commit
            })
            .expect("write");
        // Another client changes the row after each attempt read it, so
        // the attempt's commit is a serialization failure every time.
        let mut other =
            postgres::Client::connect(url.expose_secret(), postgres::NoTls).expect("other client");
        let mut attempts = 0u8;
        let result = store.write(&mut |tx| {
            attempts += 1;
            let mut n = 0;
            tx.get(KV, b"n", &mut |v| n = v[0]).expect("read");
            other
                .execute(
                    "UPDATE strongroom_unit_kv SET v = $1 WHERE k = 'n'",
                    &[&vec![attempts]],
                )
                .expect("the other write");
            tx.insert(KV, b"n", &[n + 100]).expect("insert");
            tx.insert(KV, b"mine", b"lost?").expect("insert");
            Outcome::Commit
        });
        assert!(
            matches!(result, Err(crate::error::StorageError::Busy)),
            "{result:?}"
        );
        assert_eq!(u32::from(attempts), super::ATTEMPTS);
        // Only the other client's last write is there.
        assert_eq!(read_all(&store), vec![(b"n".to_vec(), vec![attempts])]);
    }

    #[test]
    fn a_restartable_read_is_one_statement_or_else_runs_again_in_one_snapshot() {
        use std::ops::Bound::{Excluded, Included};

        use crate::store::{Flow, Order};

        let Some(cluster) = strongroom_testkit::postgres::PgCluster::start("postgres unit tests")
        else {
            return;
        };
        let store = PgStore::connect(&cluster.database("unit_single"), 1, &[KV]).expect("connect");
        store
            .write(&mut |tx| {
                tx.insert(KV, b"a", b"1").expect("insert");
                tx.insert(KV, b"b", b"2").expect("insert");
                Outcome::Commit
            })
            .expect("write");
        let store: &dyn Store = &store;
        let get = |tx: &dyn crate::store::ReadTx, key: &[u8]| {
            let mut value = None;
            tx.get(KV, key, &mut |v| value = Some(v.to_vec()))?;
            Ok::<_, crate::error::StorageError>(value)
        };
        // One statement: the body runs once.
        let mut runs = 0;
        let one = store
            .read_fresh(|tx| {
                runs += 1;
                get(tx, b"a")
            })
            .expect("read");
        assert_eq!((one, runs), (Some(b"1".to_vec()), 1));
        // Two: stopped at the second, then run whole in a transaction.
        let mut runs = 0;
        let two = store
            .read_fresh(|tx| {
                runs += 1;
                Ok::<_, crate::error::StorageError>((get(tx, b"a")?, get(tx, b"b")?))
            })
            .expect("read");
        assert_eq!(two, (Some(b"1".to_vec()), Some(b"2".to_vec())));
        assert_eq!(runs, 2);
        // A page the caller sizes is one statement; unsized, a scan past
        // the first batch is a second statement.
        store
            .write(&mut |tx| {
                for i in 0..100u8 {
                    tx.insert(KV, &[b'p', i], b"v").expect("insert");
                }
                Outcome::Commit
            })
            .expect("write");
        let page = |tx: &dyn crate::store::ReadTx, sized: bool| {
            let bounds = (Included(&b"p"[..]), Excluded(&b"q"[..]));
            let mut seen = 0;
            let mut visit = |_: &[u8], _: &[u8]| {
                seen += 1;
                if seen == 51 {
                    Flow::Stop
                } else {
                    Flow::Continue
                }
            };
            let expect = sized.then_some(51);
            tx.scan(KV, bounds, Order::Descending, expect, &mut visit)?;
            Ok::<_, crate::error::StorageError>(seen)
        };
        for (sized, statements) in [(true, 1), (false, 2)] {
            let mut runs = 0;
            let seen = store
                .read_fresh(|tx| {
                    runs += 1;
                    page(tx, sized)
                })
                .expect("page");
            assert_eq!((seen, runs), (51, statements), "sized: {sized}");
        }
        // A plain read never runs twice.
        let mut runs = 0;
        store
            .read_with(|tx| {
                runs += 1;
                Ok::<_, crate::error::StorageError>((get(tx, b"a")?, get(tx, b"b")?))
            })
            .expect("read");
        assert_eq!(runs, 1);
    }
}

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
//! a lost update. Reads run `REPEATABLE READ READ ONLY`: one snapshot.
//! Scans fetch in growing batches, so a scan that stops early reads little.

use std::cell::{Cell, RefCell};
use std::ops::Bound;
use std::path::Path;
use std::time::Duration;

use std::collections::HashMap;

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
/// Rows the first batch of a scan fetches; each further batch doubles, up
/// to [`MAX_BATCH`].
const FIRST_BATCH: i64 = 32;
const MAX_BATCH: i64 = 1024;

/// A PostgreSQL database holding the engine's tables.
pub(crate) struct PgStore {
    /// Always `Some` until dropped.
    pool: Option<Pool>,
    tables: Vec<TableName>,
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
#[error("a write transaction conflicted {ATTEMPTS} times in a row; giving up")]
struct TooManyConflicts;

#[derive(Debug, thiserror::Error)]
#[error("postgres: {0}")]
struct PgError(String);

#[derive(Debug, thiserror::Error)]
#[error("a statement of the transaction failed, so it was rolled back, not committed")]
struct FailedStatement;

/// A PostgreSQL error as a storage error: its code and message, never the
/// connection string.
fn pg(e: &postgres::Error) -> StorageError {
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

fn pool_error(e: &r2d2::Error) -> StorageError {
    StorageError::backend(PgError(format!("no connection: {e}")))
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

impl PgStore {
    /// Runs `body` in one `REPEATABLE READ READ ONLY` transaction.
    fn in_snapshot(
        &self,
        client: &mut postgres::Client,
        statements: &mut HashMap<String, Statement>,
        body: &mut dyn FnMut(&dyn ReadTx) -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        let tx = client
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(|e| pg(&e))?;
        let read = PgTx::new(tx, statements);
        let result = body(&read);
        // A read-only transaction has nothing to keep: end it either way.
        if let Conn::Tx(tx) = read.tx.into_inner() {
            let _ = tx.rollback();
        }
        result
    }

    fn connection(&self) -> Result<r2d2::PooledConnection<Manager>, StorageError> {
        let pool = self
            .pool
            .as_ref()
            .ok_or_else(|| StorageError::backend(PgError("closed".into())))?;
        pool.get().map_err(|e| pool_error(&e))
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
        let mut conn = self.connection()?;
        let Connection { client, statements } = &mut *conn;
        self.in_snapshot(client, statements, body)
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
        let mut conn = self.connection()?;
        let Connection { client, statements } = &mut *conn;
        {
            let single = PgTx::single(client, statements);
            let result = body(&single);
            if !single.wanted_more.get() {
                return result;
            }
        }
        self.in_snapshot(client, statements, body)
    }

    fn write(&self, body: &mut dyn FnMut(&mut dyn WriteTx) -> Outcome) -> Result<(), StorageError> {
        let mut conn = self.connection()?;
        let Connection { client, statements } = &mut *conn;
        for attempt in 0..ATTEMPTS {
            let tx = client
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::Serializable)
                .start()
                .map_err(|e| pg(&e))?;
            let mut write = PgTx::new(tx, statements);
            let outcome = body(&mut write);
            // The inserts still waiting go before the commit; if they fail
            // the transaction cannot commit (a conflict is also marked as
            // such, and retried).
            if outcome == Outcome::Commit && write.flush().is_err() {
                write.failed.set(true);
            }
            let (conflicted, failed) = (write.conflicted.get(), write.failed.get());
            let Conn::Tx(tx) = write.tx.into_inner() else {
                // `PgTx::new` made it: a write always runs in a transaction.
                return Err(StorageError::backend(PgError(
                    "a write outside a transaction".into(),
                )));
            };
            if conflicted {
                let _ = tx.rollback();
                backoff(attempt);
                continue;
            }
            match outcome {
                Outcome::Abort => return tx.rollback().map_err(|e| pg(&e)),
                // PostgreSQL answers COMMIT of a failed transaction with a
                // silent rollback: never report that as written.
                Outcome::Commit if failed => {
                    let _ = tx.rollback();
                    return Err(StorageError::backend(FailedStatement));
                }
                Outcome::Commit => match tx.commit() {
                    Ok(()) => return Ok(()),
                    Err(e) if is_conflict(&e) => backoff(attempt),
                    Err(e) => return Err(pg(&e)),
                },
            }
        }
        Err(StorageError::backend(TooManyConflicts))
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
        let target = super::redb::RedbStore::open(to, None)?;
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

/// A key and its value.
type Row = (Vec<u8>, Vec<u8>);

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
    fn query_opt(
        &mut self,
        statement: &Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<postgres::Row>, postgres::Error>;
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
            fn query_opt(
                &mut self,
                statement: &Statement,
                params: &[&(dyn ToSql + Sync)],
            ) -> Result<Option<postgres::Row>, postgres::Error> {
                <$type>::query_opt(self, statement, params)
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
    /// Inserts not yet sent, in the order made.
    pending: RefCell<Vec<(TableName, Row)>>,
}

impl<'c> PgTx<'c> {
    fn new(tx: Transaction<'c>, statements: &'c mut HashMap<String, Statement>) -> Self {
        Self::on(Conn::Tx(tx), statements)
    }

    /// A read of at most one statement, on the connection itself.
    fn single(
        client: &'c mut postgres::Client,
        statements: &'c mut HashMap<String, Statement>,
    ) -> Self {
        Self::on(Conn::Single(client), statements)
    }

    fn on(conn: Conn<'c>, statements: &'c mut HashMap<String, Statement>) -> Self {
        Self {
            tx: RefCell::new(conn),
            statements: RefCell::new(statements),
            conflicted: Cell::new(false),
            failed: Cell::new(false),
            ran: Cell::new(false),
            wanted_more: Cell::new(false),
            pending: RefCell::new(Vec::new()),
        }
    }

    /// Runs `f` with the transaction and `sql` prepared (once per
    /// connection), after the inserts waiting to be written: a statement
    /// sees every write made before it.
    fn run<R>(
        &self,
        sql: &str,
        f: impl FnOnce(&mut dyn Query, &Statement) -> Result<R, postgres::Error>,
    ) -> Result<R, StorageError> {
        self.flush()?;
        self.execute(sql, f)
    }

    /// Writes the inserts made since the last statement: one statement per
    /// table for all of them (the last value of a key wins, rows in key
    /// order so that concurrent transactions lock them in one order).
    fn flush(&self) -> Result<(), StorageError> {
        let pending = std::mem::take(&mut *self.pending.borrow_mut());
        if pending.is_empty() {
            return Ok(());
        }
        let mut by_table: Vec<(TableName, Vec<Row>)> = Vec::new();
        for (table, row) in pending {
            match by_table.iter_mut().find(|(t, _)| *t == table) {
                Some((_, rows)) => rows.push(row),
                None => by_table.push((table, vec![row])),
            }
        }
        for (table, mut rows) in by_table {
            // Stable: of equal keys the last inserted stays last.
            rows.sort_by(|a, b| a.0.cmp(&b.0));
            let mut kept: Vec<Row> = Vec::with_capacity(rows.len());
            for row in rows {
                match kept.last_mut() {
                    Some(last) if last.0 == row.0 => *last = row,
                    _ => kept.push(row),
                }
            }
            let keys: Vec<&[u8]> = kept.iter().map(|(k, _)| k.as_slice()).collect();
            let values: Vec<&[u8]> = kept.iter().map(|(_, v)| v.as_slice()).collect();
            let sql = format!(
                "INSERT INTO {} (k, v) SELECT * FROM unnest($1::bytea[], $2::bytea[]) \
                 ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v",
                sql_table(table)
            );
            self.execute(&sql, |tx, st| tx.execute(st, &[&keys, &values]))?;
        }
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
        let sql = format!("SELECT v FROM {} WHERE k = $1", sql_table(table));
        let row = self.run(&sql, |tx, st| tx.query_opt(st, &[&key]))?;
        Ok(match row {
            Some(row) => {
                found(row.get::<_, &[u8]>(0));
                true
            }
            None => false,
        })
    }

    fn scan(
        &self,
        table: TableName,
        bounds: Bounds<'_>,
        order: Order,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> Flow,
    ) -> Result<(), StorageError> {
        let (mut low, mut high) = (bounds.0.map(<[u8]>::to_vec), bounds.1.map(<[u8]>::to_vec));
        let mut batch = FIRST_BATCH;
        loop {
            let (sql, params) = range_query(table, &low, &high, order, batch);
            let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as _).collect();
            let rows = self.run(&sql, |tx, st| tx.query(st, &params))?;
            let full = i64::try_from(rows.len()).unwrap_or(i64::MAX) == batch;
            let mut last = None;
            for row in &rows {
                let (k, v): (&[u8], &[u8]) = (row.get(0), row.get(1));
                if visit(k, v) == Flow::Stop {
                    return Ok(());
                }
                last = Some(k);
            }
            match (full, last) {
                (true, Some(k)) => match order {
                    Order::Ascending => low = Bound::Excluded(k.to_vec()),
                    Order::Descending => high = Bound::Excluded(k.to_vec()),
                },
                _ => return Ok(()),
            }
            batch = (batch * 2).min(MAX_BATCH);
        }
    }
}

impl WriteTx for PgTx<'_> {
    /// Kept until the next statement or the commit, which write all the
    /// inserts of a table in one statement (a group commit's rows cost a
    /// round trip per table, not per row). An error shows there.
    fn insert(&mut self, table: TableName, key: &[u8], value: &[u8]) -> Result<(), StorageError> {
        self.pending
            .get_mut()
            .push((table, (key.to_vec(), value.to_vec())));
        Ok(())
    }

    fn remove(&mut self, table: TableName, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        let sql = format!("DELETE FROM {} WHERE k = $1 RETURNING v", sql_table(table));
        let row = self.run(&sql, |tx, st| tx.query_opt(st, &[&key]))?;
        Ok(row.map(|r| r.get::<_, Vec<u8>>(0)))
    }
}

/// `SELECT k, v … ORDER BY k … LIMIT batch` over the bounds, and its
/// parameters (the bound keys).
fn range_query(
    table: TableName,
    low: &Bound<Vec<u8>>,
    high: &Bound<Vec<u8>>,
    order: Order,
    batch: i64,
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
    use super::{PgStore, TableName};
    use crate::store::{Outcome, Store};

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
                tx.scan(KV, all, crate::store::Order::Ascending, &mut |k, v| {
                    rows.push((k.to_vec(), v.to_vec()));
                    crate::store::Flow::Continue
                })?;
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
    fn a_restartable_read_is_one_statement_or_else_runs_again_in_one_snapshot() {
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

//! Helpers shared by the engine's integration tests: the test master keys,
//! a manual clock at a fixed start, and engines on temporary files.
#![allow(dead_code, unreachable_pub)]

use std::path::Path;
use std::sync::Arc;

use strongroom_engine::{
    Engine, EngineBuilder, ManualClock, MasterKey, OpenError, SecretString, Timestamp, UserId,
};

/// A fixed test master key (base64 of bytes 0..32).
pub const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
/// Another test master key.
pub const KEY_B: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
/// The password every test user gets.
pub const PASSWORD: &str = "correct horse battery";

pub fn master(key: &str) -> MasterKey {
    MasterKey::from_base64(&SecretString::from(key)).expect("test key")
}

pub fn start() -> ManualClock {
    ManualClock::new(Timestamp::from_unix_millis(1_700_000_000_000))
}

/// A builder with key A and `clock`.
pub fn builder(clock: &ManualClock) -> EngineBuilder {
    let mut builder = Engine::builder(master(KEY_A));
    builder.clock(Arc::new(clock.clone()));
    builder
}

/// The engine stored at `path`: a redb file there, or, when
/// `STRONGROOM_TEST_BACKEND=postgres`, a PostgreSQL database named after
/// the path on this process's test server (so reopening the same path
/// reopens the same store). The same tests run on both backends.
pub fn open(path: &Path, clock: &ManualClock) -> Engine {
    open_with(builder(clock), path).expect("engine opens")
}

/// `builder`'s engine on the store at `path` (see [`open`]).
pub fn open_with(mut builder: EngineBuilder, path: &Path) -> Result<Engine, OpenError> {
    match backend() {
        Backend::Redb => builder.open(path),
        Backend::Postgres => builder.open_postgres(&postgres_url(path), 8),
    }
}

/// Every stored entry of engine table `table` at `path`, in key order,
/// read behind the engine's back (no engine may have it open, for redb).
pub fn raw_rows(path: &Path, table: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    match backend() {
        Backend::Redb => {
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
        Backend::Postgres => raw_sql(path)
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

/// Stores `value` under `key` in engine table `table` at `path`, behind the
/// engine's back (no engine may have it open, for redb).
pub fn raw_insert(path: &Path, table: &str, key: &[u8], value: &[u8]) {
    match backend() {
        Backend::Redb => redb_write(path, table, |write, def| {
            write
                .open_table(def)
                .expect("table")
                .insert(key, value)
                .expect("insert");
        }),
        Backend::Postgres => {
            let sql = format!(
                "INSERT INTO strongroom_{table} (k, v) VALUES ($1, $2) \
                 ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v"
            );
            raw_sql(path)
                .execute(&sql, &[&key, &value])
                .expect("insert");
        }
    }
}

/// Which backend the engine tests run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Redb,
    Postgres,
}

pub fn backend() -> Backend {
    match std::env::var("STRONGROOM_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        Ok("redb") | Err(_) => Backend::Redb,
        Ok(other) => panic!("STRONGROOM_TEST_BACKEND={other}: use redb or postgres"),
    }
}

/// For a test about the embedded file itself (its bytes, its lock, its
/// crash behaviour): true, after saying so, when the run is on PostgreSQL,
/// where the redb run covers it.
pub fn embedded_only(test: &str) -> bool {
    if backend() == Backend::Postgres {
        eprintln!("{test}: about the embedded redb file; covered by the redb run");
        return true;
    }
    false
}

/// The URL of the PostgreSQL database standing for `path`.
pub fn postgres_url(path: &Path) -> SecretString {
    use std::hash::{Hash, Hasher};
    static CLUSTER: std::sync::OnceLock<strongroom_engine::testing::PgCluster> =
        std::sync::OnceLock::new();
    let cluster = CLUSTER.get_or_init(|| {
        strongroom_engine::testing::PgCluster::start("the engine tests on postgres")
            .expect("STRONGROOM_TEST_BACKEND=postgres needs PostgreSQL installed")
    });
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    path.hash(&mut hasher);
    cluster.database(&format!("t_{:016x}", hasher.finish()))
}

/// A fresh engine on a temporary file.
pub fn engine() -> (tempfile::TempDir, ManualClock, Engine) {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = start();
    let engine = open(&dir.path().join("db.redb"), &clock);
    (dir, clock, engine)
}

pub fn password(text: &str) -> SecretString {
    SecretString::from(text)
}

pub fn user(engine: &Engine, name: &str) -> UserId {
    engine
        .accounts()
        .create(name, &password(PASSWORD))
        .expect("user created")
        .id
}

fn raw_sql(path: &Path) -> postgres::Client {
    use strongroom_engine::secrecy::ExposeSecret;
    postgres::Client::connect(postgres_url(path).expose_secret(), postgres::NoTls).expect("connect")
}

/// Removes `key` from engine table `table` at `path` (or, with `None`,
/// every entry), behind the engine's back.
pub fn raw_remove(path: &Path, table: &str, key: Option<&[u8]>) {
    match backend() {
        Backend::Redb => redb_write(path, table, |write, def| match key {
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
        Backend::Postgres => {
            let table = format!("strongroom_{table}");
            let mut sql = raw_sql(path);
            match key {
                Some(key) => sql.execute(&format!("DELETE FROM {table} WHERE k = $1"), &[&key]),
                None => sql.execute(&format!("DELETE FROM {table}"), &[]),
            }
            .expect("delete");
        }
    }
}

/// Runs `f` on a write transaction of the redb file at `path` with engine
/// table `table`'s definition, and commits.
fn redb_write(
    path: &Path,
    table: &str,
    f: impl FnOnce(&redb::WriteTransaction, redb::TableDefinition<&[u8], &[u8]>),
) {
    let db = redb::Database::open(path).expect("open raw");
    let write = db.begin_write().expect("write");
    let name = format!("kv/{table}");
    f(&write, redb::TableDefinition::new(&name));
    write.commit().expect("commit");
}

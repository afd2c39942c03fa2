//! Engines for tests, on the backend `STRONGROOM_TEST_BACKEND` names:
//! `redb` (the default: a file at the given path) or `postgres` (a
//! database named after the path on this process's throwaway PostgreSQL
//! server, so reopening the same path reopens the same store). The same
//! tests run on both.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use strongroom_engine::{Engine, EngineBuilder, ManualClock, OpenError, SecretString, UserId};

use crate::postgres::PgCluster;
use crate::raw::RawStore;
use crate::{KEY_A, PASSWORD, clock, master};

/// Which backend the engine tests run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// An embedded redb file.
    Redb,
    /// A PostgreSQL database.
    Postgres,
}

/// The backend of this run (`STRONGROOM_TEST_BACKEND`).
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

/// A builder with key A and `clock`.
pub fn builder(clock: &ManualClock) -> EngineBuilder {
    let mut builder = Engine::builder(master(KEY_A));
    builder.clock(Arc::new(clock.clone()));
    builder
}

/// The engine stored at `path` (see the module docs), with key A.
pub fn open(path: &Path, clock: &ManualClock) -> Engine {
    open_with(builder(clock), path).expect("engine opens")
}

/// `builder`'s engine on the store at `path`.
pub fn open_with(mut builder: EngineBuilder, path: &Path) -> Result<Engine, OpenError> {
    match backend() {
        Backend::Redb => builder.open(path),
        Backend::Postgres => builder.open_postgres(&postgres_url(path), 8),
    }
}

/// A fresh engine on a temporary store, with key A and a manual clock.
pub fn engine() -> (tempfile::TempDir, ManualClock, Engine) {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = clock();
    let engine = open(&dir.path().join("db.redb"), &clock);
    (dir, clock, engine)
}

/// Creates `name` with [`PASSWORD`]; its id.
pub fn user(engine: &Engine, name: &str) -> UserId {
    engine
        .accounts()
        .create(name, &SecretString::from(PASSWORD))
        .expect("user created")
        .id
}

/// The tables of the store at `path`, to read or change behind the
/// engine's back (for redb, no engine may have it open).
pub fn raw(path: &Path) -> RawStore {
    match backend() {
        Backend::Redb => RawStore::Redb(path.to_path_buf()),
        Backend::Postgres => RawStore::Postgres(postgres_url(path)),
    }
}

/// The URL of the PostgreSQL database standing for `path`, on this
/// process's test server (started on first use).
pub fn postgres_url(path: &Path) -> SecretString {
    use std::hash::{Hash, Hasher};
    static CLUSTER: OnceLock<PgCluster> = OnceLock::new();
    let cluster = CLUSTER.get_or_init(|| {
        PgCluster::start("the engine tests on postgres")
            .expect("STRONGROOM_TEST_BACKEND=postgres needs PostgreSQL installed")
    });
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    path.hash(&mut hasher);
    cluster.database(&format!("t_{:016x}", hasher.finish()))
}

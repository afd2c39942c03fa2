//! The [`Engine`] handle and its [`EngineBuilder`].

use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redb::{Database, ReadableDatabase, StorageBackend};

use crate::accounts::PasswordHasher;
use crate::clock::{Clock, SystemClock};
use crate::commit::Committer;
use crate::error::{OpenError, StorageError};
use crate::events::{BROADCAST_SCOPE, Listeners};
use crate::keyring::{KeyCache, SealCounts};
use crate::keys::MasterKey;
use crate::tables::{
    COUNTERS, DATA_KEYS, KEYRING, META, RECORD_EXPIRY, RECORDS, SESSIONS, TOKEN_EXPIRY, TOKENS,
    USERS, USERS_BY_NAME,
};

/// Default time-to-live of a record: 10 minutes.
pub const DEFAULT_TTL: Duration = Duration::from_secs(600);
/// Default upper bound on a record's time-to-live: 7 days.
pub const DEFAULT_MAX_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// Default largest plaintext: 64 KiB.
pub const DEFAULT_MAX_RECORD_LEN: usize = 64 * 1024;
/// Records sealed under one data key before it is rotated: well below the
/// 2^32 bound for random 96-bit nonces.
pub const DEFAULT_DEK_ROTATION: u64 = 1 << 31;

const KEY_CHECK: &str = "master_key_check";
const KEY_CHECK_AAD: &[u8] = b"strongroom/key-check/v1";
const KEY_CHECK_PLAINTEXT: &[u8] = b"strongroom master key check";

/// Settings fixed when the engine opens.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) default_ttl: Duration,
    pub(crate) max_ttl: Duration,
    pub(crate) max_record_len: usize,
    pub(crate) dek_rotation: u64,
}

pub(crate) struct Inner {
    pub(crate) db: Database,
    /// Held from a write's commit until its listeners ran: events reach
    /// listeners in sequence order.
    pub(crate) publish: Mutex<()>,
    pub(crate) listeners: Listeners,
    pub(crate) master: MasterKey,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) config: Config,
    pub(crate) keys: KeyCache,
    pub(crate) seal_counts: SealCounts,
    pub(crate) committer: Committer,
    pub(crate) hasher: PasswordHasher,
}

/// The storage engine: encrypted, expiring, user-scoped records plus
/// accounts and tokens, in one redb file.
///
/// Synchronous and `Send + Sync`; clones share one database. Writes block on
/// a durable commit, so async callers run them on a blocking thread.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.inner.config)
            .field("clock", &self.inner.clock)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Starts configuring an engine.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    /// The engine's clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// The default time-to-live of a record.
    pub fn default_ttl(&self) -> Duration {
        self.inner.config.default_ttl
    }

    /// The largest time-to-live a record may have.
    pub fn max_ttl(&self) -> Duration {
        self.inner.config.max_ttl
    }

    /// Forgets in-memory seal counts (after a failed commit).
    pub(crate) fn forget_seal_counts(&self) {
        self.inner.seal_counts.clear();
    }

    /// The largest plaintext a record may hold, in bytes.
    pub fn max_record_len(&self) -> usize {
        self.inner.config.max_record_len
    }
}

/// Configures and opens an [`Engine`]; settings are validated by `open`.
pub struct EngineBuilder {
    master: Option<MasterKey>,
    clock: Arc<dyn Clock>,
    config: Config,
    password_cost: crate::accounts::PasswordCost,
}

impl Default for EngineBuilder {
    fn default() -> Self {
        Self {
            master: None,
            clock: Arc::new(SystemClock),
            config: Config {
                default_ttl: DEFAULT_TTL,
                max_ttl: DEFAULT_MAX_TTL,
                max_record_len: DEFAULT_MAX_RECORD_LEN,
                dek_rotation: DEFAULT_DEK_ROTATION,
            },
            password_cost: crate::accounts::PasswordCost::default(),
        }
    }
}

impl fmt::Debug for EngineBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineBuilder")
            .field("config", &self.config)
            .field("password_cost", &self.password_cost)
            .finish_non_exhaustive()
    }
}

impl EngineBuilder {
    /// The master key (required).
    pub fn master_key(&mut self, key: MasterKey) -> &mut Self {
        self.master = Some(key);
        self
    }

    /// The clock (default: the system clock).
    pub fn clock(&mut self, clock: Arc<dyn Clock>) -> &mut Self {
        self.clock = clock;
        self
    }

    /// Time-to-live of records stored without one (default 10 minutes).
    pub fn default_ttl(&mut self, ttl: Duration) -> &mut Self {
        self.config.default_ttl = ttl;
        self
    }

    /// Largest accepted time-to-live (default 7 days).
    pub fn max_ttl(&mut self, ttl: Duration) -> &mut Self {
        self.config.max_ttl = ttl;
        self
    }

    /// Largest plaintext of one record (default 64 KiB).
    pub fn max_record_len(&mut self, len: usize) -> &mut Self {
        self.config.max_record_len = len;
        self
    }

    /// Records sealed under one data key before a fresh key version is
    /// created (default 2^31; at most 2^32).
    pub fn dek_rotation_after(&mut self, records: u64) -> &mut Self {
        self.config.dek_rotation = records;
        self
    }

    /// Argon2id cost; must be at least the default (19 MiB, t = 2, p = 1).
    pub fn password_cost(&mut self, cost: crate::accounts::PasswordCost) -> &mut Self {
        self.password_cost = cost;
        self
    }

    /// Opens (or creates) the database file at `path`.
    pub fn open(&mut self, path: impl AsRef<Path>) -> Result<Engine, OpenError> {
        self.validate()?;
        let db = Database::create(path).map_err(StorageError::from)?;
        self.finish(db)
    }

    /// Opens (or creates) a database on a caller-supplied storage backend,
    /// for example an in-memory or fault-injecting one.
    pub fn open_with_backend(&mut self, backend: impl StorageBackend) -> Result<Engine, OpenError> {
        self.validate()?;
        let db = Database::builder()
            .create_with_backend(backend)
            .map_err(StorageError::from)?;
        self.finish(db)
    }

    fn validate(&self) -> Result<(), OpenError> {
        let c = &self.config;
        let invalid = |what: &str| Err(OpenError::InvalidConfig(what.to_owned()));
        if self.master.is_none() {
            return Err(OpenError::MissingMasterKey);
        }
        if c.max_ttl < Duration::from_secs(1) {
            return invalid("max_ttl must be at least 1 second");
        }
        if c.default_ttl < Duration::from_secs(1) || c.default_ttl > c.max_ttl {
            return invalid("default_ttl must be between 1 second and max_ttl");
        }
        if c.dek_rotation == 0 || c.dek_rotation > 1 << 32 {
            return invalid("dek_rotation_after must be between 1 and 2^32");
        }
        self.password_cost.validate()
    }

    fn finish(&mut self, db: Database) -> Result<Engine, OpenError> {
        let master = self.master.take().ok_or(OpenError::MissingMasterKey)?;
        init_schema(&db, &master)?;
        let reserved_seq = {
            let read = db.begin_read()?;
            let counters = read.open_table(COUNTERS)?;
            counters
                .get(crate::records::EVENT_SEQ)?
                .map_or(0, |v| v.value())
        };
        Ok(Engine {
            inner: Arc::new(Inner {
                db,
                publish: Mutex::new(()),
                listeners: Listeners::default(),
                master,
                clock: self.clock.clone(),
                config: self.config.clone(),
                keys: KeyCache::default(),
                seal_counts: SealCounts::default(),
                committer: Committer::starting_after(reserved_seq),
                hasher: PasswordHasher::new(self.password_cost),
            }),
        })
    }
}

/// Creates every table and checks (or, on a new file, records) the master
/// key, so a wrong key is refused at open instead of failing on each read.
fn init_schema(db: &Database, master: &MasterKey) -> Result<(), OpenError> {
    let read = db.begin_read()?;
    let existing_check = match read.open_table(META) {
        Ok(meta) => meta.get(KEY_CHECK)?.map(|v| v.value().to_vec()),
        Err(redb::TableError::TableDoesNotExist(_)) => None,
        Err(e) => return Err(e.into()),
    };
    drop(read);
    if let Some(sealed) = existing_check {
        let plain = master
            .open_check(KEY_CHECK_AAD, &sealed)
            .map_err(|_| OpenError::WrongMasterKey)?;
        if plain.as_slice() != KEY_CHECK_PLAINTEXT {
            return Err(OpenError::WrongMasterKey);
        }
        return Ok(());
    }
    let txn = db.begin_write()?;
    {
        let mut meta = txn.open_table(META)?;
        meta.insert(
            KEY_CHECK,
            master
                .seal_check(KEY_CHECK_AAD, KEY_CHECK_PLAINTEXT)
                .as_slice(),
        )?;
        txn.open_table(USERS)?;
        txn.open_table(USERS_BY_NAME)?;
        crate::keyring::create_scope(
            master,
            &mut txn.open_table(KEYRING)?,
            &mut txn.open_table(DATA_KEYS)?,
            BROADCAST_SCOPE.as_u128(),
        )?;
        txn.open_table(COUNTERS)?;
        txn.open_table(RECORDS)?;
        txn.open_table(RECORD_EXPIRY)?;
        txn.open_table(TOKENS)?;
        txn.open_table(TOKEN_EXPIRY)?;
        txn.open_table(SESSIONS)?;
    }
    txn.commit()?;
    Ok(())
}

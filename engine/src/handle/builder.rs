//! [`EngineBuilder`]: settings with `&mut Self` setters, validated when the
//! engine opens. Opening brings the database to the current schema (one
//! transaction), checks the master key, and loads the keyring.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::crypto::keys::MasterKey;
use crate::crypto::password::{PasswordCost, PasswordHasher};
use crate::domain;
use crate::domain::api_keys::KeyUse;
use crate::domain::audit::Note;
use crate::domain::tokens;
use crate::error::OpenError;
use crate::handle::audit::DEFAULT_AUDIT_RETENTION;
use crate::handle::session_cache::SessionCache;
use crate::handle::{Engine, Inner};
use crate::ids::KeyScope;
use crate::keyring::{self, Keyring};
use crate::model::Limits;
use crate::model::access::Quota;
use crate::model::audit::{Actor, AuditAction, AuditTarget, Origin};
use crate::model::credits::CreditsConfig;
use crate::schema::{self, SCOPES};
use crate::store::Store;
use crate::store::read_only::ReadOnlyStore;
use crate::store::redb::RedbStore;
use crate::store::watched::Watched;
use crate::write::GroupCommit;
use crate::write::listeners::Listeners;

/// Records sealed under one data key before it is rotated: well below the
/// 2^32 bound for random 96-bit nonces.
pub const DEFAULT_DEK_ROTATION: u64 = 1 << 31;

/// Configures and opens an [`Engine`]; settings are validated on open.
///
/// ```
/// use std::time::Duration;
/// use strongroom_engine::{Engine, MasterKey};
///
/// # fn main() -> Result<(), strongroom_engine::OpenError> {
/// let (key, _) = MasterKey::generate();
/// let dir = tempfile::tempdir().expect("tempdir");
/// let engine = Engine::builder(key)
///     .default_ttl(Duration::from_secs(60))
///     .max_ttl(Duration::from_secs(3600))
///     .open(dir.path().join("strongroom.redb"))?;
/// assert_eq!(engine.limits().max_ttl, Duration::from_secs(3600));
/// # Ok(())
/// # }
/// ```
pub struct EngineBuilder {
    /// Taken by the keyring when the engine opens.
    master: Option<MasterKey>,
    clock: Arc<dyn Clock>,
    limits: Limits,
    dek_rotation: u64,
    password_cost: PasswordCost,
    default_quota: Option<Quota>,
    audit_retention: Duration,
    cache_size: Option<usize>,
    credits: CreditsConfig,
}

impl Engine {
    /// Starts configuring an engine that uses `master` to wrap its keys.
    pub fn builder(master: MasterKey) -> EngineBuilder {
        EngineBuilder {
            master: Some(master),
            clock: Arc::new(SystemClock),
            limits: Limits::default(),
            dek_rotation: DEFAULT_DEK_ROTATION,
            password_cost: PasswordCost::default(),
            default_quota: None,
            audit_retention: DEFAULT_AUDIT_RETENTION,
            cache_size: None,
            credits: CreditsConfig::default(),
        }
    }
}

impl fmt::Debug for EngineBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineBuilder")
            .field("limits", &self.limits)
            .field("dek_rotation", &self.dek_rotation)
            .field("password_cost", &self.password_cost)
            .finish_non_exhaustive()
    }
}

impl EngineBuilder {
    /// The clock (default: the system clock).
    pub fn clock(&mut self, clock: Arc<dyn Clock>) -> &mut Self {
        self.clock = clock;
        self
    }

    /// Time-to-live of records stored without one (default 10 minutes).
    pub fn default_ttl(&mut self, ttl: Duration) -> &mut Self {
        self.limits.default_ttl = ttl;
        self
    }

    /// Largest accepted time-to-live (default 7 days).
    pub fn max_ttl(&mut self, ttl: Duration) -> &mut Self {
        self.limits.max_ttl = ttl;
        self
    }

    /// Largest plaintext of one record (default 64 KiB).
    pub fn max_record_len(&mut self, len: usize) -> &mut Self {
        self.limits.max_record_len = len;
        self
    }

    /// Largest file, in bytes of plaintext (default 100 MiB).
    pub fn max_file_len(&mut self, len: u64) -> &mut Self {
        self.limits.max_file_len = len;
        self
    }

    /// Largest page of a list (default 100).
    pub fn max_page(&mut self, records: usize) -> &mut Self {
        self.limits.max_page = records;
        self
    }

    /// Records sealed under one data key before a fresh key version is
    /// created (default 2^31; at most 2^32).
    pub fn dek_rotation_after(&mut self, records: u64) -> &mut Self {
        self.dek_rotation = records;
        self
    }

    /// The quota of accounts that have none of their own (default: none,
    /// so only quotas set per account limit anyone). A server sets this.
    pub fn default_quota(&mut self, quota: Option<Quota>) -> &mut Self {
        self.default_quota = quota;
        self
    }

    /// How long audit entries are kept before
    /// [`Audit::prune`](crate::audit::Audit::prune) may remove them (default one year, at
    /// least one day).
    pub fn audit_retention(&mut self, retention: Duration) -> &mut Self {
        self.audit_retention = retention;
        self
    }

    /// Memory the embedded database may use to cache pages, in bytes
    /// (default: redb's, 1 GiB). It is what the process's memory grows to
    /// under a write-heavy load (a large file's segments pass through it);
    /// the operating system's page cache still holds the file beneath it.
    pub fn cache_size(&mut self, bytes: usize) -> &mut Self {
        self.cache_size = Some(bytes);
        self
    }

    /// Metering (default: off). When on, every account is granted
    /// `initial` credits once — when it is created, or when the engine
    /// first opens with metering on — and the engine's chargeable actions
    /// pay their price in the transaction that does them.
    pub fn credits(&mut self, config: CreditsConfig) -> &mut Self {
        self.credits = config;
        self
    }

    /// Argon2id cost; must be at least the default (19 MiB, t = 2, p = 1).
    pub fn password_cost(&mut self, cost: PasswordCost) -> &mut Self {
        self.password_cost = cost;
        self
    }

    /// Opens (or creates) the database file at `path`. A file written by
    /// an older release is migrated first; one written by a newer release
    /// is refused.
    pub fn open(&mut self, path: impl AsRef<Path>) -> Result<Engine, OpenError> {
        self.validate()?;
        let master = self.master.take().ok_or(REUSED)?;
        let store = RedbStore::open(path.as_ref(), self.cache_size, self.clock.clone())?;
        schema::legacy::upgrade(&store, &master)?;
        self.finish(Box::new(store), master)
    }

    /// Opens the database file at `path` read-only: a snapshot on a
    /// read-only mount, or a file this process may only read. Reads and
    /// integrity checks work; every write answers
    /// [`StorageError::ReadOnly`] (a login's tokens, the audit entry a
    /// [`Maintenance::backup_to`] makes) and the file is never written.
    /// Only a store at this release's schema that was closed cleanly
    /// opens: one that needs a repair or an upgrade is refused with
    /// [`OpenError::NeedsWrite`], unchanged. Credits are as stored (no
    /// grant is made).
    ///
    /// [`Maintenance::backup_to`]: crate::maintenance::Maintenance::backup_to
    /// [`StorageError::ReadOnly`]: crate::StorageError::ReadOnly
    pub fn open_read_only(&mut self, path: impl AsRef<Path>) -> Result<Engine, OpenError> {
        self.validate()?;
        let master = self.master.take().ok_or(REUSED)?;
        let store: Box<dyn Store> = Box::new(ReadOnlyStore::open(path.as_ref(), self.cache_size)?);
        store.read_with(|tx| {
            schema::check(tx, &master)?;
            if SCOPES.contains(tx, &KeyScope::Broadcast)? {
                Ok(())
            } else {
                Err(OpenError::NeedsWrite("it has no broadcast key yet"))
            }
        })?;
        self.assemble(store, master)
    }

    /// Opens (or creates) the engine's tables in the PostgreSQL database at
    /// `url` (`postgres://user:password@host:port/database`, or libpq's
    /// `key=value` form; TLS through rustls as its `sslmode` —
    /// `disable`, `allow`, `prefer` (the default), `require`, `verify-ca`,
    /// `verify-full` — and `sslrootcert` (a PEM file; the platform's roots
    /// when absent) say, as libpq does), with a pool
    /// of up to `connections` connections. Several engines, in several
    /// processes, may open the same database at once; it holds only
    /// ciphertext, wrapped keys and hashes. Its tables are created on first
    /// open and migrated like an embedded file.
    #[cfg(feature = "postgres")]
    pub fn open_postgres(
        &mut self,
        url: &secrecy::SecretString,
        connections: u32,
    ) -> Result<Engine, OpenError> {
        self.validate()?;
        let master = self.master.take().ok_or(REUSED)?;
        let store = crate::store::postgres::PgStore::connect(url, connections, &schema::TABLES)?;
        self.finish(Box::new(store), master)
    }

    /// Copies `source` — every table, as one read transaction sees it,
    /// nothing decrypted — into a new database file at `path` (absent, or
    /// an empty file made with the permissions wanted), then opens it. The builder's master key must be the
    /// source's: data keys stay wrapped under it.
    pub fn open_copy_in_file(
        &mut self,
        source: &Engine,
        path: impl AsRef<Path>,
    ) -> Result<(Engine, CopyReport), OpenError> {
        self.validate()?;
        self.opens(source)?;
        let path = path.as_ref();
        if std::fs::metadata(path).is_ok_and(|m| m.len() > 0) {
            return Err(OpenError::TargetNotEmpty);
        }
        let copied = source.store().snapshot_to(path)?;
        Ok((self.open(path)?, CopyReport::of(&copied)))
    }

    /// Copies `source` — every table, as one read transaction sees it,
    /// nothing decrypted — into the PostgreSQL database at `url` in one
    /// transaction, then opens it there (a pool of `connections`). Refused
    /// with [`OpenError::TargetNotEmpty`], writing nothing, when the
    /// database already holds Strongroom data. The builder's master key
    /// must be the source's: data keys stay wrapped under it.
    #[cfg(feature = "postgres")]
    pub fn open_copy_in_postgres(
        &mut self,
        source: &Engine,
        url: &secrecy::SecretString,
        connections: u32,
    ) -> Result<(Engine, CopyReport), OpenError> {
        self.validate()?;
        self.opens(source)?;
        let master = self.master.take().ok_or(REUSED)?;
        let target = crate::store::postgres::PgStore::connect(url, connections, &schema::TABLES)?;
        let copied = crate::store::copy_all(source.store(), &target, &schema::TABLES)?
            .ok_or(OpenError::TargetNotEmpty)?;
        Ok((
            self.finish(Box::new(target), master)?,
            CopyReport::of(&copied),
        ))
    }

    /// The host of a PostgreSQL server that `url` names which is neither
    /// loopback nor a Unix socket, when the URL lets the connection to it
    /// travel in plain text (`sslmode` `disable`, `allow`, or `prefer`,
    /// the default, which falls back to plain text when the server offers
    /// no TLS): worth warning about, since credentials and ciphertext
    /// would cross the network in clear. `None` when the URL asks for TLS.
    #[cfg(feature = "postgres")]
    pub fn postgres_remote_in_clear(
        url: &secrecy::SecretString,
    ) -> Result<Option<String>, OpenError> {
        Ok(crate::store::postgres::remote_in_clear(url)?)
    }

    /// Opens a fresh database held in memory only: gone when the engine is
    /// dropped.
    pub fn open_in_memory(&mut self) -> Result<Engine, OpenError> {
        self.validate()?;
        let master = self.master.take().ok_or(REUSED)?;
        self.finish(Box::new(RedbStore::in_memory()?), master)
    }

    /// Opens (or creates) a database on a caller-supplied redb storage
    /// backend instead of a file: for example an in-memory disk that
    /// injects faults, as `strongroom-testkit`'s `MemoryBackend` does for
    /// crash tests. [`EngineBuilder::cache_size`] applies as to a file.
    /// After an I/O failure the database is opened again on a clone of
    /// `backend`, as a file is opened again.
    pub fn open_with_backend(
        &mut self,
        backend: impl redb::StorageBackend + Clone,
    ) -> Result<Engine, OpenError> {
        self.validate()?;
        let master = self.master.take().ok_or(REUSED)?;
        let store = RedbStore::with_backend(backend, self.cache_size, self.clock.clone())?;
        schema::legacy::upgrade(&store, &master)?;
        self.finish(Box::new(store), master)
    }

    /// Whether this builder's master key is the one `source` was made
    /// with (checked before anything is copied).
    fn opens(&self, source: &Engine) -> Result<(), OpenError> {
        let master = self.master.as_ref().ok_or(REUSED)?;
        let check = source
            .store()
            .read_with(|tx| schema::META.get(tx, &schema::MetaKey::KeyCheck))?;
        match check {
            Some(check) if master.verifies_key_check(&check) => Ok(()),
            _ => Err(OpenError::WrongMasterKey),
        }
    }

    fn validate(&self) -> Result<(), OpenError> {
        let l = &self.limits;
        let invalid = |what| Err(OpenError::InvalidConfig(what));
        if l.max_ttl < Duration::from_secs(1) {
            return invalid("max_ttl must be at least 1 second");
        }
        if l.default_ttl < Duration::from_secs(1) || l.default_ttl > l.max_ttl {
            return invalid("default_ttl must be between 1 second and max_ttl");
        }
        if l.max_page == 0 {
            return invalid("max_page must be at least 1");
        }
        if self.audit_retention < Duration::from_secs(24 * 3600) {
            return invalid("audit_retention must be at least one day");
        }
        if self.dek_rotation == 0 || self.dek_rotation > 1 << 32 {
            return invalid("dek_rotation_after must be between 1 and 2^32");
        }
        self.password_cost.validate()
    }

    fn finish(&self, store: Box<dyn Store>, master: MasterKey) -> Result<Engine, OpenError> {
        let now = self.clock.now();
        store.write_with(|tx| {
            let found = schema::prepare(tx, &master)?;
            if found.is_some_and(|version| version < 7) {
                rekey_audit_chain(tx, &master, now)?;
            }
            if !SCOPES.contains(tx, &KeyScope::Broadcast)? {
                keyring::create_scope(&master, tx, KeyScope::Broadcast)?;
            }
            Ok::<_, OpenError>(())
        })?;
        let engine = self.assemble(store, master)?;
        if self.credits.enabled {
            // Accounts made before metering was on get their credits once.
            engine.store().write_with(|tx| {
                let meter = engine.meter(Actor::Operator, crate::ids::UserId::from_u128(0));
                domain::credits::grant_all(tx, meter)
            })?;
        }
        Ok(engine)
    }

    /// The engine on `store`, whose schema is this release's: its key ring
    /// loaded under `master`.
    fn assemble(&self, store: Box<dyn Store>, master: MasterKey) -> Result<Engine, OpenError> {
        let rotate_after = self.dek_rotation;
        let shared = store.shared();
        let loaded = store.read_with(|tx| Keyring::load(tx, &master))?;
        let keyring = Keyring::new(loaded, master, rotate_after, shared);
        let engine = Engine {
            inner: Arc::new(Inner {
                store: Watched::new(store, &tokens::AUTHENTICATION_READS),
                sessions: SessionCache::new(!shared),
                keyring,
                clock: self.clock.clone(),
                limits: self.limits,
                hasher: PasswordHasher::new(self.password_cost),
                listeners: Listeners::default(),
                commits: GroupCommit::default(),
                key_use: KeyUse::default(),
                default_quota: self.default_quota,
                audit_retention: self.audit_retention,
                credits: self.credits,
            }),
            origin: Origin::default(),
        };
        Ok(engine)
    }
}

/// Schema 7: the audit chain moves from plain SHA-256 links to links keyed
/// by the store (see `crypto::audit_chain`). The old chain is checked
/// first; if it did not verify, an `audit.gap` entry (denied, by the
/// operator) records that the log was damaged before it was re-linked, so
/// the damage is not laundered away.
fn rekey_audit_chain(
    tx: &mut dyn crate::store::WriteTx,
    master: &MasterKey,
    now: crate::clock::Timestamp,
) -> Result<(), OpenError> {
    let (signing, chain) = keyring::audit_keys(master, tx)?;
    let before = domain::audit::rechain(tx, &signing, &chain)?;
    if !before.is_ok() {
        let note = Note::new(
            Origin::default(),
            Actor::Operator,
            AuditAction::AuditGap,
            AuditTarget::None,
        );
        domain::audit::append(tx, &chain, note.denied(), now)?;
    }
    Ok(())
}

/// A builder opens one engine: the keyring takes its master key.
const REUSED: OpenError = OpenError::InvalidConfig("this builder already opened an engine");

/// What a copy of a whole store moved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CopyReport {
    /// Entries copied, per table, by table name.
    pub tables: Vec<(String, u64)>,
    /// Entries copied, in all tables.
    pub entries: u64,
}

impl CopyReport {
    fn of(copied: &[(String, u64)]) -> Self {
        Self {
            tables: copied.to_vec(),
            entries: copied.iter().map(|(_, n)| n).sum(),
        }
    }
}

//! The data directory: where the master key comes from (`keyfile`), the
//! private files and their modes (`files`), and opening the engine on the
//! directory's database or on a shared PostgreSQL database. Both the
//! server and the operator commands open stores through here.

pub mod files;
pub mod keyfile;

use std::path::{Path, PathBuf};

use strongroom_engine::{Engine, EngineBuilder, MasterKey, OpenError, SecretString, StorageError};

use self::files::FileError;
use self::keyfile::{KeyFileError, MASTER_KEY_ENV};

/// The database file's name inside a data dir.
pub const DATABASE_FILE: &str = "strongroom.redb";
/// The generated key file's name inside a data dir.
pub const KEY_FILE: &str = "master.key";

/// Where the master key comes from, in the order the command line decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// A key file given explicitly.
    File(PathBuf),
    /// `STRONGROOM_MASTER_KEY`.
    Env,
    /// `DATA_DIR/master.key`, created on first run.
    DataDir,
}

/// Where the URL of a shared database comes from.
#[derive(Clone, Debug)]
pub enum DatabaseUrl {
    /// `postgres://user:password@host:port/database` (a secret: it may
    /// hold a password).
    Given(SecretString),
    /// A file holding that URL (a mounted secret, say), read at start.
    File(PathBuf),
}

impl DatabaseUrl {
    /// The URL, read from its file if it is in one (which must be private
    /// or a mounted secret, as a key file must).
    fn resolve(&self, data_dir: &Path, allow_insecure: bool) -> Result<SecretString, FileError> {
        match self {
            Self::Given(url) => Ok(url.clone()),
            Self::File(path) => files::read_secret(path, data_dir, allow_insecure),
        }
    }
}

/// A PostgreSQL database several instances share.
#[derive(Clone, Debug)]
pub struct SharedDatabase {
    /// Its URL.
    pub url: DatabaseUrl,
    /// Connections this instance keeps to it.
    pub connections: u32,
}

impl SharedDatabase {
    /// Its URL, read from its file if it is in one; warns when the URL
    /// lets the connection to a remote host travel in plain text.
    pub(crate) fn url(
        &self,
        data_dir: &Path,
        allow_insecure: bool,
    ) -> Result<SecretString, FileError> {
        let url = self.url.resolve(data_dir, allow_insecure)?;
        // A URL the engine cannot read is refused when it is opened.
        if let Ok(Some(host)) = EngineBuilder::postgres_remote_in_clear(&url) {
            tracing::warn!(
                host,
                "the PostgreSQL connection may travel in plain text (sslmode disable, allow or \
                 prefer): add sslmode=verify-full (and sslrootcert=FILE for a private CA) to \
                 --database-url"
            );
        }
        Ok(url)
    }
}

/// Which store a command works on.
#[derive(Clone, Debug)]
pub struct StoreArgs {
    /// The data directory.
    pub data_dir: PathBuf,
    /// Where the master key comes from.
    pub key: KeySource,
    /// Accept files other users can read.
    pub allow_insecure_permissions: bool,
    /// A PostgreSQL database holding the store instead of the data dir.
    pub database: Option<SharedDatabase>,
}

/// How messages name a store in PostgreSQL (its URL is a secret).
pub const SHARED_DATABASE_LABEL: &str = "the database at --database-url";

impl StoreArgs {
    /// The database file, or [`SHARED_DATABASE_LABEL`] for PostgreSQL:
    /// what messages about the store name.
    pub fn database(&self) -> PathBuf {
        match self.database {
            Some(_) => PathBuf::from(SHARED_DATABASE_LABEL),
            None => self.data_dir.join(DATABASE_FILE),
        }
    }

    /// Opens the store, creating it if absent: the data dir's (as `serve`
    /// does), or the PostgreSQL database's tables. Blocks.
    pub fn open_or_create(&self) -> Result<Engine, DataDirError> {
        match &self.database {
            Some(database) => open_shared_engine(
                database,
                &self.key,
                &self.data_dir,
                self.allow_insecure_permissions,
                |_| {},
            ),
            None => open_engine(
                &self.data_dir,
                &self.key,
                self.allow_insecure_permissions,
                |_| {},
            ),
        }
    }
}

/// Why a store did not open. Every message is one line naming the path or
/// option concerned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataDirError {
    /// A file or directory is unusable.
    #[error(transparent)]
    Files(#[from] FileError),
    /// The master key could not be loaded.
    #[error(transparent)]
    Key(#[from] KeyFileError),
    /// The database did not open.
    #[error("{}: {source}", path.display())]
    Database {
        /// The database file.
        path: PathBuf,
        /// Why.
        source: OpenError,
    },
    /// The shared database did not open.
    #[error("database at --database-url: {0}")]
    SharedDatabase(OpenError),
    /// A shared database needs every instance to hold the same master key.
    #[error(
        "with --database-url every instance needs the same master key: pass --master-key-file \
         or set STRONGROOM_MASTER_KEY (a key made in one instance's data dir would differ)"
    )]
    SharedKeyNeeded,
}

/// The master key from `source`, creating `DATA_DIR/master.key` on first
/// run when no key is given.
pub fn resolve_master_key(source: &KeySource, data_dir: &Path) -> Result<MasterKey, DataDirError> {
    match source {
        KeySource::File(path) => {
            tracing::info!(path = %path.display(), "master key from key file");
            Ok(keyfile::load(path)?)
        }
        KeySource::Env => match keyfile::from_env()? {
            Some(key) => {
                tracing::info!("master key from {MASTER_KEY_ENV}");
                Ok(key)
            }
            None => resolve_master_key(&KeySource::DataDir, data_dir),
        },
        KeySource::DataDir => {
            let path = data_dir.join(KEY_FILE);
            let (key, created) = keyfile::load_or_create(&path)?;
            if created {
                tracing::warn!(
                    path = %path.display(),
                    "created a new master key file; in production supply your own key \
                     ({MASTER_KEY_ENV} or --master-key-file) and keep it apart from the database"
                );
            } else {
                tracing::info!(path = %path.display(), "master key from generated key file");
            }
            Ok(key)
        }
    }
}

/// The master key of an existing store: from the named file, the
/// environment, or `DATA_DIR/master.key` — never created here, and never
/// taken from a data dir for a store in PostgreSQL.
pub fn existing_master_key(args: &StoreArgs) -> Result<MasterKey, DataDirError> {
    if args.database.is_some() && args.key == KeySource::DataDir {
        return Err(DataDirError::SharedKeyNeeded);
    }
    let allow = args.allow_insecure_permissions;
    let from_data_dir = || {
        let path = args.data_dir.join(KEY_FILE);
        files::check_private(&path, files::Kind::File, allow)?;
        Ok::<_, DataDirError>(keyfile::load(&path)?)
    };
    match &args.key {
        KeySource::File(path) => {
            files::check_secret(path, &args.data_dir, allow)?;
            Ok(keyfile::load(path)?)
        }
        KeySource::Env => match keyfile::from_env()? {
            Some(key) => Ok(key),
            None => from_data_dir(),
        },
        KeySource::DataDir => from_data_dir(),
    }
}

/// Opens the engine under `data_dir` (creating it 0700, the database 0600),
/// refusing files other users can read unless allowed; `tune` sets the
/// builder's options.
pub fn open_engine(
    data_dir: &Path,
    key: &KeySource,
    allow_insecure: bool,
    tune: impl FnOnce(&mut EngineBuilder),
) -> Result<Engine, DataDirError> {
    let path = data_dir.join(DATABASE_FILE);
    // Everything checked before anything is created.
    files::check_private(data_dir, files::Kind::Dir, allow_insecure)?;
    files::check_private(&data_dir.join(KEY_FILE), files::Kind::File, allow_insecure)?;
    files::check_private(&path, files::Kind::File, allow_insecure)?;
    files::create_private_dir(data_dir)?;
    let mut builder = tuned_builder(key, data_dir, allow_insecure, tune)?;
    let created = files::create_private_file(&path)?;
    let engine = builder.open(&path).map_err(|source| {
        // A database this start began and could not finish (a full disk)
        // holds nothing yet, but would stop every later start as not a
        // database; one another process holds open is theirs.
        if created && !matches!(source, OpenError::Storage(StorageError::InUse)) {
            let _ = std::fs::remove_file(&path);
        }
        DataDirError::Database {
            path: path.clone(),
            source,
        }
    })?;
    tracing::info!(path = %path.display(), "database open");
    Ok(engine)
}

/// A builder holding the master key from `key` (a key file given must be
/// private or a mounted secret), tuned by `tune`.
fn tuned_builder(
    key: &KeySource,
    data_dir: &Path,
    allow_insecure: bool,
    tune: impl FnOnce(&mut EngineBuilder),
) -> Result<EngineBuilder, DataDirError> {
    if let KeySource::File(path) = key {
        files::check_secret(path, data_dir, allow_insecure)?;
    }
    let mut builder = Engine::builder(resolve_master_key(key, data_dir)?);
    tune(&mut builder);
    Ok(builder)
}

/// Opens the engine on a shared PostgreSQL database. The master key must
/// be given (a file or `STRONGROOM_MASTER_KEY`): every instance needs the
/// same one. Blocks on the network: call it off the async workers.
pub fn open_shared_engine(
    database: &SharedDatabase,
    key: &KeySource,
    data_dir: &Path,
    allow_insecure: bool,
    tune: impl FnOnce(&mut EngineBuilder),
) -> Result<Engine, DataDirError> {
    if *key == KeySource::DataDir {
        return Err(DataDirError::SharedKeyNeeded);
    }
    let url = database.url(data_dir, allow_insecure)?;
    let engine = tuned_builder(key, data_dir, allow_insecure, tune)?
        .open_postgres(&url, database.connections)
        .map_err(DataDirError::SharedDatabase)?;
    tracing::info!(
        connections = database.connections,
        "shared PostgreSQL database open"
    );
    Ok(engine)
}

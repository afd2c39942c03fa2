//! Operator commands on a store — a data directory while no server runs,
//! or a PostgreSQL database (`--database-url`): verify, backup, restore,
//! compact, migrate and the rest. Each opens the existing store (never
//! creating a data dir, a database file or a key file), does one thing,
//! and reports in one line per fact; every error is one line naming the
//! path (or `--database-url`, never the URL).

mod audit;
mod backup;
mod migrate;
mod progress;
mod rotate;
mod seed;
mod users;
mod verify;

use std::path::{Path, PathBuf};

use strongroom_engine::{Engine, MasterKey, OpenError, StorageError};

pub use audit::{AuditVerified, audit_checkpoint, audit_verify, read_checkpoint};
pub use backup::{BackupDone, backup, backup_engine, restore};
pub use migrate::{Migrated, migrate};
pub use rotate::{Rotated, rotate_data_keys, rotate_master_key};
pub use seed::{SeedPlan, Seeded, seed};
pub use users::{add_user, read_password};
pub use verify::{Verified, verify};

use crate::datadir::files::{self, FileError};
use crate::datadir::keyfile::KeyFileError;
use crate::datadir::{DataDirError, StoreArgs};

/// An engine error on the store of `args`, naming its database file.
pub(crate) fn engine_error(args: &StoreArgs, e: impl Into<strongroom_engine::Error>) -> OpsError {
    OpsError::Engine {
        path: args.database(),
        source: e.into(),
    }
}

/// Why an operator command failed. One line, naming the path.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// There is no database where one is needed.
    #[error("{}: no database here (is --data-dir right?)", path.display())]
    NoDatabase {
        /// The missing file.
        path: PathBuf,
    },
    /// The backup to restore from is not a file.
    #[error("{}: no backup file here (is --from right?)", path.display())]
    NoBackup {
        /// The missing file.
        path: PathBuf,
    },
    /// A running server holds the database.
    #[error(
        "{}: the database is in use (a running server holds it); stop the server first",
        path.display()
    )]
    InUse {
        /// The database file.
        path: PathBuf,
    },
    /// The target exists and would be overwritten.
    #[error("{}: already exists; refusing to overwrite it", path.display())]
    Exists {
        /// The existing path.
        path: PathBuf,
    },
    /// The store holds data and the command would add to it.
    #[error("{}: the store already holds data; pass --force to add to it", path.display())]
    NotEmpty {
        /// The database file.
        path: PathBuf,
    },
    /// The master key could not be loaded.
    #[error(transparent)]
    Key(#[from] KeyFileError),
    /// A file or directory is unusable.
    #[error(transparent)]
    Files(#[from] FileError),
    /// The database did not open (wrong key, newer schema, damage).
    #[error("{}: {source}", path.display())]
    Open {
        /// The database file.
        path: PathBuf,
        /// Why.
        source: strongroom_engine::OpenError,
    },
    /// A backup read a page of the store's file that is damaged.
    #[error(
        "{}: no backup written: the store's database file is damaged (redb: {redb})",
        to.display()
    )]
    BackupOfDamaged {
        /// The backup that was not written.
        to: PathBuf,
        /// How redb met the damage.
        redb: String,
    },
    /// Reading or writing the store failed.
    #[error("{}: {source}", path.display())]
    Storage {
        /// The file concerned.
        path: PathBuf,
        /// Why.
        source: strongroom_engine::StorageError,
    },
    /// An engine operation on the store failed.
    #[error("{}: {source}", path.display())]
    Engine {
        /// The database file.
        path: PathBuf,
        /// Why.
        source: strongroom_engine::Error,
    },
    /// A file operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file the command needed to write before changing anything could
    /// not be written; the store is as it was.
    #[error("{}: {source}; nothing was changed", path.display())]
    Unchanged {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The store was re-keyed but the data dir's key file still holds the
    /// old key.
    #[error(
        "{}: the store was re-keyed, but this file still holds the old key ({source}); \
         the store now opens only with the key in {}: copy that file here (mode 0600)",
        path.display(),
        new.display()
    )]
    KeyFileNotReplaced {
        /// The data dir's key file.
        path: PathBuf,
        /// The new key's file.
        new: PathBuf,
        /// Why it was not replaced.
        source: std::io::Error,
    },
    /// A checkpoint file is not one.
    #[error("{}: {reason}", path.display())]
    Checkpoint {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A snapshot to restore failed its integrity check.
    #[error("{}: the backup is damaged ({problems}); nothing was restored", path.display())]
    Damaged {
        /// The backup file.
        path: PathBuf,
        /// What the check found.
        problems: String,
    },
    /// A snapshot to restore holds an audit chain that does not verify.
    #[error(
        "{}: the backup's audit chain does not verify ({problems}); nothing was restored (pass --accept-audit-gap to restore it anyway and record the gap)",
        path.display()
    )]
    AuditBroken {
        /// The backup file.
        path: PathBuf,
        /// What verification found.
        problems: String,
    },
}

impl OpsError {
    /// Whether a disk was full: the one written to, or the database's.
    pub fn is_disk_full(&self) -> bool {
        match self {
            Self::Storage { source, .. } => matches!(source, StorageError::Full),
            Self::Engine { source, .. } => source.is_full(),
            Self::Io { source, .. } => StorageError::io_is_full(source),
            _ => false,
        }
    }
}

/// The master key for an existing store: from the named file, the
/// environment, or `DATA_DIR/master.key` — never created here.
pub fn master_key(args: &StoreArgs) -> Result<MasterKey, OpsError> {
    crate::datadir::existing_master_key(args).map_err(|e| data_dir_error(args, e))
}

/// A store that did not open, as an operator error: a lock another process
/// holds is reported as the store being in use.
pub(crate) fn data_dir_error(args: &StoreArgs, e: DataDirError) -> OpsError {
    match e {
        DataDirError::Files(f) => OpsError::Files(f),
        DataDirError::Key(k) => OpsError::Key(k),
        DataDirError::Database { path, source } => open_error(path, source),
        other => OpsError::Io {
            path: args.database(),
            source: std::io::Error::other(other.to_string()),
        },
    }
}

/// Opens the existing database of `args` (checked private), or says why
/// not; a PostgreSQL one with the master key given as `serve` takes it.
pub fn open_existing(args: &StoreArgs) -> Result<Engine, OpsError> {
    open_existing_as(args, false)
}

/// [`open_existing`] for a command that only reads the store (`verify`,
/// `audit`, the source of `migrate`): a database file this process
/// cannot write (on a read-only mount, say) is opened read-only, and so is
/// never written, where a writable open fails.
pub fn open_existing_to_read(args: &StoreArgs) -> Result<Engine, OpsError> {
    open_existing_as(args, true)
}

fn open_existing_as(args: &StoreArgs, only_reads: bool) -> Result<Engine, OpsError> {
    if args.database.is_some() {
        return args.open_or_create().map_err(|e| data_dir_error(args, e));
    }
    let path = args.database();
    if !path.exists() {
        return Err(OpsError::NoDatabase { path });
    }
    files::check_private(
        &args.data_dir,
        files::Kind::Dir,
        args.allow_insecure_permissions,
    )?;
    files::check_private(&path, files::Kind::File, args.allow_insecure_permissions)?;
    let key = master_key(args)?;
    if only_reads && rustix::fs::access(&path, rustix::fs::Access::WRITE_OK).is_err() {
        return Engine::builder(key)
            .open_read_only(&path)
            .map_err(|source| open_error(path, source));
    }
    open_file(&path, key)
}

/// Opens the engine on `path` with `key`, naming a lock held by another
/// process plainly.
pub(crate) fn open_file(path: &Path, key: MasterKey) -> Result<Engine, OpsError> {
    Engine::builder(key)
        .open(path)
        .map_err(|source| open_error(path.to_owned(), source))
}

/// A failed open as an operator error: a lock another process holds is
/// reported as the store being in use.
pub(crate) fn open_error(path: PathBuf, source: OpenError) -> OpsError {
    match source {
        OpenError::Storage(StorageError::InUse) => OpsError::InUse { path },
        source => OpsError::Open { path, source },
    }
}

/// Compacts the database of `args`: returns its size before and after.
pub fn compact(args: &StoreArgs) -> Result<(u64, u64), OpsError> {
    // Opening first checks the key and takes the lock: a running server
    // is reported as such, and a file that is not this store is refused.
    drop(open_existing(args)?);
    let path = args.database();
    strongroom_engine::maintenance::compact(&path).map_err(|source| match source {
        StorageError::InUse => OpsError::InUse { path: path.clone() },
        source => OpsError::Storage {
            path: path.clone(),
            source,
        },
    })
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::path::PathBuf;

    use strongroom_engine::StorageError;

    use super::OpsError;

    #[test]
    fn a_full_disk_is_told_apart_from_other_failures() {
        let path = PathBuf::from("/backups/b.redb");
        let storage = |source| OpsError::Storage {
            path: path.clone(),
            source,
        };
        let io = |kind| OpsError::Io {
            path: path.clone(),
            source: io::Error::new(kind, "write"),
        };
        assert!(storage(StorageError::Full).is_disk_full());
        assert!(io(io::ErrorKind::StorageFull).is_disk_full());
        assert!(io(io::ErrorKind::QuotaExceeded).is_disk_full());
        assert!(!storage(StorageError::InUse).is_disk_full());
        assert!(!io(io::ErrorKind::PermissionDenied).is_disk_full());
    }
}

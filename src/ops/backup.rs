//! Backups: a consistent snapshot from one read transaction into a new
//! file (still encrypted; the master key is not in it), and restoring one
//! into an empty data dir after checking the key and every envelope.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use strongroom_engine::audit::{Actor, AuditAction, AuditFilter, Origin};
use strongroom_engine::maintenance::BackupReport;
use strongroom_engine::{Engine, StorageError, Timestamp};

use super::{OpsError, master_key, open_existing, open_file};
use crate::datadir::{DATABASE_FILE, StoreArgs, files};

/// A backup written.
#[derive(Clone, Debug)]
pub struct BackupDone {
    /// The file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// What is in it.
    pub report: BackupReport,
}

impl std::fmt::Display for BackupDone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "backup written to {}: {} bytes, {} records, {} users",
            self.path.display(),
            self.bytes,
            self.report.records,
            self.report.users
        )
    }
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> OpsError + '_ {
    move |source| OpsError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Creates `path` (mode 0600) for a backup or a restore; refuses an
/// existing file.
fn create_backup_file(path: &Path) -> Result<File, OpsError> {
    files::create_new_private(path).map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            OpsError::Exists {
                path: path.to_owned(),
            }
        } else {
            io_error(path)(e)
        }
    })
}

/// Writes a backup of `engine` to the new file `to` (the running server's
/// online backup uses this too). A failed backup leaves no file behind.
pub fn backup_engine(engine: &Engine, to: &Path) -> Result<BackupDone, OpsError> {
    drop(create_backup_file(to)?);
    let written = engine
        .maintenance()
        .backup_to(to)
        .map_err(|source| match source {
            StorageError::Damaged(redb) => OpsError::BackupOfDamaged {
                to: to.to_owned(),
                redb,
            },
            source => OpsError::Storage {
                path: to.to_owned(),
                source,
            },
        });
    let report = match written {
        Ok(report) => report,
        Err(e) => {
            let _ = fs::remove_file(to);
            return Err(e);
        }
    };
    let bytes = fs::metadata(to).map_err(io_error(to))?.len();
    Ok(BackupDone {
        path: to.to_owned(),
        bytes,
        report,
    })
}

/// `strongroom backup`: the store of `args` (no server running) to `to`.
pub fn backup(args: &StoreArgs, to: &Path) -> Result<BackupDone, OpsError> {
    let engine = open_existing(args)?;
    backup_engine(&engine, to)
}

/// `strongroom restore`: `from` becomes the database of `args`, which must
/// not have one. The master key, every envelope and the audit chain of the
/// snapshot are checked on a private copy first; only a sound copy is
/// moved in place. A chain that does not verify (or that a schema
/// upgrade found broken) is refused unless `accept_audit_gap`, and then
/// the gap is recorded in the restored log.
pub fn restore(
    args: &StoreArgs,
    from: &Path,
    accept_audit_gap: bool,
) -> Result<BackupDone, OpsError> {
    if !from.is_file() {
        return Err(OpsError::NoBackup {
            path: from.to_owned(),
        });
    }
    if args.database.is_some() {
        return restore_into_database(args, from, accept_audit_gap);
    }
    let dest = args.database();
    if dest.exists() {
        return Err(OpsError::Exists { path: dest });
    }
    let key = master_key(args)?;
    let created_dir = files::create_private_dir(&args.data_dir)?;
    let staging = args.data_dir.join(format!("{DATABASE_FILE}.restoring"));
    let result = stage(from, &staging, key, accept_audit_gap);
    match result {
        Ok((engine, report)) => {
            drop(engine);
            fs::rename(&staging, &dest).map_err(io_error(&dest))?;
            if let Ok(dir) = File::open(&args.data_dir) {
                let _ = dir.sync_all();
            }
            let bytes = fs::metadata(&dest).map_err(io_error(&dest))?.len();
            Ok(BackupDone {
                path: dest,
                bytes,
                report,
            })
        }
        Err(e) => {
            let _ = fs::remove_file(&staging);
            if created_dir {
                let _ = fs::remove_dir(&args.data_dir);
            }
            Err(e)
        }
    }
}

/// `restore` into a PostgreSQL database: the snapshot is checked as for a
/// data dir on a private copy, and that copy is then copied into the
/// database, which must hold no store, in one transaction.
fn restore_into_database(
    args: &StoreArgs,
    from: &Path,
    accept_audit_gap: bool,
) -> Result<BackupDone, OpsError> {
    let key = master_key(args)?;
    let dir = std::env::temp_dir().join(format!(
        "strongroom-restore-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    files::create_private_dir(&dir)?;
    let restored = (|| {
        let (staged, report) = stage(from, &dir.join(DATABASE_FILE), key, accept_audit_gap)?;
        super::migrate::copy_into(&staged, master_key(args)?, args)?;
        Ok(BackupDone {
            path: args.database(),
            bytes: fs::metadata(from).map_err(io_error(from))?.len(),
            report,
        })
    })();
    let _ = fs::remove_dir_all(&dir);
    restored
}

/// Copies `from` to `staging` (0600) and checks it opens with `key` and is
/// sound, every envelope and the audit chain included; returns it open.
fn stage(
    from: &Path,
    staging: &Path,
    key: strongroom_engine::MasterKey,
    accept_audit_gap: bool,
) -> Result<(Engine, BackupReport), OpsError> {
    let _ = fs::remove_file(staging); // a leftover of an interrupted restore
    let mut target = create_backup_file(staging)?;
    let mut source = File::open(from).map_err(io_error(from))?;
    io::copy(&mut source, &mut target).map_err(io_error(staging))?;
    target.sync_all().map_err(io_error(staging))?;
    drop(target);
    let opened_at = strongroom_engine::Clock::now(&strongroom_engine::SystemClock);
    let engine = open_file(staging, key).map_err(|e| match e {
        OpsError::Open { source, .. } => OpsError::Open {
            path: from.to_owned(),
            source,
        },
        other => other,
    })?;
    let check = engine
        .maintenance()
        .check_integrity_deep()
        .map_err(|source| OpsError::Storage {
            path: from.to_owned(),
            source,
        })?;
    if !check.is_sound() {
        let problems: Vec<String> = check
            .problems
            .iter()
            .take(3)
            .map(ToString::to_string)
            .collect();
        return Err(OpsError::Damaged {
            path: from.to_owned(),
            problems: problems.join("; "),
        });
    }
    check_audit(&engine, from, opened_at, accept_audit_gap)?;
    let report = BackupReport {
        records: check.records,
        users: check.users,
        entries: 0,
    };
    Ok((engine, report))
}

/// Refuses a snapshot whose audit chain does not verify, or whose upgrade
/// on opening found it broken (an `audit.gap` entry written just now),
/// unless `accept`: then the gap is recorded as an operator's entry.
fn check_audit(
    engine: &Engine,
    from: &Path,
    opened_at: Timestamp,
    accept: bool,
) -> Result<(), OpsError> {
    let storage = |source| OpsError::Storage {
        path: from.to_owned(),
        source,
    };
    let audit = engine.audit();
    let report = audit.verify(None).map_err(storage)?;
    let gap = AuditFilter {
        action: Some(AuditAction::AuditGap),
        from: Some(opened_at),
        ..AuditFilter::default()
    };
    let upgraded_over_a_gap = !audit.page(&gap, 0, 1).map_err(storage)?.entries.is_empty();
    if report.is_ok() && !upgraded_over_a_gap {
        return Ok(());
    }
    if !accept {
        let mut problems: Vec<String> = report
            .problems
            .iter()
            .take(3)
            .map(ToString::to_string)
            .collect();
        if upgraded_over_a_gap {
            problems.push("the chain was already broken when this backup was upgraded".to_owned());
        }
        return Err(OpsError::AuditBroken {
            path: from.to_owned(),
            problems: problems.join("; "),
        });
    }
    let operator = Origin {
        actor: Some(Actor::Operator),
        address: None,
    };
    engine
        .acting(operator)
        .audit()
        .accept_gap()
        .map_err(storage)
}

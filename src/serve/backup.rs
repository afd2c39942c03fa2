//! Online backups: on SIGUSR1 (or an admin's `POST /v1/admin/backups`)
//! the running server writes a consistent
//! snapshot (one read transaction; writers keep going) to a new file in
//! its backup directory and logs where, how big and how many records.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use std::sync::Arc;

use strongroom_engine::Engine;
use strongroom_facade::{BackupDone, BackupFailed, BackupHook};
use tokio_util::sync::CancellationToken;

use crate::datadir::files;
use crate::ops::{self, backup_engine};

/// Writes a backup into `dir` on every SIGUSR1 until `stop`.
pub(crate) async fn on_signal(engine: Engine, dir: Private, stop: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut requests) = signal(SignalKind::user_defined1()) else {
            tracing::warn!("cannot watch SIGUSR1; online backups disabled");
            return;
        };
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                Some(()) = requests.recv() => {
                    let (engine, dir) = (engine.clone(), dir.clone());
                    let written = tokio::task::spawn_blocking(move || write(&engine, dir)).await;
                    match written {
                        Ok(Ok(done)) => tracing::info!(
                            path = %done.path.display(),
                            bytes = done.bytes,
                            records = done.report.records,
                            users = done.report.users,
                            "backup written"
                        ),
                        Ok(Err(e)) => tracing::error!(error = %e, "backup failed"),
                        Err(e) => tracing::error!(error = %e, "backup task failed"),
                    }
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (engine, dir, stop);
    }
}

/// What `POST /v1/admin/backups` calls: a backup into `dir`.
pub(crate) fn hook(dir: Private) -> BackupHook {
    BackupHook(Arc::new(move |engine: &Engine| {
        write(engine, dir.clone())
            .map(|done| BackupDone {
                path: done.path,
                bytes: done.bytes,
                records: done.report.records,
                users: done.report.users,
            })
            .map_err(|e| BackupFailed {
                message: e.to_string(),
                disk_full: e.is_disk_full(),
            })
    }))
}

/// The backup directory, and whether it may be one other users can read
/// (`--allow-insecure-permissions`; refused otherwise, like the data dir).
#[derive(Clone, Debug)]
pub(crate) struct Private {
    pub(crate) dir: PathBuf,
    pub(crate) allow_insecure: bool,
}

fn write(engine: &Engine, backups: Private) -> Result<ops::BackupDone, ops::OpsError> {
    let dir = backups.dir;
    files::check_private(&dir, files::Kind::Dir, backups.allow_insecure)?;
    files::create_private_dir(&dir)?;
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let path = dir.join(format!("strongroom-backup-{millis}.redb"));
    backup_engine(engine, &path)
}

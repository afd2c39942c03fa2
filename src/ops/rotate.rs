//! `strongroom rotate-master-key`: every wrapped data key re-made under a
//! new master key in one transaction. When the old key was the data dir's
//! generated `master.key`, that file is replaced by the new key too: written
//! beside it before the commit, moved over it after (if that last step
//! fails, the error says the new key file named on the command line is the
//! one to use).

use std::path::Path;
use std::time::{Duration, Instant};

use strongroom_engine::maintenance::{DataKeyProgress, RotateError};

use super::progress::Progress;
use super::{OpsError, engine_error, open_existing};
use crate::datadir::StoreArgs;
use crate::datadir::files::{self, Staged};
use crate::datadir::{KeySource, keyfile};

/// What a rotation did.
#[derive(Clone, Debug)]
pub struct Rotated {
    /// Data keys re-wrapped.
    pub data_keys: u64,
    /// How long the transaction took.
    pub took: Duration,
    /// Whether `DATA_DIR/master.key` now holds the new key.
    pub replaced_key_file: bool,
}

/// Rotates the master key of `args` to the key in `new_key_file`. When
/// the data dir's `master.key` is in use, the new one is written beside it
/// first: if that fails (a full disk) nothing was changed, and after the
/// commit only a rename is left to do.
pub fn rotate_master_key(args: &StoreArgs, new_key_file: &Path) -> Result<Rotated, OpsError> {
    files::check_private(
        new_key_file,
        files::Kind::File,
        args.allow_insecure_permissions,
    )?;
    // Read once: the key the store is re-keyed under is the text staged.
    let (new, text) = keyfile::load_with_text(new_key_file)?;
    let engine = open_existing(args)?;
    let dir_key = args.data_dir.join("master.key");
    let staged = match args.key {
        KeySource::DataDir => {
            let staged =
                Staged::write(&dir_key, text.as_bytes()).map_err(|source| OpsError::Unchanged {
                    path: dir_key.clone(),
                    source,
                })?;
            Some(staged)
        }
        _ => None,
    };
    drop(text);
    let started = Instant::now();
    let data_keys = engine.rotate_master_key(new).map_err(|e| match e {
        RotateError::Storage(source) => OpsError::Storage {
            path: args.database(),
            source,
        },
        other => OpsError::Io {
            path: args.database(),
            source: std::io::Error::other(other.to_string()),
        },
    })?;
    let took = started.elapsed();
    let replaced_key_file = match staged {
        Some(staged) => {
            staged
                .put(true)
                .map_err(|source| OpsError::KeyFileNotReplaced {
                    path: dir_key,
                    new: new_key_file.to_owned(),
                    source,
                })?;
            true
        }
        None => false,
    };
    Ok(Rotated {
        data_keys,
        took,
        replaced_key_file,
    })
}

/// `strongroom rotate-data-keys`: a new data key version for every scope,
/// then records older than `older_than` re-sealed under it in batches
/// (resumable: an interrupted run is continued by the next).
pub fn rotate_data_keys(
    args: &StoreArgs,
    older_than: Duration,
    batch: usize,
) -> Result<DataKeyProgress, OpsError> {
    let engine = open_existing(args)?;
    let mut progress: Option<Progress> = None;
    let mut shown = 0u64;
    let done = engine
        .maintenance()
        .rotate_data_keys(older_than, batch, |p| {
            let bar = progress.get_or_insert_with(|| Progress::new("records", p.total as usize));
            bar.advance((p.scanned - shown) as usize);
            shown = p.scanned;
        })
        .map_err(|e| engine_error(args, e))?;
    if let Some(bar) = progress {
        bar.finish();
    }
    Ok(done)
}

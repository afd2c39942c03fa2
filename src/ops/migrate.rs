//! `strongroom migrate`: a whole store copied from a data dir into
//! PostgreSQL or back (or between two of a kind) — accounts, keys,
//! records, tokens, API keys, shares, files, the audit chain and the event
//! logs, as one read snapshot of the source sees them and nothing
//! decrypted — into a target that holds no store, which is then verified
//! deep. How a store outgrows one machine.

use std::path::PathBuf;

use strongroom_engine::{CopyReport, Engine, MasterKey};

use super::verify::{Verified, verify_engine};
use super::{OpsError, master_key, open_error, open_existing_to_read};
use crate::datadir::{StoreArgs, files};

/// What a migration did.
#[derive(Debug)]
pub struct Migrated {
    /// What was copied.
    pub copied: CopyReport,
    /// The deep check of the target.
    pub verified: Verified,
    /// How messages name the target.
    pub target: PathBuf,
}

/// Copies the store of `from` into the empty store `to` names, then checks
/// the copy deep (every envelope opened, the audit chain verified).
pub fn migrate(from: &StoreArgs, to: &StoreArgs) -> Result<Migrated, OpsError> {
    let source = open_existing_to_read(from)?;
    let (target, copied) = copy_into(&source, master_key(from)?, to)?;
    drop(source);
    let verified = verify_engine(&target, &to.database(), true)?;
    Ok(Migrated {
        copied,
        verified,
        target: to.database(),
    })
}

/// Copies the open store `source` (made under `key`) into the store of
/// `to`, which must hold none: a new database file in its data dir (0600),
/// or the tables of its PostgreSQL database, which must be empty. Opens
/// and returns the copy.
pub(crate) fn copy_into(
    source: &Engine,
    key: MasterKey,
    to: &StoreArgs,
) -> Result<(Engine, CopyReport), OpsError> {
    let label = to.database();
    let mut builder = Engine::builder(key);
    match &to.database {
        Some(database) => {
            let url = database.url(&to.data_dir, to.allow_insecure_permissions)?;
            builder
                .open_copy_in_postgres(source, &url, database.connections)
                .map_err(|e| open_error(label, e))
        }
        None => {
            if label.exists() {
                return Err(OpsError::Exists { path: label });
            }
            files::create_private_dir(&to.data_dir)?;
            files::create_private_file(&label)?;
            let copied = builder
                .open_copy_in_file(source, &label)
                .map_err(|e| open_error(label.clone(), e));
            if copied.is_err() {
                let _ = std::fs::remove_file(&label);
            }
            copied
        }
    }
}

//! Operator work on a whole store ([`Maintenance`]): integrity checks, a
//! consistent backup from one read transaction, data-key rotation, the
//! maintenance lease of instances sharing a store, master-key rotation
//! ([`Engine::rotate_master_key`]) and compaction of a closed file.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::Timestamp;
use crate::crypto::keys::MasterKey;
use crate::domain;
use crate::domain::audit;
use crate::domain::integrity;
pub use crate::domain::integrity::{IntegrityProblem, IntegrityReport};
use crate::domain::{rekey, reseal};
use crate::error::{RecordError, StorageError};
pub use crate::handle::builder::DEFAULT_DEK_ROTATION;
use crate::handle::{Engine, handle};
use crate::model::audit::{Actor, AuditAction, AuditTarget};
pub use crate::schema::SCHEMA_VERSION;
use crate::schema::{META, MetaKey};
use crate::store::Store;

/// What a backup wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BackupReport {
    /// Records (messages and broadcasts) in the backup.
    pub records: u64,
    /// Users in the backup.
    pub users: u64,
    /// Entries copied, in all tables.
    pub entries: u64,
}

/// Where a data-key rotation is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DataKeyProgress {
    /// Records looked at so far (this run).
    pub scanned: u64,
    /// Records re-sealed under their scope's newest key so far (this run).
    pub resealed: u64,
    /// Records in the store.
    pub total: u64,
    /// Key scopes given a new data key version by this run (0 when it
    /// resumed one that was under way).
    pub scopes_rotated: u64,
    /// This run continued an interrupted rotation.
    pub resumed: bool,
    /// Files re-sealed (every segment, under keys derived from the newest
    /// data key) so far (this run).
    pub files_resealed: u64,
}

/// Why a master-key rotation did not happen. Nothing changed either way.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RotateError {
    /// Other handles on this engine are alive: rotate on the only one
    /// (they would keep wrapping new keys under the old master key).
    #[error("the engine has other handles; rotate the master key with no other user of it")]
    Shared,
    /// The new master key is the one the store is under already.
    #[error("the new master key is the one the store is under already: nothing to rotate")]
    SameKey,
    /// See [`StorageError`].
    #[error(transparent)]
    Storage(#[from] StorageError),
}

handle! {
    /// Operator work: [`Engine::maintenance`](crate::Engine::maintenance).
    Maintenance
}

impl Engine {
    /// Re-wraps every data key, the id root and the key check under `new`
    /// in one transaction (a crash leaves the old key valid), without
    /// touching a record's ciphertext; returns how many data keys. Consumes
    /// the engine, which must be the only handle: reopen it with `new`.
    ///
    /// ```
    /// # use strongroom_engine::{Engine, MasterKey, OpenError};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = std::env::temp_dir().join(format!("rotate-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// # let path = dir.join("db.redb");
    /// let (old, old_text) = MasterKey::generate();
    /// let engine = Engine::builder(old).open(&path)?;
    /// let (new, new_text) = MasterKey::generate();
    /// engine.rotate_master_key(MasterKey::from_base64(&new_text)?)?;
    /// assert!(Engine::builder(new).open(&path).is_ok());
    /// let refused = Engine::builder(MasterKey::from_base64(&old_text)?).open(&path);
    /// assert!(matches!(refused, Err(OpenError::WrongMasterKey)));
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn rotate_master_key(self, new: MasterKey) -> Result<u64, RotateError> {
        let note = self.note(
            Actor::Operator,
            AuditAction::RotateMasterKey,
            AuditTarget::None,
        );
        let now = self.now();
        let inner = Arc::try_unwrap(self.inner).map_err(|_| RotateError::Shared)?;
        let old = inner.keyring.master();
        // A check made by the old key opens under the new one only if they
        // are the same key.
        if new.verifies_key_check(&old.key_check()) {
            return Err(RotateError::SameKey);
        }
        let store: &dyn Store = &inner.store;
        let count = store.write_with(|tx| {
            let count = rekey::rotate(tx, old, &new)?;
            audit::append(tx, inner.keyring.audit_chain(), note, now)?;
            Ok::<_, StorageError>(count)
        })?;
        Ok(count)
    }
}

impl Maintenance<'_> {
    /// Claims, or keeps, the maintenance lease for `holder` until `ttl`
    /// from now; whether `holder` holds it. Instances sharing one store
    /// (PostgreSQL) run their reapers under it, so one purges at a time
    /// instead of all of them racing for the same rows; when the holder
    /// stops renewing, another takes over after `ttl`. On a store no other
    /// process writes, it is always held, without a write.
    pub fn claim_lease(&self, holder: u64, ttl: Duration) -> Result<bool, StorageError> {
        if !self.0.store().shared() {
            return Ok(true);
        }
        let now = self.0.clock().now();
        let until = now.saturating_add(ttl).as_unix_millis();
        self.0.store().write_with(|tx| {
            if let Some(lease) = META.get(tx, &MetaKey::MaintenanceLease)? {
                let field = |at: usize| {
                    lease
                        .get(at..at + 8)
                        .and_then(|b| b.try_into().ok())
                        .map(u64::from_be_bytes)
                };
                if let (Some(other), Some(expires)) = (field(0), field(8))
                    && other != holder
                    && expires > now.as_unix_millis()
                {
                    return Ok(false);
                }
            }
            let mut lease = holder.to_be_bytes().to_vec();
            lease.extend_from_slice(&until.to_be_bytes());
            META.insert(tx, &MetaKey::MaintenanceLease, &lease)?;
            Ok(true)
        })
    }

    /// Rotates data keys: every key scope (each user, and broadcasts) gets a
    /// fresh data key version, then every record created more than
    /// `older_than` ago that is sealed under an older version is sealed
    /// again under the newest, `batch` records per transaction, calling
    /// `progress` after each. Resumable: if a run is interrupted, the next
    /// call continues after the last committed batch (with the first run's
    /// cutoff) instead of starting new versions. Ids, positions and
    /// contents do not change; older versions stay (records newer than the
    /// cutoff may still use them). Then every file older than the cutoff
    /// whose keys derive from an older version is re-sealed whole, one file
    /// per transaction.
    pub fn rotate_data_keys(
        &self,
        older_than: Duration,
        batch: usize,
        mut progress: impl FnMut(&DataKeyProgress),
    ) -> Result<DataKeyProgress, RecordError> {
        let store = self.0.store();
        let keyring = &self.0.inner.keyring;
        let batch = batch.max(1);
        let mut state = DataKeyProgress {
            total: store.read_with(|tx| reseal::count(tx))?,
            ..DataKeyProgress::default()
        };
        let under_way = store.read_with(|tx| reseal::marker(tx))?;
        match under_way {
            Some(_) => state.resumed = true,
            None => {
                let cutoff = self.cutoff(older_than);
                let started = store.write_with(|tx| reseal::start(tx, keyring, cutoff));
                state.scopes_rotated = started.inspect_err(|_| keyring.forget_counters())?;
            }
        }
        loop {
            let (scanned, resealed) = store
                .write_with(|tx| reseal::step(tx, keyring, batch))
                .inspect_err(|_| keyring.forget_counters())?;
            state.scanned += scanned as u64;
            state.resealed += resealed as u64;
            progress(&state);
            if scanned < batch {
                break;
            }
        }
        // Files, one per transaction: each under keys derived from its
        // owner's newest data key, with a fresh salt and nonce prefix.
        let cutoff = self.cutoff(older_than);
        let mut after = None;
        while let Some((done, resealed)) =
            store.write_with(|tx| domain::files::reseal_next(tx, keyring, cutoff, after))?
        {
            after = Some(done);
            if resealed {
                state.files_resealed += 1;
                progress(&state);
            }
        }
        self.0.audit_operation(AuditAction::RotateDataKeys)?;
        Ok(state)
    }

    /// `older_than` before now.
    fn cutoff(&self, older_than: Duration) -> Timestamp {
        self.0.inner.clock.now().saturating_sub(older_than)
    }

    /// Writes a consistent copy of the whole store, as one read transaction
    /// sees it, to a new database file at `to` (an empty or absent file).
    /// It stays encrypted: records under their data keys, data keys wrapped
    /// under the master key (which is not in it). Writers are not blocked
    /// while it runs; a record acknowledged before the call is in it.
    pub fn backup_to(&self, to: &Path) -> Result<BackupReport, StorageError> {
        let copied = self.0.store().snapshot_to(to)?;
        self.0.audit_operation(AuditAction::Backup)?;
        let count = |table: &str| {
            copied
                .iter()
                .find(|(name, _)| name == table)
                .map_or(0, |(_, n)| *n)
        };
        Ok(BackupReport {
            records: count("records"),
            users: count("users"),
            entries: copied.iter().map(|(_, n)| n).sum(),
        })
    }
    /// How many expired records, tokens, share links and files wait for the
    /// reaper at `now`, each kind counted up to `cap` (a gauge for
    /// operators: it stays near zero while the reaper keeps up).
    pub fn expired_backlog(&self, now: Timestamp, cap: usize) -> Result<usize, StorageError> {
        self.0.store().read_with(|tx| {
            Ok(domain::records::expired(tx, now, cap)?
                + domain::tokens::expired(tx, now, cap)?
                + domain::shares::expired(tx, now, cap)?
                + domain::files::expired(tx, now, cap)?)
        })
    }

    /// Whether the store takes writes: commits an empty transaction.
    /// Blocks on a durable commit.
    pub fn check_writable(&self) -> Result<(), StorageError> {
        self.0.store().write_with(|_| Ok(()))
    }

    /// Checks that every record has exactly its expiry entry and a key ring,
    /// every token its expiry and session entries, and every user its name
    /// entry and current data key. Reads the whole store: O(size).
    pub fn check_integrity(&self) -> Result<IntegrityReport, StorageError> {
        let keyring = &self.0.inner.keyring;
        self.0
            .store()
            .read_with(|tx| integrity::check(tx, keyring, false))
    }

    /// [`Maintenance::check_integrity`], and also opens every record's
    /// envelope with its scope's keys (an operator's `verify --deep`).
    /// Plaintext is zeroized at once and never returned.
    pub fn check_integrity_deep(&self) -> Result<IntegrityReport, StorageError> {
        let keyring = &self.0.inner.keyring;
        self.0
            .store()
            .read_with(|tx| integrity::check(tx, keyring, true))
    }
}

/// Compacts the database file at `path` (which no process may hold open),
/// returning its size in bytes before and after. redb files grow under
/// put/expire churn until compacted.
pub fn compact(path: &Path) -> Result<(u64, u64), StorageError> {
    crate::store::redb::compact(path)
}

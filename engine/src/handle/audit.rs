//! [`Engine`] methods for the audit log: reading it, signed checkpoints,
//! verification, pruning, and entries for operator actions.

use std::time::Duration;

use crate::clock::Timestamp;
use crate::domain::audit::{self, Note};
use crate::error::StorageError;
use crate::handle::Engine;
use crate::model::audit::{
    Actor, AuditAction, AuditFilter, AuditPage, AuditReport, AuditTarget, Checkpoint,
};

/// Default time audit entries are kept: one year.
pub const DEFAULT_AUDIT_RETENTION: Duration = Duration::from_secs(365 * 24 * 3600);

impl Engine {
    /// Up to `limit` audit entries after sequence number `after` (0: from
    /// the start) that pass `filter`, oldest first.
    pub fn audit_log(
        &self,
        filter: &AuditFilter,
        after: u64,
        limit: usize,
    ) -> Result<AuditPage, StorageError> {
        self.store()
            .read_with(|tx| audit::page(tx, filter, after, limit.max(1)))
    }

    /// The chain head signed with the store's audit key, for a third party
    /// to keep.
    pub fn audit_checkpoint(&self) -> Result<Checkpoint, StorageError> {
        let key = self.inner.keyring.audit_key();
        let now = self.now();
        self.store().read_with(|tx| audit::checkpoint(tx, key, now))
    }

    /// The store's audit verifying key (Ed25519), which signs checkpoints.
    pub fn audit_public_key(&self) -> [u8; 32] {
        self.inner.keyring.audit_key().verifying_key().to_bytes()
    }

    /// Recomputes the audit chain and reports every modified, deleted,
    /// reordered or unreadable entry, and with a `checkpoint` whether the
    /// log still holds the entry it signed (truncation). Reads the whole
    /// log.
    pub fn verify_audit(
        &self,
        checkpoint: Option<&Checkpoint>,
    ) -> Result<AuditReport, StorageError> {
        let key = self.inner.keyring.audit_key();
        self.store()
            .read_with(|tx| audit::verify(tx, key, checkpoint))
    }

    /// Deletes up to `limit` audit entries older than the retention (see
    /// [`EngineBuilder::audit_retention`](crate::EngineBuilder::audit_retention))
    /// at `now`, leaving a signed anchor so the rest still verifies.
    pub fn prune_audit(&self, now: Timestamp, limit: usize) -> Result<usize, StorageError> {
        let key = self.inner.keyring.audit_key();
        let before = Timestamp::from_unix_millis(
            now.as_unix_millis()
                .saturating_sub(self.inner.audit_retention.as_millis() as u64),
        );
        self.store()
            .write_with(|tx| audit::prune(tx, key, before, limit, now))
    }

    /// Records an operator action that is not itself a database write
    /// (a backup) or spans many transactions (a data-key rotation).
    pub(crate) fn audit_operation(&self, action: AuditAction) -> Result<(), StorageError> {
        let note: Note = self.note(Actor::Operator, action, AuditTarget::None);
        self.store().write_with(|tx| self.audit(tx, note))
    }

    /// Test-only: changes the stored audit log behind the chain's back.
    #[cfg(feature = "testing")]
    pub fn tamper_audit(&self, tamper: crate::testing::AuditTamper) -> Result<(), StorageError> {
        use crate::schema::AUDIT;
        use crate::testing::AuditTamper;
        self.store().write_with(|tx| {
            match tamper {
                AuditTamper::Modify(seq) => {
                    let mut entry = AUDIT.get(tx, &seq)?.ok_or_else(|| AUDIT.corrupt())?;
                    entry.outcome = match entry.outcome {
                        crate::AuditOutcome::Success => crate::AuditOutcome::Denied,
                        crate::AuditOutcome::Denied => crate::AuditOutcome::Success,
                    };
                    AUDIT.insert(tx, &seq, &entry)?;
                }
                AuditTamper::Delete(seq) => {
                    AUDIT.delete(tx, &seq)?;
                }
                AuditTamper::Swap(a, b) => {
                    let ea = AUDIT.get(tx, &a)?.ok_or_else(|| AUDIT.corrupt())?;
                    let eb = AUDIT.get(tx, &b)?.ok_or_else(|| AUDIT.corrupt())?;
                    AUDIT.insert(tx, &a, &eb)?;
                    AUDIT.insert(tx, &b, &ea)?;
                }
                AuditTamper::Truncate(from) => {
                    for seq in AUDIT.keys(tx, from.., usize::MAX)? {
                        AUDIT.delete(tx, &seq)?;
                    }
                }
            }
            Ok(())
        })
    }
}

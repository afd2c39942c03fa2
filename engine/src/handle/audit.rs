//! The audit log ([`Audit`]): append-only, hash-chained, written in the
//! transaction of the action it records; pages of it, Ed25519-signed
//! checkpoints of its head, verification and pruning behind a signed
//! anchor.

use std::time::Duration;

use crate::clock::Timestamp;
use crate::domain::audit;
use crate::error::StorageError;
use crate::handle::handle;
pub use crate::model::audit::{
    Actor, AuditAction, AuditEntry, AuditFilter, AuditOutcome, AuditPage, AuditProblem,
    AuditReport, AuditTarget, Checkpoint, Origin,
};

/// Default time audit entries are kept: one year.
pub const DEFAULT_AUDIT_RETENTION: Duration = Duration::from_secs(365 * 24 * 3600);

handle! {
    /// The audit log: [`Engine::audit`](crate::Engine::audit).
    Audit
}

impl Audit<'_> {
    /// Up to `limit` audit entries after sequence number `after` (0: from
    /// the start) that pass `filter`, oldest first.
    pub fn page(
        &self,
        filter: &AuditFilter,
        after: u64,
        limit: usize,
    ) -> Result<AuditPage, StorageError> {
        self.0
            .store()
            .read_with(|tx| audit::page(tx, filter, after, limit.max(1)))
    }

    /// The chain head signed with the store's audit key, for a third party
    /// to keep.
    pub fn checkpoint(&self) -> Result<Checkpoint, StorageError> {
        let key = self.0.inner.keyring.audit_key();
        let now = self.0.now();
        self.0
            .store()
            .read_with(|tx| audit::checkpoint(tx, key, now))
    }

    /// The store's audit verifying key (Ed25519), which signs checkpoints.
    pub fn public_key(&self) -> [u8; 32] {
        self.0.inner.keyring.audit_key().verifying_key().to_bytes()
    }

    /// Recomputes the audit chain and reports every modified, deleted,
    /// reordered or unreadable entry, and with a `checkpoint` whether the
    /// log still holds the entry it signed (truncation). Reads the whole
    /// log.
    pub fn verify(&self, checkpoint: Option<&Checkpoint>) -> Result<AuditReport, StorageError> {
        let keyring = &self.0.inner.keyring;
        let (key, chain) = (keyring.audit_key(), keyring.audit_chain());
        self.0
            .store()
            .read_with(|tx| audit::verify(tx, key, chain, checkpoint))
    }

    /// Accepts a log that does not verify (say, a restored backup whose
    /// chain someone edited): in one transaction, re-links every entry
    /// under this store's chain key and appends a denied `audit.gap` entry
    /// by this handle's actor, which marks from where the log is trusted
    /// again. The log verifies afterwards; checkpoints signed before no
    /// longer match it. Audited, privileged: only for an operator.
    pub fn accept_gap(&self) -> Result<(), StorageError> {
        let engine = self.0;
        let chain = engine.inner.keyring.audit_chain();
        let note = engine
            .note(Actor::Operator, AuditAction::AuditGap, AuditTarget::None)
            .denied();
        engine.store().write_with(|tx| {
            audit::relink(tx, chain)?;
            engine.audit_in(tx, note)
        })
    }

    /// Deletes up to `limit` audit entries older than the retention (see
    /// [`EngineBuilder::audit_retention`](crate::EngineBuilder::audit_retention))
    /// at `now`, leaving a signed anchor so the rest still verifies.
    pub fn prune(&self, now: Timestamp, limit: usize) -> Result<usize, StorageError> {
        let key = self.0.inner.keyring.audit_key();
        let before = now.saturating_sub(self.0.inner.audit_retention);
        self.0
            .store()
            .write_with(|tx| audit::prune(tx, key, before, limit, now))
    }

    /// Records that this handle's actor was refused `action` on `target`
    /// (a request the caller's credential does not allow), as a denied
    /// entry. One durable write: an API bounds how often a caller can
    /// cause one.
    pub fn record_denied(
        &self,
        action: AuditAction,
        target: AuditTarget,
    ) -> Result<(), StorageError> {
        let engine = self.0;
        let note = engine.note(Actor::Anonymous, action, target).denied();
        engine.store().write_with(|tx| engine.audit_in(tx, note))
    }
}

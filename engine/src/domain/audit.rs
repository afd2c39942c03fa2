//! The audit log: an append-only, hash-chained table written in the
//! transaction of the action it records, so the two commit or vanish
//! together. Each entry's hash is an HMAC under the store's chain key over
//! the previous one's hash and the entry, so nobody without the master key
//! can re-chain the log after changing it; the head is the newest entry
//! (after pruning, the signed anchor). Checkpoints sign a head with the
//! store's Ed25519 key; pruning old entries leaves a signed anchor where
//! the remaining chain starts.

use ed25519_dalek::{Signer, SigningKey};

use crate::clock::Timestamp;
use crate::crypto::audit_chain::ChainKey;
use crate::error::StorageError;
use crate::model::audit::{
    Actor, AuditAction, AuditEntry, AuditFilter, AuditOutcome, AuditPage, AuditProblem,
    AuditReport, AuditTarget, Checkpoint, Origin,
};
use crate::schema::{AUDIT, META, MetaKey, audit_canonical, legacy_chain_hash};
use crate::store::{Flow, Order, ReadTx, WriteTx};

/// What an action adds to the log (the chain fills in the rest).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Note {
    pub(crate) actor: Actor,
    pub(crate) action: AuditAction,
    pub(crate) target: AuditTarget,
    pub(crate) outcome: AuditOutcome,
    pub(crate) address: Option<std::net::IpAddr>,
}

impl Note {
    /// A successful `action` on `target` by `origin`'s actor, or by
    /// `default` when the origin names none or only an anonymous caller
    /// (the operation may know better: a refresh token names its owner).
    pub(crate) fn new(
        origin: Origin,
        default: Actor,
        action: AuditAction,
        target: AuditTarget,
    ) -> Self {
        Self {
            actor: match origin.actor {
                None | Some(Actor::Anonymous) => default,
                Some(actor) => actor,
            },
            action,
            target,
            outcome: AuditOutcome::Success,
            address: origin.address,
        }
    }

    /// The same note, refused.
    pub(crate) fn denied(self) -> Self {
        Self {
            outcome: AuditOutcome::Denied,
            ..self
        }
    }
}

const GENESIS: (u64, [u8; 32]) = (0, [0; 32]);

/// The last entry's sequence number and hash: the newest entry, else the
/// pruning anchor, else zeros.
fn head(tx: &(impl ReadTx + ?Sized)) -> Result<(u64, [u8; 32]), StorageError> {
    let mut last = None;
    AUDIT.scan(tx, .., Order::Descending, |seq, entry| {
        last = Some((seq, entry.hash));
        Ok::<_, StorageError>(Flow::Stop)
    })?;
    match last {
        Some(head) => Ok(head),
        None => Ok(anchor(tx)?.map_or(GENESIS, |a| (a.seq, a.hash))),
    }
}

/// Appends `note` at `now`, chained under `key`; returns the entry
/// written.
pub(crate) fn append(
    tx: &mut dyn WriteTx,
    key: &ChainKey,
    note: Note,
    now: Timestamp,
) -> Result<AuditEntry, StorageError> {
    let (seq, prev_hash) = head(tx)?;
    let mut entry = AuditEntry {
        seq: seq + 1,
        time: now,
        actor: note.actor,
        action: note.action,
        target: note.target,
        outcome: note.outcome,
        address: note.address,
        prev_hash,
        hash: [0; 32],
    };
    entry.hash = key.link(&prev_hash, &audit_canonical(&entry));
    AUDIT.insert(tx, &entry.seq, &entry)?;
    Ok(entry)
}

/// Up to `limit` entries after `after` that pass `filter`, oldest first.
pub(crate) fn page(
    tx: &dyn ReadTx,
    filter: &AuditFilter,
    after: u64,
    limit: usize,
) -> Result<AuditPage, StorageError> {
    let mut entries = Vec::new();
    let mut more = false;
    AUDIT.scan(
        tx,
        after.saturating_add(1)..,
        Order::Ascending,
        |_, entry| {
            if filter.until.is_some_and(|until| entry.time >= until) {
                return Ok::<_, StorageError>(Flow::Stop);
            }
            if !passes(filter, &entry) {
                return Ok(Flow::Continue);
            }
            if entries.len() == limit {
                more = true;
                return Ok(Flow::Stop);
            }
            entries.push(entry);
            Ok(Flow::Continue)
        },
    )?;
    let next = if more {
        entries.last().map(|e| e.seq)
    } else {
        None
    };
    Ok(AuditPage { entries, next })
}

fn passes(filter: &AuditFilter, entry: &AuditEntry) -> bool {
    filter.actor.is_none_or(|a| entry.actor.user() == Some(a))
        && filter.action.is_none_or(|a| entry.action == a)
        && filter.from.is_none_or(|from| entry.time >= from)
}

/// The head signed with `key` at `now`.
pub(crate) fn checkpoint(
    tx: &dyn ReadTx,
    key: &SigningKey,
    now: Timestamp,
) -> Result<Checkpoint, StorageError> {
    let (seq, hash) = head(tx)?;
    Ok(sign(key, seq, hash, now))
}

fn sign(key: &SigningKey, seq: u64, hash: [u8; 32], time: Timestamp) -> Checkpoint {
    let signature = key.sign(&Checkpoint::signed_bytes(seq, &hash, time));
    Checkpoint {
        seq,
        hash,
        time,
        public_key: key.verifying_key().to_bytes(),
        signature: signature.to_bytes(),
    }
}

/// The signed anchor pruning left, if any.
fn anchor(tx: &(impl ReadTx + ?Sized)) -> Result<Option<Checkpoint>, StorageError> {
    let Some(bytes) = META.get(tx, &MetaKey::AuditAnchor)? else {
        return Ok(None);
    };
    decode_checkpoint(&bytes)
        .map(Some)
        .ok_or_else(|| META.corrupt())
}

fn encode_checkpoint(c: &Checkpoint) -> Vec<u8> {
    let mut out = c.seq.to_be_bytes().to_vec();
    out.extend_from_slice(&c.hash);
    out.extend_from_slice(&c.time.as_unix_millis().to_be_bytes());
    out.extend_from_slice(&c.public_key);
    out.extend_from_slice(&c.signature);
    out
}

fn decode_checkpoint(bytes: &[u8]) -> Option<Checkpoint> {
    let (seq, rest) = bytes.split_first_chunk::<8>()?;
    let (hash, rest) = rest.split_first_chunk::<32>()?;
    let (time, rest) = rest.split_first_chunk::<8>()?;
    let (public_key, signature) = rest.split_first_chunk::<32>()?;
    Some(Checkpoint {
        seq: u64::from_be_bytes(*seq),
        hash: *hash,
        time: Timestamp::from_unix_millis(u64::from_be_bytes(*time)),
        public_key: *public_key,
        signature: signature.try_into().ok()?,
    })
}

/// Deletes up to `limit` of the oldest entries written before `before`
/// and signs an anchor at the last one deleted; returns how many went.
pub(crate) fn prune(
    tx: &mut dyn WriteTx,
    key: &SigningKey,
    before: Timestamp,
    limit: usize,
    now: Timestamp,
) -> Result<usize, StorageError> {
    let mut due = Vec::new();
    AUDIT.scan(tx, .., Order::Ascending, |seq, entry| {
        if entry.time >= before || due.len() == limit {
            return Ok::<_, StorageError>(Flow::Stop);
        }
        due.push((seq, entry.hash));
        Ok(Flow::Continue)
    })?;
    let Some(&(last, hash)) = due.last() else {
        return Ok(0);
    };
    for (seq, _) in &due {
        AUDIT.delete(tx, seq)?;
    }
    let anchor = sign(key, last, hash, now);
    META.insert(tx, &MetaKey::AuditAnchor, &encode_checkpoint(&anchor))?;
    Ok(due.len())
}

/// Recomputes the chain (under `chain`) from the anchor (or the start) to
/// the head, and checks it against `checkpoint` if one is given. `key` is
/// the store's signing key.
pub(crate) fn verify(
    tx: &dyn ReadTx,
    key: &SigningKey,
    chain: &ChainKey,
    checkpoint: Option<&Checkpoint>,
) -> Result<AuditReport, StorageError> {
    verify_with(
        tx,
        key,
        |prev, canonical| chain.link(prev, canonical),
        checkpoint,
    )
}

/// [`verify`] with the chain's hash function given.
fn verify_with(
    tx: &dyn ReadTx,
    key: &SigningKey,
    link: impl Fn(&[u8; 32], &[u8]) -> [u8; 32],
    checkpoint: Option<&Checkpoint>,
) -> Result<AuditReport, StorageError> {
    let ours = key.verifying_key().to_bytes();
    let mut report = AuditReport::default();
    let mut expected = GENESIS;
    if let Some(anchor) = anchor(tx)? {
        if !anchor.signature_valid() || anchor.public_key != ours {
            report.problems.push(AuditProblem::BadAnchor);
        }
        expected = (anchor.seq, anchor.hash);
        report.pruned_through = anchor.seq;
    }
    let mut at_checkpoint = None;
    if checkpoint.is_some_and(|c| c.seq == expected.0 && expected.0 > 0) {
        at_checkpoint = Some(expected.1);
    }
    AUDIT.scan_bytes(tx, .., Order::Ascending, |seq, bytes| {
        let Some(entry) = <AuditEntry as crate::schema::Row>::decode(bytes) else {
            report.problems.push(AuditProblem::Unreadable { seq });
            return Ok::<_, StorageError>(Flow::Continue);
        };
        report.entries += 1;
        if entry.seq != seq || entry.seq != expected.0 + 1 || entry.prev_hash != expected.1 {
            report.problems.push(AuditProblem::BrokenLink { seq });
        }
        if link(&entry.prev_hash, &audit_canonical(&entry)) != entry.hash {
            report.problems.push(AuditProblem::Modified { seq });
        }
        if checkpoint.is_some_and(|c| c.seq == seq) {
            at_checkpoint = Some(entry.hash);
        }
        expected = (seq, entry.hash);
        Ok(Flow::Continue)
    })?;
    report.head = (expected.0 > 0).then_some(expected);
    if let Some(c) = checkpoint {
        if !c.signature_valid() || c.public_key != ours {
            report.problems.push(AuditProblem::BadCheckpoint);
        } else if c.seq > expected.0 {
            report.problems.push(AuditProblem::Truncated {
                checkpoint: c.seq,
                head: expected.0,
            });
        } else if c.seq >= report.pruned_through && c.seq > 0 && at_checkpoint != Some(c.hash) {
            report
                .problems
                .push(AuditProblem::CheckpointMismatch { seq: c.seq });
        }
    }
    Ok(report)
}

/// Moves a chain of schema 6 or earlier (plain SHA-256 links) to the keyed
/// chain: verifies it as it was, then re-links every entry under `chain`
/// from the anchor (or the start) on, in this transaction. Returns the old
/// chain's report: when it did not verify, the caller records the gap (the
/// re-chained log would otherwise hide the damage).
pub(crate) fn rechain(
    tx: &mut dyn WriteTx,
    key: &SigningKey,
    chain: &ChainKey,
) -> Result<AuditReport, StorageError> {
    let before = verify_with(tx, key, legacy_chain_hash, None)?;
    relink(tx, chain)?;
    Ok(before)
}

/// Links every entry to the one before it under `chain`, whatever the
/// stored hashes were: the log verifies afterwards, edits included. Only
/// for a log whose breaks are recorded by an `audit.gap` entry.
pub(crate) fn relink(tx: &mut dyn WriteTx, chain: &ChainKey) -> Result<(), StorageError> {
    let mut prev = anchor(tx)?.map_or(GENESIS.1, |a| a.hash);
    let mut entries = Vec::new();
    AUDIT.scan_bytes(tx, .., Order::Ascending, |_, bytes| {
        // An unreadable row stays as it is: verification will name it.
        if let Some(entry) = <AuditEntry as crate::schema::Row>::decode(bytes) {
            entries.push(entry);
        }
        Ok::<_, StorageError>(Flow::Continue)
    })?;
    for mut entry in entries {
        entry.prev_hash = prev;
        entry.hash = chain.link(&prev, &audit_canonical(&entry));
        prev = entry.hash;
        AUDIT.insert(tx, &entry.seq, &entry)?;
    }
    Ok(())
}

//! Records: sealing into a scope's log, reading, listing, deleting, and the
//! expiry reaper. Every function works on a transaction and the keyring.

use std::ops::Bound;
use std::time::Duration;

use crate::clock::Timestamp;
use crate::crypto::secret_bytes::SecretBytes;
use crate::domain::audit::{self, Note};
use crate::domain::quotas;
use crate::error::{RecordError, StorageError};
use crate::ids::{KeyScope, RecordId, RecordKey, UserId};
use crate::keyring::Keyring;
use crate::keyring::opening::ScopeReader;
use crate::model::access::Quota;
use crate::model::audit::{Actor, AuditAction, AuditTarget, Origin};
use crate::model::{Event, Limits, Page, Receipt, Record, RecordKind};
use crate::schema::{self, RECORD_EXPIRY, RECORDS, RecordRef, RecordRow, Refunds, USERS, UserRef};
use crate::store::{Flow, Order, ReadTx, WriteTx};

/// A notice stored in a transaction, to announce once it commits: its
/// receipt, log position and plaintext.
pub(crate) type Announced = (Receipt, u64, SecretBytes);

/// The event a committed notice becomes, for the listeners.
pub(crate) fn event((receipt, position, plaintext): Announced) -> Event {
    Event {
        scope: receipt.scope,
        meta: receipt.meta,
        plaintext,
        position,
    }
}

/// A record waiting to be written.
pub(crate) struct NewRecord {
    pub(crate) sender: UserId,
    pub(crate) scope: KeyScope,
    pub(crate) plaintext: SecretBytes,
    pub(crate) ttl: Duration,
    /// Who asked, for the audit log.
    pub(crate) origin: Origin,
    /// A message, or a file's notice (audited with its file).
    pub(crate) kind: RecordKind,
}

impl NewRecord {
    /// Checks size and ttl against `limits` (the default ttl fills in).
    pub(crate) fn new(
        limits: &Limits,
        origin: Origin,
        sender: UserId,
        scope: KeyScope,
        plaintext: &[u8],
        ttl: Option<Duration>,
    ) -> Result<Self, RecordError> {
        let ttl = limits.check_record(plaintext.len(), ttl)?;
        Ok(Self {
            sender,
            scope,
            plaintext: SecretBytes::copy(plaintext),
            ttl,
            origin,
            kind: RecordKind::Message,
        })
    }
}

/// Seals and stores `record` with its expiry entry, at the next position
/// of its scope's log, charges it to its sender and writes its audit
/// entry; returns its receipt and position. `UnknownUser` if the sender or
/// the scope does not exist, `QuotaExceeded` if the sender's quota (theirs,
/// else `default_quota`) would be passed; either way nothing is written.
pub(crate) fn store(
    tx: &mut dyn WriteTx,
    keyring: &Keyring,
    now: Timestamp,
    record: &NewRecord,
    default_quota: Option<Quota>,
) -> Result<(Receipt, u64), RecordError> {
    let sender_name = USERS
        .get_part(tx, &record.sender, UserRef::username_of)?
        .ok_or(RecordError::UnknownUser)?;
    let scope = record.scope;
    let bytes = (crate::crypto::envelope::MIN_LEN + record.plaintext.len()) as u64;
    // A credits notice is the engine's own word: counted, never refused.
    if record.kind != RecordKind::Credits
        && let Some(e) = quotas::exceeded(tx, record.sender, default_quota, bytes)?
    {
        return Err(RecordError::QuotaExceeded {
            what: e.what,
            used: e.used,
            limit: e.limit,
        });
    }
    let sealing = keyring.stage(tx, scope)?.ok_or(RecordError::UnknownUser)?;
    let key = RecordKey::for_position(sealing.position);
    let row = RecordRow {
        kind: record.kind,
        sender: record.sender,
        sender_name: Some(sender_name),
        created_at: now,
        expires_at: now.saturating_add(record.ttl),
        envelope: sealing.seal(scope, key, &record.plaintext),
    };
    RECORDS.insert(tx, &(scope, key), &row)?;
    RECORD_EXPIRY.insert(tx, &(row.expires_at, scope, key), &())?;
    schema::charge(tx, record.sender, row.envelope.len() as u64)?;
    let meta = row.as_ref().meta(keyring.record_id(scope, key));
    let (action, target) = match scope {
        KeyScope::User(owner) => (
            AuditAction::SendMessage,
            AuditTarget::Message { owner, id: meta.id },
        ),
        KeyScope::Broadcast => (AuditAction::Broadcast, AuditTarget::Broadcast(meta.id)),
    };
    if record.kind == RecordKind::Message {
        let actor = Actor::User(record.sender);
        let note = Note::new(record.origin, actor, action, target);
        audit::append(tx, keyring.audit_chain(), note, now)?;
    }
    let receipt = Receipt {
        scope,
        meta,
        envelope: row.envelope,
    };
    Ok((receipt, sealing.position))
}

/// The unexpired record `id` of `owner`; `NotFound` if absent, expired, or
/// someone else's.
pub(crate) fn get(
    tx: &dyn ReadTx,
    keyring: &Keyring,
    owner: UserId,
    id: RecordId,
    now: Timestamp,
) -> Result<Record, RecordError> {
    let scope = KeyScope::User(owner);
    let key = keyring.record_key(scope, id).ok_or(RecordError::NotFound)?;
    RECORDS
        .get_bytes(tx, &(scope, key), |bytes| {
            let row = RecordRef::decode(bytes).ok_or_else(|| RECORDS.corrupt())?;
            if now >= row.expires_at || row.kind != RecordKind::Message {
                return Err(RecordError::NotFound);
            }
            Ok(Record {
                owner,
                plaintext: keyring.open_record(tx, scope, key, row)?,
                // The id the caller sent is the record's public id: it decoded
                // to this key for this owner.
                meta: row.meta(id),
            })
        })?
        .unwrap_or(Err(RecordError::NotFound))
}

/// Up to `limit` unexpired records of `owner`, newest first, after
/// `cursor` (the previous page's `next_cursor`).
pub(crate) fn list(
    tx: &dyn ReadTx,
    keyring: &Keyring,
    owner: UserId,
    cursor: Option<RecordId>,
    limit: usize,
    now: Timestamp,
) -> Result<Page, RecordError> {
    let scope = KeyScope::User(owner);
    let low = Bound::Included((scope, RecordKey::from_u128(0)));
    let high = match cursor {
        None => Bound::Included((scope, RecordKey::from_u128(u128::MAX))),
        Some(c) => Bound::Excluded((
            scope,
            keyring
                .record_key(scope, c)
                .ok_or(RecordError::InvalidCursor)?,
        )),
    };
    let mut reader = ScopeReader::new(keyring, tx, scope, limit);
    let mut more = false;
    // The page, and one record more to tell whether another page follows.
    let expect = Some(limit.saturating_add(1));
    RECORDS.scan_page_bytes(
        tx,
        (low, high),
        Order::Descending,
        expect,
        |(_, key), bytes| {
            let row = RecordRef::decode(bytes).ok_or_else(|| RECORDS.corrupt())?;
            if now >= row.expires_at || row.kind != RecordKind::Message {
                return Ok(Flow::Continue);
            }
            if reader.len() == limit {
                more = true;
                return Ok(Flow::Stop);
            }
            reader.open(key, row)?;
            Ok::<_, RecordError>(Flow::Continue)
        },
    )?;
    let records: Vec<Record> = reader.finish(|o| Record {
        owner,
        meta: o.meta,
        plaintext: o.plaintext,
    });
    let next_cursor = more.then(|| records.last().map(|r| r.meta.id)).flatten();
    Ok(Page {
        records,
        next_cursor,
    })
}

/// Deletes record `id` of `owner` with its expiry entry; `NotFound` as for
/// [`get`] (an expired record is removed all the same).
pub(crate) fn delete(
    tx: &mut dyn WriteTx,
    keyring: &Keyring,
    owner: UserId,
    id: RecordId,
    now: Timestamp,
) -> Result<bool, RecordError> {
    let scope = KeyScope::User(owner);
    let key = keyring.record_key(scope, id).ok_or(RecordError::NotFound)?;
    let is_message = RECORDS.get_bytes(tx, &(scope, key), |bytes| {
        RecordRef::decode(bytes).map(|row| row.kind == RecordKind::Message)
    })?;
    if is_message != Some(Some(true)) {
        return Err(RecordError::NotFound);
    }
    let mut refunds = Refunds::default();
    let expires_at = remove(tx, scope, key, &mut refunds)?.ok_or(RecordError::NotFound)?;
    RECORD_EXPIRY.remove(tx, &(expires_at, scope, key))?;
    refunds.pay(tx)?;
    Ok(now < expires_at)
}

/// Removes a record, noting the refund its sender is owed; its expiry.
fn remove(
    tx: &mut dyn WriteTx,
    scope: KeyScope,
    key: RecordKey,
    refunds: &mut Refunds,
) -> Result<Option<Timestamp>, StorageError> {
    let Some(bytes) = RECORDS.take_bytes(tx, &(scope, key))? else {
        return Ok(None);
    };
    let row = RecordRef::decode(&bytes).ok_or_else(|| RECORDS.corrupt())?;
    refunds.add(row.sender, row.envelope.len() as u64);
    Ok(Some(row.expires_at))
}

/// Deletes up to `limit` records that expired at or before `now`, oldest
/// first; returns how many went. Its cost grows with the number purged,
/// not with the size of the store.
pub(crate) fn purge_expired(
    tx: &mut dyn WriteTx,
    now: Timestamp,
    limit: usize,
) -> Result<usize, StorageError> {
    let end = (
        now,
        KeyScope::from_u128(u128::MAX),
        RecordKey::from_u128(u128::MAX),
    );
    let due = RECORD_EXPIRY.keys(tx, ..=end, limit)?;
    let mut refunds = Refunds::default();
    for &(expires, scope, key) in &due {
        RECORD_EXPIRY.delete(tx, &(expires, scope, key))?;
        remove(tx, scope, key, &mut refunds)?;
    }
    refunds.pay(tx)?;
    Ok(due.len())
}

/// How many records expired at or before `now` wait to be purged, counted
/// up to `cap`.
pub(crate) fn expired(tx: &dyn ReadTx, now: Timestamp, cap: usize) -> Result<usize, StorageError> {
    let end = (
        now,
        KeyScope::from_u128(u128::MAX),
        RecordKey::from_u128(u128::MAX),
    );
    Ok(RECORD_EXPIRY.keys(tx, ..=end, cap)?.len())
}

/// Deletes every record of `scope` with its expiry entries.
pub(crate) fn delete_scope(tx: &mut dyn WriteTx, scope: KeyScope) -> Result<(), StorageError> {
    let range = (scope, RecordKey::from_u128(0))..=(scope, RecordKey::from_u128(u128::MAX));
    let mut doomed = Vec::new();
    RECORDS.scan_bytes(tx, range, Order::Ascending, |(_, key), bytes| {
        let row = RecordRef::decode(bytes).ok_or_else(|| RECORDS.corrupt())?;
        doomed.push((key, row.expires_at));
        Ok::<_, StorageError>(Flow::Continue)
    })?;
    let mut refunds = Refunds::default();
    for (key, expires) in doomed {
        remove(tx, scope, key, &mut refunds)?;
        RECORD_EXPIRY.delete(tx, &(expires, scope, key))?;
    }
    refunds.pay(tx)?;
    Ok(())
}

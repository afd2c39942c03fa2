//! Files: uploads that arrive in bounded batches of sealed segments, each
//! batch one transaction, and become a file in the transaction that stores
//! the last segment and the sealed metadata. Until then the row is marked
//! uploading and carries a lease in the expiry index: an upload that stops
//! (a dropped connection, a crash) is removed by the reaper once its lease
//! passes, or at once when its uploader aborts it.
//!
//! The sender pays: one item when the upload begins, the sealed bytes as
//! each batch lands (refused past the quota, with the upload removed), all
//! refunded when the file goes.

use std::ops::Bound;
use std::time::Duration;

use crate::clock::Timestamp;
use crate::crypto::keys::DataKey;
use crate::crypto::secret_bytes::SecretBytes;
use crate::crypto::stream::{self, FileKeys, StreamHeader};
use crate::domain::audit::{self, Note};
use crate::domain::quotas;
use crate::domain::records::{self, NewRecord};
use crate::error::{DecryptionFailed, RecordError, StorageError};
use crate::ids::{FileId, KeyScope, UserId};
use crate::keyring::Keyring;
use crate::model::RecordKind;
use crate::model::access::Quota;
use crate::model::audit::{Actor, AuditAction, AuditTarget, Origin};
use crate::model::files::{FileInfo, FileLabel, FileNotice, FilePage};
use crate::schema::{
    self, FILE_EXPIRY, FILE_SEGMENTS, FILES, FileRow, FileState, Refunds, USERS, UserRef,
};
use crate::store::{Flow, Order, ReadTx, WriteTx};

/// A file's key in `files`: its owner and id.
pub(crate) type FileKey = (UserId, FileId);

/// What [`read_segments`] calls with each stored segment.
pub(crate) type SegmentVisitor<'a> = dyn FnMut(u32, &[u8]) -> Result<(), RecordError> + 'a;

/// An upload just begun: its id and the keys to seal its segments under.
pub(crate) struct Begun {
    pub(crate) id: FileId,
    pub(crate) keys: FileKeys,
}

/// Begins an upload from `sender` for `owner`: checks both accounts and
/// the sender's quota (one more item), derives the file's keys from the
/// owner's current data key, and stores the uploading row with its lease.
#[allow(clippy::too_many_arguments)]
pub(crate) fn begin(
    tx: &mut dyn WriteTx,
    keyring: &Keyring,
    now: Timestamp,
    sender: UserId,
    owner: UserId,
    ttl: Duration,
    lease: Duration,
    default_quota: Option<Quota>,
) -> Result<Begun, RecordError> {
    let sender_name = USERS
        .get_part(tx, &sender, UserRef::username_of)?
        .ok_or(RecordError::UnknownUser)?;
    if !USERS.contains(tx, &owner)? {
        return Err(RecordError::UnknownUser);
    }
    if let Some(e) = quotas::exceeded(tx, sender, default_quota, 0)? {
        return Err(quota_error(e));
    }
    let (version, dek) = keyring
        .current_key(tx, KeyScope::User(owner))?
        .ok_or(RecordError::UnknownUser)?;
    let id = FileId::generate();
    let header = StreamHeader::random(version);
    let keys = FileKeys::derive(&dek, &header, owner.as_u128(), id.as_u128());
    let row = FileRow {
        state: FileState::Uploading,
        sender,
        sender_name: Some(sender_name),
        created_at: now,
        expires_at: now.saturating_add(lease),
        ttl_millis: u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX),
        segments: 0,
        sealed_bytes: 0,
        header: header.to_bytes(),
        metadata: Vec::new(),
    };
    start(tx, owner, id, &row)?;
    Ok(Begun { id, keys })
}

/// Stores a new upload's row with its lease and charges its item.
fn start(
    tx: &mut dyn WriteTx,
    owner: UserId,
    id: FileId,
    row: &FileRow,
) -> Result<(), StorageError> {
    FILES.insert(tx, &(owner, id), row)?;
    FILE_EXPIRY.insert(tx, &(row.expires_at, owner, id), &())?;
    schema::charge(tx, row.sender, 0)?;
    Ok(())
}

/// Begins a share link's copy `id` of one of `owner`'s files, sealed under
/// `header` (whose keys the caller derived from the share's key): an
/// upload like any other until [`finish_copy`], charged to `owner`.
pub(crate) fn begin_copy(
    tx: &mut dyn WriteTx,
    now: Timestamp,
    owner: UserId,
    id: FileId,
    header: &StreamHeader,
    lease: Duration,
    default_quota: Option<Quota>,
) -> Result<(), RecordError> {
    let owner_name = USERS
        .get_part(tx, &owner, UserRef::username_of)?
        .ok_or(RecordError::UnknownUser)?;
    if let Some(e) = quotas::exceeded(tx, owner, default_quota, 0)? {
        return Err(quota_error(e));
    }
    let row = FileRow {
        state: FileState::Uploading,
        sender: owner,
        sender_name: Some(owner_name),
        created_at: now,
        expires_at: now.saturating_add(lease),
        ttl_millis: 0,
        segments: 0,
        sealed_bytes: 0,
        header: header.to_bytes(),
        metadata: Vec::new(),
    };
    start(tx, owner, id, &row)?;
    Ok(())
}

/// Completes a share's copy: its last segments and sealed metadata, state
/// `Shared`, expiring with the share at `until`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn finish_copy(
    tx: &mut dyn WriteTx,
    now: Timestamp,
    owner: UserId,
    id: FileId,
    segments: &[Vec<u8>],
    metadata: Vec<u8>,
    until: Timestamp,
    default_quota: Option<Quota>,
) -> Result<(), RecordError> {
    let mut row = uploading(tx, owner, id)?;
    let extra = metadata.len() as u64;
    store_segments(tx, &mut row, owner, id, segments, extra, default_quota)?;
    row.state = FileState::Shared;
    row.created_at = now;
    row.metadata = metadata;
    move_expiry(tx, &mut row, owner, id, until)?;
    FILES.insert(tx, &(owner, id), &row)?;
    Ok(())
}

/// Brings a share copy's expiry forward to `until` (its last view was
/// taken: the download under way may finish, then the reaper removes it).
pub(crate) fn shorten(
    tx: &mut dyn WriteTx,
    owner: UserId,
    id: FileId,
    until: Timestamp,
) -> Result<(), StorageError> {
    let Some(mut row) = FILES.get(tx, &(owner, id))? else {
        return Ok(());
    };
    if until < row.expires_at {
        move_expiry(tx, &mut row, owner, id, until)?;
        FILES.insert(tx, &(owner, id), &row)?;
    }
    Ok(())
}

fn quota_error(e: quotas::Exceeded) -> RecordError {
    RecordError::QuotaExceeded {
        what: e.what,
        used: e.used,
        limit: e.limit,
    }
}

/// The uploading row of `(owner, id)`; `NotFound` if it is gone (aborted,
/// reaped) or already complete.
fn uploading(tx: &dyn ReadTx, owner: UserId, id: FileId) -> Result<FileRow, RecordError> {
    match FILES.get(tx, &(owner, id))? {
        Some(row) if row.state == FileState::Uploading => Ok(row),
        _ => Err(RecordError::NotFound),
    }
}

/// Whether `(owner, id)` is an upload under way.
pub(crate) fn is_uploading(
    tx: &dyn ReadTx,
    owner: UserId,
    id: FileId,
) -> Result<bool, StorageError> {
    Ok(FILES
        .get(tx, &(owner, id))?
        .is_some_and(|row| row.state == FileState::Uploading))
}

/// Whether `(owner, id)` is a complete file that has not expired.
pub(crate) fn is_live(
    tx: &dyn ReadTx,
    owner: UserId,
    id: FileId,
    now: Timestamp,
) -> Result<bool, StorageError> {
    Ok(FILES.get(tx, &(owner, id))?.is_some_and(|row| {
        matches!(row.state, FileState::Complete | FileState::Shared) && now < row.expires_at
    }))
}

/// Stores `segments` (sealed, in order, continuing where the upload
/// stands), charges their bytes to the sender and renews the lease.
/// `QuotaExceeded` if they would take the sender past their bytes quota.
fn store_segments(
    tx: &mut dyn WriteTx,
    row: &mut FileRow,
    owner: UserId,
    id: FileId,
    segments: &[Vec<u8>],
    extra: u64,
    default_quota: Option<Quota>,
) -> Result<(), RecordError> {
    let bytes = segments.iter().map(|s| s.len() as u64).sum::<u64>() + extra;
    if let Some(quota) = quotas::in_force(tx, row.sender, default_quota)? {
        let usage = schema::USAGE.get(tx, &row.sender)?.unwrap_or_default();
        if usage.bytes.saturating_add(bytes) > quota.max_bytes {
            return Err(RecordError::QuotaExceeded {
                what: "bytes",
                used: usage.bytes,
                limit: quota.max_bytes,
            });
        }
    }
    for segment in segments {
        let index = u32::try_from(row.segments)
            .map_err(|_| crate::error::InvariantViolated("file segment index passed 2^32"))?;
        FILE_SEGMENTS.insert(tx, &(owner, id, index), segment)?;
        row.segments += 1;
    }
    schema::charge_bytes(tx, row.sender, bytes)?;
    row.sealed_bytes += bytes;
    Ok(())
}

/// Moves `row`'s expiry entry to `to`.
fn move_expiry(
    tx: &mut dyn WriteTx,
    row: &mut FileRow,
    owner: UserId,
    id: FileId,
    to: Timestamp,
) -> Result<(), StorageError> {
    FILE_EXPIRY.delete(tx, &(row.expires_at, owner, id))?;
    row.expires_at = to;
    FILE_EXPIRY.insert(tx, &(to, owner, id), &())
}

/// One batch of an upload: stores `segments` after those already there
/// and renews the lease. On `QuotaExceeded` nothing is written (the caller
/// aborts the upload).
pub(crate) fn append(
    tx: &mut dyn WriteTx,
    now: Timestamp,
    owner: UserId,
    id: FileId,
    segments: &[Vec<u8>],
    lease: Duration,
    default_quota: Option<Quota>,
) -> Result<(), RecordError> {
    let mut row = uploading(tx, owner, id)?;
    store_segments(tx, &mut row, owner, id, segments, 0, default_quota)?;
    move_expiry(tx, &mut row, owner, id, now.saturating_add(lease))?;
    FILES.insert(tx, &(owner, id), &row)?;
    Ok(())
}

/// What completes an upload.
pub(crate) struct Finish<'a> {
    pub(crate) owner: UserId,
    pub(crate) id: FileId,
    /// The last segments, the last of them sealed as the last.
    pub(crate) segments: &'a [Vec<u8>],
    pub(crate) metadata: Vec<u8>,
    pub(crate) label: FileLabel,
    pub(crate) size: u64,
    pub(crate) origin: Origin,
}

/// A file's notice in its recipient's log: the record, its position,
/// and its plaintext (for the listeners).
pub(crate) use crate::domain::records::Announced;

/// Completes an upload: its last segments and sealed metadata, the file's
/// own expiry, and the audit entry; a file sent to another user is also
/// announced in their log (a record of kind `File`, charged to the
/// sender like a message).
pub(crate) fn finish(
    tx: &mut dyn WriteTx,
    keyring: &Keyring,
    now: Timestamp,
    done: Finish<'_>,
    default_quota: Option<Quota>,
) -> Result<(FileInfo, Option<Announced>), RecordError> {
    let Finish { owner, id, .. } = done;
    let mut row = uploading(tx, owner, id)?;
    let extra = done.metadata.len() as u64;
    store_segments(tx, &mut row, owner, id, done.segments, extra, default_quota)?;
    row.state = FileState::Complete;
    row.created_at = now;
    row.metadata = done.metadata;
    let expires = now.saturating_add(Duration::from_millis(row.ttl_millis));
    move_expiry(tx, &mut row, owner, id, expires)?;
    FILES.insert(tx, &(owner, id), &row)?;
    let target = AuditTarget::File { owner, id };
    let note = Note::new(
        done.origin,
        Actor::User(row.sender),
        AuditAction::UploadFile,
        target,
    );
    audit::append(tx, keyring.audit_chain(), note, now)?;
    let info = FileInfo {
        id,
        owner,
        sender: row.sender,
        sender_name: row.sender_name,
        label: done.label,
        size: done.size,
        created_at: row.created_at,
        expires_at: row.expires_at,
    };
    if info.sender == owner {
        return Ok((info, None));
    }
    let notice = FileNotice {
        id,
        label: info.label.clone(),
        size: info.size,
    };
    let record = NewRecord {
        sender: info.sender,
        scope: KeyScope::User(owner),
        plaintext: SecretBytes::from(notice.encode()),
        ttl: Duration::from_millis(row.ttl_millis),
        origin: done.origin,
        kind: RecordKind::File,
    };
    let (receipt, position) = records::store(tx, keyring, now, &record, default_quota)?;
    Ok((info, Some((receipt, position, record.plaintext))))
}

/// Removes file or upload `(owner, id)` in any state with its segments
/// and expiry entry, noting the sender's refund; the row it had.
fn remove(
    tx: &mut dyn WriteTx,
    owner: UserId,
    id: FileId,
    refunds: &mut Refunds,
) -> Result<Option<FileRow>, StorageError> {
    let Some(row) = FILES.remove(tx, &(owner, id))? else {
        return Ok(None);
    };
    FILE_EXPIRY.delete(tx, &(row.expires_at, owner, id))?;
    let segments = FILE_SEGMENTS.keys(tx, (owner, id, 0)..=(owner, id, u32::MAX), usize::MAX)?;
    for key in segments {
        FILE_SEGMENTS.delete(tx, &key)?;
    }
    refunds.add(row.sender, row.sealed_bytes);
    Ok(Some(row))
}

/// Removes an upload (or a file) and refunds it; whether there was one.
pub(crate) fn abort(tx: &mut dyn WriteTx, owner: UserId, id: FileId) -> Result<bool, StorageError> {
    let mut refunds = Refunds::default();
    let found = remove(tx, owner, id, &mut refunds)?.is_some();
    refunds.pay(tx)?;
    Ok(found)
}

/// Deletes file `id` of `owner` as its owner asked; whether it was still
/// live (an expired one is removed all the same, but counts as not found).
/// `NotFound` if it is absent or still uploading.
pub(crate) fn delete(
    tx: &mut dyn WriteTx,
    keyring: &Keyring,
    now: Timestamp,
    owner: UserId,
    id: FileId,
    origin: Origin,
) -> Result<bool, RecordError> {
    match FILES.get(tx, &(owner, id))? {
        Some(row) if row.state == FileState::Complete => {}
        _ => return Err(RecordError::NotFound),
    }
    let mut refunds = Refunds::default();
    let row = remove(tx, owner, id, &mut refunds)?.ok_or(RecordError::NotFound)?;
    refunds.pay(tx)?;
    let live = now < row.expires_at;
    if live {
        let target = AuditTarget::File { owner, id };
        let note = Note::new(origin, Actor::User(owner), AuditAction::DeleteFile, target);
        audit::append(tx, keyring.audit_chain(), note, now)?;
    }
    Ok(live)
}

/// A complete, unexpired file opened for reading: its facts, its keys and
/// how many segments it has.
pub(crate) struct Opened {
    pub(crate) info: FileInfo,
    pub(crate) keys: FileKeys,
    pub(crate) segments: u64,
}

/// The metadata's plaintext (the format's: see `crypto::stream`).
pub(crate) fn encode_metadata(label: &FileLabel, size: u64) -> SecretBytes {
    stream::encode_metadata(&label.name, &label.media_type, size)
}

/// The stored label made safe again, as an upload makes it: a name stored
/// before a rule joined the sanitising (bidirectional marks did) is shown
/// by today's rules. Labels stored since are unchanged by it.
fn decode_metadata(bytes: &[u8]) -> Option<(FileLabel, u64)> {
    stream::decode_metadata(bytes)
        .map(|(name, media_type, size)| (FileLabel::new(&name, Some(&media_type)), size))
}

/// Opens a stored row's keys and metadata.
fn open_row(
    tx: &dyn ReadTx,
    keyring: &Keyring,
    owner: UserId,
    id: FileId,
    row: FileRow,
) -> Result<Opened, RecordError> {
    let header = StreamHeader::parse(&row.header).map_err(|_| DecryptionFailed)?;
    let dek = keyring
        .opening_key(tx, KeyScope::User(owner), header.key_version)?
        .ok_or(DecryptionFailed)?;
    open_under(&dek, owner, id, row)
}

/// A share copy of `owner`'s, with keys derived from the share's `key`;
/// `NotFound` once it is gone or expired.
pub(crate) fn open_copy(
    tx: &dyn ReadTx,
    key: &DataKey,
    owner: UserId,
    id: FileId,
    now: Timestamp,
) -> Result<Opened, RecordError> {
    match FILES.get(tx, &(owner, id))? {
        Some(row) if row.state == FileState::Shared && now < row.expires_at => {
            open_under(key, owner, id, row)
        }
        _ => Err(RecordError::NotFound),
    }
}

/// Opens `row`'s metadata with keys derived from `root`.
fn open_under(
    root: &DataKey,
    owner: UserId,
    id: FileId,
    row: FileRow,
) -> Result<Opened, RecordError> {
    let header = StreamHeader::parse(&row.header).map_err(|_| DecryptionFailed)?;
    let keys = FileKeys::derive(root, &header, owner.as_u128(), id.as_u128());
    let plain = keys
        .open_metadata(&row.metadata)
        .map_err(|_| DecryptionFailed)?;
    let (label, size) = decode_metadata(&plain).ok_or(DecryptionFailed)?;
    if crate::crypto::stream::segment_count(size) != row.segments {
        return Err(DecryptionFailed.into());
    }
    Ok(Opened {
        info: FileInfo {
            id,
            owner,
            sender: row.sender,
            sender_name: row.sender_name,
            label,
            size,
            created_at: row.created_at,
            expires_at: row.expires_at,
        },
        keys,
        segments: row.segments,
    })
}

/// Re-seals the first complete file after `after` (in key order) created
/// at or before `cutoff` whose keys derive from an older data key version
/// than its owner's newest: every segment and the metadata, under a fresh
/// header. Returns the file looked at last and whether it was re-sealed;
/// `None` when no file is left after `after`. Files newer than the cutoff
/// or already current are passed over in the same call.
pub(crate) fn reseal_next(
    tx: &mut dyn WriteTx,
    keyring: &Keyring,
    cutoff: Timestamp,
    after: Option<FileKey>,
) -> Result<Option<(FileKey, bool)>, RecordError> {
    let start = match after {
        Some(key) => Bound::Excluded(key),
        None => Bound::Unbounded,
    };
    let mut next = None;
    let mut last = None;
    let mut looked = 0;
    FILES.scan(
        tx,
        (start, Bound::Unbounded),
        Order::Ascending,
        |key, row| {
            last = Some(key);
            looked += 1;
            if row.state != FileState::Complete || row.created_at > cutoff {
                return Ok::<_, RecordError>(Flow::Continue);
            }
            let header = StreamHeader::parse(&row.header).map_err(|_| DecryptionFailed)?;
            let current = keyring
                .current_key(tx, KeyScope::User(key.0))?
                .map(|(version, _)| version);
            if current.is_some_and(|v| v > header.key_version) {
                next = Some((key, row));
                return Ok(Flow::Stop);
            }
            // Each transaction looks at a bounded number of files.
            Ok(if looked >= 512 {
                Flow::Stop
            } else {
                Flow::Continue
            })
        },
    )?;
    let Some(((owner, id), row)) = next else {
        return Ok(last.map(|key| (key, false)));
    };
    let old = open_row(tx, keyring, owner, id, row.clone())?;
    let (version, dek) = keyring
        .current_key(tx, KeyScope::User(owner))?
        .ok_or(DecryptionFailed)?;
    let header = StreamHeader::random(version);
    let keys = FileKeys::derive(&dek, &header, owner.as_u128(), id.as_u128());
    let count = u32::try_from(old.segments).map_err(|_| DecryptionFailed)?;
    for index in 0..count {
        let last = index + 1 == count;
        let sealed = FILE_SEGMENTS
            .get(tx, &(owner, id, index))?
            .ok_or_else(|| FILE_SEGMENTS.corrupt())?;
        let plain = old
            .keys
            .open_segment(index, last, &sealed)
            .map_err(|_| DecryptionFailed)?;
        let mut again = Vec::with_capacity(sealed.len());
        keys.seal_segment(index, last, &plain, &mut again);
        FILE_SEGMENTS.insert(tx, &(owner, id, index), &again)?;
    }
    let metadata = keys.seal_metadata(&encode_metadata(&old.info.label, old.info.size));
    let updated = FileRow {
        header: header.to_bytes(),
        metadata,
        ..row
    };
    FILES.insert(tx, &(owner, id), &updated)?;
    Ok(Some(((owner, id), true)))
}

/// Whether the complete file `(owner, id)` opens whole: its metadata,
/// then every segment in order (a deep integrity check).
pub(crate) fn opens(
    tx: &dyn ReadTx,
    keyring: &Keyring,
    owner: UserId,
    id: FileId,
    row: FileRow,
) -> Result<bool, StorageError> {
    let opened = match open_row(tx, keyring, owner, id, row) {
        Ok(opened) => opened,
        Err(RecordError::Storage(e)) => return Err(e),
        Err(_) => return Ok(false),
    };
    let Ok(count) = u32::try_from(opened.segments) else {
        return Ok(false);
    };
    let mut size = 0u64;
    let read = read_segments(tx, owner, id, 0, count, &mut |index, sealed| {
        let last = index + 1 == count;
        let plain = opened
            .keys
            .open_segment(index, last, sealed)
            .map_err(|_| DecryptionFailed)?;
        size += plain.len() as u64;
        Ok(())
    });
    match read {
        Ok(()) => Ok(size == opened.info.size),
        Err(RecordError::Storage(StorageError::Corrupt { .. })) => Ok(false),
        Err(RecordError::Storage(e)) => Err(e),
        Err(_) => Ok(false),
    }
}

/// The complete, unexpired file `id` of `owner`; `NotFound` otherwise
/// (absent, uploading, expired, or someone else's).
pub(crate) fn open(
    tx: &dyn ReadTx,
    keyring: &Keyring,
    owner: UserId,
    id: FileId,
    now: Timestamp,
) -> Result<Opened, RecordError> {
    match FILES.get(tx, &(owner, id))? {
        Some(row) if row.state == FileState::Complete && now < row.expires_at => {
            open_row(tx, keyring, owner, id, row)
        }
        _ => Err(RecordError::NotFound),
    }
}

/// Calls `visit` with segments `from..to` of file `id` of `owner`, in
/// order, as stored (sealed). Fails if one is missing.
pub(crate) fn read_segments(
    tx: &dyn ReadTx,
    owner: UserId,
    id: FileId,
    from: u32,
    to: u32,
    visit: &mut SegmentVisitor<'_>,
) -> Result<(), RecordError> {
    if from >= to {
        return Ok(());
    }
    let mut expected = from;
    FILE_SEGMENTS.scan_bytes(
        tx,
        (owner, id, from)..(owner, id, to),
        Order::Ascending,
        |(_, _, index), bytes| {
            if index != expected {
                return Err(RecordError::from(FILE_SEGMENTS.corrupt()));
            }
            visit(index, bytes)?;
            expected += 1;
            Ok(Flow::Continue)
        },
    )?;
    if expected != to {
        return Err(FILE_SEGMENTS.corrupt().into());
    }
    Ok(())
}

/// Up to `limit` complete, unexpired files of `owner`, newest first, after
/// `cursor`.
pub(crate) fn list(
    tx: &dyn ReadTx,
    keyring: &Keyring,
    owner: UserId,
    cursor: Option<FileId>,
    limit: usize,
    now: Timestamp,
) -> Result<FilePage, RecordError> {
    let low = Bound::Included((owner, FileId::from_u128(0)));
    let high = match cursor {
        None => Bound::Included((owner, FileId::from_u128(u128::MAX))),
        Some(c) => Bound::Excluded((owner, c)),
    };
    let mut rows = Vec::new();
    let mut more = false;
    FILES.scan(tx, (low, high), Order::Descending, |(_, id), row| {
        if row.state != FileState::Complete || now >= row.expires_at {
            return Ok(Flow::Continue);
        }
        if rows.len() == limit {
            more = true;
            return Ok(Flow::Stop);
        }
        rows.push((id, row));
        Ok::<_, RecordError>(Flow::Continue)
    })?;
    let files = rows
        .into_iter()
        .map(|(id, row)| open_row(tx, keyring, owner, id, row).map(|o| o.info))
        .collect::<Result<Vec<_>, _>>()?;
    let next_cursor = more.then(|| files.last().map(|f| f.id)).flatten();
    Ok(FilePage { files, next_cursor })
}

/// The largest expiry-index key due at `now`.
fn last_due(now: Timestamp) -> (Timestamp, UserId, FileId) {
    (
        now,
        UserId::from_u128(u128::MAX),
        FileId::from_u128(u128::MAX),
    )
}

/// Removes up to `limit` files whose expiry (or upload lease) passed at
/// or before `now`, oldest first; returns how many went.
pub(crate) fn purge_expired(
    tx: &mut dyn WriteTx,
    now: Timestamp,
    limit: usize,
) -> Result<usize, StorageError> {
    let due = FILE_EXPIRY.keys(tx, ..=last_due(now), limit)?;
    let mut refunds = Refunds::default();
    for &(expires, owner, id) in &due {
        FILE_EXPIRY.delete(tx, &(expires, owner, id))?;
        remove(tx, owner, id, &mut refunds)?;
    }
    refunds.pay(tx)?;
    Ok(due.len())
}

/// How many files (or stalled uploads) are due for purging, up to `cap`.
pub(crate) fn expired(tx: &dyn ReadTx, now: Timestamp, cap: usize) -> Result<usize, StorageError> {
    Ok(FILE_EXPIRY.keys(tx, ..=last_due(now), cap)?.len())
}

/// Deletes every file and upload of `owner` (their account is going).
pub(crate) fn delete_owner(tx: &mut dyn WriteTx, owner: UserId) -> Result<(), StorageError> {
    let ids = FILES.keys(
        tx,
        (owner, FileId::from_u128(0))..=(owner, FileId::from_u128(u128::MAX)),
        usize::MAX,
    )?;
    let mut refunds = Refunds::default();
    for (_, id) in ids {
        remove(tx, owner, id, &mut refunds)?;
    }
    refunds.pay(tx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_stored_before_todays_rules_is_read_by_them() {
        let stored = stream::encode_metadata("invoice\u{202E}fdp.exe", "application/pdf", 3);
        let (label, size) = decode_metadata(&stored).expect("decodes");
        assert_eq!(label.name, "invoice_fdp.exe");
        assert_eq!((label.media_type.as_str(), size), ("application/pdf", 3));
        let today = FileLabel::new("report (final).pdf", Some("Application/PDF; q=1"));
        let stored = encode_metadata(&today, 9);
        assert_eq!(decode_metadata(&stored), Some((today, 9)));
    }
}

//! Share links: rows keyed by the lookup hash of the URL secret, content
//! sealed under a key derived from it (see `sharekeys`). Opening consumes a
//! view in the same transaction that releases the content; the last view,
//! a revocation or too many wrong passphrases delete the envelope and leave
//! a tombstone (so a late open answers "gone") until the share's expiry,
//! when the reaper removes the row through the `share_expiry` index.
//!
//! A share counts toward its creator's quota like a message (its sealed
//! bytes, and one item) from its creation until its content goes: its
//! last view, a revocation, its destruction or its expiry.

use std::ops::Bound;
use std::time::Duration;

use crate::clock::Timestamp;
use crate::crypto::keys::DataKey;
use crate::crypto::secret_bytes::SecretBytes;
use crate::crypto::sharekeys::{self, LookupHash};
use crate::domain::{files, quotas};
use crate::error::{ShareError, StorageError};
use crate::ids::{ShareId, UserId};
use crate::model::access::{Quota, Usage};
use crate::model::shares::{SHARE_MAX_ATTEMPTS, ShareInfo, ShareLife, ShareStatus};
use crate::schema::{self, SHARE_EXPIRY, SHARES, SHARES_BY_OWNER, ShareRow, ShareState, USERS};
use crate::store::{Flow, Order, ReadTx, WriteTx};

/// What an open attempt did (committed either way).
pub(crate) enum Opened {
    /// The content; one view consumed.
    Content {
        id: ShareId,
        content: SecretBytes,
        client_encrypted: bool,
        views_left: u32,
    },
    /// The passphrase was wrong; the attempt was counted (and the share
    /// destroyed if it was the last allowed).
    WrongPassphrase { id: ShareId },
}

/// Stores a new share, charged to its owner (if any) within their quota
/// in force (theirs, else `default_quota`).
pub(crate) fn create(
    tx: &mut dyn WriteTx,
    lookup: &LookupHash,
    row: &ShareRow,
    default_quota: Option<Quota>,
) -> Result<(), ShareError> {
    if let Some(owner) = row.owner {
        // Nothing is kept for an account deleted since its credential was
        // checked: its shares went with it.
        if !USERS.contains(tx, &owner)? {
            return Err(ShareError::UnknownUser);
        }
        let bytes = row.envelope.len() as u64;
        if let Some(e) = quotas::exceeded(tx, owner, default_quota, bytes)? {
            return Err(ShareError::QuotaExceeded {
                what: e.what,
                used: e.used,
                limit: e.limit,
            });
        }
        schema::charge(tx, owner, bytes)?;
    }
    SHARES.insert(tx, lookup, row)?;
    SHARE_EXPIRY.insert(tx, &(row.expires_at, *lookup), &())?;
    if let Some(owner) = row.owner {
        SHARES_BY_OWNER.insert(tx, &(owner, row.id), lookup)?;
    }
    Ok(())
}

/// The share under `lookup` if it can still be opened.
pub(crate) fn live(
    tx: &dyn ReadTx,
    lookup: &LookupHash,
    now: Timestamp,
) -> Result<ShareRow, ShareError> {
    let row = SHARES.get(tx, lookup)?.ok_or(ShareError::NotFound)?;
    if row.state != ShareState::Active || now >= row.expires_at {
        return Err(ShareError::Gone);
    }
    Ok(row)
}

/// What the preview page may show.
pub(crate) fn status(row: &ShareRow) -> ShareStatus {
    ShareStatus {
        expires_at: row.expires_at,
        views_left: row.max_views.saturating_sub(row.views_used),
        passphrase_required: row.passphrase_salt.is_some(),
        client_encrypted: row.client_encrypted,
        file: row.file.is_some(),
        file_facts: None,
        file_label: None,
    }
}

/// Opens the share under `lookup` with `key`, consuming a view, or counts
/// a wrong passphrase.
pub(crate) fn open(
    tx: &mut dyn WriteTx,
    lookup: &LookupHash,
    key: &DataKey,
    now: Timestamp,
) -> Result<Opened, ShareError> {
    let mut row = live(tx, lookup, now)?;
    let id = row.id;
    match sharekeys::open(key, lookup, &row.envelope) {
        Ok(content) => {
            row.views_used += 1;
            let views_left = row.max_views.saturating_sub(row.views_used);
            let client_encrypted = row.client_encrypted;
            if views_left == 0 {
                bury(tx, lookup, row, ShareState::UsedUp, now)?;
            } else {
                SHARES.insert(tx, lookup, &row)?;
            }
            Ok(Opened::Content {
                id,
                content,
                client_encrypted,
                views_left,
            })
        }
        // Without a passphrase the key comes from the URL alone, and the URL
        // found this row: a failure is damage, not a guess.
        Err(_) if row.passphrase_salt.is_none() => Err(SHARES.corrupt().into()),
        Err(_) => {
            row.failed_attempts += 1;
            if row.failed_attempts >= SHARE_MAX_ATTEMPTS {
                bury(tx, lookup, row, ShareState::Destroyed, now)?;
            } else {
                SHARES.insert(tx, lookup, &row)?;
            }
            Ok(Opened::WrongPassphrase { id })
        }
    }
}

/// How long the download that takes a file share's last view may go on
/// reading the share's copy before the reaper removes it.
pub(crate) const DOWNLOAD_GRACE: Duration = Duration::from_secs(3600);

/// Deletes the content and keeps a tombstone in `state` until expiry;
/// the content stops counting toward its owner's quota. A file share's
/// copy goes too: at once when revoked or destroyed, after
/// [`DOWNLOAD_GRACE`] when its last view was just taken (that view's
/// download reads it).
fn bury(
    tx: &mut dyn WriteTx,
    lookup: &LookupHash,
    mut row: ShareRow,
    state: ShareState,
    now: Timestamp,
) -> Result<(), StorageError> {
    refund(tx, &row)?;
    if let (Some(owner), Some(copy)) = (row.owner, row.file) {
        match state {
            ShareState::UsedUp => {
                files::shorten(tx, owner, copy, now.saturating_add(DOWNLOAD_GRACE))?;
            }
            _ => {
                files::abort(tx, owner, copy)?;
            }
        }
    }
    row.state = state;
    row.envelope = Vec::new();
    SHARES.insert(tx, lookup, &row)
}

/// Gives an active share's content back to its owner's quota.
fn refund(tx: &mut dyn WriteTx, row: &ShareRow) -> Result<(), StorageError> {
    match row.owner {
        Some(owner) if row.state == ShareState::Active => {
            let freed = Usage {
                bytes: row.envelope.len() as u64,
                records: 1,
            };
            schema::refund(tx, owner, freed)
        }
        _ => Ok(()),
    }
}

/// Every share `owner` created that has not been purged, newest first.
pub(crate) fn list(
    tx: &dyn ReadTx,
    owner: UserId,
    now: Timestamp,
) -> Result<Vec<ShareInfo>, StorageError> {
    let range = (
        Bound::Included((owner, ShareId::from_u128(0))),
        Bound::Included((owner, ShareId::from_u128(u128::MAX))),
    );
    let mut shares = Vec::new();
    SHARES_BY_OWNER.scan(tx, range, Order::Ascending, |_, lookup| {
        if let Some(row) = SHARES.get(tx, &lookup)? {
            shares.push(info(&row, now));
        }
        Ok::<_, StorageError>(Flow::Continue)
    })?;
    shares.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    Ok(shares)
}

fn info(row: &ShareRow, now: Timestamp) -> ShareInfo {
    let life = match row.state {
        ShareState::Active if now >= row.expires_at => ShareLife::Expired,
        ShareState::Active => ShareLife::Active,
        ShareState::UsedUp => ShareLife::UsedUp,
        ShareState::Revoked => ShareLife::Revoked,
        ShareState::Destroyed => ShareLife::Destroyed,
    };
    ShareInfo {
        id: row.id,
        created_at: row.created_at,
        expires_at: row.expires_at,
        max_views: row.max_views,
        views_used: row.views_used,
        life,
        passphrase_required: row.passphrase_salt.is_some(),
        client_encrypted: row.client_encrypted,
        file: row.file.is_some(),
    }
}

/// Revokes `owner`'s share `id`: its content is deleted at once. Revoking
/// a share that is already gone succeeds; one that is not theirs (or was
/// purged) is `NotFound`.
pub(crate) fn revoke(
    tx: &mut dyn WriteTx,
    owner: UserId,
    id: ShareId,
    now: Timestamp,
) -> Result<(), ShareError> {
    let lookup = SHARES_BY_OWNER
        .get(tx, &(owner, id))?
        .ok_or(ShareError::NotFound)?;
    let row = SHARES.get(tx, &lookup)?.ok_or(ShareError::NotFound)?;
    if row.state == ShareState::Active {
        bury(tx, &lookup, row, ShareState::Revoked, now)?;
    }
    Ok(())
}

/// Removes up to `limit` shares whose time ran out by `now`, content and
/// tombstones alike; returns how many went.
pub(crate) fn purge_expired(
    tx: &mut dyn WriteTx,
    now: Timestamp,
    limit: usize,
) -> Result<usize, StorageError> {
    let due = SHARE_EXPIRY.keys(
        tx,
        (
            Bound::Unbounded,
            Bound::Excluded((
                Timestamp::from_unix_millis(now.as_unix_millis().saturating_add(1)),
                [0; 32],
            )),
        ),
        limit,
    )?;
    for (expires_at, lookup) in &due {
        SHARE_EXPIRY.delete(tx, &(*expires_at, *lookup))?;
        remove_row(tx, lookup)?;
    }
    Ok(due.len())
}

/// How many shares ran out by `now` and wait to be purged, counted up to
/// `cap`.
pub(crate) fn expired(tx: &dyn ReadTx, now: Timestamp, cap: usize) -> Result<usize, StorageError> {
    let end = Timestamp::from_unix_millis(now.as_unix_millis().saturating_add(1));
    let due = SHARE_EXPIRY.keys(tx, (Bound::Unbounded, Bound::Excluded((end, [0; 32]))), cap)?;
    Ok(due.len())
}

/// Removes every share `owner` created (their account is being deleted).
pub(crate) fn delete_owner(tx: &mut dyn WriteTx, owner: UserId) -> Result<(), StorageError> {
    let range = (
        Bound::Included((owner, ShareId::from_u128(0))),
        Bound::Included((owner, ShareId::from_u128(u128::MAX))),
    );
    let mut lookups = Vec::new();
    SHARES_BY_OWNER.scan(tx, range, Order::Ascending, |_, lookup| {
        lookups.push(lookup);
        Ok::<_, StorageError>(Flow::Continue)
    })?;
    for lookup in &lookups {
        if let Some(row) = SHARES.get(tx, lookup)? {
            SHARE_EXPIRY.delete(tx, &(row.expires_at, *lookup))?;
        }
        remove_row(tx, lookup)?;
    }
    Ok(())
}

fn remove_row(tx: &mut dyn WriteTx, lookup: &LookupHash) -> Result<(), StorageError> {
    if let Some(row) = SHARES.remove(tx, lookup)? {
        // An expired share that still held its content.
        refund(tx, &row)?;
        if let (Some(owner), Some(copy)) = (row.owner, row.file) {
            files::abort(tx, owner, copy)?;
        }
        if let Some(owner) = row.owner {
            SHARES_BY_OWNER.delete(tx, &(owner, row.id))?;
        }
    }
    Ok(())
}

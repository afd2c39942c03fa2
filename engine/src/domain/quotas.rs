//! Quotas: what an account may hold (an admin's override, else the
//! engine's defaults) beside what it holds (its usage counter, kept by the
//! write and removal paths of records and share links).

use crate::error::StorageError;
use crate::ids::UserId;
use crate::model::access::{Quota, QuotaStatus, Usage};
use crate::schema::{QUOTAS, USAGE};
use crate::store::{ReadTx, WriteTx};

/// What one more stored item would pass: `what` (`messages` or `bytes`),
/// what is in use, and the limit.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Exceeded {
    pub(crate) what: &'static str,
    pub(crate) used: u64,
    pub(crate) limit: u64,
}

/// Whether one more stored item of `bytes` — a message, or a share link
/// until it is consumed, revoked or expires — would take `user` past their
/// quota in force (theirs, else `default`).
pub(crate) fn exceeded(
    tx: &dyn ReadTx,
    user: UserId,
    default: Option<Quota>,
    bytes: u64,
) -> Result<Option<Exceeded>, StorageError> {
    let Some(quota) = in_force(tx, user, default)? else {
        return Ok(None);
    };
    let usage = USAGE.get(tx, &user)?.unwrap_or_default();
    Ok(over(quota, usage, bytes))
}

/// Whether one more item of `bytes` passes `quota` beside `usage`.
fn over(quota: Quota, usage: Usage, bytes: u64) -> Option<Exceeded> {
    if usage.records >= quota.max_records {
        return Some(Exceeded {
            what: "messages",
            used: usage.records,
            limit: quota.max_records,
        });
    }
    if usage.bytes.saturating_add(bytes) > quota.max_bytes {
        return Some(Exceeded {
            what: "bytes",
            used: usage.bytes,
            limit: quota.max_bytes,
        });
    }
    None
}

/// `user`'s quota in force (theirs, else `default`; `None`: unlimited)
/// and usage.
pub(crate) fn status(
    tx: &dyn ReadTx,
    user: UserId,
    default: Option<Quota>,
) -> Result<(Option<Quota>, bool, crate::model::access::Usage), StorageError> {
    let own = QUOTAS.get(tx, &user)?;
    let usage = USAGE.get(tx, &user)?.unwrap_or_default();
    Ok((own.or(default), own.is_some(), usage))
}

/// `user`'s quota in force (theirs, else `default`; `None`: unlimited).
pub(crate) fn in_force(
    tx: &dyn ReadTx,
    user: UserId,
    default: Option<Quota>,
) -> Result<Option<Quota>, StorageError> {
    Ok(QUOTAS.get(tx, &user)?.or(default))
}

/// Sets (`Some`) or clears (`None`, back to the defaults) `user`'s quota.
pub(crate) fn set(
    tx: &mut dyn WriteTx,
    user: UserId,
    quota: Option<Quota>,
) -> Result<(), StorageError> {
    match quota {
        Some(quota) => QUOTAS.insert(tx, &user, &quota),
        None => QUOTAS.delete(tx, &user).map(drop),
    }
}

/// Drops a deleted account's quota and usage.
pub(crate) fn forget(tx: &mut dyn WriteTx, user: UserId) -> Result<(), StorageError> {
    QUOTAS.delete(tx, &user)?;
    USAGE.delete(tx, &user)?;
    Ok(())
}

/// The status as the public type, with `unlimited` standing in for no
/// quota at all.
pub(crate) fn public(
    (quota, custom, usage): (Option<Quota>, bool, crate::model::access::Usage),
) -> QuotaStatus {
    QuotaStatus {
        quota: quota.unwrap_or(Quota {
            max_bytes: u64::MAX,
            max_records: u64::MAX,
            writes_per_minute: u32::MAX,
        }),
        custom,
        usage,
    }
}

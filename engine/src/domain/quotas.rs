//! Quotas: what an account may hold (an admin's override, else the
//! engine's defaults) beside what it holds (its usage counter, kept by the
//! record write and removal paths).

use crate::error::StorageError;
use crate::ids::UserId;
use crate::model::access::{Quota, QuotaStatus};
use crate::schema::{QUOTAS, USAGE};
use crate::store::{ReadTx, WriteTx};

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

//! The end-to-end key directory: each user's published X25519 public keys,
//! by version, each with the private key as the user's client wrapped it
//! under their password (opaque here), so another device can log in and
//! unwrap it. Old versions stay: messages sealed to them still open.

use crate::clock::Timestamp;
use crate::crypto::e2e::PublicKey;
use crate::error::{E2eKeyError, StorageError};
use crate::ids::UserId;
use crate::model::e2e::{
    E2E_MAX_ITERATIONS, E2E_MAX_KEY_VERSIONS, E2E_MIN_ITERATIONS, E2eKey, PublishedKey,
};
use crate::schema::{E2E_KEYS, E2eKeyRow, USERS};
use crate::store::{Flow, Order, ReadTx, WriteTx};

/// Checks what a client publishes.
pub(crate) fn validate(key: &PublishedKey) -> Result<(), E2eKeyError> {
    if !(E2E_MIN_ITERATIONS..=E2E_MAX_ITERATIONS).contains(&key.iterations) {
        return Err(E2eKeyError::Iterations);
    }
    if !(16..=64).contains(&key.salt.len()) {
        return Err(E2eKeyError::Salt);
    }
    if !(32..=512).contains(&key.wrapped_private_key.len()) {
        return Err(E2eKeyError::WrappedKey);
    }
    Ok(())
}

fn range(user: UserId) -> std::ops::RangeInclusive<(UserId, u32)> {
    (user, 0)..=(user, u32::MAX)
}

fn key(version: u32, row: E2eKeyRow) -> Option<E2eKey> {
    Some(E2eKey {
        version,
        public_key: PublicKey::from_bytes(&row.public_key)?,
        created_at: row.created_at,
        iterations: row.iterations,
        salt: row.salt,
        wrapped_private_key: row.wrapped_private_key,
    })
}

/// Stores `published` as `user`'s next key version.
pub(crate) fn publish(
    tx: &mut dyn WriteTx,
    user: UserId,
    published: &PublishedKey,
    now: Timestamp,
) -> Result<E2eKey, E2eKeyError> {
    if !USERS.contains(tx, &user)? {
        return Err(E2eKeyError::UnknownUser);
    }
    let held = E2E_KEYS.keys(tx, range(user), usize::MAX)?;
    if held.len() >= E2E_MAX_KEY_VERSIONS {
        return Err(E2eKeyError::TooMany {
            max: E2E_MAX_KEY_VERSIONS,
        });
    }
    let version = held.last().map_or(1, |(_, v)| v + 1);
    let row = E2eKeyRow {
        public_key: *published.public_key.as_bytes(),
        created_at: now,
        iterations: published.iterations,
        salt: published.salt.clone(),
        wrapped_private_key: published.wrapped_private_key.clone(),
    };
    E2E_KEYS.insert(tx, &(user, version), &row)?;
    key(version, row).ok_or_else(|| E2E_KEYS.corrupt().into())
}

/// Every key version of `user`, oldest first.
pub(crate) fn all(tx: &dyn ReadTx, user: UserId) -> Result<Vec<E2eKey>, StorageError> {
    let mut keys = Vec::new();
    E2E_KEYS.scan(tx, range(user), Order::Ascending, |(_, version), row| {
        keys.push(key(version, row).ok_or_else(|| E2E_KEYS.corrupt())?);
        Ok::<_, StorageError>(Flow::Continue)
    })?;
    Ok(keys)
}

/// `user`'s newest key version, if any.
pub(crate) fn current(tx: &dyn ReadTx, user: UserId) -> Result<Option<E2eKey>, StorageError> {
    let mut newest = None;
    E2E_KEYS.scan(tx, range(user), Order::Descending, |(_, version), row| {
        newest = Some(key(version, row).ok_or_else(|| E2E_KEYS.corrupt())?);
        Ok::<_, StorageError>(Flow::Stop)
    })?;
    Ok(newest)
}

/// Deletes every key version of `user` (account deletion).
pub(crate) fn forget(tx: &mut dyn WriteTx, user: UserId) -> Result<(), StorageError> {
    for k in E2E_KEYS.keys(tx, range(user), usize::MAX)? {
        E2E_KEYS.delete(tx, &k)?;
    }
    Ok(())
}

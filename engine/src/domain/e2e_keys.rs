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
    RewrappedKey,
};
use crate::schema::{E2E_KEYS, E2eKeyRow, USERS};
use crate::store::{Flow, Order, ReadTx, WriteTx};

/// Checks what a client publishes.
pub(crate) fn validate(key: &PublishedKey) -> Result<(), E2eKeyError> {
    validate_wrapping(key.iterations, &key.salt, &key.wrapped_private_key)
}

/// Checks a wrapping's parameters and size.
fn validate_wrapping(iterations: u32, salt: &[u8], wrapped: &[u8]) -> Result<(), E2eKeyError> {
    if !(E2E_MIN_ITERATIONS..=E2E_MAX_ITERATIONS).contains(&iterations) {
        return Err(E2eKeyError::Iterations);
    }
    if !(16..=64).contains(&salt.len()) {
        return Err(E2eKeyError::Salt);
    }
    if !(32..=512).contains(&wrapped.len()) {
        return Err(E2eKeyError::WrappedKey);
    }
    Ok(())
}

/// Replaces the wrapping of every key version of `user` with `rewrapped`,
/// which must name each version held exactly once: a version left under
/// the old password could no longer be opened.
pub(crate) fn rewrap(
    tx: &mut dyn WriteTx,
    user: UserId,
    rewrapped: &[RewrappedKey],
) -> Result<(), RewrapError> {
    let held: Vec<u32> = E2E_KEYS
        .keys(tx, range(user), usize::MAX)?
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    let mut given: Vec<u32> = rewrapped.iter().map(|k| k.version).collect();
    given.sort_unstable();
    if given != held {
        return Err(RewrapError::Versions { held });
    }
    for key in rewrapped {
        validate_wrapping(key.iterations, &key.salt, &key.wrapped_private_key)
            .map_err(RewrapError::Invalid)?;
        let mut row = E2E_KEYS
            .get(tx, &(user, key.version))?
            .ok_or_else(|| E2E_KEYS.corrupt())?;
        row.iterations = key.iterations;
        row.salt = key.salt.clone();
        row.wrapped_private_key = key.wrapped_private_key.clone();
        E2E_KEYS.insert(tx, &(user, key.version), &row)?;
    }
    Ok(())
}

/// Why a re-wrapping was refused.
#[derive(Debug)]
pub(crate) enum RewrapError {
    /// Not exactly the versions held.
    Versions {
        /// The versions the account holds.
        held: Vec<u32>,
    },
    /// A wrapping out of bounds.
    Invalid(E2eKeyError),
    /// The store failed.
    Storage(StorageError),
}

impl From<StorageError> for RewrapError {
    fn from(e: StorageError) -> Self {
        Self::Storage(e)
    }
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

//! Passkeys: each account's registered credentials, and the index from a
//! credential id (hashed) to its account, so a discoverable sign-in finds
//! whose it is and one credential never belongs to two accounts.

use sha2::{Digest, Sha256};

use crate::clock::Timestamp;
use crate::error::{PasskeyError, StorageError};
use crate::ids::{PasskeyId, UserId};
use crate::model::passkeys::{MAX_PASSKEYS, NewPasskey, PasskeyInfo, StoredPasskey};
use crate::schema::{PASSKEY_IDS, PASSKEYS, PasskeyRef, PasskeyRow, USERS};
use crate::store::{Flow, Order, ReadTx, WriteTx};

fn lookup(credential_id: &[u8]) -> [u8; 32] {
    Sha256::digest(credential_id).into()
}

fn info(id: PasskeyId, row: &PasskeyRow) -> PasskeyInfo {
    PasskeyInfo {
        id,
        name: row.name.clone(),
        created_at: row.created_at,
        last_used: (row.last_used > 0).then(|| Timestamp::from_unix_millis(row.last_used)),
    }
}

/// Stores `new` for `user`: refused for an unknown account, one that holds
/// the most passkeys allowed, or a credential id registered already.
pub(crate) fn add(
    tx: &mut dyn WriteTx,
    user: UserId,
    new: NewPasskey<'_>,
    now: Timestamp,
) -> Result<PasskeyInfo, PasskeyError> {
    if !USERS.contains(tx, &user)? {
        return Err(PasskeyError::UnknownUser);
    }
    let key = lookup(new.credential_id);
    if PASSKEY_IDS.contains(tx, &key)? {
        return Err(PasskeyError::Registered);
    }
    let held = PASSKEYS
        .keys(
            tx,
            (user, PasskeyId::from_u128(0))..=(user, PasskeyId::from_u128(u128::MAX)),
            MAX_PASSKEYS + 1,
        )?
        .len();
    if held >= MAX_PASSKEYS {
        return Err(PasskeyError::TooMany { max: MAX_PASSKEYS });
    }
    let id = PasskeyId::generate();
    let row = PasskeyRow {
        name: new.name.to_owned(),
        created_at: now,
        last_used: 0,
        credential_id: new.credential_id.to_vec(),
        credential: new.credential.to_vec(),
    };
    PASSKEYS.insert(tx, &(user, id), &row)?;
    PASSKEY_IDS.insert(tx, &key, &PasskeyRef { user, id })?;
    Ok(info(id, &row))
}

/// `user`'s passkeys, oldest first.
pub(crate) fn list(tx: &dyn ReadTx, user: UserId) -> Result<Vec<PasskeyInfo>, StorageError> {
    let mut all = Vec::new();
    let range = (user, PasskeyId::from_u128(0))..=(user, PasskeyId::from_u128(u128::MAX));
    PASSKEYS.scan(tx, range, Order::Ascending, |(_, id), row| {
        all.push(info(id, &row));
        Ok::<_, StorageError>(Flow::Continue)
    })?;
    all.sort_by_key(|p| p.created_at);
    Ok(all)
}

/// The credential ids of `user`'s passkeys (a new registration excludes
/// them).
pub(crate) fn credential_ids(tx: &dyn ReadTx, user: UserId) -> Result<Vec<Vec<u8>>, StorageError> {
    let mut ids = Vec::new();
    let range = (user, PasskeyId::from_u128(0))..=(user, PasskeyId::from_u128(u128::MAX));
    PASSKEYS.scan(tx, range, Order::Ascending, |_, row| {
        ids.push(row.credential_id);
        Ok::<_, StorageError>(Flow::Continue)
    })?;
    Ok(ids)
}

/// The passkey whose credential id is `credential_id`, if any.
pub(crate) fn find(
    tx: &dyn ReadTx,
    credential_id: &[u8],
) -> Result<Option<StoredPasskey>, StorageError> {
    let Some(found) = PASSKEY_IDS.get(tx, &lookup(credential_id))? else {
        return Ok(None);
    };
    Ok(PASSKEYS
        .get(tx, &(found.user, found.id))?
        .map(|row| StoredPasskey {
            user: found.user,
            id: found.id,
            credential: row.credential,
        }))
}

/// Records a sign-in with `user`'s passkey `id`: its new credential record
/// (the counter moved) and the time. `NotFound` if it was removed.
pub(crate) fn used(
    tx: &mut dyn WriteTx,
    user: UserId,
    id: PasskeyId,
    credential: Option<&[u8]>,
    now: Timestamp,
) -> Result<(), PasskeyError> {
    let mut row = PASSKEYS
        .get(tx, &(user, id))?
        .ok_or(PasskeyError::NotFound)?;
    if let Some(credential) = credential {
        row.credential = credential.to_vec();
    }
    row.last_used = now.as_unix_millis().max(1);
    PASSKEYS.insert(tx, &(user, id), &row)?;
    Ok(())
}

/// Removes `user`'s passkey `id`; whether it was there.
pub(crate) fn remove(
    tx: &mut dyn WriteTx,
    user: UserId,
    id: PasskeyId,
) -> Result<bool, StorageError> {
    let Some(row) = PASSKEYS.remove(tx, &(user, id))? else {
        return Ok(false);
    };
    PASSKEY_IDS.delete(tx, &lookup(&row.credential_id))?;
    Ok(true)
}

/// Drops every passkey of a deleted account.
pub(crate) fn forget(tx: &mut dyn WriteTx, user: UserId) -> Result<(), StorageError> {
    let range = (user, PasskeyId::from_u128(0))..=(user, PasskeyId::from_u128(u128::MAX));
    for (_, id) in PASSKEYS.keys(tx, range, usize::MAX)? {
        remove(tx, user, id)?;
    }
    Ok(())
}

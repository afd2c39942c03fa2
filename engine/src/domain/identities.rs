//! Identities at OpenID Connect providers linked to accounts: one account
//! per (issuer, subject), found by the SHA-256 of the pair.

use sha2::{Digest, Sha256};

use crate::clock::Timestamp;
use crate::error::{AccountError, StorageError};
use crate::ids::UserId;
use crate::model::ExternalIdentity;
use crate::schema::{IDENTITIES, IdentityRow};
use crate::store::{Flow, Order, ReadTx, WriteTx};

fn key(identity: &ExternalIdentity) -> [u8; 32] {
    let mut hash = Sha256::new();
    for part in [&identity.issuer, &identity.subject] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    hash.finalize().into()
}

/// The account `identity` signs in to, if it is linked.
pub(crate) fn find(
    tx: &dyn ReadTx,
    identity: &ExternalIdentity,
) -> Result<Option<UserId>, StorageError> {
    Ok(IDENTITIES.get(tx, &key(identity))?.map(|row| row.user))
}

/// Links `identity` to `user`; refused if another account holds it.
pub(crate) fn link(
    tx: &mut dyn WriteTx,
    user: UserId,
    identity: &ExternalIdentity,
    now: Timestamp,
) -> Result<(), AccountError> {
    match find(tx, identity)? {
        Some(holder) if holder == user => Ok(()),
        Some(_) => Err(AccountError::IdentityTaken),
        None => {
            let row = IdentityRow {
                user,
                linked_at: now,
                issuer: identity.issuer.clone(),
                subject: identity.subject.clone(),
            };
            Ok(IDENTITIES.insert(tx, &key(identity), &row)?)
        }
    }
}

/// The identities linked to `user` (issuer, subject), oldest first.
pub(crate) fn of(tx: &dyn ReadTx, user: UserId) -> Result<Vec<ExternalIdentity>, StorageError> {
    let mut found = Vec::new();
    IDENTITIES.scan(tx, .., Order::Ascending, |_, row: IdentityRow| {
        if row.user == user {
            found.push((row.linked_at, row.issuer, row.subject));
        }
        Ok::<_, StorageError>(Flow::Continue)
    })?;
    found.sort();
    Ok(found
        .into_iter()
        .map(|(_, issuer, subject)| ExternalIdentity {
            issuer,
            subject,
            email: None,
        })
        .collect())
}

/// Removes every identity of `user` (account deletion). Scans the table:
/// deletions are rare, identities few.
pub(crate) fn forget(tx: &mut dyn WriteTx, user: UserId) -> Result<(), StorageError> {
    let mut keys = Vec::new();
    IDENTITIES.scan(tx, .., Order::Ascending, |k: [u8; 32], row: IdentityRow| {
        if row.user == user {
            keys.push(k);
        }
        Ok::<_, StorageError>(Flow::Continue)
    })?;
    for k in keys {
        IDENTITIES.delete(tx, &k)?;
    }
    Ok(())
}

//! Master-key rotation: every wrapped data key, the wrapped store secrets
//! (id root, audit signing key) and the key check re-made under a new master key, in one write transaction, so
//! a crash at any point leaves the old key valid and the new one refused.
//! Record ciphertexts are never touched (they are under data keys), and
//! ids stay the same (the id root's value does not change).

use crate::crypto::keys::{MasterKey, StoreSecret};
use crate::error::StorageError;
use crate::schema::{DATA_KEYS, META, MetaKey};
use crate::store::{Flow, Order, WriteTx};

/// Re-wraps everything under `old` with `new`; returns how many data keys.
pub(crate) fn rotate(
    tx: &mut dyn WriteTx,
    old: &MasterKey,
    new: &MasterKey,
) -> Result<u64, StorageError> {
    let corrupt = |table: &'static str| StorageError::Corrupt { table };
    let mut rewrapped = Vec::new();
    DATA_KEYS.scan(tx, .., Order::Ascending, |(scope, version), wrapped| {
        let again = old
            .rewrap_data_key(new, &wrapped, scope, version)
            .map_err(|_| corrupt(DATA_KEYS.name()))?;
        rewrapped.push(((scope, version), again));
        Ok::<_, StorageError>(Flow::Continue)
    })?;
    for (key, wrapped) in &rewrapped {
        DATA_KEYS.insert(tx, key, wrapped)?;
    }
    for which in StoreSecret::ALL {
        let at = MetaKey::of_secret(which);
        let wrapped = META.get(tx, &at)?.ok_or_else(|| corrupt(META.name()))?;
        let again = old
            .rewrap_store_secret(new, which, &wrapped)
            .map_err(|_| corrupt(META.name()))?;
        META.insert(tx, &at, &again)?;
    }
    META.insert(tx, &MetaKey::KeyCheck, &new.key_check())?;
    Ok(rewrapped.len() as u64)
}

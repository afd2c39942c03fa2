//! Per-scope data keys: created with the scope, stored only wrapped under the
//! master key, counted as records are sealed and rotated before the random
//! nonce bound. Unwrapped keys are cached in memory (zeroized on eviction).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use redb::{ReadableTable, Table};

use crate::error::StorageError;
use crate::ids::UserId;
use crate::keys::{DataKey, MasterKey, random_key_bytes};

/// Unwrapped keys kept before the cache is cleared and refilled.
const CACHE_CAPACITY: usize = 4096;

/// Seal counts are persisted as reservations this large, so most commits do
/// not rewrite the key ring; after a restart counting resumes from the
/// reservation, which over-counts: the nonce bound stays safe.
const SEAL_BLOCK: u64 = 4096;

/// Records sealed per scope under its current key version, in memory:
/// scope → (version, sealed, persisted reservation).
#[derive(Default)]
pub(crate) struct SealCounts(Mutex<HashMap<u128, (u32, u64, u64)>>);

impl SealCounts {
    /// Forgets everything (after a failed commit): counts are re-read from
    /// the persisted reservations.
    pub(crate) fn clear(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// Unwrapped data keys by (scope, version).
#[derive(Default)]
pub(crate) struct KeyCache(RwLock<HashMap<(u128, u32), Arc<DataKey>>>);

impl KeyCache {
    pub(crate) fn get(&self, scope: u128, version: u32) -> Option<Arc<DataKey>> {
        let map = self.0.read().unwrap_or_else(|e| e.into_inner());
        map.get(&(scope, version)).cloned()
    }

    fn insert(&self, scope: u128, version: u32, key: Arc<DataKey>) {
        let mut map = self.0.write().unwrap_or_else(|e| e.into_inner());
        if map.len() >= CACHE_CAPACITY {
            map.clear();
        }
        map.insert((scope, version), key);
    }

    /// Drops every cached key of `scope` (after the scope is deleted).
    pub(crate) fn forget(&self, scope: u128) {
        let mut map = self.0.write().unwrap_or_else(|e| e.into_inner());
        map.retain(|(s, _), _| *s != scope);
    }
}

type KeyringTable<'t> = Table<'t, u128, (u32, u64)>;
type DataKeyTable<'t> = Table<'t, (u128, u32), &'static [u8]>;

/// Creates key version 1 for a new scope.
pub(crate) fn create_scope(
    master: &MasterKey,
    keyring: &mut KeyringTable<'_>,
    data_keys: &mut DataKeyTable<'_>,
    scope: u128,
) -> Result<(), StorageError> {
    add_version(master, keyring, data_keys, scope, 1)
}

fn add_version(
    master: &MasterKey,
    keyring: &mut KeyringTable<'_>,
    data_keys: &mut DataKeyTable<'_>,
    scope: u128,
    version: u32,
) -> Result<(), StorageError> {
    let secret = random_key_bytes();
    let wrapped = master.wrap_data_key(&secret, UserId::from_u128(scope), version);
    data_keys.insert((scope, version), wrapped.as_slice())?;
    keyring.insert(scope, (version, 0))?;
    Ok(())
}

/// The key to seal one more record of `scope` under, counting that record
/// and rotating to a fresh version once `rotate_after` records used the
/// current one. `None` if the scope does not exist.
pub(crate) fn key_for_sealing(
    master: &MasterKey,
    cache: &KeyCache,
    counts: &SealCounts,
    keyring: &mut KeyringTable<'_>,
    data_keys: &mut DataKeyTable<'_>,
    scope: u128,
    rotate_after: u64,
) -> Result<Option<(u32, Arc<DataKey>)>, StorageError> {
    let Some((version, reserved)) = keyring.get(scope)?.map(|v| v.value()) else {
        return Ok(None);
    };
    let mut counts = counts.0.lock().unwrap_or_else(|e| e.into_inner());
    let entry = counts.entry(scope).or_insert((version, reserved, reserved));
    if entry.0 != version {
        *entry = (version, reserved, reserved);
    }
    if entry.1 >= rotate_after {
        let next = entry.0.checked_add(1).ok_or_else(|| {
            StorageError::from(redb::StorageError::Corrupted(
                "data key versions exhausted".into(),
            ))
        })?;
        add_version(master, keyring, data_keys, scope, next)?;
        *entry = (next, 0, 0);
    }
    entry.1 += 1;
    if entry.1 > entry.2 {
        entry.2 = (entry.1 + SEAL_BLOCK - 1).min(rotate_after).max(entry.1);
        keyring.insert(scope, (entry.0, entry.2))?;
    }
    let version = entry.0;
    drop(counts);
    let key = key_for_opening(master, cache, &*data_keys, scope, version)?;
    Ok(key.map(|k| (version, k)))
}

/// The key of `scope` at `version`, from the cache or unwrapped from
/// storage. `None` if no such version exists or it does not unwrap.
pub(crate) fn key_for_opening(
    master: &MasterKey,
    cache: &KeyCache,
    data_keys: &impl ReadableTable<(u128, u32), &'static [u8]>,
    scope: u128,
    version: u32,
) -> Result<Option<Arc<DataKey>>, StorageError> {
    if let Some(key) = cache.get(scope, version) {
        return Ok(Some(key));
    }
    let Some(wrapped) = data_keys.get((scope, version))? else {
        return Ok(None);
    };
    let Ok(key) = master.unwrap_data_key(wrapped.value(), UserId::from_u128(scope), version) else {
        return Ok(None);
    };
    let key = Arc::new(key);
    cache.insert(scope, version, key.clone());
    Ok(Some(key))
}

/// Deletes every key version of `scope` (crypto-shredding).
pub(crate) fn delete_scope(
    cache: &KeyCache,
    counts: &SealCounts,
    keyring: &mut KeyringTable<'_>,
    data_keys: &mut DataKeyTable<'_>,
    scope: u128,
) -> Result<(), StorageError> {
    keyring.remove(scope)?;
    data_keys.retain_in((scope, 0)..=(scope, u32::MAX), |_, _| false)?;
    cache.forget(scope);
    counts
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&scope);
    Ok(())
}

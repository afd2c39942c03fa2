//! The [`Keyring`]: everything the engine derives from the master key. It
//! owns the master key, the unwrapped data keys (cached, zeroized on
//! eviction), the id permutations, the audit signing key, and each key scope's two counters — the
//! records sealed under its current data key (rotated before the random
//! nonce bound) and the positions handed out in its log.
//!
//! Both counters persist only a [`Reservation`] ahead of their value, so
//! most commits do not rewrite the scope's row; after a restart (or a
//! failed commit) counting resumes from the reservation. Positions then
//! skip the unused rest (invisible: published ids are opaque) and seal
//! counts over-count (the nonce bound stays safe). On a shared store
//! (several instances on one database) nothing is reserved: each commit
//! takes the next values from the row itself, under the database's
//! serializable isolation, so a position is never smaller than one that
//! committed before it — what a resuming stream relies on.

pub(crate) mod opening;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use ed25519_dalek::SigningKey;
use secrecy::ExposeSecret;

use crate::crypto::audit_chain::ChainKey;
use crate::crypto::envelope::{Binding, Envelope};
use crate::crypto::idcipher::{IdCipher, IdDomain};
use crate::crypto::keys::{DataKey, MasterKey, StoreSecret, random_key_bytes};
use crate::crypto::secret_bytes::SecretBytes;
use crate::error::{DecryptionFailed, InvariantViolated, OpenError, RecordError, StorageError};
use crate::ids::{EventId, KeyScope, MAX_POSITION, RecordId, RecordKey, UserId};
use crate::model::StreamCursor;
use crate::schema::{DATA_KEYS, META, MetaKey, RecordRef, SCOPES, ScopeRow};
use crate::store::{ReadTx, WriteTx};

/// The in-memory maps keyed by scope. foldhash rather than SipHash: every
/// read looks its data key up here, and SipHash was a fifth of that;
/// scopes are ids the engine chose, and the seed is random.
type KeyMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Unwrapped keys kept before the cache is cleared and refilled.
const CACHE_CAPACITY: usize = 4096;
/// Seal counts are reserved this many at a time.
const SEAL_BLOCK: u64 = 4096;
/// Log positions are reserved this many at a time.
const POSITION_BLOCK: u64 = 1024;

/// A counter that persists a reservation ahead of its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Reservation {
    used: u64,
    reserved: u64,
}

impl Reservation {
    /// Counting resumes after the persisted reservation.
    fn resume(reserved: u64) -> Self {
        Self {
            used: reserved,
            reserved,
        }
    }

    /// Counts one more, up to `cap`; returns the new value, and whether the
    /// reservation grew (and must be persisted with it). `None` once the
    /// counter would pass `cap`.
    fn take(&mut self, block: u64, cap: u64) -> Option<(u64, bool)> {
        if self.used >= cap {
            return None;
        }
        self.used += 1;
        let grew = self.used > self.reserved;
        if grew {
            self.reserved = self.used.saturating_add(block - 1).min(cap);
        }
        Some((self.used, grew))
    }
}

/// A scope's counters in memory.
#[derive(Clone, Copy, Debug)]
struct Counters {
    key_version: u32,
    seals: Reservation,
    positions: Reservation,
}

impl Counters {
    fn resume(row: ScopeRow) -> Self {
        Self {
            key_version: row.key_version,
            seals: Reservation::resume(row.seals_reserved),
            positions: Reservation::resume(row.positions_reserved),
        }
    }

    fn row(&self) -> ScopeRow {
        ScopeRow {
            key_version: self.key_version,
            seals_reserved: self.seals.reserved,
            positions_reserved: self.positions.reserved,
        }
    }
}

/// What sealing one more record of a scope needs.
pub(crate) struct Sealing {
    /// The record's position in the scope's log.
    pub(crate) position: u64,
    key_version: u32,
    key: Arc<DataKey>,
}

impl Sealing {
    /// Seals `plaintext` as the record `key` of `scope`.
    pub(crate) fn seal(&self, scope: KeyScope, key: RecordKey, plaintext: &[u8]) -> Vec<u8> {
        let binding = Binding {
            scope,
            record: key.as_u128(),
        };
        crate::crypto::envelope::seal(&self.key, self.key_version, binding, plaintext)
    }
}

/// The master key and what hangs off it.
pub(crate) struct Keyring {
    master: MasterKey,
    ids: IdCipher,
    audit_key: SigningKey,
    audit_chain: ChainKey,
    cache: RwLock<KeyMap<(KeyScope, u32), Arc<DataKey>>>,
    counters: Mutex<KeyMap<KeyScope, Counters>>,
    rotate_after: u64,
    /// Other processes write the same store: counters come from the
    /// scope's row on every use and reserve nothing ahead, so log
    /// positions follow commit order across instances.
    shared: bool,
}

/// The store's audit keys, from the seed wrapped under `master`: the
/// Ed25519 key that signs checkpoints and the key the chain is linked
/// under.
pub(crate) fn audit_keys(
    master: &MasterKey,
    tx: &dyn ReadTx,
) -> Result<(SigningKey, ChainKey), OpenError> {
    let corrupt = || StorageError::Corrupt { table: META.name() };
    let wrapped = META
        .get(tx, &MetaKey::of_secret(StoreSecret::AuditKey))?
        .ok_or_else(corrupt)?;
    let seed = master
        .unwrap_store_secret(StoreSecret::AuditKey, &wrapped)
        .map_err(|_| corrupt())?;
    Ok((
        SigningKey::from_bytes(seed.expose_secret()),
        ChainKey::derive(&seed),
    ))
}

/// What a key ring is made of, read from the store under its master key.
pub(crate) struct Loaded {
    ids: IdCipher,
    audit_key: SigningKey,
    audit_chain: ChainKey,
}

impl Keyring {
    /// Checks `master` against the database and unwraps the id root and
    /// the audit keys: what [`Keyring::new`] is made of, read without
    /// taking `master`, so that the read may run again.
    pub(crate) fn load(tx: &dyn ReadTx, master: &MasterKey) -> Result<Loaded, OpenError> {
        let corrupt = || StorageError::Corrupt { table: META.name() };
        let check = META.get(tx, &MetaKey::KeyCheck)?.ok_or_else(corrupt)?;
        if !master.verifies_key_check(&check) {
            return Err(OpenError::WrongMasterKey);
        }
        let secret = |which| {
            let wrapped = META
                .get(tx, &MetaKey::of_secret(which))?
                .ok_or_else(corrupt)?;
            master
                .unwrap_store_secret(which, &wrapped)
                .map_err(|_| corrupt())
        };
        let root = secret(StoreSecret::IdRoot)?;
        let (audit_key, audit_chain) = audit_keys(master, tx)?;
        Ok(Loaded {
            ids: IdCipher::new(&root),
            audit_key,
            audit_chain,
        })
    }

    /// The key ring of `master`, from what [`Keyring::load`] read.
    pub(crate) fn new(loaded: Loaded, master: MasterKey, rotate_after: u64, shared: bool) -> Self {
        let Loaded {
            ids,
            audit_key,
            audit_chain,
        } = loaded;
        Self {
            ids,
            audit_key,
            audit_chain,
            master,
            cache: RwLock::default(),
            counters: Mutex::default(),
            rotate_after,
            shared,
        }
    }

    /// The key that signs audit checkpoints.
    pub(crate) fn audit_key(&self) -> &SigningKey {
        &self.audit_key
    }

    /// The key the audit log is chained under.
    pub(crate) fn audit_chain(&self) -> &ChainKey {
        &self.audit_chain
    }

    /// The master key (for re-wrapping under a new one).
    pub(crate) fn master(&self) -> &MasterKey {
        &self.master
    }

    fn counters(&self) -> MutexGuard<'_, KeyMap<KeyScope, Counters>> {
        self.counters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Creates key version 1 of a new scope.
    pub(crate) fn create_scope(
        &self,
        tx: &mut dyn WriteTx,
        scope: KeyScope,
    ) -> Result<(), StorageError> {
        create_scope(&self.master, tx, scope)
    }

    /// Decrypts a stored record of `scope` under `key`.
    pub(crate) fn open_record(
        &self,
        tx: &(impl ReadTx + ?Sized),
        scope: KeyScope,
        key: RecordKey,
        row: RecordRef<'_>,
    ) -> Result<SecretBytes, RecordError> {
        let envelope = Envelope::parse(row.envelope).map_err(|_| DecryptionFailed)?;
        let data_key = self
            .opening_key(tx, scope, envelope.key_version())?
            .ok_or(DecryptionFailed)?;
        Ok(open_under(&data_key, scope, key, &envelope)?)
    }

    /// Takes the next log position of `scope` and the key to seal under,
    /// counting the seal and rotating to a fresh key version once
    /// `rotate_after` records used the current one. `None` if the scope
    /// does not exist.
    pub(crate) fn stage(
        &self,
        tx: &mut dyn WriteTx,
        scope: KeyScope,
    ) -> Result<Option<Sealing>, RecordError> {
        self.stage_with(tx, scope, true)
    }

    /// The current key of `scope` for re-sealing an existing record under
    /// it: counts the seal like [`Keyring::stage`] but takes no log
    /// position (the record keeps its key). `position` is 0.
    pub(crate) fn reseal(
        &self,
        tx: &mut dyn WriteTx,
        scope: KeyScope,
    ) -> Result<Option<Sealing>, RecordError> {
        self.stage_with(tx, scope, false)
    }

    /// Starts a fresh data key version for `scope`: new seals use it, older
    /// versions stay to open older records. Returns the new version, or
    /// `None` if the scope does not exist.
    pub(crate) fn rotate_scope(
        &self,
        tx: &mut dyn WriteTx,
        scope: KeyScope,
    ) -> Result<Option<u32>, RecordError> {
        let Some(row) = SCOPES.get(tx, &scope)? else {
            return Ok(None);
        };
        let next = row
            .key_version
            .checked_add(1)
            .ok_or(InvariantViolated("data key versions exhausted"))?;
        add_version(&self.master, tx, scope, next)?;
        let mut counters = Counters::resume(row);
        counters.key_version = next;
        counters.seals = Reservation::resume(0);
        SCOPES.insert(tx, &scope, &counters.row())?;
        self.counters().insert(scope, counters);
        Ok(Some(next))
    }

    fn stage_with(
        &self,
        tx: &mut dyn WriteTx,
        scope: KeyScope,
        take_position: bool,
    ) -> Result<Option<Sealing>, RecordError> {
        let Some(row) = SCOPES.get(tx, &scope)? else {
            return Ok(None);
        };
        let mut all = self.counters();
        let counters = all.entry(scope).or_insert_with(|| Counters::resume(row));
        if self.shared || counters.key_version != row.key_version {
            *counters = Counters::resume(row);
        }
        let (seal_block, position_block) = if self.shared {
            (1, 1)
        } else {
            (SEAL_BLOCK, POSITION_BLOCK)
        };
        let mut persist = false;
        if counters.seals.used >= self.rotate_after {
            let next = counters
                .key_version
                .checked_add(1)
                .ok_or(InvariantViolated("data key versions exhausted"))?;
            add_version(&self.master, tx, scope, next)?;
            counters.key_version = next;
            counters.seals = Reservation::resume(0);
            persist = true;
        }
        let (_, seals_grew) = counters
            .seals
            .take(seal_block, self.rotate_after)
            .ok_or(InvariantViolated("seal count passed the rotation bound"))?;
        let (position, positions_grew) = if take_position {
            counters
                .positions
                .take(position_block, MAX_POSITION)
                .ok_or(InvariantViolated("log positions exhausted"))?
        } else {
            (0, false)
        };
        if persist || seals_grew || positions_grew {
            SCOPES.insert(tx, &scope, &counters.row())?;
        }
        let key_version = counters.key_version;
        drop(all);
        let key = self
            .opening_key(tx, scope, key_version)?
            .ok_or(InvariantViolated("current data key is missing"))?;
        Ok(Some(Sealing {
            position,
            key_version,
            key,
        }))
    }

    /// The current data key of `scope` and its version, for keys derived
    /// from it (a file's); `None` if the scope does not exist. Counts no
    /// seal: derived keys seal under their own nonces.
    pub(crate) fn current_key(
        &self,
        tx: &(impl ReadTx + ?Sized),
        scope: KeyScope,
    ) -> Result<Option<(u32, Arc<DataKey>)>, StorageError> {
        let Some(row) = SCOPES.get(tx, &scope)? else {
            return Ok(None);
        };
        Ok(self
            .opening_key(tx, scope, row.key_version)?
            .map(|key| (row.key_version, key)))
    }

    /// Forgets the in-memory counters after a failed commit: they resume
    /// from the persisted reservations.
    pub(crate) fn forget_counters(&self) {
        self.counters().clear();
    }

    /// The key of `scope` at `version`, from the cache or unwrapped from
    /// storage. `None` if no such version exists or it does not unwrap.
    pub(crate) fn opening_key(
        &self,
        tx: &(impl ReadTx + ?Sized),
        scope: KeyScope,
        version: u32,
    ) -> Result<Option<Arc<DataKey>>, StorageError> {
        let cached = self
            .cache
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(scope, version))
            .cloned();
        if let Some(key) = cached {
            return Ok(Some(key));
        }
        let Some(wrapped) = DATA_KEYS.get(tx, &(scope, version))? else {
            return Ok(None);
        };
        let Ok(key) = self.master.unwrap_data_key(&wrapped, scope, version) else {
            return Ok(None);
        };
        let key = Arc::new(key);
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHE_CAPACITY {
            cache.clear();
        }
        cache.insert((scope, version), key.clone());
        Ok(Some(key))
    }

    /// Deletes every key version of `scope` (crypto-shredding) and forgets
    /// what memory holds of it.
    pub(crate) fn delete_scope(
        &self,
        tx: &mut dyn WriteTx,
        scope: KeyScope,
    ) -> Result<(), StorageError> {
        SCOPES.remove(tx, &scope)?;
        for key in DATA_KEYS.keys(tx, (scope, 0)..=(scope, u32::MAX), usize::MAX)? {
            DATA_KEYS.remove(tx, &key)?;
        }
        self.forget_scope(scope);
        Ok(())
    }

    /// Drops cached keys and counters of `scope` (after it was deleted).
    pub(crate) fn forget_scope(&self, scope: KeyScope) {
        self.cache
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(s, _), _| *s != scope);
        self.counters().remove(&scope);
    }

    /// The tweak that binds record ids to their owner (`scope`).
    fn owner_tweak(&self, scope: KeyScope) -> u128 {
        self.ids.encrypt(IdDomain::Owner, scope.as_u128())
    }

    /// The public id of record `key` of `scope`, as its owner sees it: the
    /// key XOR the owner's tweak, permuted. Another owner decoding it gets
    /// noise, as from a made-up id.
    pub(crate) fn record_id(&self, scope: KeyScope, key: RecordKey) -> RecordId {
        let value = key.as_u128() ^ self.owner_tweak(scope);
        RecordId::from_u128(self.ids.encrypt(IdDomain::Record, value))
    }

    /// [`Keyring::record_id`] of each key of `scope`, computed in one batch.
    pub(crate) fn record_ids(
        &self,
        scope: KeyScope,
        keys: impl IntoIterator<Item = RecordKey>,
    ) -> Vec<RecordId> {
        let tweak = self.owner_tweak(scope);
        let values = keys.into_iter().map(|k| k.as_u128() ^ tweak);
        self.ids
            .encrypt_all(IdDomain::Record, values)
            .into_iter()
            .map(RecordId::from_u128)
            .collect()
    }

    /// The record key behind a public id, for its owner `scope`; `None`
    /// for an id this engine did not issue to that owner (another owner's,
    /// tampered, made up, or from another database) — as far as the key's
    /// structure can tell (18 bits); a key that passes by chance finds
    /// nothing, and as a cursor means nothing.
    pub(crate) fn record_key(&self, scope: KeyScope, id: RecordId) -> Option<RecordKey> {
        let value = self.ids.decrypt(IdDomain::Record, id.as_u128()) ^ self.owner_tweak(scope);
        let key = RecordKey::from_u128(value);
        key.is_well_formed().then_some(key)
    }

    /// The public form of `user`'s stream cursor: both positions (48 bits
    /// each) and 32 bits of the user id, as one permuted block.
    pub(crate) fn event_id(&self, user: UserId, cursor: StreamCursor) -> EventId {
        let block = (u128::from(cursor.own & MAX_POSITION) << 80)
            | (u128::from(cursor.broadcast & MAX_POSITION) << 32)
            | u128::from(user_check(user));
        EventId(self.ids.encrypt(IdDomain::Event, block).to_be_bytes())
    }

    /// The cursor behind an event id; `None` unless this engine issued it
    /// to `user`.
    pub(crate) fn cursor(&self, user: UserId, id: EventId) -> Option<StreamCursor> {
        let block = self.ids.decrypt(IdDomain::Event, u128::from_be_bytes(id.0));
        let check = (block & u128::from(u32::MAX)) as u32;
        (check == user_check(user)).then_some(StreamCursor {
            own: (block >> 80) as u64 & MAX_POSITION,
            broadcast: (block >> 32) as u64 & MAX_POSITION,
        })
    }
}

/// Decrypts the envelope of record `key` of `scope` under `data_key` (the
/// key of the envelope's version).
pub(crate) fn open_under(
    data_key: &DataKey,
    scope: KeyScope,
    key: RecordKey,
    envelope: &Envelope<'_>,
) -> Result<SecretBytes, DecryptionFailed> {
    let binding = Binding {
        scope,
        record: key.as_u128(),
    };
    envelope
        .open(data_key, binding)
        .map_err(|_| DecryptionFailed)
}

/// The 32 bits of a user id an event id carries.
fn user_check(user: UserId) -> u32 {
    user.as_u128() as u32
}

/// Creates key version 1 of a new scope (also at database creation, for
/// the broadcast scope, before a keyring exists).
pub(crate) fn create_scope(
    master: &MasterKey,
    tx: &mut dyn WriteTx,
    scope: KeyScope,
) -> Result<(), StorageError> {
    add_version(master, tx, scope, 1)?;
    let row = ScopeRow {
        key_version: 1,
        seals_reserved: 0,
        positions_reserved: 0,
    };
    SCOPES.insert(tx, &scope, &row)
}

/// Creates data key `version` of `scope`, stored wrapped.
fn add_version(
    master: &MasterKey,
    tx: &mut dyn WriteTx,
    scope: KeyScope,
    version: u32,
) -> Result<(), StorageError> {
    let wrapped = master.wrap_data_key(&random_key_bytes(), scope, version);
    DATA_KEYS.insert(tx, &(scope, version), &wrapped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_grow_in_blocks_and_stop_at_the_cap() {
        let mut r = Reservation::resume(0);
        assert_eq!(r.take(4, 10), Some((1, true)));
        assert_eq!(r.reserved, 4);
        assert_eq!(r.take(4, 10), Some((2, false)));
        assert_eq!(r.take(4, 10), Some((3, false)));
        assert_eq!(r.take(4, 10), Some((4, false)));
        assert_eq!(r.take(4, 10), Some((5, true)));
        assert_eq!(r.reserved, 8);
        let mut r = Reservation::resume(8);
        assert_eq!(r.take(4, 10), Some((9, true)));
        assert_eq!(r.reserved, 10);
        assert_eq!(r.take(4, 10), Some((10, false)));
        assert_eq!(r.take(4, 10), None);
    }
}

//! The schema version: stored in `meta`, written when a database is
//! created, checked (and older versions migrated) every time it opens.
//!
//! | version | change |
//! |---|---|
//! | 1 | the first release: typed redb tables, no version stored (see `legacy`) |
//! | 2 | byte-keyed tables behind the storage interface; per-scope log positions; the id root; sender names on records |
//! | 3 | share links: `shares`, `share_expiry`, `shares_by_owner` (new, empty tables; a release that knows only 2 would not purge them, so it must refuse the file) |
//! | 4 | accounts gain a role and a disabled flag (appended to the user row; rows without them read as enabled `user`s, so nothing is rewritten) |
//! | 5 | API keys (`api_keys`, token kind 4), the audit log (`audit`; its signing key and pruning anchor in `meta`), quotas and usage (`quotas`, `usage`, counted from the stored records when migrating) |
//! | 6 | end-to-end keys: `e2e_keys` (new and empty; a release that knows only 5 would not delete a user's keys, so it must refuse the file) |
//! | 7 | the audit chain keyed (HMAC-SHA256 under a key derived from the audit signing seed; entries re-linked once, after the old chain is checked); active share links count toward their creator's usage (recounted) |
//! | 8 | TOTP second factors: `totp` (new and empty; a release that knows only 7 would neither ask for the second factor nor delete it with the account, so it must refuse the file) |
//! | 9 | OpenID Connect identities: `identities` (new and empty; a release that knows only 8 would not delete them with the account, so it must refuse the file) |
//! | 10 | files: `files`, `file_segments`, `file_expiry` (new and empty; a release that knows only 9 would neither purge nor delete them with the account, so it must refuse the file) |
//! | 11 | credits: `credits`, `ledger`, `ledger_by_account`, `billing_events` (new and empty; a release that knows only 10 could not read the audit log's `credits.*` entries, so it must refuse the file) |
//! | 12 | passkeys: `passkeys`, `passkey_ids` (new and empty; a release that knows only 11 would not delete them with the account, so it must refuse the file) |

use super::{META, MetaKey};
use crate::crypto::keys::{MasterKey, StoreSecret, random_key_bytes};
use crate::error::{OpenError, StorageError};
use crate::store::{ReadTx, WriteTx};

/// The database schema version this release writes and reads.
pub const SCHEMA_VERSION: u32 = 12;

/// Brings the database in `tx` to [`SCHEMA_VERSION`]: a new one gets its
/// version, the master key check and a fresh id root; an older one is
/// migrated step by step (in `tx`, so all or nothing) once the master key
/// checks; a newer one is refused untouched. Returns the version found
/// (`None` for a new database): the steps that need the domains (the
/// audit chain's re-linking, schema 7) are the caller's, in the same
/// transaction.
pub(crate) fn prepare(tx: &mut dyn WriteTx, master: &MasterKey) -> Result<Option<u32>, OpenError> {
    let Some(found) = stored(tx, master)? else {
        create(tx, master)?;
        return Ok(None);
    };
    // One step per version. Version 1 is the legacy layout, converted
    // before this runs. 2 → 3 adds tables that start empty: nothing to
    // move, only the version to raise.
    if found < 5 {
        write_secret(tx, master, StoreSecret::AuditKey)?;
    }
    if found < 7 {
        // Usage counts active share links from 7 on (and was first
        // counted at 5).
        super::usage::count_all(tx)?;
    }
    if found < SCHEMA_VERSION {
        set_version(tx, SCHEMA_VERSION)?;
    }
    Ok(Some(found))
}

/// Checks the database in `tx` as [`prepare`] does, for a read-only
/// open: only a database at [`SCHEMA_VERSION`] under `master` opens; one
/// that [`prepare`] would create or migrate is refused unchanged.
pub(crate) fn check(tx: &dyn ReadTx, master: &MasterKey) -> Result<(), OpenError> {
    match stored(tx, master)? {
        Some(SCHEMA_VERSION) => Ok(()),
        Some(_) => Err(OpenError::NeedsWrite(
            "its schema is older than this release's and needs an upgrade",
        )),
        None => Err(OpenError::NeedsWrite(
            "it holds no store of this layout (it is new, or from the first release)",
        )),
    }
}

/// The stored schema version (`None` for a new database), once it is
/// known to be one this release reads and `master` is the database's.
fn stored(tx: &dyn ReadTx, master: &MasterKey) -> Result<Option<u32>, OpenError> {
    let Some(stored) = META.get(tx, &MetaKey::SchemaVersion)? else {
        return Ok(None);
    };
    let found = <[u8; 4]>::try_from(stored.as_slice())
        .map(u32::from_be_bytes)
        .map_err(|_| StorageError::Corrupt { table: META.name() })?;
    if found > SCHEMA_VERSION {
        return Err(OpenError::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    // Nothing changes under a key that is not this database's.
    let check = META
        .get(tx, &MetaKey::KeyCheck)?
        .ok_or(StorageError::Corrupt { table: META.name() })?;
    if !master.verifies_key_check(&check) {
        return Err(OpenError::WrongMasterKey);
    }
    Ok(Some(found))
}

fn create(tx: &mut dyn WriteTx, master: &MasterKey) -> Result<(), StorageError> {
    set_version(tx, SCHEMA_VERSION)?;
    META.insert(tx, &MetaKey::KeyCheck, &master.key_check())?;
    for which in StoreSecret::ALL {
        write_secret(tx, master, which)?;
    }
    Ok(())
}

/// Stores a fresh store secret.
pub(super) fn write_secret(
    tx: &mut dyn WriteTx,
    master: &MasterKey,
    which: StoreSecret,
) -> Result<(), StorageError> {
    let secret = random_key_bytes();
    let wrapped = master.wrap_store_secret(which, &secret);
    META.insert(tx, &MetaKey::of_secret(which), &wrapped)
}

pub(super) fn set_version(tx: &mut dyn WriteTx, version: u32) -> Result<(), StorageError> {
    META.insert(tx, &MetaKey::SchemaVersion, &version.to_be_bytes().to_vec())
}

//! The TOTP second factor of an account: set up (pending) with a secret
//! sealed under the account's data key, confirmed with a first code (then
//! enforced, with ten single-use recovery codes), checked at sign-in with
//! every code usable once, turned off with a code.

use secrecy::SecretString;

use crate::crypto::envelope::Envelope;
use crate::crypto::secret_bytes::SecretBytes;
use crate::crypto::totp;
use crate::error::{RecordError, StorageError, TotpError};
use crate::ids::{KeyScope, RecordKey, UserId};
use crate::keyring::{Keyring, open_under};
use crate::model::totp::SecondFactor;
use crate::schema::{TOTP, TotpRow};
use crate::store::{ReadTx, WriteTx};

/// The binding of a sealed TOTP secret: never a record's key (those carry
/// UUID version 8), so a secret cannot pass for a record or the reverse.
const SECRET_BINDING: RecordKey = RecordKey::from_u128(0);

/// Why a second factor did not check out.
#[derive(Debug)]
pub(crate) enum Check {
    /// Right: the row as it must be stored now (the step or code used up).
    Accepted(TotpRow),
    /// Wrong, or used already.
    Refused,
}

/// Starts a setup for `user` (replacing one not yet confirmed): a fresh
/// secret, sealed; returns what the app needs. Refused while one is on.
pub(crate) fn begin(
    tx: &mut dyn WriteTx,
    keyring: &Keyring,
    user: UserId,
    account: &str,
) -> Result<(SecretString, SecretString), TotpError> {
    if TOTP.get(tx, &user)?.is_some_and(|row| row.confirmed) {
        return Err(TotpError::AlreadyEnabled);
    }
    let scope = KeyScope::User(user);
    let sealing = match keyring.reseal(tx, scope) {
        Ok(Some(sealing)) => sealing,
        Ok(None) => return Err(TotpError::NotFound),
        Err(RecordError::Storage(e)) => return Err(e.into()),
        Err(other) => return Err(StorageError::backend(other).into()),
    };
    let secret = totp::generate_secret();
    let row = TotpRow {
        confirmed: false,
        last_step: 0,
        sealed_secret: sealing.seal(scope, SECRET_BINDING, &secret[..]),
        recovery: Vec::new(),
    };
    TOTP.insert(tx, &user, &row)?;
    totp::provisioning(&secret[..], account).ok_or(TotpError::NotFound)
}

/// The secret of `row`, opened under `user`'s data key.
fn secret(
    tx: &dyn ReadTx,
    keyring: &Keyring,
    user: UserId,
    row: &TotpRow,
) -> Result<SecretBytes, StorageError> {
    let corrupt = || TOTP.corrupt();
    let scope = KeyScope::User(user);
    let envelope = Envelope::parse(&row.sealed_secret).map_err(|_| corrupt())?;
    let key = keyring
        .opening_key(tx, scope, envelope.key_version())?
        .ok_or_else(corrupt)?;
    open_under(&key, scope, SECRET_BINDING, &envelope).map_err(|_| corrupt())
}

/// Checks `factor` against `user`'s row at `unix_secs`: a TOTP code of a
/// step after the last one accepted, or an unused recovery code.
pub(crate) fn check(
    tx: &dyn ReadTx,
    keyring: &Keyring,
    user: UserId,
    row: &TotpRow,
    factor: &SecondFactor,
    unix_secs: u64,
) -> Result<Check, StorageError> {
    let mut next = row.clone();
    match factor {
        SecondFactor::Totp(code) => {
            let secret = secret(tx, keyring, user, row)?;
            let code = secrecy::ExposeSecret::expose_secret(code);
            match totp::matched_step(&secret, code, unix_secs) {
                Some(step) if step > row.last_step => next.last_step = step,
                _ => return Ok(Check::Refused),
            }
        }
        SecondFactor::RecoveryCode(code) => {
            let Some(hash) = totp::recovery_hash(code) else {
                return Ok(Check::Refused);
            };
            let before = next.recovery.len();
            next.recovery.retain(|h| *h != hash);
            if next.recovery.len() == before {
                return Ok(Check::Refused);
            }
        }
    }
    Ok(Check::Accepted(next))
}

/// `user`'s TOTP row, if any.
pub(crate) fn get(tx: &dyn ReadTx, user: UserId) -> Result<Option<TotpRow>, StorageError> {
    TOTP.get(tx, &user)
}

/// Whether `user` must give a second factor.
pub(crate) fn enforced(tx: &dyn ReadTx, user: UserId) -> Result<Option<TotpRow>, StorageError> {
    Ok(TOTP.get(tx, &user)?.filter(|row| row.confirmed))
}

/// Stores `row` for `user`.
pub(crate) fn put(tx: &mut dyn WriteTx, user: UserId, row: &TotpRow) -> Result<(), StorageError> {
    TOTP.insert(tx, &user, row)
}

/// Removes `user`'s second factor (turned off, cleared, account deleted).
pub(crate) fn forget(tx: &mut dyn WriteTx, user: UserId) -> Result<bool, StorageError> {
    Ok(TOTP.remove(tx, &user)?.is_some())
}

/// Ten fresh recovery codes and their hashes.
pub(crate) fn recovery_codes() -> (Vec<SecretString>, Vec<[u8; 32]>) {
    let codes = totp::recovery_codes();
    let hashes = codes.iter().filter_map(totp::recovery_hash).collect();
    (codes, hashes)
}

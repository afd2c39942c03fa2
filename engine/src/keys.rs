//! Key types: the master key and per-user data keys (DEKs), with the
//! AES-256-GCM operations they allow. Neither type prints its key, neither is
//! `Clone`, and both zeroize their key schedule on drop.

use std::fmt;

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Tag};
use secrecy::{ExposeSecret, SecretBox};
use zeroize::Zeroizing;

use crate::ids::UserId;

/// Length of every key, in bytes (AES-256).
pub const KEY_LEN: usize = 32;
/// Length of a nonce, in bytes (96 bits, the only size accepted).
pub const NONCE_LEN: usize = 12;
/// Length of an authentication tag, in bytes.
pub const TAG_LEN: usize = 16;
/// Length of a wrapped data key: nonce || encrypted key || tag.
pub(crate) const WRAPPED_KEY_LEN: usize = NONCE_LEN + KEY_LEN + TAG_LEN;

const WRAP_CONTEXT: &[u8] = b"strongroom/dek/v1";

/// A 96-bit AES-GCM nonce. Other sizes cannot be expressed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Nonce([u8; NONCE_LEN]);

impl Nonce {
    /// A fresh nonce from the thread-local CSPRNG (seeded by the OS).
    pub fn random() -> Self {
        Self(rand::random())
    }

    /// The nonce with these bytes.
    pub const fn from_bytes(bytes: [u8; NONCE_LEN]) -> Self {
        Self(bytes)
    }

    /// The nonce's bytes.
    pub const fn as_bytes(&self) -> &[u8; NONCE_LEN] {
        &self.0
    }
}

impl fmt::Debug for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nonce(")?;
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))?;
        write!(f, ")")
    }
}

/// Authentication failed: wrong key, wrong associated data, or altered bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("authentication failed")]
pub struct AuthenticationFailed;

/// An AES-256-GCM key. Shared by [`MasterKey`] and [`DataKey`].
struct Cipher(Aes256Gcm);

impl Cipher {
    fn new(key: &SecretBox<[u8; KEY_LEN]>) -> Self {
        // The slice is exactly KEY_LEN bytes, so this cannot fail; going
        // through a slice avoids an unzeroized stack copy of the key.
        let cipher = Aes256Gcm::new_from_slice(key.expose_secret())
            .unwrap_or_else(|_| unreachable!("key is exactly 32 bytes"));
        Self(cipher)
    }

    /// Appends `ciphertext || tag` of `plaintext` to `out`.
    fn seal_into(&self, nonce: &Nonce, aad: &[u8], plaintext: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(plaintext);
        let tag = self
            .0
            .encrypt_inout_detached(&nonce.0.into(), aad, (&mut out[start..]).into())
            // Only fails for messages over 64 GiB, far beyond any limit here.
            .unwrap_or_else(|_| unreachable!("AES-GCM length limit exceeded"));
        out.extend_from_slice(&tag);
    }

    fn open(
        &self,
        nonce: &Nonce,
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, AuthenticationFailed> {
        let split = sealed
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(AuthenticationFailed)?;
        let (ciphertext, tag) = sealed.split_at(split);
        let tag = Tag::try_from(tag).map_err(|_| AuthenticationFailed)?;
        let mut buffer = Zeroizing::new(ciphertext.to_vec());
        self.0
            .decrypt_inout_detached(&nonce.0.into(), aad, buffer.as_mut_slice().into(), &tag)
            .map_err(|_| AuthenticationFailed)?;
        Ok(buffer)
    }
}

/// The 256-bit master key: wraps every data key, never touches records.
pub struct MasterKey(Cipher);

impl MasterKey {
    /// A master key from its 32 secret bytes.
    pub fn from_secret(key: &SecretBox<[u8; KEY_LEN]>) -> Self {
        Self(Cipher::new(key))
    }

    /// Wraps `dek` for `user` at `version`: AES-256-GCM under this key, the
    /// associated data binding user id and key version.
    pub fn wrap_data_key(
        &self,
        dek: &SecretBox<[u8; KEY_LEN]>,
        user: UserId,
        version: u32,
    ) -> Vec<u8> {
        let nonce = Nonce::random();
        let mut out = Vec::with_capacity(WRAPPED_KEY_LEN);
        out.extend_from_slice(&nonce.0);
        self.0.seal_into(
            &nonce,
            &wrap_aad(user, version),
            dek.expose_secret(),
            &mut out,
        );
        out
    }

    /// Unwraps a data key wrapped by [`MasterKey::wrap`] for the same user
    /// and version. Fails on any other input, never panics.
    pub fn unwrap_data_key(
        &self,
        wrapped: &[u8],
        user: UserId,
        version: u32,
    ) -> Result<DataKey, AuthenticationFailed> {
        if wrapped.len() != WRAPPED_KEY_LEN {
            return Err(AuthenticationFailed);
        }
        let (nonce, sealed) = wrapped.split_at(NONCE_LEN);
        let nonce = Nonce(nonce.try_into().map_err(|_| AuthenticationFailed)?);
        let plain = self.0.open(&nonce, &wrap_aad(user, version), sealed)?;
        let bytes: [u8; KEY_LEN] = plain
            .as_slice()
            .try_into()
            .map_err(|_| AuthenticationFailed)?;
        let secret = SecretBox::new(Box::new(bytes));
        Ok(DataKey::from_secret(&secret))
    }

    /// Seals a small value under the master key itself (the key check).
    pub(crate) fn seal_check(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let nonce = Nonce::random();
        let mut out = nonce.0.to_vec();
        self.0.seal_into(&nonce, aad, plaintext, &mut out);
        out
    }

    /// Opens what [`MasterKey::seal_check`] sealed.
    pub(crate) fn open_check(
        &self,
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, AuthenticationFailed> {
        let nonce_bytes = sealed.get(..NONCE_LEN).ok_or(AuthenticationFailed)?;
        let nonce = Nonce(nonce_bytes.try_into().map_err(|_| AuthenticationFailed)?);
        self.0.open(&nonce, aad, &sealed[NONCE_LEN..])
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey([REDACTED])")
    }
}

fn wrap_aad(user: UserId, version: u32) -> [u8; WRAP_CONTEXT.len() + 16 + 4] {
    let mut aad = [0; WRAP_CONTEXT.len() + 16 + 4];
    aad[..WRAP_CONTEXT.len()].copy_from_slice(WRAP_CONTEXT);
    aad[WRAP_CONTEXT.len()..][..16].copy_from_slice(&user.as_u128().to_be_bytes());
    aad[WRAP_CONTEXT.len() + 16..].copy_from_slice(&version.to_be_bytes());
    aad
}

/// A 256-bit data key: seals and opens records of one user (or scope).
pub struct DataKey(Cipher);

impl DataKey {
    /// A data key from its 32 secret bytes.
    pub fn from_secret(key: &SecretBox<[u8; KEY_LEN]>) -> Self {
        Self(Cipher::new(key))
    }

    /// AES-256-GCM: returns `ciphertext || tag`.
    pub fn seal(&self, nonce: &Nonce, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(plaintext.len() + TAG_LEN);
        self.seal_into(nonce, aad, plaintext, &mut out);
        out
    }

    /// AES-256-GCM: appends `ciphertext || tag` to `out`.
    pub fn seal_into(&self, nonce: &Nonce, aad: &[u8], plaintext: &[u8], out: &mut Vec<u8>) {
        self.0.seal_into(nonce, aad, plaintext, out);
    }

    /// AES-256-GCM: opens `ciphertext || tag`.
    pub fn open(
        &self,
        nonce: &Nonce,
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, AuthenticationFailed> {
        self.0.open(nonce, aad, sealed)
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey([REDACTED])")
    }
}

/// 32 fresh secret bytes from the thread-local CSPRNG, filled in place.
pub(crate) fn random_key_bytes() -> SecretBox<[u8; KEY_LEN]> {
    SecretBox::init_with_mut(|k: &mut [u8; KEY_LEN]| rand::fill(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(n: u128) -> UserId {
        UserId::from_u128(n)
    }

    #[test]
    fn wrapped_key_opens_only_for_its_user_and_version() {
        let master = MasterKey::from_secret(&random_key_bytes());
        let dek = random_key_bytes();
        let wrapped = master.wrap_data_key(&dek, user(7), 1);
        assert_eq!(wrapped.len(), WRAPPED_KEY_LEN);
        assert!(master.unwrap_data_key(&wrapped, user(7), 1).is_ok());
        assert!(master.unwrap_data_key(&wrapped, user(8), 1).is_err());
        assert!(master.unwrap_data_key(&wrapped, user(7), 2).is_err());
        let other = MasterKey::from_secret(&random_key_bytes());
        assert!(other.unwrap_data_key(&wrapped, user(7), 1).is_err());
        assert!(master.unwrap_data_key(&wrapped[1..], user(7), 1).is_err());
    }

    #[test]
    fn debug_never_prints_key_material() {
        let master = MasterKey::from_secret(&random_key_bytes());
        let data = DataKey::from_secret(&random_key_bytes());
        assert_eq!(format!("{master:?}"), "MasterKey([REDACTED])");
        assert_eq!(format!("{data:?}"), "DataKey([REDACTED])");
    }

    #[test]
    fn open_rejects_short_input_without_panicking() {
        let key = DataKey::from_secret(&random_key_bytes());
        let nonce = Nonce::random();
        for len in 0..TAG_LEN {
            assert_eq!(
                key.open(&nonce, b"", &vec![0; len]),
                Err(AuthenticationFailed)
            );
        }
    }
}

//! The record envelope, version 1:
//!
//! ```text
//! version (1) || key version (4, big-endian) || nonce (12) || ciphertext || tag (16)
//! ```
//!
//! The associated data is `header || key scope (16, BE) || record key (16,
//! BE)`, where the header is the first 17 bytes, so an envelope cannot be
//! moved to another user, record or key version without failing
//! authentication. The nonce is random per record and travels inside the
//! envelope: opening reads it back from bytes 5..17 rather than inventing
//! one. The engine's public errors collapse every failure here into one
//! opaque `DecryptionFailed`.

use crate::crypto::keys::{DataKey, NONCE_LEN, Nonce, TAG_LEN};
use crate::crypto::secret_bytes::SecretBytes;
use crate::ids::KeyScope;

/// The only envelope version this engine writes or reads.
pub const VERSION: u8 = 1;
/// Length of the header: version, key version, nonce.
pub const HEADER_LEN: usize = 1 + 4 + NONCE_LEN;
/// Shortest possible envelope: header and tag around an empty ciphertext.
pub const MIN_LEN: usize = HEADER_LEN + TAG_LEN;
const AAD_LEN: usize = HEADER_LEN + 16 + 16;

/// What a ciphertext is bound to: its key scope and its record's internal
/// key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Binding {
    /// The scope (user or broadcast) the record belongs to.
    pub scope: KeyScope,
    /// The record's internal key.
    pub record: u128,
}

/// Why an envelope did not open. Internal detail: the engine's public errors
/// collapse all of these into one opaque decryption failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// Too short to hold a header and a tag, or not base64.
    #[error("malformed envelope")]
    Malformed,
    /// The version byte is not one this engine reads.
    #[error("unsupported envelope version {0}")]
    UnsupportedVersion(u8),
    /// No data key of this version exists for the scope.
    #[error("unknown key version {0}")]
    UnknownKeyVersion(u32),
    /// The tag did not verify: wrong key, wrong scope, or altered bytes.
    #[error("authentication failed")]
    AuthenticationFailed,
}

/// A parsed (not yet authenticated) envelope borrowing its bytes.
#[derive(Clone, Copy, Debug)]
pub struct Envelope<'a> {
    bytes: &'a [u8],
}

impl<'a> Envelope<'a> {
    /// Checks length and version; says which key version opens it.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, EnvelopeError> {
        if bytes.len() < MIN_LEN {
            return Err(EnvelopeError::Malformed);
        }
        if bytes[0] != VERSION {
            return Err(EnvelopeError::UnsupportedVersion(bytes[0]));
        }
        Ok(Self { bytes })
    }

    /// The data key version this envelope was sealed under.
    pub fn key_version(&self) -> u32 {
        u32::from_be_bytes([self.bytes[1], self.bytes[2], self.bytes[3], self.bytes[4]])
    }

    /// The nonce stored in the envelope.
    pub fn nonce(&self) -> Nonce {
        let mut nonce = [0; NONCE_LEN];
        nonce.copy_from_slice(&self.bytes[5..HEADER_LEN]);
        Nonce::from_bytes(nonce)
    }

    /// Authenticates and decrypts with `key` for `binding`.
    pub fn open(&self, key: &DataKey, binding: Binding) -> Result<SecretBytes, EnvelopeError> {
        let header = &self.bytes[..HEADER_LEN];
        key.open(
            &self.nonce(),
            &aad(header, binding),
            &self.bytes[HEADER_LEN..],
        )
        .map_err(|_| EnvelopeError::AuthenticationFailed)
    }
}

/// Seals `plaintext` for `binding` under `key` (of `key_version`) with a fresh
/// random nonce, returning the envelope bytes.
pub fn seal(key: &DataKey, key_version: u32, binding: Binding, plaintext: &[u8]) -> Vec<u8> {
    seal_with_nonce(key, key_version, Nonce::random(), binding, plaintext)
}

/// [`seal`] with a caller-chosen nonce. Reusing a nonce under one key destroys
/// confidentiality: this exists for known-answer tests and fuzzing.
pub fn seal_with_nonce(
    key: &DataKey,
    key_version: u32,
    nonce: Nonce,
    binding: Binding,
    plaintext: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
    out.push(VERSION);
    out.extend_from_slice(&key_version.to_be_bytes());
    out.extend_from_slice(nonce.as_bytes());
    let aad = aad(&out, binding);
    key.seal_into(&nonce, &aad, plaintext, &mut out);
    out
}

/// Opens envelope bytes with the key `keys` returns for its key version.
pub fn open<'k>(
    bytes: &[u8],
    binding: Binding,
    keys: impl FnOnce(u32) -> Option<&'k DataKey>,
) -> Result<SecretBytes, EnvelopeError> {
    let envelope = Envelope::parse(bytes)?;
    let version = envelope.key_version();
    let key = keys(version).ok_or(EnvelopeError::UnknownKeyVersion(version))?;
    envelope.open(key, binding)
}

fn aad(header: &[u8], binding: Binding) -> [u8; AAD_LEN] {
    let mut aad = [0; AAD_LEN];
    aad[..HEADER_LEN].copy_from_slice(header);
    aad[HEADER_LEN..][..16].copy_from_slice(&binding.scope.as_u128().to_be_bytes());
    aad[HEADER_LEN + 16..].copy_from_slice(&binding.record.to_be_bytes());
    aad
}

#[cfg(test)]
mod tests;

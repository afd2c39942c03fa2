//! The record envelope, version 1:
//!
//! ```text
//! version (1) || key version (4, big-endian) || nonce (12) || ciphertext || tag (16)
//! ```
//!
//! The associated data is `header || user id (16, BE) || record id (16, BE)`,
//! where the header is the first 17 bytes, so an envelope cannot be moved to
//! another user, record or key version without failing authentication. The
//! nonce is random per record and travels inside the envelope: opening reads
//! it back from bytes 5..17 rather than inventing one.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use crate::ids::{RecordId, UserId};
use crate::keys::{DataKey, NONCE_LEN, Nonce, TAG_LEN};

/// The only envelope version this engine writes or reads.
pub const VERSION: u8 = 1;
/// Length of the header: version, key version, nonce.
pub const HEADER_LEN: usize = 1 + 4 + NONCE_LEN;
/// Shortest possible envelope: header and tag around an empty ciphertext.
pub const MIN_LEN: usize = HEADER_LEN + TAG_LEN;
const AAD_LEN: usize = HEADER_LEN + 16 + 16;

/// What a ciphertext is bound to: its owner and its record id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scope {
    /// The user the record belongs to.
    pub owner: UserId,
    /// The record's id.
    pub record: RecordId,
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

    /// Authenticates and decrypts with `key` for `scope`.
    pub fn open(&self, key: &DataKey, scope: Scope) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        let header = &self.bytes[..HEADER_LEN];
        key.open(
            &self.nonce(),
            &aad(header, scope),
            &self.bytes[HEADER_LEN..],
        )
        .map_err(|_| EnvelopeError::AuthenticationFailed)
    }
}

/// Seals `plaintext` for `scope` under `key` (of `key_version`) with a fresh
/// random nonce, returning the envelope bytes.
pub fn seal(key: &DataKey, key_version: u32, scope: Scope, plaintext: &[u8]) -> Vec<u8> {
    seal_with_nonce(key, key_version, Nonce::random(), scope, plaintext)
}

/// [`seal`] with a caller-chosen nonce. Reusing a nonce under one key destroys
/// confidentiality: this exists for known-answer tests and fuzzing.
pub fn seal_with_nonce(
    key: &DataKey,
    key_version: u32,
    nonce: Nonce,
    scope: Scope,
    plaintext: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
    out.push(VERSION);
    out.extend_from_slice(&key_version.to_be_bytes());
    out.extend_from_slice(nonce.as_bytes());
    let aad = aad(&out, scope);
    key.seal_into(&nonce, &aad, plaintext, &mut out);
    out
}

/// Opens envelope bytes with the key `keys` returns for its key version.
pub fn open<'k>(
    bytes: &[u8],
    scope: Scope,
    keys: impl FnOnce(u32) -> Option<&'k DataKey>,
) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    let envelope = Envelope::parse(bytes)?;
    let version = envelope.key_version();
    let key = keys(version).ok_or(EnvelopeError::UnknownKeyVersion(version))?;
    envelope.open(key, scope)
}

/// The wire form of an envelope: standard base64 with padding.
pub fn to_base64(envelope: &[u8]) -> String {
    STANDARD.encode(envelope)
}

/// Decodes the wire form; anything but standard base64 is `Malformed`.
pub fn from_base64(text: &str) -> Result<Vec<u8>, EnvelopeError> {
    STANDARD.decode(text).map_err(|_| EnvelopeError::Malformed)
}

fn aad(header: &[u8], scope: Scope) -> [u8; AAD_LEN] {
    let mut aad = [0; AAD_LEN];
    aad[..HEADER_LEN].copy_from_slice(header);
    aad[HEADER_LEN..][..16].copy_from_slice(&scope.owner.as_u128().to_be_bytes());
    aad[HEADER_LEN + 16..].copy_from_slice(&scope.record.as_u128().to_be_bytes());
    aad
}

#[cfg(test)]
mod tests;

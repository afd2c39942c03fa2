//! End-to-end messages: sealed by the sender's client to the recipient's
//! public key, so the server stores (inside its own envelope) a blob it
//! can never open. HPKE (RFC 9180) base mode with DHKEM(X25519,
//! HKDF-SHA256), HKDF-SHA256 and AES-256-GCM, through the `hpke` crate.
//!
//! A sealed message is the text `e2e1.` followed by the unpadded base64url
//! of
//!
//! ```text
//! version 0x01 || key id (8 bytes) || enc (32 bytes) || ciphertext
//! ```
//!
//! where the key id is the first 8 bytes of SHA-256 of the recipient's
//! public key (so a recipient with several key pairs picks the right one),
//! `enc` the HPKE encapsulated key, and `ciphertext` the AES-256-GCM output
//! (plaintext + 16-byte tag) under `info = "strongroom e2e v1"` with the
//! 9-byte header (version and key id) as associated data. A sender seals
//! each message twice — to the recipient and to their own key — and keeps
//! the second copy, so they can read what they sent.
//!
//! ```
//! use strongroom_engine::e2e;
//!
//! let (bob_secret, bob_public) = e2e::generate_keypair();
//! let sealed = e2e::seal(&bob_public, b"for bob's eyes");
//! assert!(sealed.starts_with("e2e1."));
//! assert_eq!(e2e::key_id_of(&sealed), Some(bob_public.key_id()));
//! let opened = e2e::open(&bob_secret, &sealed).expect("bob opens it");
//! assert_eq!(opened.as_slice(), b"for bob's eyes");
//! let (eve_secret, _) = e2e::generate_keypair();
//! assert!(e2e::open(&eve_secret, &sealed).is_err());
//! ```

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hpke::aead::AesGcm256;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem, OpModeR, OpModeS, Serializable};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::crypto::secret_bytes::SecretBytes;

/// The HPKE `info` every end-to-end message is sealed with.
pub const INFO: &[u8] = b"strongroom e2e v1";
/// The text every sealed message starts with.
pub const PREFIX: &str = "e2e1.";
/// Bytes a sealed message adds to its plaintext (before base64): version,
/// key id, `enc`, tag.
pub const OVERHEAD: usize = HEADER_LEN + ENC_LEN + 16;

const VERSION: u8 = 1;
const KEY_ID_LEN: usize = 8;
const HEADER_LEN: usize = 1 + KEY_ID_LEN;
const ENC_LEN: usize = 32;

type Suite = X25519HkdfSha256;

/// An X25519 private key. Zeroized on drop; `Debug` never shows it.
pub struct SecretKey(<Suite as Kem>::PrivateKey);

/// An X25519 public key (32 bytes), what a user publishes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey([u8; 32]);

/// A sealed message that does not open: malformed, not for this key, or
/// tampered with. Which one is not said.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the end-to-end message does not open with this key")]
pub struct OpenFailed;

impl SecretKey {
    /// The key from its 32 bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Option<Self> {
        <Suite as Kem>::PrivateKey::from_bytes(bytes).ok().map(Self)
    }

    /// Its 32 bytes (the clamped scalar), to keep wrapped elsewhere.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(&self.0.to_bytes());
        out
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        let public = <Suite as Kem>::sk_to_pk(&self.0);
        let mut out = [0u8; 32];
        out.copy_from_slice(&public.to_bytes());
        PublicKey(out)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey([REDACTED])")
    }
}

impl PublicKey {
    /// The key from its 32 bytes; `None` unless they are an X25519 public
    /// key.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        <Suite as Kem>::PublicKey::from_bytes(bytes).ok()?;
        bytes.try_into().ok().map(Self)
    }

    /// Its 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The first 8 bytes of its SHA-256: what a sealed message names.
    pub fn key_id(&self) -> [u8; KEY_ID_LEN] {
        let digest = Sha256::digest(self.0);
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        id
    }

    /// Unpadded base64url of the 32 bytes (how an API carries it).
    pub fn to_base64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// The key from [`PublicKey::to_base64`]'s text.
    pub fn from_base64(text: &str) -> Option<Self> {
        let mut bytes = [0u8; 33];
        let len = URL_SAFE_NO_PAD.decode_slice(text, &mut bytes).ok()?;
        (len == 32)
            .then(|| Self::from_bytes(&bytes[..32]))
            .flatten()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_base64())
    }
}

/// A fresh key pair from the OS random generator.
pub fn generate_keypair() -> (SecretKey, PublicKey) {
    let (secret, _) = <Suite as Kem>::gen_keypair();
    let secret = SecretKey(secret);
    let public = secret.public_key();
    (secret, public)
}

fn header(key_id: [u8; KEY_ID_LEN]) -> [u8; HEADER_LEN] {
    let mut header = [VERSION; HEADER_LEN];
    header[1..].copy_from_slice(&key_id);
    header
}

/// Seals `plaintext` to `recipient`; the message text.
pub fn seal(recipient: &PublicKey, plaintext: &[u8]) -> String {
    // A PublicKey holds only bytes that parsed as a key, and X25519
    // encapsulation and AES-GCM sealing to one cannot fail.
    let Ok(pk) = <Suite as Kem>::PublicKey::from_bytes(&recipient.0) else {
        unreachable!("a PublicKey is always a valid key");
    };
    let header = header(recipient.key_id());
    let sealed = hpke::single_shot_seal::<AesGcm256, HkdfSha256, Suite>(
        &OpModeS::Base,
        &pk,
        INFO,
        plaintext,
        &header,
    );
    let Ok((enc, ciphertext)) = sealed else {
        unreachable!("sealing to a valid X25519 key cannot fail");
    };
    let mut blob = Vec::with_capacity(OVERHEAD + plaintext.len());
    blob.extend_from_slice(&header);
    blob.extend_from_slice(&enc.to_bytes());
    blob.extend_from_slice(&ciphertext);
    format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(blob))
}

/// The version-checked bytes of a sealed message.
fn blob(sealed: &str) -> Option<Vec<u8>> {
    let body = sealed.strip_prefix(PREFIX)?;
    let blob = URL_SAFE_NO_PAD.decode(body).ok()?;
    (blob.len() >= OVERHEAD && blob[0] == VERSION).then_some(blob)
}

/// The key id a sealed message names (to pick the private key that opens
/// it); `None` if `sealed` is not a sealed message.
pub fn key_id_of(sealed: &str) -> Option<[u8; KEY_ID_LEN]> {
    let blob = blob(sealed)?;
    blob[1..HEADER_LEN].try_into().ok()
}

/// Opens a message [`seal`]ed to `secret`'s public key.
pub fn open(secret: &SecretKey, sealed: &str) -> Result<SecretBytes, OpenFailed> {
    let blob = blob(sealed).ok_or(OpenFailed)?;
    let (header, rest) = blob.split_at(HEADER_LEN);
    if header[1..] != secret.public_key().key_id() {
        return Err(OpenFailed);
    }
    let (enc, ciphertext) = rest.split_at(ENC_LEN);
    let enc = <Suite as Kem>::EncappedKey::from_bytes(enc).map_err(|_| OpenFailed)?;
    hpke::single_shot_open::<AesGcm256, HkdfSha256, Suite>(
        &OpModeR::Base,
        &secret.0,
        &enc,
        INFO,
        ciphertext,
        header,
    )
    .map(SecretBytes::from)
    .map_err(|_| OpenFailed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_messages_open_only_for_their_key() {
        let (secret, public) = generate_keypair();
        let again = SecretKey::from_bytes(&secret.to_bytes()).expect("key");
        assert_eq!(again.public_key(), public);
        assert_eq!(PublicKey::from_base64(&public.to_base64()), Some(public));
        assert!(PublicKey::from_base64("short").is_none());
        assert!(!format!("{secret:?}").contains(&public.to_base64()));
        let sealed = seal(&public, b"hi");
        assert_eq!(
            sealed.len(),
            PREFIX.len() + ((OVERHEAD + 2) * 4).div_ceil(3)
        );
        assert_eq!(open(&again, &sealed).expect("opens").as_slice(), b"hi");
        // Two seals of one message differ (fresh ephemeral keys).
        assert_ne!(seal(&public, b"hi"), sealed);
    }

    #[test]
    fn anything_else_fails_alike() {
        let (secret, public) = generate_keypair();
        let sealed = seal(&public, b"hello");
        let body = URL_SAFE_NO_PAD
            .decode(&sealed[PREFIX.len()..])
            .expect("b64");
        let with = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = body.clone();
            f(&mut b);
            format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(b))
        };
        let cases = [
            String::new(),
            PREFIX.to_owned(),
            sealed[PREFIX.len()..].to_owned(),
            sealed[..sealed.len() - 4].to_owned(),
            with(&|b| b[0] = 2),                         // another version
            with(&|b| b[3] ^= 1),                        // another key id
            with(&|b| *b.last_mut().expect("tag") ^= 1), // the tag
            with(&|b| b[20] ^= 1),                       // enc
        ];
        for bad in &cases {
            assert_eq!(open(&secret, bad), Err(OpenFailed), "{bad}");
        }
        assert_eq!(key_id_of("hello"), None);
    }
}

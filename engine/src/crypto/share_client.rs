//! Client-side encryption for share links, both sides, so Rust programs can
//! create and open `client_encrypted` shares whose key the server never
//! sees. The format (the web client implements the same with WebCrypto):
//!
//! ```text
//! key   32 random bytes; travels only in the URL fragment, as 43
//!       characters of unpadded base64url: https://host/s/<token>#<key>
//! blob  0x01 || nonce (12, random) || AES-256-GCM(key, nonce, plaintext,
//!       aad = "strongroom/share-client/v1") as ciphertext || tag (16)
//! ```
//!
//! Over HTTP the blob travels as standard base64 in `message` with
//! `client_encrypted: true`; the server stores that text as an opaque
//! value and opening the share returns it unchanged, for the recipient to
//! decode and open with the key from the fragment. Through the engine API
//! the blob's bytes are the share's content directly.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::crypto::keys::{DataKey, NONCE_LEN, Nonce, TAG_LEN, random_key_bytes};
use crate::crypto::sharekeys::decode_key_text;

/// The blob format's version byte.
pub const CLIENT_BLOB_VERSION: u8 = 1;
/// Bytes a blob adds to its plaintext.
pub const CLIENT_BLOB_OVERHEAD: usize = 1 + NONCE_LEN + TAG_LEN;
const AAD: &[u8] = b"strongroom/share-client/v1";

/// A client-side blob did not open: wrong key, malformed or altered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the shared secret could not be decrypted with this key")]
pub struct ClientOpenFailed;

/// Encrypts `plaintext` under a fresh key; returns the blob and the key as
/// fragment text.
pub fn seal(plaintext: &[u8]) -> (Vec<u8>, SecretString) {
    let key = random_key_bytes();
    let nonce = Nonce::random();
    let mut blob = Vec::with_capacity(CLIENT_BLOB_OVERHEAD + plaintext.len());
    blob.push(CLIENT_BLOB_VERSION);
    blob.extend_from_slice(nonce.as_bytes());
    DataKey::from_secret(&key).seal_into(&nonce, AAD, plaintext, &mut blob);
    let text = SecretString::from(URL_SAFE_NO_PAD.encode(key.expose_secret()));
    (blob, text)
}

/// Decrypts a blob with the key from the URL fragment.
pub fn open(
    blob: &[u8],
    fragment_key: &SecretString,
) -> Result<Zeroizing<Vec<u8>>, ClientOpenFailed> {
    let key = decode_key_text(fragment_key.expose_secret()).ok_or(ClientOpenFailed)?;
    let (&version, rest) = blob.split_first().ok_or(ClientOpenFailed)?;
    if version != CLIENT_BLOB_VERSION || rest.len() < NONCE_LEN + TAG_LEN {
        return Err(ClientOpenFailed);
    }
    let (nonce, sealed) = rest.split_at(NONCE_LEN);
    let nonce = Nonce::from_bytes(nonce.try_into().map_err(|_| ClientOpenFailed)?);
    DataKey::from_secret(&key)
        .open(&nonce, AAD, sealed)
        .map_err(|_| ClientOpenFailed)
}

#[cfg(test)]
mod tests {
    use aes_gcm::Aes256Gcm;
    use aes_gcm::aead::{AeadInOut, KeyInit};

    use super::*;

    #[test]
    fn a_sealed_blob_opens_with_its_key_only() {
        let (blob, key) = seal("the vault code is 7-3-1".as_bytes());
        assert_eq!(blob.len(), CLIENT_BLOB_OVERHEAD + 23);
        let opened = open(&blob, &key).expect("opens");
        assert_eq!(opened.as_slice(), b"the vault code is 7-3-1");
        let (_, other) = seal(b"");
        assert_eq!(open(&blob, &other), Err(ClientOpenFailed));
        let mut altered = blob.clone();
        altered[1] ^= 1;
        assert_eq!(open(&altered, &key), Err(ClientOpenFailed));
        assert_eq!(open(&blob[..10], &key), Err(ClientOpenFailed));
        assert_eq!(
            open(&blob, &SecretString::from("nope")),
            Err(ClientOpenFailed)
        );
    }

    /// The format as documented, checked with the bare cipher: what another
    /// client following the text produces, this opens.
    #[test]
    fn the_documented_format_opens() {
        let key = [5u8; 32];
        let nonce = [9u8; 12];
        let mut sealed = b"from another client".to_vec();
        let tag = Aes256Gcm::new_from_slice(&key)
            .expect("key")
            .encrypt_inout_detached(
                &nonce.into(),
                b"strongroom/share-client/v1",
                sealed.as_mut_slice().into(),
            )
            .expect("seal");
        let blob = [&[1u8][..], &nonce, &sealed, &tag].concat();
        let fragment = SecretString::from(URL_SAFE_NO_PAD.encode(key));
        let opened = open(&blob, &fragment).expect("opens");
        assert_eq!(opened.as_slice(), b"from another client");
    }
}

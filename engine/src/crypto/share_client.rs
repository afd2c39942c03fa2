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
//!
//! A file shared this way is the file stream format v1 (`docs/files.md`)
//! with the link's key in place of a data key and zero owner and file ids:
//!
//! ```text
//! stream  header (44) || segment 0 || segment 1 || …    (uploaded as a file)
//! label   header (44) || the stream's sealed metadata (name, media type, size)
//! ```
//!
//! The stream is uploaded as an ordinary file and shared with `file_id`,
//! `client_encrypted: true` and the label (base64) as `file_label`: the
//! server seals the ciphertext again for storage but never sees the key;
//! the share page shows the label's name and size, then decrypts the
//! downloaded stream segment by segment.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};

use crate::crypto::keys::{DataKey, NONCE_LEN, Nonce, TAG_LEN, random_key_bytes};
use crate::crypto::secret_bytes::SecretBytes;
use crate::crypto::sharekeys::decode_key_text;
use crate::crypto::stream::{
    self, FileKeys, HEADER_LEN, SEALED_SEGMENT_LEN, SegmentSealer, StreamHeader,
};

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
pub fn open(blob: &[u8], fragment_key: &SecretString) -> Result<SecretBytes, ClientOpenFailed> {
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

/// A file sealed for a client-side share link.
pub struct SealedFile {
    /// Header and segments, to upload as a file.
    pub stream: Vec<u8>,
    /// The stream's header and its sealed name, media type and size, for
    /// `file_label`.
    pub label: Vec<u8>,
    /// The key, as fragment text.
    pub key: SecretString,
}

impl std::fmt::Debug for SealedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedFile")
            .field("stream", &self.stream.len())
            .finish_non_exhaustive()
    }
}

fn file_keys(key: &DataKey, header: &StreamHeader) -> FileKeys {
    FileKeys::derive(key, header, 0, 0)
}

/// Seals `plaintext` named `name` (of `media_type`) under a fresh key.
pub fn seal_file(plaintext: &[u8], name: &str, media_type: &str) -> SealedFile {
    let secret = random_key_bytes();
    let key = DataKey::from_secret(&secret);
    let header = StreamHeader::random(0);
    let mut stream = header.to_bytes().to_vec();
    let mut sealer = SegmentSealer::new(file_keys(&key, &header));
    sealer
        .push(plaintext, &mut |_, segment| {
            stream.extend_from_slice(&segment)
        })
        .unwrap_or_else(|_| unreachable!("a slice in memory has fewer than 2^32 segments"));
    let (_, last, keys) = sealer.finish();
    stream.extend_from_slice(&last);
    let mut label = header.to_bytes().to_vec();
    label.extend_from_slice(&keys.seal_metadata(&stream::encode_metadata(
        name,
        media_type,
        plaintext.len() as u64,
    )));
    SealedFile {
        stream,
        label,
        key: SecretString::from(URL_SAFE_NO_PAD.encode(secret.expose_secret())),
    }
}

/// The key and keys of a stream, from its header and the fragment key.
fn stream_keys(header: &[u8], fragment_key: &SecretString) -> Result<FileKeys, ClientOpenFailed> {
    let key = decode_key_text(fragment_key.expose_secret()).ok_or(ClientOpenFailed)?;
    let header = StreamHeader::parse(header).map_err(|_| ClientOpenFailed)?;
    Ok(file_keys(&DataKey::from_secret(&key), &header))
}

/// Decrypts a client-side file stream, segment by segment, with the key
/// from the URL fragment.
pub fn open_file(
    stream: &[u8],
    fragment_key: &SecretString,
) -> Result<SecretBytes, ClientOpenFailed> {
    let (header, body) = stream
        .split_at_checked(HEADER_LEN)
        .ok_or(ClientOpenFailed)?;
    let keys = stream_keys(header, fragment_key)?;
    let segments: Vec<&[u8]> = if body.is_empty() {
        Vec::new()
    } else {
        body.chunks(SEALED_SEGMENT_LEN).collect()
    };
    let mut out = SecretBytes::with_capacity(body.len());
    for (i, segment) in segments.iter().enumerate() {
        let index = u32::try_from(i).map_err(|_| ClientOpenFailed)?;
        let last = i + 1 == segments.len();
        let plain = keys
            .open_segment(index, last, segment)
            .map_err(|_| ClientOpenFailed)?;
        out.extend_from_slice(&plain);
    }
    if segments.is_empty() {
        return Err(ClientOpenFailed);
    }
    Ok(out)
}

/// The name, media type and size a client-side file's label holds.
pub fn open_label(
    label: &[u8],
    fragment_key: &SecretString,
) -> Result<(String, String, u64), ClientOpenFailed> {
    let (header, label) = label.split_at_checked(HEADER_LEN).ok_or(ClientOpenFailed)?;
    let keys = stream_keys(header, fragment_key)?;
    let plain = keys.open_metadata(label).map_err(|_| ClientOpenFailed)?;
    stream::decode_metadata(&plain).ok_or(ClientOpenFailed)
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

    #[test]
    fn a_sealed_file_opens_with_its_key_and_names_itself() {
        for len in [
            0,
            5,
            stream::SEGMENT_LEN,
            stream::SEGMENT_LEN + 3,
            3 * stream::SEGMENT_LEN,
        ] {
            let plaintext: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
            let sealed = seal_file(&plaintext, "plan é.pdf", "application/pdf");
            assert_eq!(
                sealed.stream.len() as u64,
                HEADER_LEN as u64 + stream::sealed_len(len as u64)
            );
            let opened = open_file(&sealed.stream, &sealed.key).expect("opens");
            assert_eq!(opened.as_slice(), plaintext.as_slice());
            let label = open_label(&sealed.label, &sealed.key).expect("label");
            assert_eq!(
                label,
                (
                    "plan é.pdf".to_owned(),
                    "application/pdf".to_owned(),
                    len as u64
                )
            );
            let other = seal_file(b"", "x", "y").key;
            assert_eq!(open_file(&sealed.stream, &other), Err(ClientOpenFailed));
            assert_eq!(open_label(&sealed.label, &other), Err(ClientOpenFailed));
            // Cut after the first segment: the new end was not sealed as one.
            if len > stream::SEGMENT_LEN {
                let cut = &sealed.stream[..HEADER_LEN + SEALED_SEGMENT_LEN];
                assert_eq!(open_file(cut, &sealed.key), Err(ClientOpenFailed));
            }
        }
        assert_eq!(
            open_file(b"short", &seal_file(b"", "x", "y").key),
            Err(ClientOpenFailed)
        );
    }
}

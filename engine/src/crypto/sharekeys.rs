//! The keys of a share link. A share's URL carries a 256-bit secret `S`
//! from the OS generator (43 characters of base64url). From it, with
//! HKDF-SHA256 (salt `strongroom/share/v1`), come two independent values:
//!
//! - the lookup hash, `HKDF(S, info "lookup")`: the only form of `S` the
//!   database keeps, the key of the share's row;
//! - the content key, `HKDF(S || P, info "content")`, where `P` is empty or,
//!   for a share with a passphrase, the 32-byte Argon2id hash of the
//!   passphrase under the share's random 16-byte salt.
//!
//! The content is sealed under the content key in the envelope v1 layout
//! (`version 1 || key version 0 || nonce || ciphertext || tag`), with the
//! associated data `header || "strongroom/share/v1" || lookup hash`, so an
//! envelope cannot move to another share. Neither the database (lookup
//! hash and envelope) nor the master key opens a share: only its URL.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::Hkdf;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::crypto::envelope::{self, Envelope, EnvelopeError};
use crate::crypto::keys::{DataKey, KEY_LEN, Nonce, TAG_LEN, random_key_bytes};
use crate::crypto::secret_bytes::SecretBytes;

const SALT: &[u8] = b"strongroom/share/v1";
const LOOKUP_INFO: &[u8] = b"lookup";
const CONTENT_INFO: &[u8] = b"content";
/// Length of a share token: 32 bytes in unpadded base64url.
pub const SHARE_TOKEN_LEN: usize = 43;
/// Length of a passphrase salt.
pub(crate) const PASSPHRASE_SALT_LEN: usize = 16;
/// Bytes an envelope adds to the content.
pub(crate) const SHARE_ENVELOPE_OVERHEAD: usize = envelope::HEADER_LEN + TAG_LEN;

/// The lookup hash of a share: how its row is found.
pub(crate) type LookupHash = [u8; 32];

/// The secret a share's URL carries. Not `Clone`; zeroized on drop.
pub(crate) struct ShareSecret(SecretBox<[u8; KEY_LEN]>);

impl ShareSecret {
    /// A fresh secret and its URL text.
    pub(crate) fn generate() -> (Self, SecretString) {
        let secret = Self(random_key_bytes());
        let text = secret.to_text();
        (secret, text)
    }

    /// The secret from its URL text; `None` unless it is exactly 43
    /// characters of unpadded base64url encoding 32 bytes.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        decode_key_text(text).map(Self)
    }

    /// The secret as URL text.
    pub(crate) fn to_text(&self) -> SecretString {
        SecretString::from(URL_SAFE_NO_PAD.encode(self.0.expose_secret()))
    }

    /// The lookup hash.
    pub(crate) fn lookup(&self) -> LookupHash {
        let mut out = [0u8; 32];
        Hkdf::<Sha256>::new(Some(SALT), self.0.expose_secret())
            .expand(LOOKUP_INFO, &mut out)
            .unwrap_or_else(|_| unreachable!("32 bytes is a valid HKDF-SHA256 length"));
        out
    }

    /// The content key, with the passphrase's Argon2id hash mixed in when
    /// the share has one.
    pub(crate) fn content_key(
        &self,
        passphrase_hash: Option<&SecretBox<[u8; KEY_LEN]>>,
    ) -> DataKey {
        let mut ikm = Zeroizing::new(Vec::with_capacity(2 * KEY_LEN));
        ikm.extend_from_slice(self.0.expose_secret());
        if let Some(hash) = passphrase_hash {
            ikm.extend_from_slice(hash.expose_secret());
        }
        let key = SecretBox::init_with_mut(|key: &mut [u8; KEY_LEN]| {
            Hkdf::<Sha256>::new(Some(SALT), &ikm)
                .expand(CONTENT_INFO, key)
                .unwrap_or_else(|_| unreachable!("32 bytes is a valid HKDF-SHA256 length"));
        });
        DataKey::from_secret(&key)
    }
}

/// 32 secret bytes from their 43-character unpadded base64url text (a
/// share token, or a client-side key); `None` for any other text.
pub(crate) fn decode_key_text(text: &str) -> Option<SecretBox<[u8; KEY_LEN]>> {
    if text.len() != SHARE_TOKEN_LEN {
        return None;
    }
    let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
    let written = URL_SAFE_NO_PAD
        .decode_slice(text.as_bytes(), bytes.as_mut_slice())
        .ok()?;
    (written == KEY_LEN).then(|| SecretBox::new(Box::new(*bytes)))
}

impl std::fmt::Debug for ShareSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShareSecret([REDACTED])")
    }
}

/// Seals `content` for the share with `lookup` under `key`.
pub(crate) fn seal(key: &DataKey, lookup: &LookupHash, content: &[u8]) -> Vec<u8> {
    seal_with_nonce(key, lookup, Nonce::random(), content)
}

/// [`seal`] with a chosen nonce: for known-answer tests only.
pub(crate) fn seal_with_nonce(
    key: &DataKey,
    lookup: &LookupHash,
    nonce: Nonce,
    content: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(SHARE_ENVELOPE_OVERHEAD + content.len());
    out.push(envelope::VERSION);
    out.extend_from_slice(&0u32.to_be_bytes());
    out.extend_from_slice(nonce.as_bytes());
    let aad = aad(&out, lookup);
    key.seal_into(&nonce, &aad, content, &mut out);
    out
}

/// Opens a share's envelope; fails alike for a wrong key (or passphrase)
/// and altered bytes.
pub(crate) fn open(
    key: &DataKey,
    lookup: &LookupHash,
    sealed: &[u8],
) -> Result<SecretBytes, EnvelopeError> {
    let envelope = Envelope::parse(sealed)?;
    let header = &sealed[..envelope::HEADER_LEN];
    key.open(
        &envelope.nonce(),
        &aad(header, lookup),
        &sealed[envelope::HEADER_LEN..],
    )
    .map_err(|_| EnvelopeError::AuthenticationFailed)
}

fn aad(header: &[u8], lookup: &LookupHash) -> Vec<u8> {
    [header, SALT, lookup].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn secret(byte: u8) -> ShareSecret {
        ShareSecret(SecretBox::new(Box::new([byte; KEY_LEN])))
    }

    /// Pinned with an independent HKDF (Python's `hmac`, RFC 5869 by hand),
    /// so a change in labels, salt or order fails here.
    #[test]
    fn derivation_matches_known_answers() {
        let s = secret(0x42);
        assert_eq!(
            s.to_text().expose_secret(),
            "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI"
        );
        assert_eq!(hex(&s.lookup()), LOOKUP_KAT);
        let nonce = Nonce::from_bytes([7; 12]);
        let sealed = seal_with_nonce(&s.content_key(None), &s.lookup(), nonce, b"hello");
        assert_eq!(hex(&sealed), SEALED_KAT);
        let with_passphrase = SecretBox::new(Box::new([0x99; KEY_LEN]));
        let sealed = seal_with_nonce(
            &s.content_key(Some(&with_passphrase)),
            &s.lookup(),
            nonce,
            b"hello",
        );
        assert_eq!(hex(&sealed), SEALED_PASSPHRASE_KAT);
    }

    const LOOKUP_KAT: &str = "f88915aca7ba6e74bb121ea10a1c94870753a1fcf3ea92ebb0cfa975a2ffe044";
    const SEALED_KAT: &str =
        "01000000000707070707070707070707072666e36ecb4c92afe6a26e83b3238906a5efc34e4b";
    const SEALED_PASSPHRASE_KAT: &str =
        "0100000000070707070707070707070707b56dfa6ffcfb11b480e7692fe7724a55c0e8d1fd54";

    #[test]
    fn tokens_parse_only_in_their_one_form() {
        let (s, text) = ShareSecret::generate();
        let back = ShareSecret::parse(text.expose_secret()).expect("round trip");
        assert_eq!(back.lookup(), s.lookup());
        for bad in [
            "",
            "short",
            &"A".repeat(42),
            &"A".repeat(44),
            &format!("{}=", &"A".repeat(42)),
        ] {
            assert!(ShareSecret::parse(bad).is_none(), "{bad}");
        }
        // 43 characters whose last one carries bits beyond 32 bytes.
        assert!(ShareSecret::parse(&format!("{}B", &"A".repeat(42))).is_none());
    }

    #[test]
    fn only_the_right_key_and_share_open_it() {
        let (s, _) = ShareSecret::generate();
        let (other, _) = ShareSecret::generate();
        let sealed = seal(&s.content_key(None), &s.lookup(), b"secret");
        let opened = open(&s.content_key(None), &s.lookup(), &sealed).expect("opens");
        assert_eq!(opened.as_slice(), b"secret");
        assert!(open(&other.content_key(None), &s.lookup(), &sealed).is_err());
        assert!(open(&s.content_key(None), &other.lookup(), &sealed).is_err());
        let pass = SecretBox::new(Box::new([1; KEY_LEN]));
        assert!(open(&s.content_key(Some(&pass)), &s.lookup(), &sealed).is_err());
        let mut flipped = sealed.clone();
        flipped[20] ^= 1;
        assert!(open(&s.content_key(None), &s.lookup(), &flipped).is_err());
    }
}

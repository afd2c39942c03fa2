//! The key of the audit log's hash chain. Each entry's hash is
//! `HMAC-SHA256(K, prev_hash || canonical entry)`, where `K` is derived
//! (HKDF-SHA256, info `strongroom/audit-chain/v1`) from the seed of the
//! store's audit signing key, which is kept wrapped under the master key.
//! Whoever can write the database file but does not hold the master key
//! cannot re-chain entries after editing one: the edit shows. (Schema 6
//! and earlier chained with plain SHA-256; opening such a store re-chains
//! it once.)

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretBox};
use sha2::Sha256;

use crate::crypto::keys::KEY_LEN;

const INFO: &[u8] = b"strongroom/audit-chain/v1";

/// The chain key; zeroized on drop, never printed.
pub(crate) struct ChainKey(SecretBox<[u8; KEY_LEN]>);

impl ChainKey {
    /// The chain key of the store whose audit signing seed is `seed`.
    pub(crate) fn derive(seed: &SecretBox<[u8; KEY_LEN]>) -> Self {
        Self(SecretBox::init_with_mut(|key: &mut [u8; KEY_LEN]| {
            Hkdf::<Sha256>::new(None, seed.expose_secret())
                .expand(INFO, key)
                .unwrap_or_else(|_| unreachable!("32 bytes is a valid HKDF-SHA256 length"));
        }))
    }

    /// The hash linking an entry (its canonical bytes) to the one before.
    pub(crate) fn link(&self, prev: &[u8; 32], canonical: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.0.expose_secret())
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(prev);
        mac.update(canonical);
        mac.finalize().into_bytes().into()
    }
}

impl std::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChainKey([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_answer_pins_the_key_and_the_link() {
        // Computed independently: Python's hmac/hashlib (HKDF by RFC 5869
        // with an empty salt, then HMAC-SHA256 of 32 zero bytes || "entry").
        let key = ChainKey::derive(&SecretBox::new(Box::new([7; KEY_LEN])));
        let link = key.link(&[0; 32], b"entry");
        assert_eq!(hex::encode(link), KNOWN_LINK);
        assert_ne!(key.link(&[1; 32], b"entry"), link);
        assert_ne!(key.link(&[0; 32], b"entrx"), link);
    }

    const KNOWN_LINK: &str = "491d3ddb4e03d4ff9ac1a4e6a8044c195852e841041340b856a9866419f2eebb";
}

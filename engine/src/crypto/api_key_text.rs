//! The text of an API key: `srk_` + 64 lowercase hex digits of the 256-bit
//! secret + 8 hex digits of CRC-32 (IEEE) over the 68 characters before
//! them. The fixed prefix lets secret scanners find leaked keys; the
//! checksum lets them (and the server) reject near-misses without a
//! lookup. Only the SHA-256 of the secret is ever stored.

use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Fixed start of every API key's text, so secret scanners can recognise a
/// leaked one: `srk_` + 64 lowercase hex digits (the 256-bit secret) + 8
/// hex digits of CRC-32 over everything before them.
pub const API_KEY_PREFIX: &str = "srk_";

const SECRET_HEX: usize = 64;
const CHECK_HEX: usize = 8;
/// Length of a key's text.
const KEY_TEXT_LEN: usize = API_KEY_PREFIX.len() + SECRET_HEX + CHECK_HEX;

/// The 8 hex digits of CRC-32 (IEEE) over `body` that end a key's text.
fn checksum(body: &str) -> String {
    format!("{:08x}", crc32fast::hash(body.as_bytes()))
}

/// The secret bytes of a well-formed key text with a valid checksum.
pub(crate) fn secret_of(text: &str) -> Option<Zeroizing<[u8; 32]>> {
    if text.len() != KEY_TEXT_LEN || !text.starts_with(API_KEY_PREFIX) {
        return None;
    }
    let (body, check) = text.split_at(API_KEY_PREFIX.len() + SECRET_HEX);
    let lower_hex = |s: &str| s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !lower_hex(&body[API_KEY_PREFIX.len()..]) || !lower_hex(check) {
        return None;
    }
    if checksum(body) != check {
        return None;
    }
    let mut secret = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(&body[API_KEY_PREFIX.len()..], secret.as_mut_slice()).ok()?;
    Some(secret)
}

/// A fresh key's text and the hash stored for it.
pub(crate) fn generate() -> (SecretString, [u8; 32]) {
    let secret = SecretBox::init_with_mut(|b: &mut [u8; 32]| rand::fill(b));
    let hash = Sha256::digest(secret.expose_secret()).into();
    let mut text = Zeroizing::new(String::with_capacity(KEY_TEXT_LEN));
    text.push_str(API_KEY_PREFIX);
    let mut digits = Zeroizing::new([0u8; SECRET_HEX]);
    // Cannot fail: the buffer is exactly twice the secret's length.
    let _ = hex::encode_to_slice(secret.expose_secret(), digits.as_mut_slice());
    text.extend(digits.iter().map(|&b| char::from(b)));
    let check = checksum(&text);
    text.push_str(&check);
    (SecretString::from(text.as_str()), hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_text_has_prefix_checksum_and_round_trips() {
        let (key, hash) = generate();
        let text = key.expose_secret();
        assert_eq!(text.len(), KEY_TEXT_LEN);
        assert!(text.starts_with("srk_"));
        let secret = secret_of(text).expect("well formed");
        assert_eq!(<[u8; 32]>::from(Sha256::digest(secret.as_slice())), hash);
        // One changed digit breaks the checksum.
        let mut bad = text.to_owned();
        let flip = if bad.as_bytes()[10] == b'0' { "1" } else { "0" };
        bad.replace_range(10..11, flip);
        assert!(secret_of(&bad).is_none());
        assert!(secret_of(&text.to_uppercase()).is_none());
        assert!(secret_of(&text[..KEY_TEXT_LEN - 1]).is_none());
    }

    #[test]
    fn a_known_key_text_decodes() {
        let body = format!("srk_{}", "ab".repeat(32));
        let text = format!("{body}{:08x}", crc32fast::hash(body.as_bytes()));
        assert_eq!(secret_of(&text).map(|s| *s), Some([0xab; 32]));
    }
}

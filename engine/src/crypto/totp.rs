//! Time-based one-time passwords (RFC 6238: HMAC-SHA-1, 6 digits, 30 s
//! steps, one step of skew either way) through `totp-rs`, and recovery
//! codes: 80 random bits each, shown once as `xxxx-xxxx-xxxx-xxxx`
//! (base32) and stored as SHA-256 hashes (80 bits make a search of the
//! hashes hopeless, so no slow hash is needed to check ten of them).

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Builder, Totp};
use zeroize::Zeroizing;

/// Bytes of a TOTP secret (160 bits, RFC 4226's recommendation).
pub(crate) const SECRET_LEN: usize = 20;
/// Recovery codes made when TOTP is turned on.
pub(crate) const RECOVERY_CODES: usize = 10;
/// The issuer authenticator apps show.
const ISSUER: &str = "Strongroom";
/// The RFC 4648 base32 alphabet, lowercase: what recovery codes use.
const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// A fresh secret from the OS generator.
pub(crate) fn generate_secret() -> Zeroizing<[u8; SECRET_LEN]> {
    let mut secret = Zeroizing::new([0u8; SECRET_LEN]);
    rand::fill(&mut secret[..]);
    secret
}

fn totp(secret: &[u8], account: &str) -> Option<Totp> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret.to_vec())
        .with_issuer(Some(ISSUER))
        .with_account_name(account)
        .build()
        .ok()
}

/// The secret as base32 (for typing into an app) and the `otpauth://` URI
/// (for a QR code) for `account`.
pub(crate) fn provisioning(secret: &[u8], account: &str) -> Option<(SecretString, SecretString)> {
    let totp = totp(secret, account)?;
    let uri = totp.to_url().ok()?;
    Some((
        SecretString::from(totp.secret().to_base32()),
        SecretString::from(uri),
    ))
}

/// The 30-second step `code` belongs to at `unix_secs` (the step before,
/// this one or the next), if it is right.
pub(crate) fn matched_step(secret: &[u8], code: &str, unix_secs: u64) -> Option<u64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    totp(secret, "")?.check(code, unix_secs)
}

/// Ten fresh recovery codes.
pub(crate) fn recovery_codes() -> Vec<SecretString> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = Zeroizing::new([0u8; 16]);
            rand::fill(&mut bytes[..]);
            let mut text = Zeroizing::new(String::with_capacity(19));
            for (i, b) in bytes.iter().enumerate() {
                if i > 0 && i % 4 == 0 {
                    text.push('-');
                }
                // 16 characters of 5 bits: 80 bits.
                text.push(char::from(BASE32[usize::from(b & 31)]));
            }
            SecretString::from(text.as_str())
        })
        .collect()
}

/// The stored form of a recovery code: SHA-256 of its 16 characters,
/// lowercase, without separators or spaces (so it may be typed in any
/// case, with or without the dashes). `None` for anything that is not one.
pub(crate) fn recovery_hash(code: &SecretString) -> Option<[u8; 32]> {
    let normal: Zeroizing<String> = Zeroizing::new(
        code.expose_secret()
            .chars()
            .filter(|c| !matches!(c, '-' | ' '))
            .map(|c| c.to_ascii_lowercase())
            .collect(),
    );
    if normal.len() != 16 || !normal.bytes().all(|b| BASE32.contains(&b)) {
        return None;
    }
    Some(Sha256::digest(normal.as_bytes()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, the SHA-1 rows: the 20-byte ASCII secret
    /// "12345678901234567890", 8 digits.
    #[test]
    fn rfc_6238_sha1_vectors() {
        let rfc = Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(8)
            .with_step_duration(30)
            .with_secret(b"12345678901234567890".to_vec())
            .build()
            .expect("rfc totp");
        for (time, code) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(rfc.generate(time).to_string(), code, "at {time}");
        }
        // Our six digits are the last six of the same value (RFC 4226).
        let ours = totp(b"12345678901234567890", "").expect("totp");
        assert_eq!(ours.generate(59).to_string(), "287082");
    }

    #[test]
    fn a_code_matches_its_step_and_the_neighbours_only() {
        let secret = generate_secret();
        let t = 1_700_000_000u64;
        let code = totp(&secret[..], "").expect("totp").generate(t).to_string();
        assert_eq!(matched_step(&secret[..], &code, t), Some(t / 30));
        assert_eq!(matched_step(&secret[..], &code, t + 30), Some(t / 30));
        assert_eq!(matched_step(&secret[..], &code, t - 30), Some(t / 30));
        assert_eq!(matched_step(&secret[..], &code, t + 90), None);
        for bad in ["", "12345", "1234567", "abcdef", "12 456"] {
            assert_eq!(matched_step(&secret[..], bad, t), None, "{bad:?}");
        }
    }

    #[test]
    fn provisioning_names_the_issuer_and_account() {
        let (base32, uri) =
            provisioning(b"12345678901234567890", "alice@example.com").expect("provisioning");
        assert_eq!(base32.expose_secret(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let uri = uri.expose_secret();
        assert!(
            uri.starts_with("otpauth://totp/Strongroom:alice%40example.com?"),
            "{uri}"
        );
        assert!(
            uri.contains("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
            "{uri}"
        );
        assert!(uri.contains("issuer=Strongroom"), "{uri}");
    }

    #[test]
    fn recovery_codes_are_distinct_and_hash_in_any_spelling() {
        let codes = recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let hashes: std::collections::HashSet<[u8; 32]> = codes
            .iter()
            .map(|c| recovery_hash(c).expect("a code"))
            .collect();
        assert_eq!(hashes.len(), RECOVERY_CODES);
        let code = codes[0].expose_secret();
        assert_eq!(code.len(), 19);
        let shouted = SecretString::from(code.replace('-', " ").to_uppercase());
        assert_eq!(recovery_hash(&shouted), recovery_hash(&codes[0]));
        assert_eq!(recovery_hash(&SecretString::from("not-a-code")), None);
    }
}

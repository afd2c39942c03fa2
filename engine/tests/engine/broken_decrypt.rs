//! Reproduces the classic broken decryption function and shows the fix.
//!
//! The bug: `broken_decrypt` did not parse the envelope the way `seal` wrote
//! it. Sealing draws a random 96-bit nonce and stores it *inside* the
//! envelope (`version || key version || nonce || ciphertext || tag`).
//! The broken function instead
//!
//! 1. generated a *fresh* random nonce at decrypt time (copied from the
//!    encrypt path), so the GCM keystream and tag key stream no longer match
//!    what was used to seal; and
//! 2. sliced the ciphertext from byte 5, right after the key version, so the
//!    12 stored nonce bytes were fed to AES-GCM as if they were ciphertext.
//!
//! Either mistake alone makes every tag check fail; in a mode without
//! authentication it would have produced silent garbage instead. The fix
//! (what `strongroom_engine::hazmat::open`, the engine's own path, does) reads the nonce back from
//! bytes 5..17 of the stored payload and decrypts only bytes 17.. (ciphertext
//! and tag), with the same associated data the sealer used.

use secrecy::SecretBox;
use strongroom_engine::hazmat::KEY_LEN;
use strongroom_engine::hazmat::{
    self as envelope, AuthenticationFailed, Binding as Scope, DataKey, HEADER_LEN, NONCE_LEN, Nonce,
};
use strongroom_engine::{KeyScope, UserId};

use crate::common;

fn key() -> DataKey {
    DataKey::from_secret(&SecretBox::new(Box::new([0x42; KEY_LEN])))
}

fn scope() -> Scope {
    Scope {
        scope: KeyScope::User(UserId::from_u128(7)),
        record: 9,
    }
}

/// Associated data exactly as the sealer builds it: header || user || record.
fn aad(header: &[u8], scope: Scope) -> Vec<u8> {
    let mut aad = header.to_vec();
    let KeyScope::User(owner) = scope.scope else {
        unreachable!("the test binds to a user")
    };
    aad.extend_from_slice(&owner.as_u128().to_be_bytes());
    aad.extend_from_slice(&scope.record.to_be_bytes());
    aad
}

/// The function as it was found.
fn broken_decrypt(
    key: &DataKey,
    sealed: &[u8],
    scope: Scope,
) -> Result<Vec<u8>, AuthenticationFailed> {
    let header = &sealed[..HEADER_LEN];
    // BUG 1: a new nonce, as on the encrypt path, instead of the stored one.
    let nonce = Nonce::from_bytes(rand::random());
    // BUG 2: ciphertext taken from byte 5, so the stored nonce is "decrypted".
    let ciphertext_and_tag = &sealed[5..];
    key.open(&nonce, &aad(header, scope), ciphertext_and_tag)
        .map(|p| p.to_vec())
}

/// The fix: parse the envelope the way it was sealed.
fn fixed_decrypt(
    key: &DataKey,
    sealed: &[u8],
    scope: Scope,
) -> Result<Vec<u8>, AuthenticationFailed> {
    // FIX: reject what cannot be an envelope instead of slicing blindly.
    if sealed.len() < envelope::MIN_LEN {
        return Err(AuthenticationFailed);
    }
    let header = &sealed[..HEADER_LEN];
    // FIX 1: the nonce is the one stored in the payload, bytes 5..17.
    let nonce_bytes: [u8; NONCE_LEN] = sealed[5..HEADER_LEN]
        .try_into()
        .map_err(|_| AuthenticationFailed)?;
    let nonce = Nonce::from_bytes(nonce_bytes);
    // FIX 2: only what follows the header is ciphertext || tag.
    let ciphertext_and_tag = &sealed[HEADER_LEN..];
    key.open(&nonce, &aad(header, scope), ciphertext_and_tag)
        .map(|p| p.to_vec())
}

const MESSAGES: [&[u8]; 4] = [
    b"",
    b"hello",
    b"a somewhat longer message than one block",
    &[0xff; 1000],
];

#[test]
fn broken_decrypt_fails_on_every_real_envelope() {
    let key = key();
    for message in MESSAGES {
        let sealed = envelope::seal(&key, 1, scope(), message);
        assert_eq!(
            broken_decrypt(&key, &sealed, scope()),
            Err(AuthenticationFailed)
        );
    }
}

#[test]
fn fixing_only_one_of_the_two_bugs_is_not_enough() {
    let key = key();
    let sealed = envelope::seal(&key, 1, scope(), b"hello");
    let header = &sealed[..HEADER_LEN];
    let stored_nonce = Nonce::from_bytes(sealed[5..HEADER_LEN].try_into().expect("12 bytes"));
    // Right nonce, wrong slice.
    assert!(
        key.open(&stored_nonce, &aad(header, scope()), &sealed[5..])
            .is_err()
    );
    // Right slice, fresh nonce.
    assert!(
        key.open(
            &Nonce::from_bytes(rand::random()),
            &aad(header, scope()),
            &sealed[HEADER_LEN..]
        )
        .is_err()
    );
}

#[test]
fn fixed_decrypt_agrees_with_the_engine_path() {
    let key = key();
    for message in MESSAGES {
        let sealed = envelope::seal(&key, 1, scope(), message);
        assert_eq!(
            fixed_decrypt(&key, &sealed, scope()).expect("fixed opens"),
            message
        );
        let engine_path = envelope::open(&sealed, scope(), |_| Some(&key)).expect("engine opens");
        assert_eq!(engine_path.as_slice(), message);
        assert!(fixed_decrypt(&key, &sealed[..10], scope()).is_err());
    }
}

#[test]
fn records_stored_by_the_engine_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = common::start();
    let engine = common::open(&dir.path().join("db.redb"), &clock);
    let alice = common::user(&engine, "alice");
    for message in MESSAGES {
        let receipt = engine.records().put(alice, message, None).expect("put");
        assert_eq!(receipt.envelope[0], envelope::VERSION);
        let record = engine.records().get(alice, receipt.meta.id).expect("get");
        assert_eq!(record.plaintext.as_slice(), message);
    }
}

use proptest::prelude::*;

use super::*;
use crate::crypto::keys::{KEY_LEN, random_key_bytes};
use crate::ids::{KeyScope, UserId};

fn scope(owner: u128, record: u128) -> Binding {
    Binding {
        scope: KeyScope::from_u128(owner),
        record,
    }
}

fn key() -> DataKey {
    DataKey::from_secret(&random_key_bytes())
}

#[test]
fn layout_is_version_key_version_nonce_ciphertext_tag() {
    let key = key();
    let nonce = Nonce::from_bytes([7; NONCE_LEN]);
    let sealed = seal_with_nonce(&key, 0x0102_0304, nonce, scope(1, 2), b"hello");
    assert_eq!(sealed.len(), HEADER_LEN + 5 + TAG_LEN);
    assert_eq!(sealed[0], VERSION);
    assert_eq!(&sealed[1..5], &[1, 2, 3, 4]);
    assert_eq!(&sealed[5..17], &[7; 12]);
    let envelope = Envelope::parse(&sealed).expect("parses");
    assert_eq!(envelope.key_version(), 0x0102_0304);
    assert_eq!(envelope.nonce(), nonce);
}

#[test]
fn typed_errors_name_what_went_wrong() {
    let key = key();
    let sealed = seal(&key, 1, scope(1, 2), b"x");
    assert_eq!(
        Envelope::parse(&sealed[..MIN_LEN - 1]).err(),
        Some(EnvelopeError::Malformed)
    );
    let mut v2 = sealed.clone();
    v2[0] = 2;
    assert_eq!(
        Envelope::parse(&v2).err(),
        Some(EnvelopeError::UnsupportedVersion(2))
    );
    assert_eq!(
        open(&sealed, scope(1, 2), |_| None).err(),
        Some(EnvelopeError::UnknownKeyVersion(1))
    );
    assert_eq!(
        open(&sealed, scope(1, 3), |_| Some(&key)).err(),
        Some(EnvelopeError::AuthenticationFailed)
    );
}

#[test]
fn nonces_differ_between_seals_of_the_same_plaintext() {
    let key = key();
    let a = seal(&key, 1, scope(1, 2), b"same");
    let b = seal(&key, 1, scope(1, 2), b"same");
    assert_ne!(a[5..17], b[5..17]);
    assert_ne!(a, b);
}

#[test]
fn the_broadcast_scope_binds_like_a_user() {
    let key = key();
    let user = KeyScope::User(UserId::from_u128(1));
    let sealed = seal(
        &key,
        1,
        Binding {
            scope: KeyScope::Broadcast,
            record: 2,
        },
        b"all",
    );
    assert!(
        open(
            &sealed,
            Binding {
                scope: user,
                record: 2
            },
            |_| Some(&key)
        )
        .is_err()
    );
    assert!(
        open(
            &sealed,
            Binding {
                scope: KeyScope::Broadcast,
                record: 2
            },
            |_| Some(&key)
        )
        .is_ok()
    );
}

#[test]
fn the_key_length_is_256_bits() {
    assert_eq!(KEY_LEN, 32);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_plaintext_round_trips(plaintext in prop::collection::vec(any::<u8>(), 0..=65_536),
                                 owner: u128, record: u128, version: u32) {
        let key = key();
        let sealed = seal(&key, version, scope(owner, record), &plaintext);
        let opened = open(&sealed, scope(owner, record), |v| (v == version).then_some(&key))
            .expect("opens");
        prop_assert_eq!(opened.as_slice(), plaintext.as_slice());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn flipping_any_bit_never_yields_plaintext(plaintext in prop::collection::vec(any::<u8>(), 0..512),
                                               bit in any::<prop::sample::Index>()) {
        let key = key();
        let mut sealed = seal(&key, 1, scope(1, 2), &plaintext);
        let bit = bit.index(sealed.len() * 8);
        sealed[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(open(&sealed, scope(1, 2), |_| Some(&key)).is_err());
    }

    #[test]
    fn truncating_or_extending_never_yields_plaintext(plaintext in prop::collection::vec(any::<u8>(), 0..512),
                                                      cut in any::<prop::sample::Index>(),
                                                      extra in prop::collection::vec(any::<u8>(), 1..32)) {
        let key = key();
        let sealed = seal(&key, 1, scope(1, 2), &plaintext);
        let cut = cut.index(sealed.len());
        prop_assert!(open(&sealed[..cut], scope(1, 2), |_| Some(&key)).is_err());
        let mut longer = sealed.clone();
        longer.extend_from_slice(&extra);
        prop_assert!(open(&longer, scope(1, 2), |_| Some(&key)).is_err());
    }

    #[test]
    fn an_envelope_opens_only_for_its_own_user_and_record(owner: u128, record: u128,
                                                          other_owner: u128, other_record: u128) {
        prop_assume!(owner != other_owner && record != other_record);
        prop_assume!(owner != 0 || other_owner != 0);
        let key = key();
        let sealed = seal(&key, 1, scope(owner, record), b"secret");
        prop_assert!(open(&sealed, scope(other_owner, record), |_| Some(&key)).is_err());
        prop_assert!(open(&sealed, scope(owner, other_record), |_| Some(&key)).is_err());
        let other_key = self::key();
        prop_assert!(open(&sealed, scope(owner, record), |_| Some(&other_key)).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..128)) {
        let key = key();
        let _ = open(&bytes, scope(1, 2), |_| Some(&key));
    }
}

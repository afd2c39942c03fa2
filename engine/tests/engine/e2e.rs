//! End-to-end messages: the HPKE suite they use (base mode, DHKEM(X25519,
//! HKDF-SHA256), HKDF-SHA256, AES-256-GCM) checked against a published
//! known-answer vector for it through the same `hpke` crate the engine's
//! `e2e` module calls (RFC 9180's vector; provenance:
//! `data/hpke/README.md`), and a vector key
//! opening what the module seals.

use hpke::aead::AesGcm256;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem, OpModeR, Serializable};
use serde_json::Value;
use strongroom_engine::e2e;

fn vector() -> Value {
    let text = include_str!("../data/hpke/rfc9180-base-x25519-sha256-aes256gcm.json");
    serde_json::from_str(text).expect("vector json")
}

fn bytes(v: &Value, field: &str) -> Vec<u8> {
    hex::decode(v[field].as_str().expect(field)).expect("hex")
}

#[test]
fn the_suite_matches_the_known_answers() {
    let v = vector();
    let ids = ["mode", "kem_id", "kdf_id", "aead_id"].map(|f| v[f].as_u64());
    assert_eq!(ids, [Some(0), Some(32), Some(1), Some(2)]);
    // Key derivation from the seeds (the crate keeps the clamped scalar).
    let (sk_r, pk_r) = X25519HkdfSha256::derive_keypair(&bytes(&v, "ikmR"));
    assert_eq!(pk_r.to_bytes().to_vec(), bytes(&v, "pkRm"));
    let mut clamped = bytes(&v, "skRm");
    clamped[0] &= 248;
    clamped[31] = (clamped[31] & 127) | 64;
    assert_eq!(sk_r.to_bytes().to_vec(), clamped);
    let (_, pk_e) = X25519HkdfSha256::derive_keypair(&bytes(&v, "ikmE"));
    assert_eq!(pk_e.to_bytes().to_vec(), bytes(&v, "enc"));
    // The receiver's context opens every encryption, in sequence, and
    // reproduces the exports.
    let enc = <X25519HkdfSha256 as Kem>::EncappedKey::from_bytes(&bytes(&v, "enc")).expect("enc");
    let mut ctx = hpke::setup_receiver::<AesGcm256, HkdfSha256, X25519HkdfSha256>(
        &OpModeR::Base,
        &sk_r,
        &enc,
        &bytes(&v, "info"),
    )
    .expect("setup");
    let encryptions = v["encryptions"].as_array().expect("encryptions");
    assert_eq!(encryptions.len(), 257);
    for e in encryptions {
        let plain = ctx.open(&bytes(e, "ct"), &bytes(e, "aad")).expect("opens");
        assert_eq!(plain, bytes(e, "pt"));
    }
    let exports = v["exports"].as_array().expect("exports");
    assert!(!exports.is_empty());
    for x in exports {
        let mut out = vec![0u8; x["L"].as_u64().expect("length") as usize];
        ctx.export(&bytes(x, "exporter_context"), &mut out)
            .expect("export");
        assert_eq!(out, bytes(x, "exported_value"));
    }
    // The vector's recipient key opens what the engine seals to it.
    let secret = e2e::SecretKey::from_bytes(&bytes(&v, "skRm").try_into().expect("32 bytes"))
        .expect("secret key");
    assert_eq!(secret.public_key().as_bytes().to_vec(), bytes(&v, "pkRm"));
    let sealed = e2e::seal(&secret.public_key(), b"Beauty is truth, truth beauty");
    let opened = e2e::open(&secret, &sealed).expect("opens");
    assert_eq!(opened.as_slice(), b"Beauty is truth, truth beauty");
}

mod directory {
    use super::e2e;
    use strongroom_engine::e2e::PublishedKey;
    use strongroom_engine::{E2eKeyError, Engine, MasterKey, SecretString};

    fn published(public: e2e::PublicKey) -> PublishedKey {
        PublishedKey {
            public_key: public,
            wrapped_private_key: vec![7; 60],
            salt: vec![1; 16],
            iterations: 600_000,
        }
    }

    #[test]
    fn versions_accumulate_old_messages_still_open_and_deletion_removes_them() {
        let engine = Engine::builder(MasterKey::generate().0)
            .open_in_memory()
            .expect("engine");
        let pw = SecretString::from("correct horse battery");
        let bob = engine.accounts().create("bob", &pw).expect("bob").id;
        assert!(engine.e2e().current(bob).expect("read").is_none());
        let (old_secret, old_public) = e2e::generate_keypair();
        let first = engine
            .e2e()
            .publish(bob, published(old_public))
            .expect("publish");
        assert_eq!(first.version, 1);
        let sealed_before = e2e::seal(&old_public, b"sealed to version 1");
        let (new_secret, new_public) = e2e::generate_keypair();
        let second = engine
            .e2e()
            .publish(bob, published(new_public))
            .expect("publish");
        assert_eq!(second.version, 2);
        let current = engine.e2e().current(bob).expect("read").expect("key");
        assert_eq!(current.public_key, new_public);
        // Bob still holds every version: the old message names its key.
        let keys = engine.e2e().all(bob).expect("keys");
        let by_id = keys
            .iter()
            .find(|k| Some(k.public_key.key_id()) == e2e::key_id_of(&sealed_before))
            .expect("the key it was sealed to");
        assert_eq!(by_id.version, 1);
        assert!(e2e::open(&old_secret, &sealed_before).is_ok());
        assert!(e2e::open(&new_secret, &sealed_before).is_err());
        // Weak wrapping is refused.
        let mut weak = published(new_public);
        weak.iterations = 1000;
        assert!(matches!(
            engine.e2e().publish(bob, weak),
            Err(E2eKeyError::Iterations)
        ));
        engine.admin().delete_user(bob).expect("delete");
        assert!(engine.e2e().all(bob).expect("keys").is_empty());
    }
}

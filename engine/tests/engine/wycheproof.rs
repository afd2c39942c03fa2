//! Known-answer tests: the engine's AES-256-GCM layer, on every backend
//! compiled in (RustCrypto, and AWS-LC with `fast-aead`), against every
//! Wycheproof vector with a 256-bit key, 96-bit IV and 128-bit tag (66 of
//! them, 39 valid and 27 invalid). Valid vectors must seal to exactly the
//! expected ciphertext and tag and open to the message; invalid ones must be
//! rejected. Other IV sizes cannot be expressed: `Nonce` is 12 bytes by
//! construction. Data: `tests/data/wycheproof/` (Apache-2.0, see README).

use secrecy::SecretBox;
use serde_json::Value;

use strongroom_engine::hazmat::{AeadBackend, DataKey, KEY_LEN, NONCE_LEN, Nonce};

const VECTORS: &str = include_str!("../data/wycheproof/aes_gcm_test.json");

fn bytes(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("valid hex")
}

#[test]
fn aes_256_gcm_matches_every_applicable_wycheproof_vector() {
    for &backend in AeadBackend::ALL {
        vectors(backend);
    }
}

fn vectors(backend: AeadBackend) {
    let doc: Value = serde_json::from_str(VECTORS).expect("json");
    let (mut valid, mut invalid) = (0, 0);
    for group in doc["testGroups"].as_array().expect("groups") {
        if group["keySize"] != 256 || group["ivSize"] != 96 || group["tagSize"] != 128 {
            continue;
        }
        for case in group["tests"].as_array().expect("tests") {
            let id = &case["tcId"];
            let key: [u8; KEY_LEN] = bytes(&case["key"]).try_into().expect("32-byte key");
            let nonce: [u8; NONCE_LEN] = bytes(&case["iv"]).try_into().expect("12-byte iv");
            let (aad, msg) = (bytes(&case["aad"]), bytes(&case["msg"]));
            let mut sealed = bytes(&case["ct"]);
            sealed.extend_from_slice(&bytes(&case["tag"]));
            let key = DataKey::from_secret_with(&SecretBox::new(Box::new(key)), backend);
            let nonce = Nonce::from_bytes(nonce);
            let opened = key.open(&nonce, &aad, &sealed);
            match case["result"].as_str() {
                Some("valid") => {
                    valid += 1;
                    assert_eq!(
                        key.seal(&nonce, &aad, &msg),
                        sealed,
                        "tcId {id}: seal ({backend:?})"
                    );
                    assert_eq!(
                        opened.expect("valid vector opens").as_slice(),
                        msg.as_slice(),
                        "tcId {id}"
                    );
                }
                Some("invalid") => {
                    invalid += 1;
                    assert!(
                        opened.is_err(),
                        "tcId {id} ({}) must be rejected ({backend:?})",
                        case["comment"]
                    );
                }
                other => panic!("tcId {id}: unexpected result {other:?}"),
            }
        }
    }
    assert_eq!(
        (valid, invalid),
        (39, 27),
        "the 66 applicable vectors all ran"
    );
}

#[test]
fn fail_other_iv_sizes_cannot_reach_the_cipher() {
    // The API takes `[u8; 12]`; a 16-byte IV from the vectors does not fit.
    let doc: Value = serde_json::from_str(VECTORS).expect("json");
    let other_sizes = doc["testGroups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter(|g| g["ivSize"] != 96)
        .flat_map(|g| g["tests"].as_array().expect("tests"))
        .filter(|t| <[u8; NONCE_LEN]>::try_from(bytes(&t["iv"])).is_ok())
        .count();
    assert_eq!(other_sizes, 0);
}

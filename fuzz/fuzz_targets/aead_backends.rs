//! Differential: the two AES-256-GCM backends (RustCrypto, and AWS-LC of
//! the `fast-aead` feature the server uses) on the same arbitrary key,
//! nonce, associated data and bytes. They seal to identical bytes, each
//! opens what it sealed, and opening arbitrary bytes — raw, or as an
//! envelope — gives both the same verdict and plaintext.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use secrecy::SecretBox;
use strongroom_engine::hazmat::{self as envelope, AeadBackend, DataKey, Nonce};
use strongroom_fuzz::scope;

#[derive(Arbitrary, Debug)]
struct Input {
    key: [u8; 32],
    nonce: [u8; 12],
    aad: Vec<u8>,
    data: Vec<u8>,
}

fuzz_target!(|input: Input| {
    assert_eq!(AeadBackend::ALL.len(), 2, "both backends compiled in");
    let secret = SecretBox::new(Box::new(input.key));
    let keys: Vec<DataKey> = AeadBackend::ALL
        .iter()
        .map(|&backend| DataKey::from_secret_with(&secret, backend))
        .collect();
    let nonce = Nonce::from_bytes(input.nonce);
    let sealed: Vec<Vec<u8>> = keys
        .iter()
        .map(|k| k.seal(&nonce, &input.aad, &input.data))
        .collect();
    assert_eq!(sealed[0], sealed[1], "the same bytes");
    for (key, sealed) in keys.iter().zip(&sealed) {
        let opened = key.open(&nonce, &input.aad, sealed).expect("opens its own");
        assert_eq!(opened.as_slice(), input.data.as_slice());
    }
    let raw: Vec<Option<Vec<u8>>> = keys
        .iter()
        .map(|k| {
            k.open(&nonce, &input.aad, &input.data)
                .ok()
                .map(|p| p.to_vec())
        })
        .collect();
    assert_eq!(raw[0], raw[1], "the same verdict on arbitrary bytes");
    let enveloped: Vec<Option<Vec<u8>>> = keys
        .iter()
        .map(|k| {
            envelope::open(&input.data, scope(), |_| Some(k))
                .ok()
                .map(|p| p.to_vec())
        })
        .collect();
    assert_eq!(
        enveloped[0], enveloped[1],
        "the same verdict on an envelope"
    );
});

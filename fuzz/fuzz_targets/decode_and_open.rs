//! An arbitrary string, base64-decoded (the wire form the API shows as
//! `ciphertext`) and opened: never panics, and whatever opens round-trips
//! through the wire form.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use strongroom_engine::hazmat as envelope;
use strongroom_fuzz::{KEY_VERSION, data_key, scope};

fuzz_target!(|text: &str| {
    let key = data_key();
    let Ok(bytes) = STANDARD.decode(text) else {
        return;
    };
    if let Ok(plaintext) = envelope::open(&bytes, scope(), |v| (v == KEY_VERSION).then_some(&key)) {
        let wire = STANDARD.encode(&bytes);
        let again = STANDARD.decode(&wire).expect("own base64 decodes");
        assert_eq!(again, bytes);
        assert!(envelope::open(&again, scope(), |_| Some(&key)).is_ok_and(|p| p == plaintext));
    }
});

//! An arbitrary string, base64-decoded (the wire form) and opened: never
//! panics, and whatever opens round-trips through the wire form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strongroom_engine::envelope;
use strongroom_fuzz::{KEY_VERSION, data_key, scope};

fuzz_target!(|text: &str| {
    let key = data_key();
    let Ok(bytes) = envelope::from_base64(text) else {
        return;
    };
    if let Ok(plaintext) = envelope::open(&bytes, scope(), |v| (v == KEY_VERSION).then_some(&key)) {
        let wire = envelope::to_base64(&bytes);
        let again = envelope::from_base64(&wire).expect("own base64 decodes");
        assert_eq!(again, bytes);
        assert!(envelope::open(&again, scope(), |_| Some(&key)).is_ok_and(|p| p == plaintext));
    }
});

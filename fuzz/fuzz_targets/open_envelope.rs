//! Arbitrary bytes opened as an envelope under a fixed key and scope: never
//! panics, and anything that opens re-seals and re-opens to the same
//! plaintext.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strongroom_engine::hazmat as envelope;
use strongroom_fuzz::{KEY_VERSION, data_key, scope};

fuzz_target!(|data: &[u8]| {
    let key = data_key();
    if let Ok(plaintext) = envelope::open(data, scope(), |v| (v == KEY_VERSION).then_some(&key)) {
        let resealed = envelope::seal(&key, KEY_VERSION, scope(), &plaintext);
        let reopened =
            envelope::open(&resealed, scope(), |_| Some(&key)).expect("own envelope opens");
        assert_eq!(reopened.as_slice(), plaintext.as_slice());
    }
});

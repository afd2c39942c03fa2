//! Arbitrary wrapped-key bytes unwrapped under a fixed master key: never
//! panics, and a key that unwraps seals and opens records.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strongroom_engine::hazmat::{self as envelope, unwrap_data_key};
use strongroom_fuzz::{KEY_VERSION, USER, master_key, scope};

fuzz_target!(|data: &[u8]| {
    let master = master_key();
    if let Ok(key) = unwrap_data_key(&master, data, USER, KEY_VERSION) {
        let sealed = envelope::seal(&key, KEY_VERSION, scope(), b"probe");
        let opened = envelope::open(&sealed, scope(), |_| Some(&key)).expect("opens");
        assert_eq!(opened.as_slice(), b"probe");
        assert!(
            unwrap_data_key(&master, data, USER, KEY_VERSION + 1).is_err(),
            "version is bound"
        );
    }
});

//! Writes the seed corpora: valid envelopes and wrapped keys under the
//! fixtures' keys, plus an operation sequence for `engine_ops`.
//! Run from `fuzz/`: `cargo run --example gen_seeds`.

use std::fs;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use strongroom_engine::hazmat::{self as envelope, Nonce, wrap_data_key};
use strongroom_engine::hazmat::{FileKeys, StreamHeader};
use strongroom_fuzz::{
    FILE, KEY_VERSION, USER, data_key, master_key, owner, scope, wrapped_secret,
};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = format!("corpus/{target}");
    fs::create_dir_all(&dir).expect("corpus dir");
    fs::write(format!("{dir}/seed-{name}"), bytes).expect("seed");
}

fn main() {
    let key = data_key();
    for (i, plaintext) in [&b""[..], b"hello", &[0xa5; 100], &[7; 1024]]
        .iter()
        .enumerate()
    {
        let nonce = Nonce::from_bytes([i as u8; 12]);
        let sealed = envelope::seal_with_nonce(&key, KEY_VERSION, nonce, scope(), plaintext);
        write("open_envelope", &format!("envelope-{i}"), &sealed);
        write(
            "decode_and_open",
            &format!("envelope-{i}"),
            STANDARD.encode(&sealed).as_bytes(),
        );
    }
    // A file stream: header, length-prefixed segments, sealed metadata.
    let header = StreamHeader {
        key_version: KEY_VERSION,
        salt: [3; 32],
        prefix: [5; 7],
    };
    let keys = FileKeys::derive(&key, &header, owner(), FILE);
    let mut file = header.to_bytes().to_vec();
    file.push(1);
    let mut segment = Vec::new();
    keys.seal_segment(0, true, b"hello, file", &mut segment);
    file.extend_from_slice(&(segment.len() as u32).to_be_bytes());
    file.extend_from_slice(&segment);
    file.extend_from_slice(&keys.seal_metadata_with_nonce(Nonce::from_bytes([9; 12]), b"meta"));
    write("open_segments", "file-0", &file);
    let wrapped = wrap_data_key(&master_key(), &wrapped_secret(), USER, KEY_VERSION);
    write("unwrap_data_key", "wrapped-0", &wrapped);
    // Arbitrary's encoding of a few operations; any bytes work, these just
    // start the fuzzer with puts, clock moves and a purge.
    write(
        "engine_ops",
        "ops-0",
        &[0, 1, 10, 5, 4, 30, 0, 0, 20, 60, 5, 10, 6],
    );
}

//! Differential: the facade's request-body reader
//! (`facade/src/wire/json_parse.rs`, included as it is) against
//! `serde_json::from_slice` on arbitrary bytes. Both accept or both
//! refuse, and what they accept reads as the same value; the reader never
//! panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../facade/src/wire/json_parse.rs"]
#[allow(dead_code, unreachable_pub)]
mod json_parse;

fuzz_target!(|data: &[u8]| {
    let ours = json_parse::parse(data).ok();
    let serde = serde_json::from_slice::<serde_json::Value>(data).ok();
    assert_eq!(ours, serde);
});

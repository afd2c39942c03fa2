//! Arbitrary bytes as a file stream: a header, a segment count (0 to 8),
//! that many length-prefixed segments (the last one closing the file),
//! then sealed metadata. Never
//! panics; a segment that opens re-seals to exactly its bytes at its place
//! (so nothing but the one sealing opens there).
#![no_main]

use libfuzzer_sys::fuzz_target;
use strongroom_engine::hazmat::{FileKeys, STREAM_HEADER_LEN, StreamHeader};
use strongroom_fuzz::{FILE, data_key, owner};

fuzz_target!(|data: &[u8]| {
    let Some((header, mut rest)) = data.split_at_checked(STREAM_HEADER_LEN) else {
        return;
    };
    let Ok(header) = StreamHeader::parse(header) else {
        return;
    };
    let keys = FileKeys::derive(&data_key(), &header, owner(), FILE);
    let Some((&count, tail)) = rest.split_first() else {
        return;
    };
    rest = tail;
    let mut segments = Vec::new();
    while segments.len() < usize::from(count % 9) {
        let Some((len, tail)) = rest.split_first_chunk::<4>() else {
            break;
        };
        let len = (u32::from_be_bytes(*len) as usize).min(tail.len());
        let (segment, tail) = tail.split_at(len);
        segments.push(segment);
        rest = tail;
    }
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        if let Ok(plain) = keys.open_segment(i as u32, last, segment) {
            let mut again = Vec::new();
            keys.seal_segment(i as u32, last, &plain, &mut again);
            assert_eq!(
                again.as_slice(),
                *segment,
                "a segment opened that this key did not seal"
            );
        }
    }
    let _ = keys.open_metadata(rest);
});

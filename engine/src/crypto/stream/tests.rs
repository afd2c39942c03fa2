//! Known answers (computed independently with Python's `cryptography`:
//! HKDF-SHA256 and AES-GCM of the documented layout) and the properties
//! STREAM promises: any reorder, truncation, extension, swap between
//! files or bit flip is refused.

use proptest::prelude::*;
use secrecy::SecretBox;
use sha2::{Digest, Sha256};

use super::*;

const OWNER: u128 = 0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10;
const FILE: u128 = 0xf0e0_d0c0_b0a0_9080_7060_5040_3020_1000;

fn dek() -> DataKey {
    DataKey::from_secret(&SecretBox::new(Box::new(std::array::from_fn(|i| i as u8))))
}

fn kat_header() -> StreamHeader {
    StreamHeader {
        key_version: 3,
        salt: std::array::from_fn(|i| 32 + i as u8),
        prefix: std::array::from_fn(|i| 64 + i as u8),
    }
}

fn kat_plaintext() -> Vec<u8> {
    (0..SEGMENT_LEN + 100).map(|i| (i % 251) as u8).collect()
}

#[test]
fn known_answers() {
    let header = kat_header();
    assert_eq!(
        hex::encode(header.to_bytes()),
        "0100000003202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40414243444546"
    );
    let keys = FileKeys::derive(&dek(), &header, OWNER, FILE);
    let plaintext = kat_plaintext();
    let mut s0 = Vec::new();
    keys.seal_segment(0, false, &plaintext[..SEGMENT_LEN], &mut s0);
    assert_eq!(s0.len(), SEALED_SEGMENT_LEN);
    assert_eq!(
        hex::encode(Sha256::digest(&s0)),
        "92a4042bf0310e9a9d159e5648856c7d11eb9295492d5565041aa039bd75f1aa"
    );
    let mut s1 = Vec::new();
    keys.seal_segment(1, true, &plaintext[SEGMENT_LEN..], &mut s1);
    assert_eq!(
        hex::encode(&s1),
        "ea7c5728661940fb92ca4c299eaaea4fecfc434cadbb8f110fc8a6981033ed7d8108befa34c1fe797f4c4b4b6ade711ee16e752dcb4ade8b4d42fa7a55ff9ca0e635ab937c60db1b195414e6ce0da52bb5fd09a0ab2ee51631653c9f6470fe7473b672845feb79cd69727c0d0823c67a79a5b873"
    );
    let meta = keys.seal_metadata_with_nonce(
        Nonce::from_bytes(std::array::from_fn(|i| 100 + i as u8)),
        b"report.pdf|application/pdf",
    );
    assert_eq!(
        hex::encode(&meta),
        "6465666768696a6b6c6d6e6f774da07c43178bb84173999f52516741055ac830ddb4782de27912b05558a00f3da99c5f87ae43472b84"
    );
    let mut empty = Vec::new();
    keys.seal_segment(0, true, b"", &mut empty);
    assert_eq!(hex::encode(&empty), "e7d711626831e9752415f6c338534e95");

    // The sealer cuts the same segments out of any chunking.
    let mut sealer = SegmentSealer::new(FileKeys::derive(&dek(), &header, OWNER, FILE));
    let mut got = Vec::new();
    for chunk in plaintext.chunks(7_777) {
        sealer
            .push(chunk, &mut |i, bytes| got.push((i, bytes)))
            .expect("fits");
    }
    let (last, bytes, keys) = sealer.finish();
    got.push((last, bytes));
    assert_eq!(got, vec![(0, s0), (1, s1)]);
    assert_eq!(
        keys.open_metadata(&meta).expect("opens").as_slice(),
        b"report.pdf|application/pdf"
    );
}

#[test]
fn derived_keys_match_the_documented_hkdf() {
    let header = kat_header();
    let raw = |hex_key: &str| {
        let mut key = [0u8; 32];
        hex::decode_to_slice(hex_key, &mut key).expect("hex");
        SecretBox::new(Box::new(key))
    };
    let expected = FileKeys::from_raw(
        &raw("5d5ea67a754c6ebf65ba81c318802bcb01ee9fb306044ef6cf78b34fd5a95757"),
        &raw("c6786a02a64b094725b0fe3ab2762147aa75bfaf39a655f04afa623a2f7238ee"),
        &header,
    );
    let derived = FileKeys::derive(&dek(), &header, OWNER, FILE);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    expected.seal_segment(4, true, b"abc", &mut a);
    derived.seal_segment(4, true, b"abc", &mut b);
    assert_eq!(a, b);
}

#[test]
fn headers_parse_only_version_one_of_the_exact_length() {
    let header = kat_header();
    let bytes = header.to_bytes();
    assert_eq!(StreamHeader::parse(&bytes), Ok(header));
    assert!(StreamHeader::parse(&bytes[1..]).is_err());
    let mut other = bytes;
    other[0] = 2;
    assert_eq!(
        StreamHeader::parse(&other),
        Err(StreamError::MalformedHeader)
    );
    assert!(!format!("{header:?}").contains("salt"));
}

/// A sealed file: its segments in order.
fn seal_file(keys: FileKeys, plaintext: &[u8]) -> (Vec<Vec<u8>>, FileKeys) {
    let mut sealer = SegmentSealer::new(keys);
    let mut segments = Vec::new();
    sealer
        .push(plaintext, &mut |_, bytes| segments.push(bytes))
        .expect("fits");
    let (_, last, keys) = sealer.finish();
    segments.push(last);
    (segments, keys)
}

/// Opens `segments` as a whole file: the plaintext, or the first failure.
fn open_file(keys: &FileKeys, segments: &[Vec<u8>]) -> Result<Vec<u8>, StreamError> {
    let mut out = Vec::new();
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        out.extend_from_slice(&keys.open_segment(i as u32, last, segment)?);
    }
    Ok(out)
}

/// Small segments would need a smaller SEGMENT_LEN: files of 0 to 4
/// segments are enough to reorder, drop, duplicate and flip.
fn file_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0usize),
        1..SEGMENT_LEN,
        Just(SEGMENT_LEN),
        SEGMENT_LEN + 1..3 * SEGMENT_LEN + 17,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn whole_files_round_trip(len in file_len(), seed: u8) {
        let plaintext: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect();
        let header = StreamHeader::random(1);
        let (segments, keys) = seal_file(FileKeys::derive(&dek(), &header, OWNER, FILE), &plaintext);
        prop_assert_eq!(segments.len() as u64, segment_count(len as u64));
        let total: usize = segments.iter().map(Vec::len).sum();
        prop_assert_eq!(total as u64, sealed_len(len as u64));
        prop_assert_eq!(open_file(&keys, &segments), Ok(plaintext));
    }

    #[test]
    fn any_change_to_the_sequence_is_refused(
        len in SEGMENT_LEN + 1..3 * SEGMENT_LEN,
        change in 0u8..6,
        at: usize,
        other: usize,
    ) {
        let plaintext = vec![7u8; len];
        let header = StreamHeader::random(1);
        let (segments, keys) = seal_file(FileKeys::derive(&dek(), &header, OWNER, FILE), &plaintext);
        let n = segments.len();
        let (i, j) = (at % n, other % n);
        let mut changed = segments.clone();
        match change {
            // Swap two different segments.
            0 => changed.swap(i, if i == j { (i + 1) % n } else { j }),
            // Drop one (truncation when it is the last).
            1 => { changed.remove(i); }
            // Duplicate one.
            2 => changed.insert(i, segments[j].clone()),
            // Cut the file after segment i (never the whole file).
            3 => changed.truncate(i.min(n - 2) + 1),
            // Append a copy of some segment.
            4 => changed.push(segments[j].clone()),
            // Flip one bit anywhere.
            _ => {
                let segment = &mut changed[i];
                let bit = other % (segment.len() * 8);
                segment[bit / 8] ^= 1 << (bit % 8);
            }
        }
        prop_assert!(open_file(&keys, &changed).is_err());
    }

    #[test]
    fn segments_of_another_file_or_owner_are_refused(file in any::<u128>(), owner in any::<u128>()) {
        prop_assume!(file != FILE || owner != OWNER);
        let header = StreamHeader::random(1);
        let (segments, _) = seal_file(FileKeys::derive(&dek(), &header, OWNER, FILE), b"secret");
        let other = FileKeys::derive(&dek(), &header, owner, file);
        prop_assert!(open_file(&other, &segments).is_err());
        // The same ids under another salt are another file too.
        let again = FileKeys::derive(&dek(), &StreamHeader::random(1), OWNER, FILE);
        prop_assert!(open_file(&again, &segments).is_err());
    }

    #[test]
    fn the_opener_never_panics(index: u32, last: bool, bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let keys = FileKeys::derive(&dek(), &kat_header(), OWNER, FILE);
        prop_assert!(keys.open_segment(index, last, &bytes).is_err());
        prop_assert!(keys.open_metadata(&bytes).is_err());
    }
}

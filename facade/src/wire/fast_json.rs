//! A JSON response body written straight from the wire type, documented
//! with the type's poem-openapi schema. poem-openapi's `Json` first builds
//! a `serde_json::Value` tree (a map allocation per object) and escapes
//! every string byte by byte; on the hot read paths (a page of messages)
//! that was most of a request's time. Here the buffer is sized up front,
//! text that needs no escaping — most of it — is copied as is, and text
//! that does is copied a run at a time between its escapes. The buffer is
//! [`SecretBytes`]: the bodies hold message text, and a text with escapes
//! can outgrow the size hint; a `Vec` would free the buffer it outgrew
//! unerased. Tests keep the bytes identical in meaning to what `Json`
//! would write, and strings byte for byte what serde_json writes.

use strongroom_engine::SecretBytes;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::json_parse::{must_escape, run_end};

/// A value that writes itself as JSON.
pub(crate) trait WriteJson {
    /// Appends the JSON encoding.
    fn write_json(&self, out: &mut SecretBytes);
    /// About how many bytes that takes (to size the buffer once).
    fn size_hint(&self) -> usize;
}

/// The JSON encoding, in a buffer sized by the hint.
pub(crate) fn body(value: &impl WriteJson) -> SecretBytes {
    let mut out = SecretBytes::with_capacity(value.size_hint());
    value.write_json(&mut out);
    out
}

/// A JSON string literal.
pub(crate) fn string(out: &mut SecretBytes, text: &str) {
    out.push(b'"');
    if needs_escape(text.as_bytes()) {
        escaped(out, text.as_bytes());
    } else {
        out.extend_from_slice(text.as_bytes());
    }
    out.push(b'"');
}

/// Whether any byte must be escaped in a JSON string. Branch-free per
/// 64-byte chunk, so it vectorises.
fn needs_escape(bytes: &[u8]) -> bool {
    bytes
        .chunks(64)
        .any(|chunk| chunk.iter().fold(false, |bad, &b| bad | must_escape(b)))
}

/// `bytes` escaped as serde_json escapes them (the short forms where JSON
/// has one, else `\u00XX`), copied a run at a time between escapes, each
/// found eight bytes at a time as the reader finds them: a multi-line text
/// went through serde_json's writer at 8× a plain one's time.
fn escaped(out: &mut SecretBytes, bytes: &[u8]) {
    let mut run = 0;
    loop {
        let at = run_end(bytes, run);
        out.extend_from_slice(&bytes[run..at]);
        let Some(&b) = bytes.get(at) else {
            return;
        };
        escape(out, b);
        run = at + 1;
    }
}

/// One byte's escape.
fn escape(out: &mut SecretBytes, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let short = match b {
        b'"' => b'"',
        b'\\' => b'\\',
        b'\n' => b'n',
        b'\r' => b'r',
        b'\t' => b't',
        0x08 => b'b',
        0x0c => b'f',
        _ => {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]);
            return;
        }
    };
    out.extend_from_slice(&[b'\\', short]);
}

/// A UUID as a quoted, hyphenated, lower-case string.
pub(crate) fn uuid(out: &mut SecretBytes, id: &Uuid) {
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    out.push(b'"');
    out.extend_from_slice(id.hyphenated().encode_lower(&mut buf).as_bytes());
    out.push(b'"');
}

/// A date-time as a quoted RFC 3339 string, exactly as `time` writes it
/// (`2026-11-30T01:32:08.25Z`: fraction only when non-zero, without
/// trailing zeros). Written from the fields into one buffer: `time`'s
/// general formatter was a tenth of a page's JSON time.
pub(crate) fn datetime(out: &mut SecretBytes, t: &OffsetDateTime) {
    let Ok(year) = u32::try_from(t.year()) else {
        return datetime_by_time(out, t);
    };
    if year > 9999 || !t.offset().is_utc() {
        return datetime_by_time(out, t);
    }
    let mut text = *b"\"0000-00-00T00:00:00";
    decimal(&mut text[1..5], year);
    decimal(&mut text[6..8], u32::from(u8::from(t.month())));
    decimal(&mut text[9..11], u32::from(t.day()));
    decimal(&mut text[12..14], u32::from(t.hour()));
    decimal(&mut text[15..17], u32::from(t.minute()));
    decimal(&mut text[18..20], u32::from(t.second()));
    out.extend_from_slice(&text);
    if t.nanosecond() != 0 {
        let mut fraction = *b".000000000";
        decimal(&mut fraction[1..], t.nanosecond());
        let digits = fraction.iter().rposition(|&d| d != b'0').unwrap_or(1);
        out.extend_from_slice(&fraction[..=digits]);
    }
    out.extend_from_slice(b"Z\"");
}

/// What `time` writes, for what the fast path does not cover (years past
/// 9999, offsets other than UTC).
fn datetime_by_time(out: &mut SecretBytes, t: &OffsetDateTime) {
    out.push(b'"');
    let _ = t.format_into(out, &Rfc3339);
    out.push(b'"');
}

/// `value`'s last `digits.len()` decimal digits, zero-padded.
fn decimal(digits: &mut [u8], mut value: u32) {
    for digit in digits.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// `"key":` (keys are constants that need no escaping). Always inlined:
/// with the key a constant its copy is a few moves, not a `memcpy` call
/// (left to itself the inliner stopped inlining it: 12 % on a page).
#[inline(always)]
pub(crate) fn key(out: &mut SecretBytes, key: &str) {
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use time::UtcOffset;

    use super::*;

    fn written(t: &OffsetDateTime) -> String {
        let mut out = SecretBytes::default();
        datetime(&mut out, t);
        String::from_utf8(out.to_vec()).expect("UTF-8")
    }

    fn by_time(t: &OffsetDateTime) -> String {
        let mut out = SecretBytes::default();
        datetime_by_time(&mut out, t);
        String::from_utf8(out.to_vec()).expect("UTF-8")
    }

    fn string_of(text: &str) -> SecretBytes {
        let mut out = SecretBytes::with_capacity(text.len() + 2);
        string(&mut out, text);
        out
    }

    proptest! {
        /// Every instant from year 0 to 9999, at any precision, is written
        /// as `time` writes it.
        #[test]
        fn datetimes_are_written_as_time_writes_them(
            nanos in -62_167_219_200_000_000_000i128..253_402_300_800_000_000_000,
            millis_only in any::<bool>(),
        ) {
            let nanos = if millis_only { nanos / 1_000_000 * 1_000_000 } else { nanos };
            let t = OffsetDateTime::from_unix_timestamp_nanos(nanos).expect("in range");
            prop_assert_eq!(written(&t), by_time(&t));
        }

        /// Any string, and strings dense in what must be escaped, are
        /// written byte for byte as serde_json writes them.
        #[test]
        fn strings_are_written_as_serde_json_writes_them(
            any_text in any::<String>(),
            dense in "[\\x00-\\x1f\"\\\\\\x7fa é\u{2028}]{0,80}",
        ) {
            for text in [&any_text, &dense] {
                let expected = serde_json::to_vec(text).expect("a string serialises");
                let written = string_of(text);
                prop_assert_eq!(written.as_slice(), expected.as_slice());
            }
        }
    }

    #[test]
    fn datetime_edges_match_time() {
        let offset = UtcOffset::from_hms(2, 0, 0).expect("valid offset");
        for t in [
            OffsetDateTime::UNIX_EPOCH,
            time::macros::datetime!(2026-11-30 01:32:08.25 UTC),
            time::macros::datetime!(2026-11-30 01:32:08.000_000_001 UTC),
            time::macros::datetime!(9999-12-31 23:59:59.999_999_999 UTC),
            time::macros::datetime!(0000-01-01 00:00 UTC),
            OffsetDateTime::UNIX_EPOCH.to_offset(offset),
        ] {
            assert_eq!(written(&t), by_time(&t), "{t}");
        }
        assert_eq!(
            written(&time::macros::datetime!(2026-11-30 01:32:08.25 UTC)),
            "\"2026-11-30T01:32:08.25Z\""
        );
    }

    #[test]
    fn strings_are_escaped_exactly_when_they_must_be() {
        for text in [
            "plain",
            "",
            "é ✓ \u{2028}",
            "a\"b",
            "back\\slash",
            "nl\n",
            "\u{1f}",
            &"x".repeat(200),
        ] {
            let out = string_of(text);
            let back: String = serde_json::from_slice(&out).expect("valid JSON string");
            assert_eq!(back, text);
        }
        let mut long = "y".repeat(130);
        long.push('"');
        assert!(needs_escape(long.as_bytes()));
        assert!(!needs_escape("z".repeat(130).as_bytes()));
    }
}

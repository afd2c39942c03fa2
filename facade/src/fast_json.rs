//! A JSON response body written straight from the wire type, documented
//! with the type's poem-openapi schema. poem-openapi's `Json` first builds
//! a `serde_json::Value` tree (a map allocation per object) and escapes
//! every string byte by byte; on the hot read paths (a page of messages)
//! that was most of a request's time. Here the buffer is sized up front and
//! text that needs no escaping — nearly all of it — is copied as is. A test
//! keeps the bytes identical in meaning to what `Json` would write.

use poem::http::header;
use poem::{IntoResponse, Response};
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

/// A value that writes itself as JSON.
pub(crate) trait WriteJson {
    /// Appends the JSON encoding.
    fn write_json(&self, out: &mut Vec<u8>);
    /// About how many bytes that takes (to size the buffer once).
    fn size_hint(&self) -> usize;
}

/// A JSON body written directly.
pub(crate) struct FastJson<T>(pub(crate) T);

const CONTENT_TYPE: &str = "application/json; charset=utf-8";

impl<T: Type + Send> Payload for FastJson<T> {
    const CONTENT_TYPE: &'static str = CONTENT_TYPE;

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: WriteJson + Send> IntoResponse for FastJson<T> {
    fn into_response(self) -> Response {
        let mut body = Vec::with_capacity(self.0.size_hint());
        self.0.write_json(&mut body);
        Response::builder()
            .header(header::CONTENT_TYPE, CONTENT_TYPE)
            .body(body)
    }
}

/// A JSON string literal.
pub(crate) fn string(out: &mut Vec<u8>, text: &str) {
    if !needs_escape(text.as_bytes()) {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        // serde_json's escaping, for the rare text that needs it.
        let _ = serde_json::to_writer(&mut *out, text);
    }
}

/// Whether any byte must be escaped in a JSON string (a control character,
/// `"` or `\\`). Branch-free per 64-byte chunk, so it vectorises.
fn needs_escape(bytes: &[u8]) -> bool {
    bytes.chunks(64).any(|chunk| {
        chunk.iter().fold(false, |bad, &b| {
            bad | (b < 0x20) | (b == b'"') | (b == b'\\')
        })
    })
}

/// A UUID as a quoted, hyphenated, lower-case string.
pub(crate) fn uuid(out: &mut Vec<u8>, id: &Uuid) {
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    out.push(b'"');
    out.extend_from_slice(id.hyphenated().encode_lower(&mut buf).as_bytes());
    out.push(b'"');
}

/// A date-time as a quoted RFC 3339 string.
pub(crate) fn datetime(out: &mut Vec<u8>, t: &OffsetDateTime) {
    out.push(b'"');
    let _ = t.format_into(out, &Rfc3339);
    out.push(b'"');
}

/// `"key":` (keys are constants that need no escaping).
pub(crate) fn key(out: &mut Vec<u8>, key: &str) {
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
}

/// The JSON encoding as a string.
pub(crate) fn to_string(value: &impl WriteJson) -> String {
    let mut out = Vec::with_capacity(value.size_hint());
    value.write_json(&mut out);
    // Everything written is UTF-8: JSON punctuation and UTF-8 text.
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

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
            let mut out = Vec::new();
            string(&mut out, text);
            let back: String = serde_json::from_slice(&out).expect("valid JSON string");
            assert_eq!(back, text);
        }
        let mut long = "y".repeat(130);
        long.push('"');
        assert!(needs_escape(long.as_bytes()));
        assert!(!needs_escape("z".repeat(130).as_bytes()));
    }
}

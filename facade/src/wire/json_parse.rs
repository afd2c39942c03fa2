//! JSON text read into a `serde_json::Value` without leaving a string of
//! it unerased in freed memory. serde_json unescapes a string with an
//! escape (`\n`, `\"`, `\u00e9`) into a private scratch `Vec`, which it
//! grows and frees unerased, and request bodies hold passwords and
//! message text, whose line breaks and quotes are escapes. Here such a
//! string is unescaped into one [`SecretBytes`] with room for the whole
//! input (so it never grows), erased when the parse ends, and every string
//! of the value is allocated at exactly its length, as serde_json leaves
//! it (a secret field moves it into a `SecretString` without
//! reallocating).
//!
//! It accepts exactly the texts `serde_json::from_slice::<Value>` accepts
//! and returns the same value (property tests compare the two): the same
//! grammar, whitespace, escapes and surrogate rules, invalid UTF-8
//! refused, nesting at most 127 deep, a repeated key's last value kept.
//! Numbers hold no secret: each one's text is handed to serde_json, so
//! it is read exactly as serde_json reads it.

use std::fmt;

use serde_json::{Map, Value};
use strongroom_engine::SecretBytes;

/// How deep arrays and objects may nest (serde_json's limit: 128 levels
/// fail).
const MAX_DEPTH: usize = 127;

/// A control character, `"` or `\\`: the bytes a JSON string cannot hold
/// as they are (they end a run of plain text; the writer escapes them).
#[inline(always)]
pub(super) fn must_escape(b: u8) -> bool {
    (b < 0x20) | (b == b'"') | (b == b'\\')
}

/// The first byte of `bytes` from `from` on that ends a run of a
/// string's plain text (`"`, `\` or a control character), or the input's end. Eight
/// bytes at a time, as serde_json does: per byte, the top bit of
/// `(x - n) & !x` is set when `x < n` (n ≤ 128), and a byte equal to
/// `c` is one whose `x ^ c` is below 1. A borrow only carries out of
/// a byte that matched, so the lowest flag is always a true one.
pub(super) fn run_end(bytes: &[u8], from: usize) -> usize {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const TOPS: u64 = ONES << 7;
    let mut words = bytes[from..].chunks_exact(8);
    let mut at = from;
    for word in words.by_ref() {
        let x = u64::from_le_bytes(word.try_into().unwrap_or_default());
        let quote = x ^ (ONES * u64::from(b'"'));
        let backslash = x ^ (ONES * u64::from(b'\\'));
        let flags = (x.wrapping_sub(ONES * 0x20) & !x
            | quote.wrapping_sub(ONES) & !quote
            | backslash.wrapping_sub(ONES) & !backslash)
            & TOPS;
        if flags != 0 {
            return at + (flags.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    let tail = words.remainder();
    at + tail
        .iter()
        .position(|&b| must_escape(b))
        .unwrap_or(tail.len())
}

/// `input` as one JSON value (surrounding whitespace allowed).
pub(crate) fn parse(input: &[u8]) -> Result<Value, Error> {
    let mut parser = Parser {
        input,
        at: 0,
        depth: 0,
        scratch: None,
    };
    let value = parser.value()?;
    parser.skip_whitespace();
    if parser.at < input.len() {
        return Err(parser.error("trailing characters"));
    }
    Ok(value)
}

/// Why a text is not JSON, and where: the line (from 1) and how many bytes
/// of it were read, as serde_json says it. Never holds any of the text.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Error {
    what: &'static str,
    line: usize,
    column: usize,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at line {} column {}",
            self.what, self.line, self.column
        )
    }
}

struct Parser<'a> {
    input: &'a [u8],
    at: usize,
    depth: usize,
    /// Unescaped strings, made on the first escape with room for the whole
    /// input.
    scratch: Option<SecretBytes>,
}

impl Parser<'_> {
    fn value(&mut self) -> Result<Value, Error> {
        self.skip_whitespace();
        match self.peek() {
            None => Err(self.error("EOF while parsing a value")),
            Some(b'"') => {
                self.at += 1;
                self.string().map(Value::String)
            }
            Some(b'[') => self.nested(Self::array),
            Some(b'{') => self.nested(Self::object),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'n') => self.literal(b"null", Value::Null),
            Some(b't') => self.literal(b"true", Value::Bool(true)),
            Some(b'f') => self.literal(b"false", Value::Bool(false)),
            Some(_) => Err(self.error("expected value")),
        }
    }

    /// An array or object, one level deeper.
    fn nested(&mut self, inner: fn(&mut Self) -> Result<Value, Error>) -> Result<Value, Error> {
        if self.depth == MAX_DEPTH {
            return Err(self.error("recursion limit exceeded"));
        }
        self.depth += 1;
        self.at += 1;
        let value = inner(self);
        self.depth -= 1;
        value
    }

    /// After `[`.
    fn array(&mut self) -> Result<Value, Error> {
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.eat(b']') {
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value()?);
            self.skip_whitespace();
            match self.next() {
                Some(b',') => {
                    self.skip_whitespace();
                    if self.peek() == Some(b']') {
                        return Err(self.error("trailing comma"));
                    }
                }
                Some(b']') => return Ok(Value::Array(items)),
                Some(_) => return Err(self.error("expected `,` or `]`")),
                None => return Err(self.error("EOF while parsing a list")),
            }
        }
    }

    /// After `{`.
    fn object(&mut self) -> Result<Value, Error> {
        let mut fields = Map::new();
        self.skip_whitespace();
        if self.eat(b'}') {
            return Ok(Value::Object(fields));
        }
        loop {
            match self.next() {
                Some(b'"') => {}
                Some(b'}') => return Err(self.error("trailing comma")),
                Some(_) => return Err(self.error("key must be a string")),
                None => return Err(self.error("EOF while parsing an object")),
            }
            let key = self.string()?;
            self.skip_whitespace();
            match self.next() {
                Some(b':') => {}
                Some(_) => return Err(self.error("expected `:`")),
                None => return Err(self.error("EOF while parsing an object")),
            }
            let value = self.value()?;
            fields.insert(key, value);
            self.skip_whitespace();
            match self.next() {
                Some(b',') => self.skip_whitespace(),
                Some(b'}') => return Ok(Value::Object(fields)),
                Some(_) => return Err(self.error("expected `,` or `}`")),
                None => return Err(self.error("EOF while parsing an object")),
            }
        }
    }

    /// After the opening `"`: the string, allocated at exactly its length.
    fn string(&mut self) -> Result<String, Error> {
        let start = self.at;
        self.at = run_end(self.input, start);
        match self.peek() {
            Some(b'"') => {
                let text = self.utf8(&self.input[start..self.at])?;
                self.at += 1;
                Ok(text.to_owned())
            }
            Some(b'\\') => self.escaped_string(start),
            Some(_) => {
                Err(self.error("control character (\\u0000-\\u001F) found while parsing a string"))
            }
            None => Err(self.error("EOF while parsing a string")),
        }
    }

    /// A string with an escape, from its start: unescaped into the scratch
    /// bytes, then copied out at its length.
    #[cold]
    fn escaped_string(&mut self, start: usize) -> Result<String, Error> {
        let capacity = self.input.len();
        let mut out = self
            .scratch
            .take()
            .unwrap_or_else(|| SecretBytes::with_capacity(capacity));
        out.truncate(0);
        let text = self.unescape(start, &mut out);
        self.scratch = Some(out);
        text
    }

    fn unescape(&mut self, mut run: usize, out: &mut SecretBytes) -> Result<String, Error> {
        loop {
            self.at = run_end(self.input, self.at);
            out.extend_from_slice(&self.input[run..self.at]);
            match self.next() {
                Some(b'"') => return Ok(self.utf8(out)?.to_owned()),
                Some(b'\\') => self.escape(out)?,
                Some(_) => {
                    return Err(self.error(
                        "control character (\\u0000-\\u001F) found while parsing a string",
                    ));
                }
                None => return Err(self.error("EOF while parsing a string")),
            }
            run = self.at;
        }
    }

    /// After a `\`.
    fn escape(&mut self, out: &mut SecretBytes) -> Result<(), Error> {
        let byte = match self.next() {
            Some(b'"') => b'"',
            Some(b'\\') => b'\\',
            Some(b'/') => b'/',
            Some(b'b') => b'\x08',
            Some(b'f') => b'\x0c',
            Some(b'n') => b'\n',
            Some(b'r') => b'\r',
            Some(b't') => b'\t',
            Some(b'u') => return self.unicode_escape(out),
            Some(_) => return Err(self.error("invalid escape")),
            None => return Err(self.error("EOF while parsing a string")),
        };
        out.push(byte);
        Ok(())
    }

    /// After `\u`: one code point, a surrogate pair taken together (a lone
    /// surrogate is refused).
    fn unicode_escape(&mut self, out: &mut SecretBytes) -> Result<(), Error> {
        let first = self.hex4()?;
        let code = match first {
            0xDC00..=0xDFFF => return Err(self.error("lone leading surrogate in hex escape")),
            0xD800..=0xDBFF => {
                if self.next() != Some(b'\\') || self.next() != Some(b'u') {
                    return Err(self.error("unexpected end of hex escape"));
                }
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(self.error("lone leading surrogate in hex escape"));
                }
                0x1_0000 + ((u32::from(first) - 0xD800) << 10) + (u32::from(second) - 0xDC00)
            }
            _ => u32::from(first),
        };
        // Every value left is a scalar value: surrogates were handled above.
        let c = char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER);
        out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
        Ok(())
    }

    fn hex4(&mut self) -> Result<u16, Error> {
        let Some(digits) = self.input.get(self.at..self.at + 4) else {
            self.at = self.input.len();
            return Err(self.error("EOF while parsing a string"));
        };
        self.at += 4;
        digits
            .iter()
            .try_fold(0u16, |n, &d| {
                let digit = (d as char).to_digit(16).ok_or(())?;
                Ok::<u16, ()>(n << 4 | digit as u16)
            })
            .map_err(|()| self.error("invalid escape"))
    }

    /// A number's text, read by serde_json.
    fn number(&mut self) -> Result<Value, Error> {
        let start = self.at;
        self.eat(b'-');
        match self.next() {
            Some(b'0') => {}
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.error("invalid number")),
        }
        if self.eat(b'.') {
            self.at_least_one_digit()?;
        }
        if self.eat(b'e') || self.eat(b'E') {
            let _ = self.eat(b'+') || self.eat(b'-');
            self.at_least_one_digit()?;
        }
        serde_json::from_slice(&self.input[start..self.at])
            .map_err(|_| self.error("number out of range"))
    }

    fn at_least_one_digit(&mut self) -> Result<(), Error> {
        if !matches!(self.peek(), Some(b'0'..=b'9')) {
            return Err(self.error("invalid number"));
        }
        self.digits();
        Ok(())
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
    }

    fn literal(&mut self, word: &[u8], value: Value) -> Result<Value, Error> {
        for &expected in word {
            match self.next() {
                Some(b) if b == expected => {}
                Some(_) => return Err(self.error("expected ident")),
                None => return Err(self.error("EOF while parsing a value")),
            }
        }
        Ok(value)
    }

    fn utf8<'b>(&self, bytes: &'b [u8]) -> Result<&'b str, Error> {
        std::str::from_utf8(bytes).map_err(|_| self.error("invalid unicode code point"))
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\t' | b'\r')) {
            self.at += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.at += 1;
        Some(b)
    }

    fn eat(&mut self, byte: u8) -> bool {
        let ate = self.peek() == Some(byte);
        self.at += usize::from(ate);
        ate
    }

    fn error(&self, what: &'static str) -> Error {
        let before = &self.input[..self.at.min(self.input.len())];
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |n| n + 1);
        Error {
            what,
            line: 1 + before.iter().filter(|&&b| b == b'\n').count(),
            column: before.len() - line_start,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// What serde_json makes of `text`: the value, or that it refused.
    fn serde(text: &[u8]) -> Option<Value> {
        serde_json::from_slice(text).ok()
    }

    fn same_as_serde(text: &[u8]) -> Result<(), TestCaseError> {
        prop_assert_eq!(
            parse(text).ok(),
            serde(text),
            "{:?}",
            String::from_utf8_lossy(text)
        );
        Ok(())
    }

    fn any_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            any::<String>().prop_map(Value::String),
            "[\"\\\\\n\t\u{0}-\u{1f}\u{7f}\u{2028}\u{e9}\u{1f600}a]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec(("[a-c\"\\\\\n]{0,3}", inner), 0..6)
                    .prop_map(|fields| Value::Object(fields.into_iter().collect())),
            ]
        })
    }

    /// `value` as JSON, its strings' characters escaped as serde_json
    /// escapes them except every `every`-th, written as `\u` escapes (a
    /// pair beyond the BMP); with whitespace between tokens when `spaced`.
    fn written(value: &Value, every: usize, spaced: bool) -> String {
        let mut out = String::new();
        write(&mut out, value, every, if spaced { " \n\t\r" } else { "" });
        out
    }

    fn write(out: &mut String, value: &Value, every: usize, space: &str) {
        let string = |out: &mut String, text: &str| {
            out.push('"');
            for (n, c) in text.chars().enumerate() {
                if every > 0 && n % every == 0 {
                    for unit in c.encode_utf16(&mut [0; 2]) {
                        out.push_str(&format!("\\u{unit:04X}"));
                    }
                } else {
                    let one = serde_json::to_string(&c.to_string()).expect("json");
                    out.push_str(&one[1..one.len() - 1]);
                }
            }
            out.push('"');
        };
        out.push_str(space);
        match value {
            Value::String(text) => string(out, text),
            Value::Array(items) => {
                out.push('[');
                for (n, item) in items.iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    write(out, item, every, space);
                }
                out.push_str(space);
                out.push(']');
            }
            Value::Object(fields) => {
                out.push('{');
                for (n, (key, item)) in fields.iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    out.push_str(space);
                    string(out, key);
                    out.push_str(space);
                    out.push(':');
                    write(out, item, every, space);
                }
                out.push_str(space);
                out.push('}');
            }
            other => out.push_str(&other.to_string()),
        }
        out.push_str(space);
    }

    /// Bytes an edit puts into a text: JSON's punctuation, escapes,
    /// surrogates' hex digits, number parts, control and invalid bytes.
    const EDITS: &[u8] = b"\"\\/u{}[],: \n0123456789eE+-.tfnrulsaDdC8\x00\x1f\x7f\xff\xc3\xa9";

    proptest! {
        #[test]
        fn values_are_read_as_serde_json_reads_them(value in any_value(), every in 0usize..4, spaced in any::<bool>()) {
            let text = written(&value, every, spaced);
            // serde_json reads some floats back a bit off (no
            // `float_roundtrip`), so the value read is compared with its.
            prop_assert!(parse(text.as_bytes()).is_ok());
            same_as_serde(text.as_bytes())?;
        }

        #[test]
        fn edited_texts_are_refused_or_read_as_serde_json_reads_them(
            value in any_value(),
            every in 0usize..3,
            edits in prop::collection::vec((any::<prop::sample::Index>(), 0usize..3, prop::sample::select(EDITS)), 1..4),
        ) {
            let mut text = written(&value, every, false).into_bytes();
            for (at, kind, byte) in edits {
                let at = at.index(text.len() + 1);
                match kind {
                    0 => text.insert(at, byte),
                    1 if at < text.len() => { text.remove(at); }
                    _ if at < text.len() => text[at] = byte,
                    _ => text.push(byte),
                }
            }
            same_as_serde(&text)?;
        }

        #[test]
        fn short_texts_of_json_bytes_match(text in prop::collection::vec(prop::sample::select(EDITS), 0..12)) {
            same_as_serde(&text)?;
        }
    }

    #[test]
    fn edges_match_serde_json() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        let texts: Vec<Vec<u8>> = [
            deep(127),
            deep(128),
            format!("{}1{}", "[{\"a\":".repeat(63), "}]".repeat(63)),
            format!("{}1{}", "[{\"a\":".repeat(64), "}]".repeat(64)),
        ]
        .into_iter()
        .map(String::into_bytes)
        .chain(
            [
                &b"\"\\ud83d\\ude00\""[..],
                br#""\/\b\f\n\r\t\"\\""#,
                b"\"\\ud83d\"",
                b"\"\\ud83d\\u0041\"",
                b"\"\\ud83d\\ud83d\\ude00\"",
                b"\"\\ude00\"",
                b"\"\\ud83d\\n\"",
                b"\"\\u00e9\\u0000\\u001F\"",
                b"\"\\u12\"",
                b"\"\\u12g4\"",
                b"\"\\x\"",
                b"\"a\x01\"",
                b"\"a\x7f\"",
                b"\"\xc3\"",
                b"\"\\n\xc3\"",
                b"\"\xed\xa0\x80\"",
                b"-0",
                b"-0.0",
                b"0.1e-5",
                b"01",
                b"1.",
                b"1e",
                b"1e+",
                b"-",
                b"1e400",
                b"-1e400",
                b"1e-400",
                b"18446744073709551615",
                b"18446744073709551616",
                b"-9223372036854775808",
                b"-9223372036854775809",
                b"123456789012345678901234567890e-10",
                b"{\"a\":1,\"a\":2}",
                b"{\"a\":1,}",
                b"[1,]",
                b"[,]",
                b"{,}",
                b"{1:2}",
                b"{\"a\" 1}",
                b"nul",
                b"nulx",
                b"truex",
                b" \t\r\n[ ] \n",
                b"\xef\xbb\xbf{}",
                b"{} {}",
                b"",
                b"   ",
                b"\x0c{}",
            ]
            .into_iter()
            .map(<[u8]>::to_vec),
        )
        .collect();
        for text in texts {
            assert_eq!(
                parse(&text).ok(),
                serde(&text),
                "{:?}",
                String::from_utf8_lossy(&text)
            );
        }
    }

    #[test]
    fn strings_are_allocated_at_their_length() {
        let value = parse(br#"{"plain":"abc","escaped":"line\none \u00e9 \ud83d\ude00 \"q\""}"#)
            .expect("json");
        for key in ["plain", "escaped"] {
            let Value::String(text) = &value[key] else {
                panic!("{key} is a string");
            };
            assert_eq!(text.capacity(), text.len(), "{key}");
        }
        assert_eq!(value["escaped"], "line\none é 😀 \"q\"");
    }

    #[test]
    fn errors_say_where_and_hold_none_of_the_text() {
        let err = parse(b"{\"password\":\"hunter2\",\n  \"x\": tru}").expect_err("refused");
        assert_eq!(err.to_string(), "expected ident at line 2 column 11");
        let err = parse(b"\"secret\\q\"").expect_err("refused");
        assert_eq!(err.to_string(), "invalid escape at line 1 column 9");
    }
}

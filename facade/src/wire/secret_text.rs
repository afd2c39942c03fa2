//! A response field carrying a decrypted message (the plaintext bytes the
//! engine opened, moved, not copied, into the response type) or a
//! credential handed out (a token, a key: see `secret_json`), zeroized
//! when it is dropped, documented as a plain string. Held as a `Box<str>`,
//! which `zeroize` clears in bulk (a `String` or `Vec<u8>` it clears byte
//! by byte: measurable on a page of messages).

use std::borrow::Cow;
use std::ops::Deref;

use poem::http::HeaderValue;
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToHeader, ToJSON, Type};
use strongroom_engine::secrecy::ExposeSecret;
use strongroom_engine::sessions::BearerToken;
use strongroom_engine::{SecretBytes, SecretString};
use zeroize::Zeroizing;

use super::zeroized;

/// Decrypted message text or a credential, zeroized on drop.
pub(crate) struct SecretText(Zeroizing<Box<str>>);

impl SecretText {
    /// Takes the opened bytes without copying them when they are UTF-8
    /// (what the API stores); other bytes (written through the engine
    /// directly) are shown with replacement characters.
    pub(crate) fn take(bytes: SecretBytes) -> Self {
        match String::from_utf8(bytes.into_vec()) {
            Ok(text) => Self::from_string(text),
            Err(e) => {
                let bytes = SecretBytes::from(e.into_bytes());
                Self::from_string(String::from_utf8_lossy(&bytes).into_owned())
            }
        }
    }

    /// Takes `text`: its own allocation when that holds exactly the text
    /// (an opened envelope's does), else an exact copy, the original erased
    /// (shrinking a `String` would free its old buffer uncleared). Both in
    /// bulk: a `String`'s own `zeroize` writes one byte at a time.
    pub(crate) fn from_string(text: String) -> Self {
        if text.capacity() == text.len() {
            return Self(Zeroizing::new(text.into_boxed_str()));
        }
        let exact = Box::from(text.as_str());
        drop(SecretBytes::from(text.into_bytes()));
        Self(Zeroizing::new(exact))
    }

    /// A copy of borrowed bytes (an event shared by several streams).
    pub(crate) fn copy(bytes: &[u8]) -> Self {
        Self::take(SecretBytes::copy(bytes))
    }

    /// `parts` one after another (a link or a cookie around a token),
    /// written once into an allocation of their length: a growing
    /// `String` would leave copies in the buffers it outgrew.
    pub(crate) fn concat(parts: &[&str]) -> Self {
        let mut text = SecretBytes::with_capacity(parts.iter().map(|p| p.len()).sum());
        for part in parts {
            text.extend_from_slice(part.as_bytes());
        }
        Self::take(text)
    }
}

/// A copy of a credential to hand out.
impl From<&SecretString> for SecretText {
    fn from(secret: &SecretString) -> Self {
        Self::copy(secret.expose_secret().as_bytes())
    }
}

/// A copy of a token to hand out.
impl From<&BearerToken> for SecretText {
    fn from(token: &BearerToken) -> Self {
        Self::copy(token.expose_secret().as_bytes())
    }
}

/// The length only, never the text.
impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretText({} bytes)", self.0.len())
    }
}

impl Deref for SecretText {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl Type for SecretText {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new("string")))
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ToJSON for SecretText {
    fn to_json(&self) -> Option<serde_json::Value> {
        Some(serde_json::Value::String(self.0.to_string()))
    }
}

/// A header (a `Set-Cookie` holding a token) whose value is erased when
/// the response drops it.
impl ToHeader for SecretText {
    fn to_header(&self) -> Option<HeaderValue> {
        HeaderValue::from_maybe_shared(zeroized::bytes(SecretBytes::copy(self.as_bytes()))).ok()
    }
}

impl ParseFromJSON for SecretText {
    fn parse_from_json(value: Option<serde_json::Value>) -> ParseResult<Self> {
        match value {
            Some(serde_json::Value::String(s)) => Ok(Self::from_string(s)),
            _ => Err(ParseError::custom("expected a string")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SecretText;
    use strongroom_engine::SecretBytes;

    #[test]
    fn utf8_moves_in_and_other_bytes_are_replaced() {
        let bytes = SecretBytes::copy(b"caf\xc3\xa9");
        let at = bytes.as_ptr();
        let text = SecretText::take(bytes);
        assert_eq!(&*text, "café");
        assert_eq!(text.as_ptr(), at, "moved, not copied");
        assert_eq!(&*SecretText::copy(b"a\xffb"), "a\u{fffd}b");
        let mut roomy = Vec::with_capacity(64);
        roomy.extend_from_slice(b"spare room");
        assert_eq!(&*SecretText::take(SecretBytes::from(roomy)), "spare room");
    }

    #[test]
    fn a_string_moves_in_when_exact_and_is_copied_exactly_otherwise() {
        let exact = String::from("event json");
        let at = exact.as_ptr();
        let text = SecretText::from_string(exact);
        assert_eq!(text.as_ptr(), at, "moved, not copied");
        let mut roomy = String::with_capacity(64);
        roomy.push_str("{\"kind\":\"message\"}");
        let text = SecretText::from_string(roomy);
        assert_eq!(&*text, "{\"kind\":\"message\"}");
        assert_eq!(format!("{text:?}"), "SecretText(18 bytes)");
    }
}

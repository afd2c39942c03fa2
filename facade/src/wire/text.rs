//! JSON string fields that accept only JSON strings (poem-openapi's
//! `String` also accepts numbers and booleans, turning `5` into `"5"`).

use std::borrow::Cow;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use serde_json::Value;
use strongroom_engine::SecretBytes;

/// Defines a strict string newtype with the given schema name and schema;
/// `secret` first: one whose `Debug` shows its length, not its text.
macro_rules! strict_string {
    (secret $(#[$doc:meta])* $name:ident, $schema_name:literal, $schema:expr) => {
        strict_string!(@define [Clone, PartialEq, Eq] $(#[$doc])* $name, $schema_name, $schema);

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({} bytes)", stringify!($name), self.0.len())
            }
        }
    };
    ($(#[$doc:meta])* $name:ident, $schema_name:literal, $schema:expr) => {
        strict_string!(@define [Debug, Clone, PartialEq, Eq] $(#[$doc])* $name, $schema_name, $schema);
    };
    (@define [$($derive:ident),*] $(#[$doc:meta])* $name:ident, $schema_name:literal, $schema:expr) => {
        $(#[$doc])*
        #[derive($($derive),*)]
        pub(crate) struct $name(pub(crate) String);

        impl Type for $name {
            const IS_REQUIRED: bool = true;
            type RawValueType = Self;
            type RawElementValueType = Self;

            fn name() -> Cow<'static, str> {
                $schema_name.into()
            }

            fn schema_ref() -> MetaSchemaRef {
                MetaSchemaRef::Inline(Box::new($schema))
            }

            fn as_raw_value(&self) -> Option<&Self::RawValueType> {
                Some(self)
            }

            fn raw_element_iter<'a>(
                &'a self,
            ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
                Box::new(self.as_raw_value().into_iter())
            }
        }

        impl ParseFromJSON for $name {
            fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
                match value {
                    Some(Value::String(s)) => Ok(Self(s)),
                    _ => Err(ParseError::custom("expected a string")),
                }
            }
        }

        impl ToJSON for $name {
            fn to_json(&self) -> Option<Value> {
                Some(Value::String(self.0.clone()))
            }
        }
    };
}

strict_string!(
    secret
    /// Text that must arrive as a JSON string. It carries message text:
    /// erased when dropped, and never shown by `Debug`.
    Text,
    "string",
    MetaSchema::new("string")
);

impl Drop for Text {
    fn drop(&mut self) {
        drop(self.take());
    }
}

impl Text {
    /// The text's bytes, taken out (not copied) into bytes erased when
    /// dropped: in bulk, spare capacity included, where a `String`'s
    /// `zeroize` writes one byte at a time.
    pub(crate) fn take(&mut self) -> SecretBytes {
        SecretBytes::from(std::mem::take(&mut self.0).into_bytes())
    }
}

/// A username as the engine takes it (`canonical_username`): a name, or an
/// email address whose local part is at most 64 characters (the
/// lookahead) and whose domain ends in a label that starts with a letter.
const USERNAME: &str = concat!(
    "^(?:[A-Za-z0-9_.-]{3,64}",
    "|(?=[^@]{1,64}@)",
    "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*",
    "@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+",
    "[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)$"
);

strict_string!(
    /// A username (a name or an email address), documented with its
    /// length and alphabet.
    Username,
    "string(username)",
    MetaSchema {
        min_length: Some(3),
        max_length: Some(254),
        pattern: Some(USERNAME.to_owned()),
        example: Some(Value::String("river.okafor@example.com".to_owned())),
        ..MetaSchema::new("string")
    }
);

strict_string!(
    /// A name for an API key, documented with its length.
    KeyName,
    "string(key-name)",
    MetaSchema {
        min_length: Some(1),
        max_length: Some(64),
        pattern: Some("^[^\\u0000-\\u001f\\u007f-\\u009f]{1,64}$".to_owned()),
        example: Some(Value::String("billing reader".to_owned())),
        ..MetaSchema::new("string")
    }
);

strict_string!(
    /// A name for a passkey: up to 64 characters, no control characters
    /// (blank means the default name).
    PasskeyName,
    "string(passkey-name)",
    MetaSchema {
        max_length: Some(64),
        pattern: Some("^[^\\u0000-\\u001f\\u007f-\\u009f]{0,64}$".to_owned()),
        example: Some(Value::String("laptop".to_owned())),
        ..MetaSchema::new("string")
    }
);

strict_string!(
    /// An admin's reason for a credit adjustment: up to 200 characters,
    /// no control characters.
    CreditReason,
    "string(credit-reason)",
    MetaSchema {
        max_length: Some(200),
        pattern: Some("^[^\\u0000-\\u001f\\u007f-\\u009f]{0,200}$".to_owned()),
        example: Some(Value::String("annual plan".to_owned())),
        ..MetaSchema::new("string")
    }
);

/// Canonical unpadded base64url of any length (the last character's
/// unused bits zero), as the server's decoder accepts it.
const BASE64URL: &str =
    "^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}[AEIMQUYcgkosw048]|[A-Za-z0-9_-][AQgw])?$";

fn base64url_schema(min_bytes: usize, max_bytes: usize) -> MetaSchema {
    MetaSchema {
        min_length: Some((min_bytes * 4).div_ceil(3)),
        max_length: Some((max_bytes * 4).div_ceil(3)),
        pattern: Some(BASE64URL.to_owned()),
        ..MetaSchema::new("string")
    }
}

strict_string!(
    /// An X25519 public key: 32 bytes, unpadded base64url.
    PublicKeyText,
    "string(x25519-public-key)",
    base64url_schema(32, 32)
);

strict_string!(
    secret
    /// A wrapped private key: 32 to 512 bytes, unpadded base64url.
    WrappedKeyText,
    "string(wrapped-private-key)",
    base64url_schema(32, 512)
);

strict_string!(
    /// A PBKDF2 salt: 16 to 64 bytes, unpadded base64url.
    SaltText,
    "string(pbkdf2-salt)",
    base64url_schema(16, 64)
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_text_is_taken_into_erasing_bytes_without_a_copy() {
        let mut text = Text("the vault code is 7-3-1".to_owned());
        let at = text.0.as_ptr();
        let taken = text.take();
        assert_eq!(
            taken.as_ptr(),
            at,
            "the same allocation, now erased in bulk"
        );
        assert_eq!(&*taken, b"the vault code is 7-3-1");
        assert!(text.0.is_empty(), "nothing left behind to erase twice");
    }

    #[test]
    fn message_text_is_not_shown_by_debug() {
        let text = Text("the vault code is 7-3-1".to_owned());
        assert_eq!(format!("{text:?}"), "Text(23 bytes)");
        let name = Username("river".to_owned());
        assert_eq!(format!("{name:?}"), r#"Username("river")"#);
    }
}

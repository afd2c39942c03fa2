//! A request field holding a secret (password, token): parsed straight into
//! a `SecretString`, documented as a plain string, never printed.

/// Defines a poem-openapi string type whose value lives in a `SecretString`.
macro_rules! secret_string_type {
    ($name:ident, $format:literal, $min:literal, $max:literal, $example:literal) => {
        /// A secret string field: zeroized on drop, `Debug` redacted.
        pub(crate) struct $name(strongroom_engine::SecretString);

        // Each field type uses one of these: a password is borrowed, a token
        // moved on.
        #[allow(dead_code)]
        impl $name {
            pub(crate) fn secret(&self) -> &strongroom_engine::SecretString {
                &self.0
            }

            pub(crate) fn into_secret(self) -> strongroom_engine::SecretString {
                self.0
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(strongroom_engine::SecretString::from(s))
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("[REDACTED]")
            }
        }

        impl poem_openapi::types::Type for $name {
            const IS_REQUIRED: bool = true;
            type RawValueType = Self;
            type RawElementValueType = Self;

            fn name() -> std::borrow::Cow<'static, str> {
                concat!("string(", $format, ")").into()
            }

            fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
                poem_openapi::registry::MetaSchemaRef::Inline(Box::new(
                    poem_openapi::registry::MetaSchema {
                        min_length: Some($min),
                        max_length: Some($max),
                        example: Some(serde_json::Value::String($example.to_owned())),
                        ..poem_openapi::registry::MetaSchema::new_with_format("string", $format)
                    },
                ))
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

        impl poem_openapi::types::ParseFromJSON for $name {
            fn parse_from_json(
                value: Option<serde_json::Value>,
            ) -> poem_openapi::types::ParseResult<Self> {
                match value {
                    Some(serde_json::Value::String(s)) => Ok(Self::from(s)),
                    // Never echo the value: it may be a secret of the wrong type.
                    _ => Err(poem_openapi::types::ParseError::custom("expected a string")),
                }
            }
        }

        impl poem_openapi::types::ToJSON for $name {
            fn to_json(&self) -> Option<serde_json::Value> {
                Some(serde_json::Value::String("********".to_owned()))
            }
        }
    };
}
pub(crate) use secret_string_type;

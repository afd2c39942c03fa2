//! A JSON response that hands out a credential (a token pair, an API key,
//! a share link, a TOTP secret, recovery codes): nothing of it is left
//! unerased in freed memory by us. Its secret fields are [`SecretText`];
//! poem-openapi's `Json` would serialise them through a `serde_json::Value`
//! tree and a `Vec` it grows (each growth frees the old buffer) and frees
//! both unerased. Here the tree's strings are erased once written, the
//! body is written into [`SecretBytes`] (which erases what it grows out
//! of), and the body is zeroized once sent.
//!
//! [`SecretText`]: super::secret_text::SecretText

use poem::http::header;
use poem::{IntoResponse, Response};
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{ToJSON, Type};
use serde_json::Value;
use strongroom_engine::SecretBytes;
use zeroize::Zeroize;

use super::zeroized;

/// A JSON body holding a credential, documented as `T`.
pub(crate) struct SecretJson<T>(pub(crate) T);

impl<T: Type + Send> Payload for SecretJson<T> {
    const CONTENT_TYPE: &'static str = super::CONTENT_TYPE;

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: ToJSON + Send> IntoResponse for SecretJson<T> {
    fn into_response(self) -> Response {
        let mut tree = self.0.to_json().unwrap_or(Value::Null);
        let body = write(&tree);
        erase(&mut tree);
        Response::builder()
            .header(header::CONTENT_TYPE, super::CONTENT_TYPE)
            .body(zeroized::bytes(body))
    }
}

/// `tree` as JSON, in bytes that erase what they grow out of.
fn write(tree: &Value) -> SecretBytes {
    let mut out = SecretBytes::with_capacity(256);
    // Writing to memory cannot fail, and a `Value` always serialises.
    let _ = serde_json::to_writer(&mut out, tree);
    out
}

/// Erases every string in `tree` (keys are field names, not secrets).
pub(super) fn erase(tree: &mut Value) {
    match tree {
        Value::String(text) => text.zeroize(),
        Value::Array(items) => items.iter_mut().for_each(erase),
        Value::Object(fields) => fields.values_mut().for_each(erase),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_as_serde_json_writes_it_and_every_string_erased() {
        let mut tree = serde_json::json!({
            "access_token": "a".repeat(300),
            "codes": ["k3vq-7dxa", "2mpe-uw4z"],
            "nested": {"secret": "s", "n": 5, "on": true, "none": null},
        });
        let body = write(&tree);
        assert_eq!(body.as_slice(), serde_json::to_vec(&tree).expect("json"));
        erase(&mut tree);
        assert_eq!(
            tree,
            serde_json::json!({
                "access_token": "",
                "codes": ["", ""],
                "nested": {"secret": "", "n": 5, "on": true, "none": null},
            })
        );
    }
}

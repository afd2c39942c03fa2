//! JSON request bodies, parsed from the bytes the body limit read
//! (`http::body_limit`, one allocation erased when dropped) without
//! another copy: poem-openapi's `Json` first copies the whole body into a
//! `Vec` and frees it unerased, and request bodies hold passwords and
//! message text. They are read by `json_parse`, which, unlike serde_json's
//! reader, leaves no unescaped copy of a string in freed memory. Same
//! media type, schema and OpenAPI description; a body that does not fit
//! the schema is refused with the field named (`json_explain`).

use poem::{Request, RequestBody, Result};
use poem_openapi::error::ParseRequestPayloadError;
use poem_openapi::payload::{Json, ParsePayload, Payload};
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{ParseFromJSON, Type};
use serde_json::Value;

use super::{json_explain, json_parse, secret_json};

/// A JSON request body.
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<T: Type> Payload for JsonBody<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn check_content_type(content_type: &str) -> bool {
        <Json<T> as Payload>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: ParseFromJSON> ParsePayload for JsonBody<T> {
    const IS_REQUIRED: bool = T::IS_REQUIRED;

    async fn from_request(_request: &Request, body: &mut RequestBody) -> Result<Self> {
        // One chunk, as the body limit left it: taken as it is, not copied.
        let data = body.take()?.into_bytes().await?;
        let value = if data.is_empty() {
            Value::Null
        } else {
            json_parse::parse(&data).map_err(|e| ParseRequestPayloadError {
                reason: e.to_string(),
            })?
        };
        match T::parse_from_json(Some(value)) {
            Ok(value) => Ok(Self(value)),
            Err(e) => Err(ParseRequestPayloadError {
                reason: explained::<T>(&data).unwrap_or_else(|| e.into_message()),
            }
            .into()),
        }
    }
}

/// Why `data`, which parsed as JSON, is not a `T`, naming the field
/// (`json_explain`). The value is read again (the failed parse consumed
/// it) and its strings erased after.
fn explained<T: Type>(data: &[u8]) -> Option<String> {
    let mut value = if data.is_empty() {
        Value::Null
    } else {
        json_parse::parse(data).ok()?
    };
    let mut registry = Registry::new();
    T::register(&mut registry);
    let said = json_explain::explain(&value, &T::schema_ref(), &registry);
    secret_json::erase(&mut value);
    said
}

poem_openapi::impl_apirequest_for_payload!(JsonBody<T>, T: ParseFromJSON);

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use poem::Body;

    use super::*;

    #[test]
    fn json_and_json_suffixed_media_types_are_taken() {
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "application/merge-patch+json",
        ] {
            assert!(JsonBody::<String>::check_content_type(ok), "{ok}");
        }
        for no in ["text/plain", "application/xml", "not a type"] {
            assert!(!JsonBody::<String>::check_content_type(no), "{no}");
        }
    }

    #[tokio::test]
    async fn the_body_is_read_in_place() {
        let bytes = Bytes::from_static(br#""hello""#);
        let at = bytes.as_ptr();
        let mut body = RequestBody::new(Body::from_bytes(bytes));
        let taken = body
            .take()
            .expect("body")
            .into_bytes()
            .await
            .expect("bytes");
        assert_eq!(taken.as_ptr(), at, "one chunk is not copied");

        let request = Request::default();
        let mut body = RequestBody::new(Body::from_bytes(Bytes::from_static(br#""hi""#)));
        let JsonBody(text) = JsonBody::<String>::from_request(&request, &mut body)
            .await
            .expect("parses");
        assert_eq!(text, "hi");
        let mut bad = RequestBody::new(Body::from_bytes(Bytes::from_static(b"{")));
        let err = JsonBody::<String>::from_request(&request, &mut bad)
            .await
            .err()
            .expect("a parse error");
        assert_eq!(err.status(), poem::http::StatusCode::BAD_REQUEST);
    }
}

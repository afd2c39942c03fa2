//! What every feature's wire types share: JSON request bodies parsed
//! without an unerased copy (`json_body`, read by `json_parse`, refused
//! with the field named by `json_explain`), JSON string fields that accept
//! only strings (`text`), secrets parsed straight into `SecretString`
//! (`secret_field`), zeroized plaintext and credentials (`secret_text`),
//! the direct JSON writer of the hot paths (`fast_json`), responses that
//! hand out a credential (`secret_json`), the secret field types every
//! feature uses, and date-times.

pub(crate) mod fast_json;
pub(crate) mod json_body;
pub(crate) mod json_explain;
pub(crate) mod json_parse;
pub(crate) mod secret_field;
pub(crate) mod secret_json;
pub(crate) mod secret_text;
pub(crate) mod text;
pub(crate) mod zeroized;

use poem::http::header;
use poem::{IntoResponse, Response};
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use strongroom_engine::Timestamp;
use time::OffsetDateTime;

use self::fast_json::WriteJson;

crate::wire::secret_field::secret_string_type!(
    Password,
    "password",
    12,
    1024,
    "plum orbit lantern quietly"
);
crate::wire::secret_field::secret_string_type!(TotpCode, "totp-code", 6, 6, "492039");
crate::wire::secret_field::secret_string_type!(AnyCode, "totp-or-recovery-code", 6, 24, "492039");
crate::wire::secret_field::secret_string_type!(
    RecoveryCodeText,
    "recovery-code",
    16,
    19,
    "k3vq-7dxa-2mpe-uw4z"
);
crate::wire::secret_field::secret_string_type!(
    TokenText,
    "token",
    43,
    43,
    "v0fJ8dvnUzHc9K0PQ9Zo1h2mQk3sUq8Hn7cX4rB2Lw0"
);

/// An engine timestamp as a UTC date-time.
pub(crate) fn datetime(t: Timestamp) -> OffsetDateTime {
    let nanos = i128::from(t.as_unix_millis()) * 1_000_000;
    OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH)
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
    /// The body holds plaintext (messages, shared secrets): it is zeroized
    /// once sent and dropped.
    fn into_response(self) -> Response {
        Response::builder()
            .header(header::CONTENT_TYPE, CONTENT_TYPE)
            .body(zeroized::bytes(fast_json::body(&self.0)))
    }
}

//! The wire types of passkeys: a ceremony's start (an id and the options
//! for `navigator.credentials.create`/`get`, binary fields in base64url),
//! its finish (the browser's credential as JSON), and the passkeys an
//! account holds.

use poem_openapi::Object;
use serde_json::Value;
use strongroom_engine::passkeys::PasskeyInfo;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::wire::datetime;
use crate::wire::text::PasskeyName;

/// A passkey to register.
#[derive(Object)]
pub(crate) struct NewPasskeyRequest {
    /// A name to tell it by (absent or blank: "Passkey").
    pub(crate) name: Option<PasskeyName>,
}

/// A ceremony begun: pass `options` to the browser's WebAuthn call
/// (binary fields are base64url), then send its answer with `challenge_id`
/// within 5 minutes. Each id works once.
#[derive(Object)]
pub(crate) struct CeremonyStart {
    /// Names this ceremony to its finish.
    pub(crate) challenge_id: String,
    /// `publicKey` options for `navigator.credentials.create` (a
    /// registration) or `.get` (a sign-in).
    pub(crate) options: Value,
}

/// The browser's answer to a registration.
#[derive(Object)]
pub(crate) struct RegistrationFinish {
    /// From the start.
    #[oai(validator(max_length = 64))]
    pub(crate) challenge_id: String,
    /// The `PublicKeyCredential` from `navigator.credentials.create`, as
    /// JSON (`id`, `rawId`, `type`, `response.attestationObject`,
    /// `response.clientDataJSON`, base64url).
    pub(crate) credential: Value,
}

/// The browser's answer to a sign-in.
#[derive(Object)]
pub(crate) struct SignInFinish {
    /// From the start.
    #[oai(validator(max_length = 64))]
    pub(crate) challenge_id: String,
    /// The `PublicKeyCredential` from `navigator.credentials.get`, as JSON
    /// (`id`, `rawId`, `type`, `response.authenticatorData`,
    /// `response.clientDataJSON`, `response.signature`,
    /// `response.userHandle`, base64url).
    pub(crate) credential: Value,
    /// Put the refresh token in the `__Host-strongroom_refresh` cookie
    /// (a web session) instead of the body.
    pub(crate) cookie: Option<bool>,
}

/// A passkey of yours (never its key).
#[derive(Object)]
pub(crate) struct PasskeyView {
    /// Its id (remove it by this).
    id: Uuid,
    /// Its name.
    name: String,
    /// When it was registered.
    created_at: OffsetDateTime,
    /// When it last signed in; absent if never.
    last_used: Option<OffsetDateTime>,
}

impl From<PasskeyInfo> for PasskeyView {
    fn from(p: PasskeyInfo) -> Self {
        Self {
            id: Uuid::from_u128(p.id.as_u128()),
            name: p.name,
            created_at: datetime(p.created_at),
            last_used: p.last_used.map(datetime),
        }
    }
}

/// Your passkeys, oldest first.
#[derive(Object)]
pub(crate) struct PasskeyList {
    /// The passkeys.
    pub(crate) passkeys: Vec<PasskeyView>,
}

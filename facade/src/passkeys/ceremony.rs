//! The relying party: webauthn-rs configured for this server's origin,
//! and the ceremonies under way — each challenge's state kept in memory
//! for 5 minutes and taken once (a finish with a used, expired or unknown
//! challenge is refused). In a cluster a ceremony must finish on the
//! instance that started it (sticky sessions), as with OpenID Connect.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use strongroom_engine::UserId;
use url::Url;

use crate::http::ceremonies::Ceremonies;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, PasskeyRegistration, Uuid, Webauthn, WebauthnBuilder,
};

/// How long a ceremony may take.
const LIFETIME: Duration = Duration::from_secs(300);
/// Ceremonies kept at most; past it the oldest are dropped.
const MAX: usize = 10_000;

/// What a finish needs from its start.
pub(crate) enum Ceremony {
    /// A passkey being registered to `user`, named `name`.
    Register {
        user: UserId,
        name: String,
        state: PasskeyRegistration,
    },
    /// A discoverable sign-in.
    SignIn(DiscoverableAuthentication),
}

/// The relying party and its ceremonies under way.
pub struct Passkeys {
    pub(crate) webauthn: Webauthn,
    /// The relying-party id (the host browsers bind passkeys to).
    pub(crate) rp_id: String,
    pending: Ceremonies<Ceremony>,
}

impl std::fmt::Debug for Passkeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passkeys")
            .field("rp_id", &self.rp_id)
            .finish_non_exhaustive()
    }
}

impl Passkeys {
    /// The relying party for `public_url` (its host is the relying-party
    /// id, its origin the only one accepted); without one, `localhost` on
    /// any port over plain HTTP (browsers allow WebAuthn there), for a
    /// server on its defaults opened at `http://localhost:PORT`.
    pub fn new(public_url: Option<&str>) -> Result<Self, String> {
        let (origin, any_port) = match public_url {
            Some(url) => (
                Url::parse(url).map_err(|e| format!("--public-url: {e}"))?,
                false,
            ),
            None => (
                Url::parse("http://localhost").map_err(|e| e.to_string())?,
                true,
            ),
        };
        let rp_id = origin
            .host_str()
            .ok_or("--public-url has no host")?
            .to_owned();
        let webauthn = WebauthnBuilder::new(&rp_id, &origin)
            .map_err(|e| format!("passkeys for {rp_id}: {e}"))?
            .rp_name("Strongroom")
            .allow_any_port(any_port)
            .timeout(LIFETIME)
            .build()
            .map_err(|e| format!("passkeys for {rp_id}: {e}"))?;
        Ok(Self {
            webauthn,
            rp_id,
            pending: Ceremonies::new(LIFETIME, MAX),
        })
    }

    /// Keeps `ceremony` under a fresh random id, returned.
    pub(crate) fn remember(&self, ceremony: Ceremony) -> String {
        let id = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>());
        self.pending.remember(id.clone(), ceremony);
        id
    }

    /// Takes the ceremony `id` (once), if it has not expired.
    pub(crate) fn take(&self, id: &str) -> Option<Ceremony> {
        self.pending.take(id)
    }
}

/// A user's id as the user handle a passkey stores.
pub(crate) fn user_handle(user: UserId) -> Uuid {
    Uuid::from_u128(user.as_u128())
}

/// Creation options that ask for a discoverable credential (webauthn-rs
/// leaves residence to the authenticator; a sign-in without a username
/// needs it).
pub(crate) fn discoverable(mut options: Value) -> Value {
    let selection = &mut options["publicKey"]["authenticatorSelection"];
    if selection.is_object() {
        selection["residentKey"] = Value::from("required");
        selection["requireResidentKey"] = Value::from(true);
    }
    options
}

/// Request options for a button press rather than an autofill prompt.
pub(crate) fn modal(mut options: Value) -> Value {
    if let Some(o) = options.as_object_mut() {
        o.remove("mediation");
    }
    options
}

//! The end-to-end key directory: publish your X25519 public key with your
//! password-wrapped private key (`PUT /v1/keys`), fetch your versions on a
//! new device (`GET /v1/keys`), and fetch a recipient's current public key
//! to seal to (`GET /v1/users/{username}/key`). The server stores the
//! wrapped private key as given and can never unwrap it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use strongroom_engine::accounts::canonical_username;
use strongroom_engine::e2e::PublicKey;
use strongroom_engine::e2e::{E2eKey, PublishedKey};
use strongroom_engine::{E2eKeyError, Scope};
use time::OffsetDateTime;

use crate::http::auth::Caller;
use crate::http::guard;
use crate::http::problem::{
    Answer, Problem, account_problem, answer, errors, internal, or_answer, says, server_error,
};
use crate::http::state::State;
use crate::http::write_limit::Kind;
use crate::tags::ApiTags;
use crate::wire::datetime;
use crate::wire::json_body::JsonBody;
use crate::wire::text::{PublicKeyText, SaltText, WrappedKeyText};

/// A key to publish.
#[derive(Object)]
pub(crate) struct E2eKeyUpload {
    /// The X25519 public key: 32 bytes, unpadded base64url (43 characters).
    public_key: PublicKeyText,
    /// The private key wrapped by your client under a key derived from your
    /// password (PBKDF2-SHA256 with `salt` and `iterations`): 32 to 512
    /// bytes, unpadded base64url. Stored as given.
    wrapped_private_key: WrappedKeyText,
    /// The PBKDF2 salt: 16 to 64 bytes, unpadded base64url.
    salt: SaltText,
    /// PBKDF2-SHA256 iterations, 600 000 to 10 000 000.
    #[oai(validator(minimum(value = "600000"), maximum(value = "10000000")))]
    iterations: u32,
}

/// One of your key versions, with everything a new device needs.
#[derive(Object)]
pub(crate) struct E2eKeyView {
    /// 1, 2, 3, … (the newest is what senders seal to).
    version: u32,
    /// The public key (unpadded base64url).
    public_key: String,
    /// First 8 bytes of SHA-256 of the public key (hex): sealed messages
    /// name it.
    key_id: String,
    /// When it was published.
    created_at: OffsetDateTime,
    /// PBKDF2-SHA256 iterations of the wrapping.
    iterations: u32,
    /// PBKDF2 salt (unpadded base64url).
    salt: String,
    /// The wrapped private key, as you published it (unpadded base64url).
    wrapped_private_key: String,
}

impl From<&E2eKey> for E2eKeyView {
    fn from(k: &E2eKey) -> Self {
        Self {
            version: k.version,
            public_key: k.public_key.to_base64(),
            key_id: hex::encode(k.public_key.key_id()),
            created_at: datetime(k.created_at),
            iterations: k.iterations,
            salt: URL_SAFE_NO_PAD.encode(&k.salt),
            wrapped_private_key: URL_SAFE_NO_PAD.encode(&k.wrapped_private_key),
        }
    }
}

/// Your key versions, oldest first.
#[derive(Object)]
pub(crate) struct E2eKeyList {
    /// Every version you published.
    keys: Vec<E2eKeyView>,
}

/// A user's current public key.
#[derive(Object)]
pub(crate) struct RecipientKey {
    /// Whose key.
    username: String,
    /// Its version.
    version: u32,
    /// The public key (unpadded base64url): seal to it.
    public_key: String,
    /// First 8 bytes of SHA-256 of the public key (hex).
    key_id: String,
    /// When it was published.
    created_at: OffsetDateTime,
}

#[derive(ApiResponse)]
pub(crate) enum PublishResponse {
    /// Published as your newest version.
    #[oai(status = 201)]
    Created(Json<E2eKeyView>),
}
errors! {
    PublishErrors {
        400 => "A field is not base64url of the right length, or too few iterations.",
        401 => says::UNAUTHORIZED,
        403 => says::API_KEY,
        409 => "You hold the most key versions an account may (32).",
        429 retry => says::WRITES_THROTTLED,
    }
}

#[derive(ApiResponse)]
pub(crate) enum OwnKeysResponse {
    /// Your key versions.
    #[oai(status = 200)]
    Ok(Json<E2eKeyList>),
}
errors! {
    OwnKeysErrors {
        401 => says::UNAUTHORIZED,
        403 => says::API_KEY,
    }
}

#[derive(ApiResponse)]
pub(crate) enum RecipientKeyResponse {
    /// Their current public key.
    #[oai(status = 200)]
    Ok(Json<RecipientKey>),
}
errors! {
    RecipientKeyErrors {
        401 => says::UNAUTHORIZED,
        403 => says::LACKS_WRITE,
        404 => "No such user, or they published no key (the two answer alike).",
        429 retry => "Too many key lookups (120 a minute); retry after `Retry-After` seconds.",
    }
}

fn bad(detail: &str) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, detail.to_owned())
}

fn e2e_problem(err: E2eKeyError) -> Problem {
    match err {
        E2eKeyError::Iterations | E2eKeyError::Salt | E2eKeyError::WrappedKey => {
            bad(&err.to_string())
        }
        // A valid request the account's state refuses.
        E2eKeyError::TooMany { .. } => Problem::new(StatusCode::CONFLICT, err.to_string()),
        E2eKeyError::UnknownUser => Problem::unknown_user(),
        other => server_error("e2e key operation", &other),
    }
}

/// Key lookups one account may make per minute (burst as many).
const KEY_LOOKUPS_PER_MINUTE: u32 = 120;

/// The one answer for a name without a key, whether or not it is a user.
fn no_key() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "no such user, or no published key")
}

/// The upload as the engine takes it, or what is wrong with it.
fn parse(upload: E2eKeyUpload) -> Result<PublishedKey, Problem> {
    let decode = |field: &str, text: &str| {
        URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| bad(&format!("{field} must be unpadded base64url")))
    };
    let public_key = PublicKey::from_base64(&upload.public_key.0)
        .ok_or_else(|| bad("public_key must be 32 bytes of X25519 public key, base64url"))?;
    Ok(PublishedKey {
        public_key,
        wrapped_private_key: decode("wrapped_private_key", &upload.wrapped_private_key.0)?,
        salt: decode("salt", &upload.salt.0)?,
        iterations: upload.iterations,
    })
}

pub(crate) struct E2eApi;

#[OpenApi(tag = "ApiTags::EndToEnd")]
impl E2eApi {
    /// Publish an end-to-end key.
    ///
    /// Your X25519 public key, and your private key wrapped under a key your
    /// client derives from your password (PBKDF2-SHA256, at least 600 000
    /// iterations), so another device can log in and unwrap it. Each call
    /// adds a version; earlier versions stay, so messages sealed to them
    /// still open. Needs a signed-in session (not an API key).
    #[oai(path = "/v1/keys", method = "put", operation_id = "publish_e2e_key")]
    async fn publish(
        &self,
        state: Data<&State>,
        caller: Caller,
        body: JsonBody<E2eKeyUpload>,
    ) -> Answer<PublishResponse, PublishErrors> {
        let key = or_answer!(parse(body.0));
        let (user, acting) = or_answer!(guard::session_writer(&state, &caller).await?);
        match acting.blocking(move |e| e.e2e().publish(user, key)).await? {
            Ok(key) => {
                tracing::info!(user = %user, version = key.version, "e2e key published");
                Ok(PublishResponse::Created(Json(E2eKeyView::from(&key))))
            }
            Err(e) => answer(e2e_problem(e)),
        }
    }

    /// List your end-to-end key versions.
    ///
    /// Oldest first, each with its wrapped private key, salt and iteration
    /// count: what a new device needs to read your messages. Needs a
    /// signed-in session (not an API key).
    #[oai(path = "/v1/keys", method = "get", operation_id = "list_e2e_keys")]
    async fn own(
        &self,
        state: Data<&State>,
        caller: Caller,
    ) -> Answer<OwnKeysResponse, OwnKeysErrors> {
        let user = or_answer!(caller.signed_in());
        match state.read(move |e| e.e2e().all(user)).await? {
            Ok(keys) => Ok(OwnKeysResponse::Ok(Json(E2eKeyList {
                keys: keys.iter().map(E2eKeyView::from).collect(),
            }))),
            Err(e) => answer(internal("e2e key list", &e)),
        }
    }

    /// Get a user's end-to-end public key.
    ///
    /// Their newest version: seal to it (and to your own), then send the
    /// sealed text as an ordinary message. Scope: `messages:write`.
    #[oai(
        path = "/v1/users/:username/key",
        method = "get",
        operation_id = "get_user_e2e_key"
    )]
    async fn recipient(
        &self,
        state: Data<&State>,
        caller: Caller,
        /// The user's username.
        username: Path<String>,
    ) -> Answer<RecipientKeyResponse, RecipientKeyErrors> {
        or_answer!(caller.require(Scope::MessagesWrite));
        or_answer!(guard::take(
            &state,
            caller.user(),
            Kind::KeyLookup,
            KEY_LOOKUPS_PER_MINUTE
        ));
        // An unknown name and a user without a key answer alike.
        let Ok(name) = canonical_username(&username.0) else {
            return answer(no_key());
        };
        let lookup = name.clone();
        let found = state
            .read(move |e| {
                let Some(user) = e.accounts().find(&lookup)? else {
                    return Ok(None);
                };
                Ok::<_, strongroom_engine::Error>(e.e2e().current(user)?)
            })
            .await?;
        match found {
            Ok(Some(key)) => Ok(RecipientKeyResponse::Ok(Json(RecipientKey {
                username: name,
                version: key.version,
                public_key: key.public_key.to_base64(),
                key_id: hex::encode(key.public_key.key_id()),
                created_at: datetime(key.created_at),
            }))),
            Ok(None) => answer(no_key()),
            Err(strongroom_engine::Error::Account(e)) => answer(account_problem(e)),
            Err(e) => answer(internal("e2e key lookup", &e)),
        }
    }
}

//! Share links over HTTP: create (signed in, or anonymously when the server
//! allows it), list and revoke your own, and open one by its token. The
//! preview page that never consumes a view is in `share_page`.

pub(crate) mod wire;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use poem::Request;
use poem::http::HeaderValue;
use poem::http::{StatusCode, header};
use poem::web::Data;
use poem::{IntoResponse, Response};
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::payload::Payload;
use poem_openapi::registry::{
    MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry,
};
use poem_openapi::{ApiResponse, OpenApi};
use sha2::{Digest, Sha256};
use strongroom_engine::audit::{Actor, Origin};
use strongroom_engine::secrecy::ExposeSecret;
use strongroom_engine::shares::{NewFileShare, NewShare, SHARE_FILE_LABEL_MAX};
use strongroom_engine::{
    FileId, RecordError, Scope, SecretBytes, SecretString, ShareError, ShareId, UserId,
};
use uuid::Uuid;

use crate::ApiConfig;
use crate::files::download::Download;
use crate::http::auth::{Caller, MaybeCaller};
use crate::http::client::{self, ClientAddress};
use crate::http::guard;
use crate::http::hashing::Lane;
use crate::http::problem::{
    Answer, Problem, answer, errors, internal, or_answer, says, share_problem,
};
use crate::http::secret_path::PathSecret;
use crate::http::state::State;
use crate::shares::wire::{
    NewShareRequest, OpenShareRequest, ShareCreated, ShareList, ShareSummary, SharedSecret,
};
use crate::tags::ApiTags;
use crate::wire::json_body::JsonBody;
use crate::wire::secret_json::SecretJson;
use crate::wire::secret_text::SecretText;
use crate::wire::{FastJson, datetime};

#[derive(ApiResponse)]
pub(crate) enum CreateShareResponse {
    /// Created. The `url` is shown this once.
    #[oai(status = 201)]
    Created(SecretJson<ShareCreated>),
}
errors! {
    CreateShareErrors {
        400 => "ttl, views, message, label or passphrase out of bounds; neither or\nboth of `message` and `file_id`.",
        401 => "No valid bearer token (and anonymous shares are off, or the token\nsent is invalid).",
        403 => "The credential lacks the `messages:write` scope, or the creator is\nover their storage quota (a share counts until it is used up, revoked\nor expires; a file share counts its copy of the file).",
        404 => "`file_id` is not one of your files.",
        429 retry => "Too many anonymous shares from this address, or over the caller's\nwrites per minute; retry after `Retry-After` seconds.",
    }
}

#[derive(ApiResponse)]
pub(crate) enum ListSharesResponse {
    /// Your shares.
    #[oai(status = 200)]
    Ok(Json<ShareList>),
}
errors! {
    ListSharesErrors {
        401 => says::UNAUTHORIZED,
        403 => says::LACKS_READ,
    }
}

#[derive(ApiResponse)]
pub(crate) enum RevokeShareResponse {
    /// Revoked: its content is deleted (also when it was already gone).
    #[oai(status = 204)]
    NoContent,
}
errors! {
    RevokeShareErrors {
        401 => says::UNAUTHORIZED,
        403 => says::LACKS_WRITE,
        404 => "No share of yours has this id (or it was purged).",
        429 retry => says::WRITES_THROTTLED,
    }
}

/// An opened share (one view consumed): a message as JSON, or a file's
/// bytes. Written by hand: one status with two media types.
pub(crate) enum OpenShareResponse {
    Message(FastJson<SharedSecret>),
    File {
        bytes: Box<Download>,
        views_left: u32,
    },
}

impl IntoResponse for OpenShareResponse {
    fn into_response(self) -> Response {
        match self {
            Self::Message(json) => json.into_response(),
            Self::File { bytes, views_left } => {
                let mut response = (*bytes).into_response();
                response
                    .headers_mut()
                    .insert("x-views-left", HeaderValue::from(views_left));
                response
            }
        }
    }
}

impl ApiResponse for OpenShareResponse {
    fn meta() -> MetaResponses {
        let binary = MetaSchemaRef::Inline(Box::new(MetaSchema {
            format: Some("binary"),
            ..MetaSchema::new("string")
        }));
        MetaResponses {
            responses: vec![MetaResponse {
                description: "The secret (JSON), or for a share of a file the file's bytes under\n\
                              its own media type, as an attachment named after it, with\n\
                              `X-Views-Left`; one view consumed.",
                status: Some(200),
                status_range: None,
                content: vec![
                    MetaMediaType {
                        content_type: <FastJson<SharedSecret> as Payload>::CONTENT_TYPE,
                        schema: <FastJson<SharedSecret> as Payload>::schema_ref(),
                    },
                    MetaMediaType {
                        content_type: "*/*",
                        schema: binary,
                    },
                ],
                headers: Vec::new(),
            }],
        }
    }

    fn register(registry: &mut Registry) {
        <FastJson<SharedSecret> as Payload>::register(registry);
    }
}

errors! {
    OpenShareErrors {
        401 => "Wrong or missing passphrase (no view consumed).",
        404 => "No such share.",
        410 => "The share expired, was used up, revoked or destroyed.",
        429 retry => "Too many passphrase attempts from this address or on this share;\nretry after `Retry-After` seconds.",
    }
}

pub(crate) struct SharesApi;

#[OpenApi(tag = "ApiTags::Shares")]
impl SharesApi {
    /// Create a share link.
    ///
    /// The secret is sealed under a key derived from the link's 256-bit
    /// secret; the server keeps only a hash of it, so the database and the
    /// master key alone cannot open the share. Needs a bearer token unless
    /// the server runs with `--anonymous-shares`. Scope: `messages:write`;
    /// counts against your writes per minute.
    #[oai(path = "/v1/shares", method = "post", operation_id = "create_share")]
    async fn create(
        &self,
        state: Data<&State>,
        req: &Request,
        caller: MaybeCaller,
        body: JsonBody<NewShareRequest>,
    ) -> Answer<CreateShareResponse, CreateShareErrors> {
        let label = match body.0.file_label.as_deref().map(sealed_label).transpose() {
            Ok(label) => label,
            Err(p) => return answer(p),
        };
        let (owner, acting) = match caller {
            MaybeCaller::Caller(c) => {
                match guard::writer(&state, &c, Scope::MessagesWrite).await? {
                    Ok((user, acting)) => (Some(user), acting),
                    Err(p) => return answer(p),
                }
            }
            MaybeCaller::Anonymous => match anonymous(&state, req) {
                Ok(()) => (None, anonymous_caller(&state, req)),
                Err(Refused::Throttled(secs)) => {
                    metrics::counter!("strongroom_rate_limited_total", "route" => "shares")
                        .increment(1);
                    return answer(Problem::throttled(
                        secs,
                        format!("too many anonymous shares; retry in {secs} s"),
                    ));
                }
                Err(Refused::Problem(p)) => return answer(p),
            },
        };
        let mut body = body.0;
        let ttl = body.ttl();
        let (max_views, client_encrypted) = (body.max_views, body.client_encrypted);
        let passphrase = body.passphrase.map(|p| p.into_secret());
        let argon2 = passphrase.is_some();
        let what = match (body.message.as_mut(), body.file_id) {
            // A client-encrypted message is the blob's base64 text: opaque
            // here, stored as given and returned as given.
            (Some(text), None) => Content::Message(text.take()),
            (None, Some(file)) => match owner {
                Some(owner) => Content::File(
                    owner,
                    FileId::from_u128(file.as_u128()),
                    // A file sealed in the sender's browser: its label is
                    // opaque here (empty when none was given).
                    client_encrypted.then(|| label.unwrap_or_default()),
                ),
                None => {
                    return answer(Problem::new(
                        StatusCode::UNAUTHORIZED,
                        "sign in to share one of your files",
                    ));
                }
            },
            _ => {
                return answer(Problem::new(
                    StatusCode::BAD_REQUEST,
                    "give either message or file_id",
                ));
            }
        };
        let work = move |e: &strongroom_engine::Engine| match &what {
            Content::Message(content) => e.shares().create(
                owner,
                NewShare {
                    content,
                    ttl,
                    max_views,
                    passphrase: passphrase.as_ref(),
                    client_encrypted,
                },
            ),
            Content::File(owner, file, label) => e.shares().create_file(
                *owner,
                NewFileShare {
                    file: *file,
                    ttl,
                    max_views,
                    passphrase: passphrase.as_ref(),
                    client_label: label.as_deref(),
                },
            ),
        };
        // A passphrase costs Argon2id: the hashing pool's share lane.
        let created = if argon2 {
            acting.hashing(Lane::Shares, work).await?
        } else {
            acting.blocking(work).await?
        };
        match created {
            Ok(share) => {
                tracing::info!(share = %share.id, owner = ?owner.map(|u| u.to_string()), client = %client::of(req), "share created");
                Ok(CreateShareResponse::Created(SecretJson(ShareCreated {
                    id: Uuid::from_u128(share.id.as_u128()),
                    url: share_url(&state.config, req, &share.token),
                    expires_at: datetime(share.expires_at),
                    max_views: share.max_views,
                })))
            }
            Err(e) => answer(share_problem(e)),
        }
    }

    /// List your share links.
    ///
    /// Every share you created that has not been purged (a share is purged
    /// shortly after it expires): its state and views, never its content
    /// or link. Scope: `messages:read`.
    #[oai(path = "/v1/shares", method = "get", operation_id = "list_shares")]
    async fn list(
        &self,
        state: Data<&State>,
        caller: Caller,
    ) -> Answer<ListSharesResponse, ListSharesErrors> {
        let owner = or_answer!(caller.require(Scope::MessagesRead));
        match state.read(move |e| e.shares().list(owner)).await? {
            Ok(shares) => Ok(ListSharesResponse::Ok(Json(ShareList {
                shares: shares.iter().map(ShareSummary::from).collect(),
            }))),
            Err(e) => answer(share_problem(e.into())),
        }
    }

    /// Revoke one of your share links.
    ///
    /// Its content is deleted at once; opening it answers 410. Scope:
    /// `messages:write`.
    #[oai(
        path = "/v1/shares/:id",
        method = "delete",
        operation_id = "revoke_share"
    )]
    async fn revoke(
        &self,
        state: Data<&State>,
        caller: Caller,
        /// The share's id.
        id: Path<String>,
    ) -> Answer<RevokeShareResponse, RevokeShareErrors> {
        let Ok(id) = id.0.parse::<ShareId>() else {
            return answer(Problem::new(StatusCode::NOT_FOUND, "share not found"));
        };
        let (owner, acting) =
            or_answer!(guard::writer(&state, &caller, Scope::MessagesWrite).await?);
        match acting
            .blocking(move |e| e.shares().revoke(owner, id))
            .await?
        {
            Ok(()) => {
                tracing::info!(share = %id, owner = %owner, "share revoked");
                Ok(RevokeShareResponse::NoContent)
            }
            Err(e) => answer(share_problem(e)),
        }
    }

    /// Open a share link.
    ///
    /// Releases the secret and consumes one view in the same transaction:
    /// of concurrent opens of a last view exactly one succeeds, the others
    /// answer 410. A wrong passphrase consumes no view; the fifth destroys
    /// the share. Send `{}` when the share has no passphrase.
    #[oai(
        path = "/v1/shares/:token/open",
        method = "post",
        operation_id = "open_share"
    )]
    async fn open(
        &self,
        state: Data<&State>,
        req: &Request,
        /// The token from the link (`/s/<token>`).
        token: Path<String>,
        body: JsonBody<OpenShareRequest>,
    ) -> Answer<OpenShareResponse, OpenShareErrors> {
        // Dispatch took the token out of the path before routing
        // (`http::secret_path`); the parameter is its placeholder.
        let token = match req.data::<PathSecret>() {
            Some(taken) => taken.0.clone(),
            None => SecretString::from(token.0),
        };
        let passphrase = body.0.passphrase.map(|p| p.into_secret());
        let argon2 = passphrase.is_some();
        if argon2 {
            // Each attempt costs an Argon2id hash: limited per address and
            // per share before any hashing.
            let address = ClientAddress(client::of(req)).rate_key();
            if let Err(t) = state.rate_limits.passphrase(address, share_key(&token)) {
                metrics::counter!("strongroom_rate_limited_total", "route" => "share_passphrase")
                    .increment(1);
                return answer(Problem::throttled(
                    t.0,
                    format!("too many passphrase attempts; retry in {} s", t.0),
                ));
            }
        }
        let acting = anonymous_caller(&state, req);
        // Which kind it holds decides the answer; nothing is consumed yet.
        let peek = token.clone();
        let status = state.read(move |e| e.shares().status(&peek)).await?;
        let holds_file = match status {
            Ok(status) => status.file,
            Err(e) => return answer(share_problem(e)),
        };
        if holds_file {
            let work = move |e: &strongroom_engine::Engine| {
                e.shares().open_file(&token, passphrase.as_ref())
            };
            let opened = if argon2 {
                acting.hashing(Lane::Shares, work).await?
            } else {
                acting.blocking(work).await?
            };
            let file = match opened {
                Ok(file) => file,
                Err(e) => return answer(share_problem(e)),
            };
            // Revoked (or its copy purged) since it was opened: gone.
            let gone = |e| match e {
                RecordError::NotFound => share_problem(ShareError::Gone),
                other => internal("share file read", &other),
            };
            let download = Download::whole(file.reader, state.engine.reads_block(), gone);
            return Ok(OpenShareResponse::File {
                bytes: Box::new(or_answer!(download.await)),
                views_left: file.views_left,
            });
        }
        let work =
            move |e: &strongroom_engine::Engine| e.shares().open(&token, passphrase.as_ref());
        let opened = if argon2 {
            acting.hashing(Lane::Shares, work).await?
        } else {
            acting.blocking(work).await?
        };
        match opened {
            Ok(share) => {
                // Shares made over HTTP hold the text they were given; a
                // binary one made through the engine comes back as base64.
                let message = match std::str::from_utf8(&share.content) {
                    Ok(_) => SecretText::take(share.content),
                    Err(_) => SecretText::from_string(STANDARD.encode(share.content.as_slice())),
                };
                Ok(OpenShareResponse::Message(FastJson(SharedSecret {
                    message,
                    client_encrypted: share.client_encrypted,
                    views_left: share.views_left,
                })))
            }
            Err(e) => answer(share_problem(e)),
        }
    }
}

enum Refused {
    Throttled(u64),
    Problem(Problem),
}

/// What a new share holds.
enum Content {
    Message(SecretBytes),
    /// One of the creator's files, and its client-side label when the
    /// sender's browser encrypted it.
    File(UserId, FileId, Option<Vec<u8>>),
}

/// A sealed file label as the request gives it: standard base64 with
/// padding (the body's schema already holds it to that alphabet and
/// shape), at most [`SHARE_FILE_LABEL_MAX`] bytes once decoded.
fn sealed_label(text: &str) -> Result<Vec<u8>, Problem> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    // Bits past the last byte are not checked, as the schema's pattern
    // does not check them.
    const PADDED: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
    );
    match PADDED.decode(text) {
        Ok(label) if label.len() <= SHARE_FILE_LABEL_MAX => Ok(label),
        Ok(_) => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            format!("file_label: a sealed label is at most {SHARE_FILE_LABEL_MAX} bytes"),
        )),
        Err(_) => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "file_label: not standard base64 with padding",
        )),
    }
}

/// The state acting for an anonymous client at its address (what the
/// audit log records for share creation and opening without an account).
fn anonymous_caller(state: &State, req: &Request) -> State {
    state.acting(Origin {
        actor: Some(Actor::Anonymous),
        address: Some(client::of(req)),
    })
}

/// What the passphrase limiter keys a share by: a digest of its token,
/// so the token itself is never kept.
fn share_key(token: &SecretString) -> [u8; 16] {
    let digest = Sha256::digest(token.expose_secret().as_bytes());
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

/// Whether this request may create a share without an account.
fn anonymous(state: &State, req: &Request) -> Result<(), Refused> {
    if req.headers().contains_key(header::AUTHORIZATION) {
        // A token was sent and did not check: never fall back silently.
        return Err(Refused::Problem(Problem::new(
            StatusCode::UNAUTHORIZED,
            "invalid or expired token",
        )));
    }
    if !state.config.anonymous_shares {
        return Err(Refused::Problem(Problem::new(
            StatusCode::UNAUTHORIZED,
            "sign in to create share links (this server does not allow anonymous shares)",
        )));
    }
    let key = ClientAddress(client::of(req)).rate_key();
    state
        .rate_limits
        .anonymous_share(key)
        .map_err(|t| Refused::Throttled(t.0))
}

/// The link for `token`: the configured public URL, else the request's
/// scheme and `Host` when that is a plausible host name, else a path.
fn share_url(config: &ApiConfig, req: &Request, token: &SecretString) -> SecretText {
    let token = token.expose_secret();
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        });
    match (&config.public_url, host) {
        (Some(base), _) => SecretText::concat(&[base.trim_end_matches('/'), "/s/", token]),
        (None, Some(host)) => {
            SecretText::concat(&[req.scheme().as_str(), "://", host, "/s/", token])
        }
        (None, None) => SecretText::concat(&["/s/", token]),
    }
}

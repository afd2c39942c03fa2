//! Sign-in through an OpenID Connect provider: `GET /v1/oidc/login`
//! redirects to the provider (authorization code, PKCE S256, `state`,
//! `nonce`); `GET /v1/oidc/callback` checks the single-use `state`,
//! exchanges the code, validates the ID token, and starts a web session
//! exactly as a password sign-in with `"cookie": true` does, then returns
//! to `/app`. `POST /v1/me/identities/oidc` links a provider identity to
//! the signed-in account through the same flow. What the web client needs
//! to offer it comes from `GET /v1/sign-in-options`.

pub(crate) mod pending;
pub(crate) mod provider;

use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use strongroom_engine::AuthError;
use strongroom_engine::audit::{Actor, Origin};

use crate::accounts::cookie;
use crate::http::auth::Caller;
use crate::http::guard;
use crate::http::problem::{Answer, Problem, account_problem, answer, errors, or_answer, says};
use crate::http::state::State;
use crate::oidc::pending::Pending;
use crate::tags::ApiTags;
use crate::wire::secret_text::SecretText;

/// How one may sign in here, besides a password.
#[derive(Object)]
pub(crate) struct SignInOptions {
    /// The OpenID Connect provider, when one is configured.
    oidc: Option<OidcOption>,
}

/// An OpenID Connect provider to sign in with.
#[derive(Object)]
pub(crate) struct OidcOption {
    /// Its name, for the button ("Sign in with …").
    name: String,
    /// Where the button goes.
    login_url: String,
}

/// Where to send the browser to link an identity.
#[derive(Object)]
pub(crate) struct LinkStart {
    /// The provider's authorization URL: navigate there.
    url: String,
}

#[derive(ApiResponse)]
pub(crate) enum OptionsResponse {
    /// The options.
    #[oai(status = 200)]
    Ok(Json<SignInOptions>),
}

#[derive(ApiResponse)]
pub(crate) enum RedirectResponse {
    /// Off to the provider (or, after the callback, back to the web
    /// client, signed in).
    #[oai(status = 302)]
    Found(
        /// Where to.
        #[oai(header = "Location")]
        String,
        /// The web session's refresh token, after a sign-in.
        #[oai(header = "Set-Cookie")]
        Option<SecretText>,
    ),
}
errors! {
    LoginErrors {
        404 => "No OpenID Connect provider is configured.",
        503 => "The provider's discovery document could not be read.",
    }
}
errors! {
    CallbackErrors {
        400 => "A missing, unknown, expired or already used `state`, or the provider answered an error.",
        401 => "The code exchange failed or the ID token did not validate: no session.",
        403 => "No account is linked to this identity and registration is closed, or the account is disabled.",
        404 => "No OpenID Connect provider is configured.",
        409 => "The identity is linked to another account.",
    }
}

/// A provider identity linked to your account.
#[derive(Object)]
pub(crate) struct LinkedIdentity {
    /// The provider (its issuer URL).
    issuer: String,
    /// Your id there.
    subject: String,
}

/// Your linked provider identities.
#[derive(Object)]
pub(crate) struct LinkedIdentities {
    /// Oldest first.
    identities: Vec<LinkedIdentity>,
}

#[derive(ApiResponse)]
pub(crate) enum IdentitiesResponse {
    /// Your linked identities.
    #[oai(status = 200)]
    Ok(Json<LinkedIdentities>),
}
errors! {
    IdentitiesErrors {
        401 => says::UNAUTHORIZED,
        403 => says::API_KEY,
    }
}

#[derive(ApiResponse)]
pub(crate) enum LinkResponse {
    /// Navigate to `url`; the callback links the identity and returns to
    /// the web client.
    #[oai(status = 201)]
    Created(Json<LinkStart>),
}
errors! {
    LinkErrors {
        401 => says::UNAUTHORIZED,
        403 => says::API_KEY,
        404 => "No OpenID Connect provider is configured.",
        429 retry => says::WRITES_THROTTLED,
        503 => "The provider's discovery document could not be read.",
    }
}

fn not_configured() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "no OpenID Connect provider is configured on this server",
    )
}

fn unavailable(e: &provider::OidcError) -> Problem {
    tracing::warn!(error = %e, "OpenID Connect provider unavailable");
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "the identity provider cannot be reached; try again later",
    )
}

pub(crate) struct OidcApi;

#[OpenApi(tag = "ApiTags::Accounts")]
impl OidcApi {
    /// How to sign in here.
    ///
    /// The OpenID Connect provider (its name and login URL) when one is
    /// configured. No credential needed.
    #[oai(
        path = "/v1/sign-in-options",
        method = "get",
        operation_id = "sign_in_options"
    )]
    async fn options(&self, state: Data<&State>) -> OptionsResponse {
        OptionsResponse::Ok(Json(SignInOptions {
            oidc: state.config.oidc.as_ref().map(|o| OidcOption {
                name: o.name().to_owned(),
                login_url: "/v1/oidc/login".to_owned(),
            }),
        }))
    }

    /// Sign in with the OpenID Connect provider.
    ///
    /// Redirects to the provider's authorization endpoint (authorization
    /// code flow with PKCE S256, `state` and `nonce`, kept here for 10
    /// minutes and good for one callback).
    #[oai(path = "/v1/oidc/login", method = "get", operation_id = "oidc_login")]
    async fn login(&self, state: Data<&State>) -> Answer<RedirectResponse, LoginErrors> {
        let Some(oidc) = state.config.oidc.clone() else {
            return answer(not_configured());
        };
        let started = match oidc.start().await {
            Ok(started) => started,
            Err(e) => return answer(unavailable(&e)),
        };
        let url = started.url.clone();
        oidc.remember(started, None);
        Ok(RedirectResponse::Found(url, None))
    }

    /// Where the provider returns.
    ///
    /// Checks `state` (single use), exchanges `code`, validates the ID
    /// token (signature, issuer, audience, expiry, nonce) and starts a web
    /// session (the refresh token in the `__Host-` cookie), then redirects
    /// to `/app`. The first sign-in of an identity makes an account (named
    /// after the verified email when free) unless registration is closed.
    /// For a link started with `POST /v1/me/identities/oidc`, links the
    /// identity instead.
    #[oai(
        path = "/v1/oidc/callback",
        method = "get",
        operation_id = "oidc_callback"
    )]
    async fn callback(
        &self,
        state: Data<&State>,
        /// The authorization code.
        code: Query<Option<String>>,
        /// The `state` sent to the provider.
        #[oai(name = "state")]
        oauth_state: Query<Option<String>>,
        /// An error the provider answered instead of a code.
        error: Query<Option<String>>,
    ) -> Answer<RedirectResponse, CallbackErrors> {
        let Some(oidc) = state.config.oidc.clone() else {
            return answer(not_configured());
        };
        let bad = |detail: &str| answer(Problem::new(StatusCode::BAD_REQUEST, detail.to_owned()));
        // The state first: it is spent even when the provider said no.
        let Some(Pending {
            nonce,
            verifier,
            link,
        }) = oauth_state.0.as_deref().and_then(|s| oidc.take(s))
        else {
            return bad("unknown, expired or already used state: start the sign-in again");
        };
        if let Some(error) = error.0 {
            tracing::info!(error = %crate::http::log_text::escaped(&error), "the provider refused the sign-in");
            return bad("the identity provider did not sign you in");
        }
        let Some(code) = code.0 else {
            return bad("no authorization code");
        };
        let identity = match oidc.finish(code, &nonce, verifier).await {
            Ok(identity) => identity,
            Err(e) => {
                tracing::warn!(error = %e, "OpenID Connect sign-in refused");
                return answer(Problem::new(
                    StatusCode::UNAUTHORIZED,
                    "the identity provider's answer did not validate; no session was started",
                ));
            }
        };
        let origin = Origin {
            actor: Some(Actor::Anonymous),
            address: None,
        };
        if let Some(user) = link {
            let linked = state
                .acting(origin)
                .blocking(move |e| e.accounts().link_identity(user, &identity))
                .await?;
            return match linked {
                Ok(()) => {
                    tracing::info!(user = %user, "OpenID Connect identity linked");
                    Ok(RedirectResponse::Found("/app".to_owned(), None))
                }
                Err(e) => answer(account_problem(e)),
            };
        }
        let create = state.config.open_registration;
        let signed_in = state
            .acting(origin)
            .blocking(move |e| e.sessions().login_external(&identity, create))
            .await?;
        match signed_in {
            Ok(pair) => {
                tracing::info!(user = %pair.session.user, session = %pair.session.id, "OpenID Connect sign-in");
                let set = cookie::set(pair.refresh_token.expose_secret());
                Ok(RedirectResponse::Found("/app".to_owned(), Some(set)))
            }
            Err(AuthError::UnknownIdentity) => answer(Problem::new(
                StatusCode::FORBIDDEN,
                "no account is linked to this identity, and registration is closed",
            )),
            Err(AuthError::Disabled) => answer(Problem::new(
                StatusCode::FORBIDDEN,
                "this account is disabled",
            )),
            Err(e) => answer(crate::http::problem::auth_problem(e)),
        }
    }

    /// List the provider identities linked to your account.
    ///
    /// Each signs in to this account. Needs a signed-in session.
    #[oai(
        path = "/v1/me/identities",
        method = "get",
        operation_id = "list_identities",
        tag = "ApiTags::Accounts"
    )]
    async fn identities(
        &self,
        state: Data<&State>,
        caller: Caller,
    ) -> Answer<IdentitiesResponse, IdentitiesErrors> {
        let user = or_answer!(caller.signed_in());
        match state.read(move |e| e.accounts().identities(user)).await? {
            Ok(found) => Ok(IdentitiesResponse::Ok(Json(LinkedIdentities {
                identities: found
                    .into_iter()
                    .map(|i| LinkedIdentity {
                        issuer: i.issuer,
                        subject: i.subject,
                    })
                    .collect(),
            }))),
            Err(e) => answer(crate::http::problem::internal("identity list", &e)),
        }
    }

    /// Link an OpenID Connect identity to your account.
    ///
    /// Answers the provider's authorization URL: navigate there, sign in at
    /// the provider, and the callback links that identity to this account
    /// (refused if another account holds it). Needs a signed-in session.
    #[oai(
        path = "/v1/me/identities/oidc",
        method = "post",
        operation_id = "link_oidc",
        tag = "ApiTags::Accounts"
    )]
    async fn link(&self, state: Data<&State>, caller: Caller) -> Answer<LinkResponse, LinkErrors> {
        // The link the callback writes counts as a write now, when the
        // caller is known.
        let (user, _) = or_answer!(guard::session_writer(&state, &caller).await?);
        let Some(oidc) = state.config.oidc.clone() else {
            return answer(not_configured());
        };
        let started = match oidc.start().await {
            Ok(started) => started,
            Err(e) => return answer(unavailable(&e)),
        };
        let url = started.url.clone();
        oidc.remember(started, Some(user));
        Ok(LinkResponse::Created(Json(LinkStart { url })))
    }
}

//! Accounts and sessions: register, log in, refresh, log out.

pub(crate) mod cookie;
pub(crate) mod me;
pub(crate) mod two_factor;
pub(crate) mod wire;

use poem::Request;
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use strongroom_engine::audit::{Actor, Origin};
use strongroom_engine::sessions::{BearerToken, TokenPair};

use crate::accounts::wire::{
    Account, Credentials, LoginRequest, RefreshRequest, Tokens, second_factor,
};
use crate::http::auth::Caller;
use crate::http::client::{self, ClientAddress};
use crate::http::cors;
use crate::http::hashing::Lane;
use crate::http::log_text::escaped;
use crate::http::problem::{
    Answer, Problem, account_problem, answer, auth_problem, errors, or_answer, says,
};
use crate::http::state::State;
use crate::tags::ApiTags;
use crate::wire::json_body::JsonBody;
use crate::wire::secret_json::SecretJson;
use crate::wire::secret_text::SecretText;
use crate::wire::text::Username;

#[derive(ApiResponse)]
pub(crate) enum CreateAccountResponse {
    /// The account was created.
    #[oai(status = 201)]
    Created(Json<Account>),
}
errors! {
    CreateAccountErrors {
        400 => "Username or password is invalid.",
        403 => "Registration is closed on this server (an admin creates accounts).",
        409 => says::TAKEN,
        429 retry => "Too many attempts from this address; retry after `Retry-After` seconds.",
    }
}

#[derive(ApiResponse)]
pub(crate) enum LoginResponse {
    /// Logged in: a new session. With `"cookie": true` the refresh token
    /// is in the `__Host-strongroom_refresh` cookie, not the body.
    #[oai(status = 201)]
    Created(
        SecretJson<Tokens>,
        /// The web session's refresh token (with `"cookie": true`).
        #[oai(header = "Set-Cookie")]
        Option<SecretText>,
    ),
}
errors! {
    LoginErrors {
        401 => "Unknown username or wrong password (indistinguishable); or, with the right password, a second factor is required (problem type `tag:strongroom,2026:second-factor-required`) or wrong (`…:second-factor-invalid`).",
        403 => says::DISABLED,
        429 retry => "Too many attempts; retry after `Retry-After` seconds.",
    }
}

#[derive(ApiResponse)]
pub(crate) enum RefreshResponse {
    /// A new pair; the presented refresh token is now used up. A refresh
    /// token that came in the cookie is replaced in the cookie.
    #[oai(status = 201)]
    Created(
        SecretJson<Tokens>,
        /// The web session's new refresh token (when it came in the cookie).
        #[oai(header = "Set-Cookie")]
        Option<SecretText>,
    ),
}
errors! {
    RefreshErrors {
        401 => "Invalid, expired or reused refresh token (reuse revokes the session), or none came.",
        403 => "The account is disabled, or the cookie came from another origin than the server's.",
        429 retry => "Too many refreshes from this address; retry after `Retry-After` seconds.",
    }
}

#[derive(ApiResponse)]
pub(crate) enum LogoutResponse {
    /// The session of the presented token is revoked; a web session's
    /// cookie is removed.
    #[oai(status = 204)]
    NoContent(
        /// Removes the web session's cookie.
        #[oai(header = "Set-Cookie")]
        String,
    ),
}
errors! {
    LogoutErrors {
        401 => says::UNAUTHORIZED,
        403 => "An API key cannot log out (revoke it instead), or the request came from another origin.",
    }
}

/// The answer to a new token pair: for a web session the refresh token
/// goes into the `Set-Cookie`, not the body.
pub(crate) fn issued(pair: TokenPair, web: bool) -> (SecretJson<Tokens>, Option<SecretText>) {
    if web {
        let set = cookie::set(pair.refresh_token.expose_secret());
        (
            SecretJson(Tokens::from(pair).without_refresh_token()),
            Some(set),
        )
    } else {
        (SecretJson(pair.into()), None)
    }
}

/// Whether the request's `Origin` is the server's own (absent counts as
/// not: the cookie is accepted only from the server's own pages).
fn own_origin(state: &State, req: &Request) -> bool {
    let public = state.config.public_url.as_deref().and_then(cors::origin_of);
    req.headers()
        .get(poem::http::header::ORIGIN)
        .is_some_and(|origin| cors::is_same_origin(req, origin, public.as_deref()))
}

/// A caller not signed in, at `address`: whom the audit log records for
/// registrations, logins and refreshes (the engine names the account once
/// it is known).
pub(crate) fn anonymous(address: std::net::IpAddr) -> Origin {
    Origin {
        actor: Some(Actor::Anonymous),
        address: Some(address),
    }
}

pub(crate) fn throttled(retry_after: u64) -> Problem {
    Problem::throttled(
        retry_after,
        format!("too many attempts; retry in {retry_after} s"),
    )
}

pub(crate) struct AccountsApi;

#[OpenApi(tag = "ApiTags::Accounts")]
impl AccountsApi {
    /// Create an account.
    ///
    /// Usernames are 3–64 characters of `a-z 0-9 _ . -`; passwords 12–1024
    /// characters, hashed with Argon2id.
    #[oai(
        path = "/v1/accounts",
        method = "post",
        operation_id = "create_account"
    )]
    async fn create_account(
        &self,
        state: Data<&State>,
        req: &Request,
        body: JsonBody<Credentials>,
    ) -> Answer<CreateAccountResponse, CreateAccountErrors> {
        let address = client::of(req);
        if !state.config.open_registration {
            return answer(Problem::new(
                StatusCode::FORBIDDEN,
                "registration is closed on this server; an admin creates accounts",
            ));
        }
        if let Err(t) = state
            .rate_limits
            .attempt(ClientAddress(address).rate_key(), None)
        {
            metrics::counter!("strongroom_rate_limited_total", "route" => "accounts").increment(1);
            return answer(throttled(t.0));
        }
        let Credentials {
            username: Username(username),
            password,
        } = body.0;
        let name = username.clone();
        let created = state
            .acting(anonymous(address))
            .hashing(Lane::Accounts, move |e| {
                e.accounts().create(&name, password.secret())
            })
            .await?;
        match created {
            Ok(user) => {
                tracing::info!(user = %user.id, username = %escaped(&user.username), client = %address, "account created");
                Ok(CreateAccountResponse::Created(Json(user.into())))
            }
            Err(e) => answer(account_problem(e)),
        }
    }

    /// Log in: start a session.
    ///
    /// Returns an access token (15 minutes) and a refresh token (7 days).
    /// Unknown usernames and wrong passwords answer the same 401 after the
    /// same work. Attempts are rate limited per address and per username.
    #[oai(path = "/v1/sessions", method = "post", operation_id = "login")]
    async fn login(
        &self,
        state: Data<&State>,
        req: &Request,
        body: JsonBody<LoginRequest>,
    ) -> Answer<LoginResponse, LoginErrors> {
        let address = client::of(req);
        let LoginRequest {
            username: Username(username),
            password,
            totp,
            recovery_code,
            cookie: web,
        } = body.0;
        let web = web.unwrap_or(false);
        let factor = match second_factor(totp, recovery_code) {
            Ok(factor) => factor,
            Err(problem) => return answer(problem),
        };
        let key = ClientAddress(address).rate_key();
        if let Err(t) = state.rate_limits.attempt(key, Some(&username)) {
            metrics::counter!("strongroom_rate_limited_total", "route" => "login").increment(1);
            metrics::counter!("strongroom_logins_total", "outcome" => "throttled").increment(1);
            tracing::warn!(username = %escaped(&username), client = %address, "login throttled");
            return answer(throttled(t.0));
        }
        // Wrong second factors have a small budget of their own: six-digit
        // codes would fall to guessing at the login rates.
        if factor.is_some()
            && let Err(t) = state.rate_limits.second_factor(&username)
        {
            metrics::counter!("strongroom_rate_limited_total", "route" => "second_factor")
                .increment(1);
            tracing::warn!(username = %escaped(&username), client = %address, "second factor throttled");
            return answer(throttled(t.0));
        }
        let name = username.clone();
        let result = state
            .acting(anonymous(address))
            .hashing(Lane::Accounts, move |e| {
                e.sessions()
                    .login_with(&name, password.secret(), factor.as_ref())
            })
            .await?;
        match result {
            Ok(pair) => {
                metrics::counter!("strongroom_logins_total", "outcome" => "success").increment(1);
                tracing::info!(user = %pair.session.user, session = %pair.session.id, username = %escaped(&username), client = %address, web, "login succeeded");
                let (tokens, set) = issued(pair, web);
                Ok(LoginResponse::Created(tokens, set))
            }
            Err(e) => {
                if matches!(e, strongroom_engine::AuthError::InvalidSecondFactor) {
                    state.rate_limits.second_factor_failed(&username);
                }
                let outcome = match e {
                    strongroom_engine::AuthError::Disabled => "disabled",
                    _ => "failure",
                };
                metrics::counter!("strongroom_login_failures_total").increment(1);
                metrics::counter!("strongroom_logins_total", "outcome" => outcome).increment(1);
                tracing::warn!(username = %escaped(&username), client = %address, "login failed");
                answer(auth_problem(e))
            }
        }
    }

    /// Exchange a refresh token for a new pair.
    ///
    /// Each refresh token works once. Presenting one that was already used
    /// revokes the whole session (both tokens of every rotation).
    #[oai(
        path = "/v1/sessions/refresh",
        method = "post",
        operation_id = "refresh"
    )]
    async fn refresh(
        &self,
        state: Data<&State>,
        req: &Request,
        body: JsonBody<RefreshRequest>,
    ) -> Answer<RefreshResponse, RefreshErrors> {
        let address = client::of(req);
        // From the body, or from the web session's cookie: then only from
        // the server's own pages (with SameSite=Strict, a CSRF defence in
        // depth).
        let (token, web) = match body.0.refresh_token {
            Some(token) => (token.into_secret(), false),
            None => match cookie::read(req) {
                Some(token) if own_origin(&state, req) => (token, true),
                Some(_) => {
                    return answer(Problem::new(
                        StatusCode::FORBIDDEN,
                        "the session cookie is accepted only from this server's own pages",
                    ));
                }
                None => {
                    return answer(Problem::new(
                        StatusCode::UNAUTHORIZED,
                        "no refresh token: send `refresh_token`, or the session cookie",
                    ));
                }
            },
        };
        let token = BearerToken::new(token);
        if let Err(t) = state.rate_limits.refresh(ClientAddress(address).rate_key()) {
            metrics::counter!("strongroom_rate_limited_total", "route" => "refresh").increment(1);
            return answer(throttled(t.0));
        }
        let result = state
            .acting(anonymous(address))
            .blocking(move |e| e.sessions().refresh(&token))
            .await?;
        match result {
            Ok(pair) => {
                tracing::info!(user = %pair.session.user, session = %pair.session.id, client = %address, web, "token refreshed");
                let (tokens, set) = issued(pair, web);
                Ok(RefreshResponse::Created(tokens, set))
            }
            Err(e) => {
                if matches!(e, strongroom_engine::AuthError::RefreshTokenReused) {
                    tracing::warn!(client = %address, "refresh token reuse detected; session revoked");
                }
                answer(auth_problem(e))
            }
        }
    }

    /// Log out: revoke the session of the presented token.
    #[oai(
        path = "/v1/sessions/current",
        method = "delete",
        operation_id = "logout"
    )]
    async fn logout(
        &self,
        state: Data<&State>,
        req: &Request,
        caller: Caller,
    ) -> Answer<LogoutResponse, LogoutErrors> {
        or_answer!(caller.signed_in());
        if req.headers().contains_key(poem::http::header::ORIGIN) && !own_origin(&state, req) {
            return answer(Problem::new(
                StatusCode::FORBIDDEN,
                "log out from this server's own pages",
            ));
        }
        let acting = state.acting(caller.origin());
        let auth = caller.0;
        let result = acting
            .blocking(move |e| e.sessions().revoke(&auth.token))
            .await?;
        match result {
            Ok(session) => {
                tracing::info!(user = %session.user, session = %session.id, "token revoked");
                Ok(LogoutResponse::NoContent(cookie::clear()))
            }
            Err(e) => answer(auth_problem(e)),
        }
    }
}

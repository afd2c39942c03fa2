//! Accounts and sessions: register, log in, refresh, log out.

pub(crate) mod me;
pub(crate) mod wire;

use poem::Request;
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use strongroom_engine::BearerToken;
use strongroom_engine::audit::{Actor, Origin};

use crate::accounts::wire::{Account, Credentials, RefreshRequest, Tokens};
use crate::http::auth::Caller;
use crate::http::client::{self, ClientAddress};
use crate::http::log_text::escaped;
use crate::http::problem::{
    Problem, account_problem, answer, auth_problem, or_answer, problem_variants,
};
use crate::http::state::State;
use crate::tags::ApiTags;
use crate::wire::text::Username;

#[derive(ApiResponse)]
pub(crate) enum CreateAccountResponse {
    /// The account was created.
    #[oai(status = 201)]
    Created(Json<Account>),
    /// Username or password is invalid.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// Registration is closed on this server (an admin creates accounts).
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
    /// The username is taken.
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Problem>),
    /// Too many attempts from this address; retry after `Retry-After` seconds.
    #[oai(status = 429, content_type = "application/problem+json")]
    TooManyRequests(Json<Problem>, #[oai(header = "Retry-After")] u64),
}
problem_variants!(CreateAccountResponse { 400 => BadRequest, 403 => Forbidden, 409 => Conflict });

#[derive(ApiResponse)]
pub(crate) enum LoginResponse {
    /// Logged in: a new session.
    #[oai(status = 201)]
    Created(Json<Tokens>),
    /// Unknown username or wrong password (indistinguishable).
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>),
    /// The account is disabled.
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
    /// Too many attempts; retry after `Retry-After` seconds.
    #[oai(status = 429, content_type = "application/problem+json")]
    TooManyRequests(Json<Problem>, #[oai(header = "Retry-After")] u64),
}
problem_variants!(LoginResponse { 401 => Unauthorized, 403 => Forbidden });

#[derive(ApiResponse)]
pub(crate) enum RefreshResponse {
    /// A new pair; the presented refresh token is now used up.
    #[oai(status = 201)]
    Created(Json<Tokens>),
    /// Invalid, expired or reused refresh token (reuse revokes the session).
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>),
    /// The account is disabled.
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
    /// Too many refreshes from this address; retry after `Retry-After` seconds.
    #[oai(status = 429, content_type = "application/problem+json")]
    TooManyRequests(Json<Problem>, #[oai(header = "Retry-After")] u64),
}
problem_variants!(RefreshResponse { 401 => Unauthorized, 403 => Forbidden });

#[derive(ApiResponse)]
pub(crate) enum LogoutResponse {
    /// The session of the presented token is revoked.
    #[oai(status = 204)]
    NoContent,
    /// Missing, invalid or expired bearer token.
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>),
    /// An API key cannot log out (revoke it instead).
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
}
problem_variants!(LogoutResponse { 401 => Unauthorized, 403 => Forbidden });

/// A caller not signed in, at `address`: whom the audit log records for
/// registrations, logins and refreshes (the engine names the account once
/// it is known).
fn anonymous(address: std::net::IpAddr) -> Origin {
    Origin {
        actor: Some(Actor::Anonymous),
        address: Some(address),
    }
}

fn throttled(retry_after: u64) -> Json<Problem> {
    Json(Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        format!("too many attempts; retry in {retry_after} s"),
    ))
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
        body: Json<Credentials>,
    ) -> poem::Result<CreateAccountResponse> {
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
            return Ok(CreateAccountResponse::TooManyRequests(throttled(t.0), t.0));
        }
        let Credentials {
            username: Username(username),
            password,
        } = body.0;
        let name = username.clone();
        let created = state
            .acting(anonymous(address))
            .hashing(move |e| e.accounts().create(&name, password.secret()))
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
        body: Json<Credentials>,
    ) -> poem::Result<LoginResponse> {
        let address = client::of(req);
        let Credentials {
            username: Username(username),
            password,
        } = body.0;
        let key = ClientAddress(address).rate_key();
        if let Err(t) = state.rate_limits.attempt(key, Some(&username)) {
            metrics::counter!("strongroom_rate_limited_total", "route" => "login").increment(1);
            tracing::warn!(username = %escaped(&username), client = %address, "login throttled");
            return Ok(LoginResponse::TooManyRequests(throttled(t.0), t.0));
        }
        let name = username.clone();
        let result = state
            .acting(anonymous(address))
            .hashing(move |e| e.sessions().login(&name, password.secret()))
            .await?;
        match result {
            Ok(pair) => {
                tracing::info!(user = %pair.session.user, session = %pair.session.id, username = %escaped(&username), client = %address, "login succeeded");
                Ok(LoginResponse::Created(Json(pair.into())))
            }
            Err(e) => {
                metrics::counter!("strongroom_login_failures_total").increment(1);
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
        body: Json<RefreshRequest>,
    ) -> poem::Result<RefreshResponse> {
        let token = BearerToken::new(body.0.refresh_token.into_secret());
        let address = client::of(req);
        if let Err(t) = state.rate_limits.refresh(ClientAddress(address).rate_key()) {
            metrics::counter!("strongroom_rate_limited_total", "route" => "refresh").increment(1);
            return Ok(RefreshResponse::TooManyRequests(throttled(t.0), t.0));
        }
        let result = state
            .acting(anonymous(address))
            .blocking(move |e| e.sessions().refresh(&token))
            .await?;
        match result {
            Ok(pair) => {
                tracing::info!(user = %pair.session.user, session = %pair.session.id, client = %address, "token refreshed");
                Ok(RefreshResponse::Created(Json(pair.into())))
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
    async fn logout(&self, state: Data<&State>, caller: Caller) -> poem::Result<LogoutResponse> {
        or_answer!(caller.signed_in());
        let acting = state.acting(caller.origin());
        let auth = caller.0;
        let result = acting
            .blocking(move |e| e.sessions().revoke(&auth.token))
            .await?;
        match result {
            Ok(session) => {
                tracing::info!(user = %session.user, session = %session.id, "token revoked");
                Ok(LogoutResponse::NoContent)
            }
            Err(e) => answer(auth_problem(e)),
        }
    }
}

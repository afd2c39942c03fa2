//! Bearer authentication: the token is wrapped in a secret type at once and
//! checked by the engine; the caller's identity comes from it alone. Each
//! operation then asks the caller for the scope it needs (403 naming the
//! scope otherwise) and acts through an engine handle that records the
//! caller and their address in the audit log.

use std::net::IpAddr;

use poem::Request;
use poem::http::StatusCode;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;
use poem_openapi::error::AuthorizationError;
use strongroom_engine::audit::Origin;
use strongroom_engine::sessions::Credential;
use strongroom_engine::sessions::{BearerToken, Session};
use strongroom_engine::{AuthError, Scope, SecretString, UserId};

use crate::http::client;
use crate::http::problem::{ApiError, Problem, server_error};
use crate::http::state::State;

/// An access token from `POST /v1/sessions` or `POST /v1/sessions/refresh`,
/// or an API key (`srk_…`) from `POST /v1/api-keys`, sent as
/// `Authorization: Bearer <token>`.
#[derive(SecurityScheme)]
#[oai(
    ty = "bearer",
    bearer_format = "opaque",
    checker = "check_bearer",
    rename = "bearer"
)]
// The authenticated caller: the session of a valid access token, with the
// token itself (secret) so logout can revoke exactly its session.
pub(crate) struct Caller(pub(crate) Authenticated);

/// What the checker extracted. `Debug` never shows the token.
pub(crate) struct Authenticated {
    pub(crate) session: Session,
    pub(crate) token: BearerToken,
    /// The client's address, as the request frame decided it.
    pub(crate) address: IpAddr,
}

impl Caller {
    /// The caller's account.
    pub(crate) fn user(&self) -> UserId {
        self.0.session.user
    }

    /// The caller's account, if their credential holds `scope`; else a
    /// 403 naming it.
    pub(crate) fn require(&self, scope: Scope) -> Result<UserId, Problem> {
        if self.0.session.scopes.contains(scope) {
            Ok(self.0.session.user)
        } else {
            Err(Problem::new(
                StatusCode::FORBIDDEN,
                format!("this operation needs the `{scope}` scope"),
            ))
        }
    }

    /// The caller's account, if they signed in (an API key may not manage
    /// keys, log out or change the account that owns it); else a 403.
    pub(crate) fn signed_in(&self) -> Result<UserId, Problem> {
        match self.0.session.credential {
            Credential::Login => Ok(self.0.session.user),
            Credential::ApiKey => Err(Problem::new(
                StatusCode::FORBIDDEN,
                "this operation needs a signed-in session, not an API key",
            )),
        }
    }

    /// Who the audit log records for this caller's actions.
    pub(crate) fn origin(&self) -> Origin {
        Origin {
            actor: Some(self.0.session.actor()),
            address: Some(self.0.address),
        }
    }
}

impl std::fmt::Debug for Authenticated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticated")
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

/// A caller who may be anonymous (operations that allow it say so).
#[derive(SecurityScheme)]
pub(crate) enum MaybeCaller {
    Caller(Caller),
    #[oai(fallback)]
    Anonymous,
}

/// The caller of a valid token; else 401. A token that could not be
/// checked (the database failed) is a server error (503 busy or giving no
/// connection, 507 full, else 500), never a 401: that would tell the
/// client its token is bad.
async fn check_bearer(req: &Request, bearer: Bearer) -> poem::Result<Authenticated> {
    // poem-openapi's `Bearer` derives Debug with the token inside: move the
    // text into a secret at once.
    let token = BearerToken::new(SecretString::from(bearer.token));
    let address = client::of(req);
    let state = req.data::<State>().ok_or(AuthorizationError)?;
    let (session, token) = state
        .read(move |e| (e.sessions().authenticate(&token), token))
        .await?;
    match session {
        Ok(session) => Ok(Authenticated {
            session,
            token,
            address,
        }),
        Err(e @ AuthError::Storage(_)) => Err(ApiError(server_error("authentication", &e)).into()),
        Err(_) => Err(AuthorizationError.into()),
    }
}

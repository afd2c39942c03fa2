//! Bearer authentication: the token is wrapped in a secret type at once and
//! checked by the engine; the caller's identity comes from it alone.

use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;
use strongroom_engine::{BearerToken, SecretString, Session};

use crate::state::State;

/// The access token from `POST /v1/sessions` or `POST /v1/sessions/refresh`,
/// sent as `Authorization: Bearer <access_token>`.
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

async fn check_bearer(req: &Request, bearer: Bearer) -> Option<Authenticated> {
    // poem-openapi's `Bearer` derives Debug with the token inside: move the
    // text into a secret at once.
    let token = BearerToken::new(SecretString::from(bearer.token));
    let state = req.data::<State>()?.clone();
    let (session, token) = state
        .read(move |e| (e.authenticate(&token), token))
        .await
        .ok()?;
    Some(Authenticated {
        session: session.ok()?,
        token,
    })
}

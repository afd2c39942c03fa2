//! Service calls: a request made with an API key of a service account
//! costs the `service-call` price when credits are on. The toll is paid
//! before the operation runs (402, and nothing done, when the balance
//! cannot cover it) and given back (a `refund` in the ledger) when the
//! operation then refuses the request, so a call is paid only when it did
//! what it was asked. Operations that cost credits themselves (an upload, a
//! share link) charge their own price on top, in their own transaction.
//!
//! The toll is a durable write, so it takes one write from the account's
//! per-minute rate (429, and nothing charged, when the rate is spent)
//! besides what the operation takes for its own writes; its refund is the
//! other half of that write, not counted again. Without it, calls refused
//! after being paid would add a charge and a refund to the ledger each,
//! without limit.

use poem::http::{StatusCode, header};
use poem::{IntoResponse, Request, Response};
use strongroom_engine::audit::Origin;
use strongroom_engine::credits::Chargeable;
use strongroom_engine::sessions::{BearerToken, Credential};
use strongroom_engine::{CreditsError, Role, SecretString, UserId};

use crate::http::problem::{Problem, server_error};
use crate::http::state::State;
use crate::http::{client, guard};

/// What a request owes before it runs.
pub(crate) enum Toll {
    /// Nothing: not a service call, or service calls are free.
    Free,
    /// Paid by this account, acting as this origin.
    Paid(UserId, Origin),
    /// Refused: the answer to send.
    Refused(Response),
}

/// Charges `req` if it is a service call.
pub(crate) async fn collect(state: &State, req: &Request) -> Toll {
    let price = state
        .engine
        .credits()
        .config()
        .price(Chargeable::ServiceCall);
    if price == 0 {
        return Toll::Free;
    }
    let Some(text) = api_key(req) else {
        return Toll::Free;
    };
    let token = BearerToken::new(SecretString::from(text));
    let Ok(Ok(session)) = state.read(move |e| e.sessions().authenticate(&token)).await else {
        // The operation answers a bad credential itself.
        return Toll::Free;
    };
    if session.credential != Credential::ApiKey || session.role != Role::Service {
        return Toll::Free;
    }
    let origin = Origin {
        actor: Some(session.actor()),
        address: Some(client::of(req)),
    };
    let user = session.user;
    match guard::spend(state, user).await {
        Ok(Ok(())) => {}
        Ok(Err(throttled)) => return Toll::Refused(throttled.into_response()),
        Err(e) => return Toll::Refused(e.into_response()),
    }
    let charged = state
        .blocking(move |e| {
            e.acting(origin)
                .credits()
                .charge(user, Chargeable::ServiceCall)
        })
        .await;
    match charged {
        Ok(Ok(_)) => Toll::Paid(user, origin),
        Ok(Err(CreditsError::Insufficient(e))) => {
            Toll::Refused(Problem::insufficient_credits(e).into_response())
        }
        Ok(Err(other)) => {
            Toll::Refused(server_error("service call charge", &other).into_response())
        }
        Err(_) => Toll::Refused(
            Problem::new(StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response(),
        ),
    }
}

/// Gives a paid toll back when the operation refused the request.
pub(crate) async fn settle(state: &State, toll: Toll, status: StatusCode) {
    let Toll::Paid(user, origin) = toll else {
        return;
    };
    if status.is_success() || status.is_redirection() {
        return;
    }
    let refunded = state
        .blocking(move |e| {
            e.acting(origin)
                .credits()
                .refund(user, Chargeable::ServiceCall)
        })
        .await;
    if !matches!(refunded, Ok(Ok(_))) {
        tracing::error!(user = %user, "refunding a refused service call failed");
    }
}

/// The bearer token of `req` when it is an API key (`srk_…`).
fn api_key(req: &Request) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer")
        && token.starts_with(strongroom_engine::api_keys::API_KEY_PREFIX))
    .then(|| token.to_owned())
}

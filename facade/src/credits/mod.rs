//! Credits over HTTP: one's balance and ledger (`/v1/me/credits`), the
//! admins' adjustments and ledger search, and purchases arriving through
//! Stripe's signed webhook (`/v1/billing/stripe`).

pub(crate) mod stripe;
pub(crate) mod wire;

use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiResponse, OpenApi};
use strongroom_engine::audit::{AuditTarget, Origin};
use strongroom_engine::credits::{LedgerFilter, Movement};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::admin::{admin_only, admin_writer, user_id};
use crate::credits::stripe::Event;
use crate::credits::wire::{
    CreditsView, LedgerEntryView, LedgerPageView, NewAdjustment, WebhookReceipt,
};
use crate::http::auth::Caller;
use crate::http::client;
use crate::http::problem::{Answer, Problem, answer, credits_problem, errors, or_answer, says};
use crate::http::state::State;
use crate::tags::ApiTags;
use crate::wire::json_body::JsonBody;

/// Largest ledger page.
const MAX_PAGE: u64 = 100;

#[derive(ApiResponse)]
pub(crate) enum CreditsResponse {
    /// Your balance and the price list.
    #[oai(status = 200)]
    Ok(Json<CreditsView>),
}
errors! {
    CreditsErrors {
        401 => says::UNAUTHORIZED,
    }
}

#[derive(ApiResponse)]
pub(crate) enum LedgerResponse {
    /// A page of the ledger, oldest first.
    #[oai(status = 200)]
    Ok(Json<LedgerPageView>),
}
errors! {
    LedgerErrors {
        400 => "Bad `limit` or `after`.",
        401 => says::UNAUTHORIZED,
    }
}
errors! {
    AdminLedgerErrors {
        400 => "Bad `limit`, `after`, `kind` or time.",
        401 => says::UNAUTHORIZED,
        403 => says::NOT_ADMIN,
    }
}

#[derive(ApiResponse)]
pub(crate) enum AdjustResponse {
    /// The ledger entry written.
    #[oai(status = 200)]
    Ok(Json<LedgerEntryView>),
}
errors! {
    AdjustErrors {
        400 => "`amount` is zero or out of range, or `reason` is too long.",
        401 => says::UNAUTHORIZED,
        402 => "Taking this many would leave a negative balance (the body names\n`balance` and `cost`); nothing changed.",
        403 => says::NOT_ADMIN,
        404 => says::NO_ACCOUNT,
        409 => "Credits are not enabled on this server.",
        429 retry => says::WRITES_THROTTLED,
    }
}

#[derive(ApiResponse)]
pub(crate) enum WebhookResponse {
    /// Verified: credited, credited before, or nothing to do.
    #[oai(status = 200)]
    Ok(Json<WebhookReceipt>),
}
errors! {
    WebhookErrors {
        400 => "Missing, malformed, stale (over 5 minutes) or wrong `Stripe-Signature`,\nor a body that is not a Stripe event. Nothing changed.",
        404 => "No webhook secret is configured on this server.",
        422 => "A verified, paid Checkout Session that names no account in\n`client_reference_id`, or no credits (`metadata.credits` or a known\nprice): nothing credited.",
    }
}

/// The ledger's `limit` and `after`, checked.
fn paging(limit: Option<u64>, after: Option<u64>) -> Result<(usize, u64), Problem> {
    let after = after.unwrap_or(0);
    if after > i64::MAX as u64 {
        let detail = "after must be at most 9223372036854775807";
        return Err(Problem::new(StatusCode::BAD_REQUEST, detail));
    }
    Ok((limit.unwrap_or(50).clamp(1, MAX_PAGE) as usize, after))
}

fn timestamp(t: OffsetDateTime) -> strongroom_engine::Timestamp {
    let millis = t.unix_timestamp_nanos() / 1_000_000;
    strongroom_engine::Timestamp::from_unix_millis(u64::try_from(millis).unwrap_or(0))
}

pub(crate) struct CreditsApi;

#[OpenApi(tag = "ApiTags::Credits")]
impl CreditsApi {
    /// Your credits.
    ///
    /// The balance, whether metering is on, and what each action costs.
    #[oai(path = "/v1/me/credits", method = "get", operation_id = "get_credits")]
    async fn mine(
        &self,
        state: Data<&State>,
        caller: Caller,
    ) -> Answer<CreditsResponse, CreditsErrors> {
        let me = caller.user();
        match state.read(move |e| e.credits().status(me)).await? {
            Ok(status) => Ok(CreditsResponse::Ok(Json(status.into()))),
            Err(e) => answer(credits_problem(e.into())),
        }
    }

    /// Your ledger.
    ///
    /// Every movement of your credits, oldest first, `limit` per page
    /// (1–100, default 50); pass the previous page's `next` as `after`.
    #[oai(
        path = "/v1/me/credits/ledger",
        method = "get",
        operation_id = "get_credits_ledger"
    )]
    async fn my_ledger(
        &self,
        state: Data<&State>,
        caller: Caller,
        /// Page size, 1–100 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// The previous page's `next` (at most 2^63 − 1).
        #[oai(validator(minimum(value = "0")))]
        after: Query<Option<u64>>,
    ) -> Answer<LedgerResponse, LedgerErrors> {
        let me = caller.user();
        let (limit, after) = or_answer!(paging(limit.0, after.0));
        match state
            .read(move |e| e.credits().ledger(me, after, limit))
            .await?
        {
            Ok(page) => Ok(LedgerResponse::Ok(Json(page.into()))),
            Err(e) => answer(credits_problem(e)),
        }
    }

    /// Top up or adjust an account's credits (admins only).
    ///
    /// A positive `amount` is a top-up, a negative one an adjustment;
    /// either is a ledger entry with your reason, audited with you as the
    /// actor.
    #[oai(
        path = "/v1/admin/users/:id/credits",
        method = "post",
        operation_id = "admin_adjust_credits"
    )]
    async fn adjust(
        &self,
        state: Data<&State>,
        caller: Caller,
        /// The account's id.
        id: Path<String>,
        body: JsonBody<NewAdjustment>,
    ) -> Answer<AdjustResponse, AdjustErrors> {
        let target = user_id(&id.0).map_or(AuditTarget::None, AuditTarget::User);
        let admin = or_answer!(admin_writer(&state, &caller, target).await?);
        let user = or_answer!(user_id(&id.0));
        let NewAdjustment { amount, reason } = body.0;
        let acting = state.acting(caller.origin());
        match acting
            .blocking(move |e| {
                let reason = reason.as_ref().map(|r| r.0.as_str());
                e.credits().adjust(user, amount, reason)
            })
            .await?
        {
            Ok(entry) => {
                tracing::info!(admin = %admin, user = %user, amount, "credits adjusted");
                Ok(AdjustResponse::Ok(Json(entry.into())))
            }
            Err(e) => answer(credits_problem(e)),
        }
    }

    /// Search the ledger of every account (admins only).
    ///
    /// Oldest first, filtered by account, kind and time.
    #[oai(
        path = "/v1/admin/credits/ledger",
        method = "get",
        operation_id = "admin_credits_ledger"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn search(
        &self,
        state: Data<&State>,
        caller: Caller,
        /// Only this account's entries.
        account: Query<Option<Uuid>>,
        /// Only entries of this kind: `grant`, `charge`, `top-up`,
        /// `purchase`, `refund` or `adjustment`.
        kind: Query<Option<String>>,
        /// Only entries written at or after this time.
        from: Query<Option<OffsetDateTime>>,
        /// Only entries written before this time.
        until: Query<Option<OffsetDateTime>>,
        /// The previous page's `next` (at most 2^63 − 1).
        #[oai(validator(minimum(value = "0")))]
        after: Query<Option<u64>>,
        /// Page size, 1–100 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
    ) -> Answer<LedgerResponse, AdminLedgerErrors> {
        or_answer!(admin_only(&state, &caller, AuditTarget::None).await);
        let kind = match kind.0.as_deref() {
            None => None,
            Some(name) => match KINDS.iter().find(|k| **k == name) {
                Some(k) => Some(*k),
                None => {
                    let detail = format!("kind must be one of {}", KINDS.join(", "));
                    return answer(Problem::new(StatusCode::BAD_REQUEST, detail));
                }
            },
        };
        let (limit, after) = or_answer!(paging(limit.0, after.0));
        let filter = LedgerFilter {
            account: account
                .0
                .map(|u| strongroom_engine::UserId::from_u128(u.as_u128())),
            kind,
            from: from.0.map(timestamp),
            until: until.0.map(timestamp),
        };
        match state
            .read(move |e| e.credits().search(&filter, after, limit))
            .await?
        {
            Ok(page) => Ok(LedgerResponse::Ok(Json(page.into()))),
            Err(e) => answer(credits_problem(e)),
        }
    }

    /// Stripe's webhook: credits bought.
    ///
    /// Point a Stripe webhook endpoint (or `stripe listen --forward-to`)
    /// here. The `Stripe-Signature` header is verified as Stripe specifies
    /// (HMAC-SHA256 of `"{t}.{raw body}"` under the endpoint secret,
    /// within 5 minutes); a paid `checkout.session.completed` credits the
    /// account named in `client_reference_id` with `metadata.credits` (or
    /// the configured credits of its line items' prices), once per event
    /// id. Other events are acknowledged and ignored.
    #[oai(
        path = "/v1/billing/stripe",
        method = "post",
        operation_id = "stripe_webhook"
    )]
    async fn stripe(
        &self,
        state: Data<&State>,
        req: &poem::Request,
        /// `t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=…]`.
        #[oai(name = "Stripe-Signature")]
        signature: Header<String>,
        body: Binary<Vec<u8>>,
    ) -> Answer<WebhookResponse, WebhookErrors> {
        let Some(config) = state.config.stripe.clone() else {
            return answer(Problem::new(
                StatusCode::NOT_FOUND,
                "no Stripe webhook is configured on this server",
            ));
        };
        let now = state.engine.clock().now().as_unix_millis() / 1000;
        if let Err(e) = stripe::verify(&config.secret, &signature.0, &body.0, now) {
            tracing::warn!(error = %e, "Stripe webhook refused");
            return answer(Problem::new(StatusCode::BAD_REQUEST, e.to_string()));
        }
        let parsed = serde_json::from_slice::<serde_json::Value>(&body.0)
            .ok()
            .and_then(|v| stripe::read(&v, &config.prices));
        let Some(event) = parsed else {
            return answer(Problem::new(
                StatusCode::BAD_REQUEST,
                "the body is not a Stripe event (no `id` or `type`)",
            ));
        };
        let (id, account, credits) = match event {
            Event::Ignored { id } => {
                return Ok(WebhookResponse::Ok(Json(WebhookReceipt {
                    event_id: id,
                    credited: 0,
                    duplicate: false,
                })));
            }
            Event::Unusable { id, why } => {
                tracing::error!(event = %id, "a paid Stripe session credits nobody: {why}");
                return answer(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, why));
            }
            Event::Paid {
                id,
                account,
                credits,
            } => (id, account, credits),
        };
        let origin = Origin {
            actor: None,
            address: Some(client::of(req)),
        };
        let acting = state.acting(origin);
        let event = id.clone();
        match acting
            .blocking(move |e| e.credits().purchase(account, credits, &event))
            .await?
        {
            Ok(written) => {
                let duplicate = written.is_none();
                tracing::info!(event = %id, user = %account, credits, duplicate, "Stripe purchase");
                Ok(WebhookResponse::Ok(Json(WebhookReceipt {
                    event_id: id,
                    credited: if duplicate { 0 } else { credits },
                    duplicate,
                })))
            }
            Err(strongroom_engine::CreditsError::UnknownUser) => {
                tracing::error!(event = %id, "a paid Stripe session names no account here");
                answer(Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "client_reference_id names no account on this server",
                ))
            }
            Err(e) => answer(credits_problem(e)),
        }
    }
}

/// The ledger's kinds of movement, as filters name them.
const KINDS: [&str; 6] = [
    Movement::Grant.kind(),
    Movement::TopUp.kind(),
    Movement::Purchase.kind(),
    Movement::Adjustment.kind(),
    "charge",
    "refund",
];

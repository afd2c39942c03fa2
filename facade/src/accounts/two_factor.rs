//! Two-factor sign-in for one's own account: set up a TOTP authenticator
//! (`POST /v1/me/totp`), turn it on with a first code and receive recovery
//! codes (`POST /v1/me/totp/confirm`), turn it off with a code
//! (`DELETE /v1/me/totp`). Secrets and codes are answered once and never
//! logged.

use poem::web::Data;
use poem_openapi::{ApiResponse, OpenApi};
use strongroom_engine::TotpError;
use strongroom_engine::secrecy::ExposeSecret;

use crate::accounts::me::{attempt, username};
use crate::accounts::wire::{RecoveryCodes, TotpConfirmation, TotpOff, TotpSetupView};
use crate::http::auth::Caller;
use crate::http::guard;
use crate::http::problem::{Answer, Problem, answer, errors, or_answer, says, totp_problem};
use crate::http::state::State;
use crate::tags::ApiTags;
use crate::wire::json_body::JsonBody;
use crate::wire::secret_json::SecretJson;
use crate::wire::secret_text::SecretText;

#[derive(ApiResponse)]
pub(crate) enum BeginResponse {
    /// A pending setup: add it to your app, then confirm with a code.
    #[oai(status = 201)]
    Created(SecretJson<TotpSetupView>),
}
errors! {
    BeginErrors {
        401 => says::UNAUTHORIZED,
        403 => says::API_KEY,
        409 => "Two-factor sign-in is on already: turn it off first.",
        429 retry => says::WRITES_THROTTLED,
    }
}

#[derive(ApiResponse)]
pub(crate) enum ConfirmResponse {
    /// On: the recovery codes, shown this once.
    #[oai(status = 200)]
    Ok(SecretJson<RecoveryCodes>),
}
errors! {
    ConfirmErrors {
        401 => "Missing, invalid or expired bearer token, or the code is wrong (problem type `tag:strongroom,2026:second-factor-invalid`).",
        403 => says::API_KEY,
        409 => "No setup waits for a code: start one with `POST /v1/me/totp`.",
        429 retry => "Too many codes tried; retry after `Retry-After` seconds.",
    }
}

#[derive(ApiResponse)]
pub(crate) enum DisableResponse {
    /// Off: the password alone signs in again.
    #[oai(status = 204)]
    NoContent,
}
errors! {
    DisableErrors {
        401 => "Missing, invalid or expired bearer token, or a wrong or used code (problem type `tag:strongroom,2026:second-factor-invalid`).",
        403 => says::API_KEY,
        409 => "Two-factor sign-in is not on.",
        429 retry => "Too many codes tried; retry after `Retry-After` seconds.",
    }
}

/// The caller's username, and whether a code may be tried on it now.
async fn code_attempt(state: &State, caller: &Caller) -> poem::Result<Result<String, Problem>> {
    let name = username(state, caller).await?;
    Ok(state
        .rate_limits
        .second_factor(&name)
        .map(|()| name)
        .map_err(|t| crate::accounts::throttled(t.0)))
}

/// Counts a wrong code against `name`'s budget.
fn count_wrong(state: &State, name: &str, e: &TotpError) {
    if matches!(e, TotpError::InvalidCode) {
        state.rate_limits.second_factor_failed(name);
    }
}

/// `text` as a QR code (medium error correction), an SVG image. A URI of
/// a few hundred bytes always fits; were it not to, the image is empty and
/// the secret is still there as text.
fn qr_svg(text: &str) -> String {
    use qrcode::render::svg;
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => code
            .render::<svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
        Err(_) => String::new(),
    }
}

pub(crate) struct TwoFactorApi;

#[OpenApi(tag = "ApiTags::Accounts")]
impl TwoFactorApi {
    /// Set up two-factor sign-in.
    ///
    /// A fresh TOTP secret (RFC 6238: SHA-1, 6 digits, 30 s) as base32 and
    /// as an `otpauth://` URI to show as a QR code, answered once. Nothing
    /// is enforced until `POST /v1/me/totp/confirm`; a new setup replaces
    /// one not confirmed. The secret is sealed at rest under your data key.
    /// Needs a signed-in session (not an API key).
    #[oai(path = "/v1/me/totp", method = "post", operation_id = "totp_begin")]
    async fn begin(
        &self,
        state: Data<&State>,
        caller: Caller,
    ) -> Answer<BeginResponse, BeginErrors> {
        let (user, acting) = or_answer!(guard::session_writer(&state, &caller).await?);
        match acting.blocking(move |e| e.two_factor().begin(user)).await? {
            Ok(setup) => {
                tracing::info!(user = %user, "totp setup started");
                let uri = setup.otpauth_uri.expose_secret();
                Ok(BeginResponse::Created(SecretJson(TotpSetupView {
                    secret: SecretText::from(&setup.secret),
                    otpauth_uri: SecretText::from(&setup.otpauth_uri),
                    qr_svg: qr_svg(uri),
                })))
            }
            Err(e) => answer(totp_problem(e)),
        }
    }

    /// Turn two-factor sign-in on.
    ///
    /// With the code your app shows now. Answers ten recovery codes, once:
    /// keep them apart from the phone; each signs in once in place of a
    /// code. From now on `POST /v1/sessions` needs `totp` or
    /// `recovery_code` with the password. Needs a signed-in session.
    #[oai(
        path = "/v1/me/totp/confirm",
        method = "post",
        operation_id = "totp_confirm"
    )]
    async fn confirm(
        &self,
        state: Data<&State>,
        caller: Caller,
        body: JsonBody<TotpConfirmation>,
    ) -> Answer<ConfirmResponse, ConfirmErrors> {
        let user = or_answer!(caller.signed_in());
        let name = or_answer!(code_attempt(&state, &caller).await?);
        let code = body.0.code.into_secret();
        let acting = state.acting(caller.origin());
        match acting
            .blocking(move |e| e.two_factor().confirm(user, &code))
            .await?
        {
            Ok(codes) => {
                tracing::info!(user = %user, "two-factor sign-in turned on");
                Ok(ConfirmResponse::Ok(SecretJson(RecoveryCodes {
                    recovery_codes: codes.iter().map(SecretText::from).collect(),
                })))
            }
            Err(e) => {
                count_wrong(&state, &name, &e);
                answer(totp_problem(e))
            }
        }
    }

    /// Turn two-factor sign-in off.
    ///
    /// With `code`: the six digits the app shows now, or a recovery code;
    /// a wrong one is audited. Needs a signed-in session.
    #[oai(path = "/v1/me/totp", method = "delete", operation_id = "totp_disable")]
    async fn disable(
        &self,
        state: Data<&State>,
        caller: Caller,
        body: JsonBody<TotpOff>,
    ) -> Answer<DisableResponse, DisableErrors> {
        let user = or_answer!(caller.signed_in());
        let factor = body.0.factor();
        let name = or_answer!(code_attempt(&state, &caller).await?);
        or_answer!(attempt(&state, &caller).await?);
        let acting = state.acting(caller.origin());
        match acting
            .blocking(move |e| e.two_factor().disable(user, &factor))
            .await?
        {
            Ok(()) => {
                tracing::info!(user = %user, "two-factor sign-in turned off");
                Ok(DisableResponse::NoContent)
            }
            Err(e) => {
                tracing::warn!(user = %user, client = %caller.0.address, "two-factor turn-off refused");
                count_wrong(&state, &name, &e);
                answer(totp_problem(e))
            }
        }
    }
}

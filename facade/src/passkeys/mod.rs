//! Passkeys over HTTP: register one from a signed-in session
//! (`/v1/me/passkeys/registration/start|finish`), list and remove them,
//! and sign in with one (`/v1/sessions/passkey/start|finish`): a
//! discoverable credential with user verification required, so the
//! passkey alone stands for both factors (an account with TOTP on signs
//! in with it without a code). webauthn-rs verifies every ceremony; the
//! engine keeps the credentials and their signature counters.

pub(crate) mod ceremony;
pub(crate) mod wire;

use poem::Request;
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use strongroom_engine::audit::{AuditAction, AuditTarget};
use strongroom_engine::passkeys::NewPasskey;
use strongroom_engine::{AuthError, PasskeyError, PasskeyId};
use webauthn_rs::prelude::{Passkey, PublicKeyCredential, RegisterPublicKeyCredential};

use crate::accounts::{LoginResponse, anonymous, issued, throttled};
use crate::http::auth::Caller;
use crate::http::client::{self, ClientAddress};
use crate::http::guard;
use crate::http::problem::{
    Answer, Problem, answer, errors, internal, or_answer, says, server_error,
};
use crate::http::state::State;
use crate::passkeys::ceremony::{Ceremony, discoverable, modal, user_handle};
use crate::passkeys::wire::{
    CeremonyStart, NewPasskeyRequest, PasskeyList, PasskeyView, RegistrationFinish, SignInFinish,
};
use crate::tags::ApiTags;
use crate::wire::json_body::JsonBody;

pub use ceremony::Passkeys;

#[derive(ApiResponse)]
pub(crate) enum StartResponse {
    /// The ceremony's options and id.
    #[oai(status = 200)]
    Ok(Json<CeremonyStart>),
}
errors! {
    RegisterStartErrors {
        400 => "The name is longer than 64 characters or holds control characters.",
        401 => says::UNAUTHORIZED,
        403 => says::API_KEY,
        409 => "The account holds the most passkeys allowed (20).",
        429 retry => says::WRITES_THROTTLED,
    }
}

#[derive(ApiResponse)]
pub(crate) enum RegisteredResponse {
    /// Registered.
    #[oai(status = 201)]
    Created(Json<PasskeyView>),
}
errors! {
    RegisterFinishErrors {
        400 => "Unknown, used or expired `challenge_id`, or a credential that does not verify\n(wrong origin, challenge or signature, no user verification).",
        401 => says::UNAUTHORIZED,
        403 => says::API_KEY,
        409 => "This passkey is registered already, or the account holds 20.",
        429 retry => says::WRITES_THROTTLED,
    }
}

#[derive(ApiResponse)]
pub(crate) enum ListResponse {
    /// Your passkeys.
    #[oai(status = 200)]
    Ok(Json<PasskeyList>),
}
errors! {
    ListErrors {
        401 => says::UNAUTHORIZED,
        403 => says::API_KEY,
    }
}

#[derive(ApiResponse)]
pub(crate) enum RemovedResponse {
    /// Removed: it signs nobody in any more.
    #[oai(status = 204)]
    NoContent,
}
errors! {
    RemoveErrors {
        401 => says::UNAUTHORIZED,
        403 => says::API_KEY,
        404 => "No such passkey of yours.",
        429 retry => says::WRITES_THROTTLED,
    }
}
errors! {
    SignInStartErrors {
        429 retry => "Too many attempts from this address; retry after `Retry-After` seconds.",
    }
}
errors! {
    SignInFinishErrors {
        400 => "Unknown, used or expired `challenge_id`, or a credential that is not a\nWebAuthn assertion.",
        401 => "The passkey is not registered here, or its assertion does not verify\n(wrong origin, challenge or signature, no user verification, a counter\nthat went back).",
        403 => says::DISABLED,
        429 retry => "Too many attempts from this address; retry after `Retry-After` seconds.",
    }
}

fn bad_ceremony() -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "unknown, used or expired challenge_id: start again",
    )
}

fn refused() -> Problem {
    Problem::new(StatusCode::UNAUTHORIZED, "the passkey was not accepted")
}

fn passkey_problem(e: PasskeyError) -> Problem {
    match e {
        PasskeyError::Registered | PasskeyError::TooMany { .. } => {
            Problem::new(StatusCode::CONFLICT, e.to_string())
        }
        PasskeyError::NotFound => Problem::new(StatusCode::NOT_FOUND, "passkey not found"),
        PasskeyError::UnknownUser => Problem::unknown_user(),
        PasskeyError::InvalidName | PasskeyError::InvalidCredential => {
            Problem::new(StatusCode::BAD_REQUEST, e.to_string())
        }
        other => server_error("passkey operation", &other),
    }
}

pub(crate) struct PasskeysApi;

#[OpenApi(tag = "ApiTags::Accounts")]
impl PasskeysApi {
    /// Begin registering a passkey.
    ///
    /// Pass `options` to `navigator.credentials.create({publicKey})`
    /// (base64url fields decoded); the passkey is discoverable and needs
    /// user verification. A signed-in session only (not an API key).
    #[oai(
        path = "/v1/me/passkeys/registration/start",
        method = "post",
        operation_id = "passkey_registration_start"
    )]
    async fn register_start(
        &self,
        state: Data<&State>,
        caller: Caller,
        body: JsonBody<NewPasskeyRequest>,
    ) -> Answer<StartResponse, RegisterStartErrors> {
        let (me, _) = or_answer!(guard::session_writer(&state, &caller).await?);
        if let Some(name) = &body.0.name
            && (name.0.chars().count() > strongroom_engine::passkeys::PASSKEY_NAME_LEN
                || name.0.chars().any(char::is_control))
        {
            return answer(passkey_problem(PasskeyError::InvalidName));
        }
        let name = body
            .0
            .name
            .map(|n| n.0.trim().to_owned())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "Passkey".to_owned());
        let Some(rp) = state.config.passkeys.clone() else {
            return answer(internal("passkeys", &"no relying party"));
        };
        let account = state.read(move |e| e.accounts().get(me)).await?;
        let account = or_answer!(account.map_err(|e| internal("account lookup", &e)));
        let held = state.read(move |e| e.passkeys().credential_ids(me)).await?;
        let held = or_answer!(held.map_err(|e| internal("passkey lookup", &e)));
        if held.len() >= strongroom_engine::passkeys::MAX_PASSKEYS {
            return answer(passkey_problem(PasskeyError::TooMany {
                max: strongroom_engine::passkeys::MAX_PASSKEYS,
            }));
        }
        let exclude = held;
        let started = rp.webauthn.start_passkey_registration(
            user_handle(me),
            &account.username,
            &account.username,
            Some(exclude),
        );
        let (options, registration) =
            or_answer!(started.map_err(|e| internal("passkey registration", &e)));
        let options =
            or_answer!(serde_json::to_value(options).map_err(|e| internal("passkey options", &e)));
        let challenge_id = rp.remember(Ceremony::Register {
            user: me,
            name,
            state: registration,
        });
        Ok(StartResponse::Ok(Json(CeremonyStart {
            challenge_id,
            options: discoverable(options),
        })))
    }

    /// Finish registering a passkey.
    ///
    /// Send the browser's credential with the start's `challenge_id`.
    /// Audited as `passkey.register`.
    #[oai(
        path = "/v1/me/passkeys/registration/finish",
        method = "post",
        operation_id = "passkey_registration_finish"
    )]
    async fn register_finish(
        &self,
        state: Data<&State>,
        caller: Caller,
        body: JsonBody<RegistrationFinish>,
    ) -> Answer<RegisteredResponse, RegisterFinishErrors> {
        let (me, acting) = or_answer!(guard::session_writer(&state, &caller).await?);
        let RegistrationFinish {
            challenge_id,
            credential,
        } = body.0;
        let Some(rp) = state.config.passkeys.clone() else {
            return answer(internal("passkeys", &"no relying party"));
        };
        let Some(Ceremony::Register {
            user,
            name,
            state: registration,
        }) = rp.take(&challenge_id)
        else {
            return answer(bad_ceremony());
        };
        if user != me {
            return answer(bad_ceremony());
        }
        let Ok(credential) = serde_json::from_value::<RegisterPublicKeyCredential>(credential)
        else {
            return answer(Problem::new(
                StatusCode::BAD_REQUEST,
                "credential is not a WebAuthn registration",
            ));
        };
        let passkey = match rp
            .webauthn
            .finish_passkey_registration(&credential, &registration)
        {
            Ok(passkey) => passkey,
            Err(e) => {
                tracing::warn!(user = %me, error = %e, "passkey registration refused");
                return answer(Problem::new(
                    StatusCode::BAD_REQUEST,
                    "the passkey did not verify: register it again",
                ));
            }
        };
        let record =
            or_answer!(serde_json::to_vec(&passkey).map_err(|e| internal("passkey record", &e)));
        let id = passkey.cred_id().to_vec();
        let added = acting
            .blocking(move |e| {
                e.passkeys().register(
                    me,
                    NewPasskey {
                        name: &name,
                        credential_id: &id,
                        credential: &record,
                    },
                )
            })
            .await?;
        match added {
            Ok(info) => {
                tracing::info!(user = %me, passkey = %info.id, "passkey registered");
                Ok(RegisteredResponse::Created(Json(info.into())))
            }
            Err(e) => answer(passkey_problem(e)),
        }
    }

    /// List your passkeys.
    #[oai(
        path = "/v1/me/passkeys",
        method = "get",
        operation_id = "list_passkeys"
    )]
    async fn list(&self, state: Data<&State>, caller: Caller) -> Answer<ListResponse, ListErrors> {
        let me = or_answer!(caller.signed_in());
        match state.read(move |e| e.passkeys().list(me)).await? {
            Ok(all) => Ok(ListResponse::Ok(Json(PasskeyList {
                passkeys: all.into_iter().map(PasskeyView::from).collect(),
            }))),
            Err(e) => answer(internal("passkey list", &e)),
        }
    }

    /// Remove one of your passkeys.
    ///
    /// Audited as `passkey.remove`.
    #[oai(
        path = "/v1/me/passkeys/:id",
        method = "delete",
        operation_id = "remove_passkey"
    )]
    async fn remove(
        &self,
        state: Data<&State>,
        caller: Caller,
        /// The passkey's id.
        id: Path<String>,
    ) -> Answer<RemovedResponse, RemoveErrors> {
        let (me, acting) = or_answer!(guard::session_writer(&state, &caller).await?);
        let Ok(id) = id.0.parse::<PasskeyId>() else {
            return answer(passkey_problem(PasskeyError::NotFound));
        };
        match acting
            .blocking(move |e| e.passkeys().remove(me, id))
            .await?
        {
            Ok(()) => {
                tracing::info!(user = %me, passkey = %id, "passkey removed");
                Ok(RemovedResponse::NoContent)
            }
            Err(e) => answer(passkey_problem(e)),
        }
    }

    /// Begin signing in with a passkey.
    ///
    /// No username: the browser offers the passkeys it holds for this
    /// site. Pass `options` to `navigator.credentials.get({publicKey})`.
    #[oai(
        path = "/v1/sessions/passkey/start",
        method = "post",
        operation_id = "passkey_login_start"
    )]
    async fn sign_in_start(
        &self,
        state: Data<&State>,
        req: &Request,
    ) -> Answer<StartResponse, SignInStartErrors> {
        let key = ClientAddress(client::of(req)).rate_key();
        if let Err(t) = state.rate_limits.attempt(key, None) {
            return answer(throttled(t.0));
        }
        let Some(rp) = state.config.passkeys.clone() else {
            return answer(internal("passkeys", &"no relying party"));
        };
        let (options, authentication) = or_answer!(
            rp.webauthn
                .start_discoverable_authentication()
                .map_err(|e| internal("passkey sign-in", &e))
        );
        let options =
            or_answer!(serde_json::to_value(options).map_err(|e| internal("passkey options", &e)));
        let challenge_id = rp.remember(Ceremony::SignIn(authentication));
        Ok(StartResponse::Ok(Json(CeremonyStart {
            challenge_id,
            options: modal(options),
        })))
    }

    /// Finish signing in with a passkey.
    ///
    /// A new session, as `POST /v1/sessions` gives (with `"cookie": true`,
    /// a web session). The passkey verifies the person (user verification
    /// is required), so no password or second factor is asked. Audited as
    /// `login.passkey`.
    #[oai(
        path = "/v1/sessions/passkey/finish",
        method = "post",
        operation_id = "passkey_login_finish"
    )]
    async fn sign_in_finish(
        &self,
        state: Data<&State>,
        req: &Request,
        body: JsonBody<SignInFinish>,
    ) -> Answer<LoginResponse, SignInFinishErrors> {
        let address = client::of(req);
        let key = ClientAddress(address).rate_key();
        if let Err(t) = state.rate_limits.attempt(key, None) {
            return answer(throttled(t.0));
        }
        let SignInFinish {
            challenge_id,
            credential,
            cookie,
        } = body.0;
        let Some(rp) = state.config.passkeys.clone() else {
            return answer(internal("passkeys", &"no relying party"));
        };
        let Some(Ceremony::SignIn(authentication)) = rp.take(&challenge_id) else {
            return answer(bad_ceremony());
        };
        let Ok(credential) = serde_json::from_value::<PublicKeyCredential>(credential) else {
            return answer(Problem::new(
                StatusCode::BAD_REQUEST,
                "credential is not a WebAuthn assertion",
            ));
        };
        let acting = state.acting(anonymous(address));
        let deny = |target: AuditTarget| {
            let acting = acting.clone();
            async move {
                let recorded = acting
                    .blocking(move |e| e.audit().record_denied(AuditAction::PasskeyLogin, target))
                    .await;
                if !matches!(recorded, Ok(Ok(()))) {
                    tracing::error!("could not record a refused passkey sign-in");
                }
            }
        };
        let Ok((handle, credential_id)) = rp
            .webauthn
            .identify_discoverable_authentication(&credential)
        else {
            deny(AuditTarget::None).await;
            return answer(refused());
        };
        let credential_id = credential_id.to_vec();
        let found = state
            .read(move |e| e.passkeys().find(&credential_id))
            .await?;
        let found = or_answer!(found.map_err(|e| internal("passkey lookup", &e)));
        let Some(stored) = found.filter(|s| user_handle(s.user) == handle) else {
            deny(AuditTarget::None).await;
            return answer(refused());
        };
        let target = AuditTarget::Passkey {
            owner: stored.user,
            id: stored.id,
        };
        let Ok(mut passkey) = serde_json::from_slice::<Passkey>(&stored.credential) else {
            return answer(internal("passkey record", &"does not decode"));
        };
        let verified = rp.webauthn.finish_discoverable_authentication_v2(
            &credential,
            authentication,
            &passkey,
        );
        let result = match verified {
            Ok(result) => result,
            Err(e) => {
                tracing::warn!(user = %stored.user, error = %e, client = %address, "passkey sign-in refused");
                deny(target).await;
                return answer(refused());
            }
        };
        let record = match passkey.update_credential(&result) {
            Some(true) => serde_json::to_vec(&passkey).ok(),
            _ => None,
        };
        let (user, id) = (stored.user, stored.id);
        let signed_in = acting
            .blocking(move |e| e.sessions().login_passkey(user, id, record.as_deref()))
            .await?;
        match signed_in {
            Ok(pair) => {
                let web = cookie.unwrap_or(false);
                tracing::info!(user = %user, session = %pair.session.id, client = %address, web, "passkey sign-in");
                let (tokens, set) = issued(pair, web);
                Ok(LoginResponse::Created(tokens, set))
            }
            Err(AuthError::Disabled) => answer(Problem::new(
                StatusCode::FORBIDDEN,
                "this account is disabled",
            )),
            Err(AuthError::InvalidCredentials) => answer(refused()),
            Err(e) => answer(internal("passkey sign-in", &e)),
        }
    }
}

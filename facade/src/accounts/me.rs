//! Who am I (`GET /v1/me`), changing one's password and deleting one's
//! account, and scoped API keys for services. Keys, the password and the
//! account are managed from a signed-in session only: a key cannot mint
//! or revoke keys, or change the account that owns it.

use std::time::Duration;

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use strongroom_engine::sessions::Credential;
use strongroom_engine::{Scope, Scopes, SessionId};
use uuid::Uuid;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use strongroom_engine::accounts::RewrappedKey;

use crate::accounts::throttled;
use crate::accounts::wire::{
    ApiKeyCreated, ApiKeyList, ApiKeyView, CredentialKind, Me, NewApiKeyRequest, PasswordChange,
    PasswordConfirmation, QuotaView, RewrappedKeyUpload, scope_names, second_factor,
};
use crate::http::auth::Caller;
use crate::http::client::ClientAddress;
use crate::http::guard;
use crate::http::hashing::Lane;
use crate::http::problem::{
    Answer, Problem, account_problem, answer, api_key_problem, errors, internal, or_answer, says,
};
use crate::http::state::State;
use crate::tags::ApiTags;
use crate::wire::json_body::JsonBody;
use crate::wire::secret_json::SecretJson;

#[derive(ApiResponse)]
pub(crate) enum MeResponse {
    /// You, this credential's scopes, your quota and usage.
    #[oai(status = 200)]
    Ok(Json<Me>),
}
errors! {
    MeErrors {
        401 => says::UNAUTHORIZED,
    }
}

#[derive(ApiResponse)]
pub(crate) enum ChangePasswordResponse {
    /// Changed: every other session ended; this one and your API keys stay.
    #[oai(status = 204)]
    NoContent,
}
errors! {
    ChangePasswordErrors {
        400 => "The new password is not 12–1024 characters, or a re-wrapped key is malformed.",
        401 => "Missing, invalid or expired bearer token, or the current password is wrong.",
        403 => says::API_KEY,
        409 => "The new password is the one the account has already; or your end-to-end keys did not all come re-wrapped under the new password (`e2e_keys`).",
        429 retry => "Too many attempts; retry after `Retry-After` seconds.",
    }
}

#[derive(ApiResponse)]
pub(crate) enum DeleteMeResponse {
    /// Deleted: your messages, keys and sessions are gone for good.
    #[oai(status = 204)]
    NoContent,
}
errors! {
    DeleteMeErrors {
        401 => "Missing, invalid or expired bearer token, the password is wrong, or a second factor is missing or wrong.",
        403 => says::API_KEY,
        409 => says::LAST_ADMIN,
        429 retry => "Too many attempts; retry after `Retry-After` seconds.",
    }
}

/// The re-wrapped keys as the engine takes them, or what is wrong.
fn rewrapped(keys: Vec<RewrappedKeyUpload>) -> Result<Vec<RewrappedKey>, Problem> {
    let decode = |field: &str, text: &str| {
        URL_SAFE_NO_PAD.decode(text).map_err(|_| {
            Problem::new(
                poem::http::StatusCode::BAD_REQUEST,
                format!("e2e_keys: {field} must be unpadded base64url"),
            )
        })
    };
    keys.into_iter()
        .map(|k| {
            Ok(RewrappedKey {
                version: k.version,
                wrapped_private_key: decode("wrapped_private_key", &k.wrapped_private_key.0)?,
                salt: decode("salt", &k.salt.0)?,
                iterations: k.iterations,
            })
        })
        .collect()
}

/// The caller's username (empty if the account is gone meanwhile).
pub(crate) async fn username(state: &State, caller: &Caller) -> poem::Result<String> {
    let user = caller.user();
    let found = state.read(move |e| e.accounts().get(user)).await?;
    Ok(found.map(|account| account.username).unwrap_or_default())
}

/// Counts a password check by `caller` against the login limits (per
/// address and per username), as a login would.
pub(crate) async fn attempt(state: &State, caller: &Caller) -> poem::Result<Result<(), Problem>> {
    let name = username(state, caller).await?;
    let address = ClientAddress(caller.0.address).rate_key();
    Ok(state
        .rate_limits
        .attempt(address, Some(&name))
        .map_err(|t| {
            metrics::counter!("strongroom_rate_limited_total", "route" => "password").increment(1);
            throttled(t.0)
        }))
}

#[derive(ApiResponse)]
pub(crate) enum CreateKeyResponse {
    /// Created; the secret is shown this once.
    #[oai(status = 201)]
    Created(SecretJson<ApiKeyCreated>),
}
errors! {
    CreateKeyErrors {
        400 => "A bad name, no scope, or a bad lifetime.",
        401 => says::UNAUTHORIZED,
        403 => "A scope beyond your role, or the request came with an API key.",
        409 => "You hold the most keys an account may (100); revoke one first.",
        429 retry => says::WRITES_THROTTLED,
    }
}

#[derive(ApiResponse)]
pub(crate) enum ListKeysResponse {
    /// Your keys.
    #[oai(status = 200)]
    Ok(Json<ApiKeyList>),
}
errors! {
    ListKeysErrors {
        401 => says::UNAUTHORIZED,
        403 => says::API_KEY,
    }
}

#[derive(ApiResponse)]
pub(crate) enum RevokeKeyResponse {
    /// Revoked: it stops working at once; streams opened with it end.
    #[oai(status = 204)]
    NoContent,
}
errors! {
    RevokeKeyErrors {
        401 => says::UNAUTHORIZED,
        403 => says::API_KEY,
        404 => "You have no key with this id.",
        429 retry => says::WRITES_THROTTLED,
    }
}

pub(crate) struct AccessApi;

#[OpenApi]
impl AccessApi {
    /// Who am I.
    ///
    /// Your account, the scopes of the credential you sent, and your quota
    /// with what you use. Any valid credential; no scope needed.
    #[oai(
        path = "/v1/me",
        method = "get",
        operation_id = "me",
        tag = "ApiTags::Accounts"
    )]
    async fn me(&self, state: Data<&State>, caller: Caller) -> Answer<MeResponse, MeErrors> {
        let session = caller.0.session;
        let user = session.user;
        let found = state
            .read(move |e| {
                Ok::<_, strongroom_engine::AccountError>((
                    e.accounts().get(user)?,
                    e.accounts().quota(user)?,
                    e.two_factor().enabled(user)?,
                ))
            })
            .await?;
        let (account, quota, two_factor) = match found {
            Ok(found) => found,
            Err(e) => return answer(account_problem(e)),
        };
        let (credential, key_id) = match session.credential {
            Credential::Login => (CredentialKind::Login, None),
            Credential::ApiKey => (
                CredentialKind::ApiKey,
                Some(Uuid::from_u128(session.id.as_u128())),
            ),
        };
        Ok(MeResponse::Ok(Json(Me {
            id: Uuid::from_u128(user.as_u128()),
            username: account.username,
            role: account.role.into(),
            credential,
            key_id,
            scopes: scope_names(session.scopes),
            quota: QuotaView::from(quota),
            two_factor,
            server_time: crate::wire::datetime(state.engine.clock().now()),
            default_ttl_seconds: state.engine.limits().default_ttl.as_secs(),
            max_ttl_seconds: state.engine.limits().max_ttl.as_secs(),
            max_message_bytes: state.engine.limits().max_record_len as u64,
        })))
    }

    /// Change your password.
    ///
    /// Needs the current password (a wrong one answers 401 and counts
    /// toward the login limits). In one transaction: the new password, your
    /// end-to-end keys re-wrapped under it (`e2e_keys`: every version you
    /// hold, wrapped again by your client), and every other session of the
    /// account ends — this one stays, and so do your API keys. Needs a
    /// signed-in session (not an API key).
    #[oai(
        path = "/v1/me/password",
        method = "put",
        operation_id = "change_password",
        tag = "ApiTags::Accounts"
    )]
    async fn change_password(
        &self,
        state: Data<&State>,
        caller: Caller,
        body: JsonBody<PasswordChange>,
    ) -> Answer<ChangePasswordResponse, ChangePasswordErrors> {
        let user = or_answer!(caller.signed_in());
        let PasswordChange {
            current_password,
            new_password,
            e2e_keys,
        } = body.0;
        let keys = or_answer!(rewrapped(e2e_keys));
        or_answer!(attempt(&state, &caller).await?);
        let keep = caller.0.session.id;
        let changed = state
            .acting(caller.origin())
            .hashing(Lane::Accounts, move |e| {
                e.accounts().change_password(
                    user,
                    Some(keep),
                    current_password.secret(),
                    new_password.secret(),
                    &keys,
                )
            })
            .await?;
        match changed {
            Ok(()) => {
                tracing::info!(user = %user, session = %keep, "password changed; other sessions ended");
                Ok(ChangePasswordResponse::NoContent)
            }
            Err(e) => {
                tracing::warn!(user = %user, client = %caller.0.address, error = %e, "password change refused");
                answer(account_problem(e))
            }
        }
    }

    /// Delete your account.
    ///
    /// Needs your password. Everything goes, exactly as when an admin
    /// deletes an account: your messages (their keys are destroyed, so
    /// backups cannot read them either), share links, API keys, end-to-end
    /// keys and sessions. The name can be registered again, by anyone. The
    /// last enabled admin cannot leave (409). Needs a signed-in session
    /// (not an API key).
    #[oai(
        path = "/v1/me",
        method = "delete",
        operation_id = "delete_me",
        tag = "ApiTags::Accounts"
    )]
    async fn delete_me(
        &self,
        state: Data<&State>,
        caller: Caller,
        body: JsonBody<PasswordConfirmation>,
    ) -> Answer<DeleteMeResponse, DeleteMeErrors> {
        let user = or_answer!(caller.signed_in());
        let PasswordConfirmation {
            password,
            totp,
            recovery_code,
        } = body.0;
        let factor = or_answer!(second_factor(totp, recovery_code));
        or_answer!(attempt(&state, &caller).await?);
        let deleted = state
            .acting(caller.origin())
            .hashing(Lane::Accounts, move |e| {
                e.accounts()
                    .delete_self(user, password.secret(), factor.as_ref())
            })
            .await?;
        match deleted {
            Ok(()) => {
                tracing::info!(user = %user, "account deleted by its owner");
                Ok(DeleteMeResponse::NoContent)
            }
            Err(e) => {
                tracing::warn!(user = %user, client = %caller.0.address, error = %e, "account deletion refused");
                answer(account_problem(e))
            }
        }
    }

    /// Create an API key.
    ///
    /// For a service: a long-lived bearer credential limited to `scopes`
    /// (never beyond your role: a `user` may grant `messages:read`,
    /// `messages:write`, `events:read`; a `service` also `broadcast`; an
    /// `admin` also `admin`). The secret is returned once and only its hash
    /// is stored. Needs a signed-in session (not a key).
    #[oai(
        path = "/v1/api-keys",
        method = "post",
        operation_id = "create_api_key",
        tag = "ApiTags::ApiKeys"
    )]
    async fn create(
        &self,
        state: Data<&State>,
        caller: Caller,
        body: JsonBody<NewApiKeyRequest>,
    ) -> Answer<CreateKeyResponse, CreateKeyErrors> {
        let (owner, acting) = or_answer!(guard::session_writer(&state, &caller).await?);
        let NewApiKeyRequest {
            name,
            scopes,
            expires_in,
        } = body.0;
        let scopes: Scopes = scopes.into_iter().map(Scope::from).collect();
        let expires_in = expires_in.map(Duration::from_secs);
        let created = acting
            .blocking(move |e| e.api_keys().create(owner, &name.0, scopes, expires_in))
            .await?;
        match created {
            Ok(key) => {
                tracing::info!(user = %owner, key = %key.info.id, scopes = ?key.info.scopes, "api key created");
                Ok(CreateKeyResponse::Created(SecretJson(key.into())))
            }
            Err(e) => answer(api_key_problem(e)),
        }
    }

    /// List your API keys.
    ///
    /// Names, scopes, creation, expiry and last use; never the secrets.
    /// Needs a signed-in session (not a key).
    #[oai(
        path = "/v1/api-keys",
        method = "get",
        operation_id = "list_api_keys",
        tag = "ApiTags::ApiKeys"
    )]
    async fn list(
        &self,
        state: Data<&State>,
        caller: Caller,
    ) -> Answer<ListKeysResponse, ListKeysErrors> {
        let owner = or_answer!(caller.signed_in());
        match state.read(move |e| e.api_keys().list(owner)).await? {
            Ok(keys) => Ok(ListKeysResponse::Ok(Json(ApiKeyList {
                keys: keys.iter().map(ApiKeyView::from).collect(),
            }))),
            Err(e) => answer(internal("api key list", &e)),
        }
    }

    /// Revoke one of your API keys.
    ///
    /// It stops working at once and its streams end. Needs a signed-in
    /// session (not a key).
    #[oai(
        path = "/v1/api-keys/:id",
        method = "delete",
        operation_id = "revoke_api_key",
        tag = "ApiTags::ApiKeys"
    )]
    async fn revoke(
        &self,
        state: Data<&State>,
        caller: Caller,
        /// The key's id.
        id: Path<String>,
    ) -> Answer<RevokeKeyResponse, RevokeKeyErrors> {
        let Ok(id) = id.0.parse::<SessionId>() else {
            return answer(api_key_problem(strongroom_engine::ApiKeyError::NotFound));
        };
        let (owner, acting) = or_answer!(guard::session_writer(&state, &caller).await?);
        match acting
            .blocking(move |e| e.api_keys().revoke(owner, id))
            .await?
        {
            Ok(()) => {
                tracing::info!(user = %owner, key = %id, "api key revoked");
                Ok(RevokeKeyResponse::NoContent)
            }
            Err(e) => answer(api_key_problem(e)),
        }
    }
}

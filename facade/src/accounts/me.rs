//! Who am I (`GET /v1/me`), and scoped API keys for services. Keys are
//! managed from a signed-in session only: a key cannot mint or revoke
//! keys.

use std::time::Duration;

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use strongroom_engine::sessions::Credential;
use strongroom_engine::{Scope, Scopes, SessionId};
use uuid::Uuid;

use crate::accounts::wire::QuotaView;
use crate::accounts::wire::{
    ApiKeyCreated, ApiKeyList, ApiKeyView, CredentialKind, Me, NewApiKeyRequest, scope_names,
};
use crate::http::auth::Caller;
use crate::http::guard;
use crate::http::problem::{
    Answer, account_problem, answer, api_key_problem, errors, internal, or_answer, says,
};
use crate::http::state::State;
use crate::tags::ApiTags;

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
pub(crate) enum CreateKeyResponse {
    /// Created; the secret is shown this once.
    #[oai(status = 201)]
    Created(Json<ApiKeyCreated>),
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
                ))
            })
            .await?;
        let (account, quota) = match found {
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
        })))
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
        body: Json<NewApiKeyRequest>,
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
                Ok(CreateKeyResponse::Created(Json(key.into())))
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

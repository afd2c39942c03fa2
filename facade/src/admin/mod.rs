//! The admin API under `/v1/admin/`: manage accounts. Every operation needs
//! the `admin` scope (an admin's access token, or an admin's key created
//! with it; 403 otherwise) and is recorded in the audit log; each one that
//! writes counts toward the admin's writes per minute, as every durable
//! write does.

pub(crate) mod audit;
pub(crate) mod ops;
pub(crate) mod wire;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use strongroom_engine::audit::{AuditAction, AuditTarget};
use strongroom_engine::{AccountError, Engine, Role, Scope, UserId};
use uuid::Uuid;

use crate::admin::wire::{
    AdminUser, AdminUserPage, DisabledChange, NewAdminUser, NewPassword, RoleChange,
};
use crate::http::auth::Caller;
use crate::http::guard;
use crate::http::hashing::Lane;
use crate::http::problem::{
    Answer, Errors, Problem, account_problem, answer, errors, or_answer, says, totp_problem,
};
use crate::http::state::State;
use crate::tags::ApiTags;
use crate::wire::json_body::JsonBody;
use crate::wire::text::Username;

/// Largest page of `GET /v1/admin/users`.
const MAX_PAGE: u64 = 500;

#[derive(ApiResponse)]
pub(crate) enum UsersResponse {
    /// A page of accounts.
    #[oai(status = 200)]
    Ok(Json<AdminUserPage>),
}
errors! {
    UsersErrors {
        400 => "Bad `limit` or `after`.",
        401 => says::UNAUTHORIZED,
        403 => says::NOT_ADMIN,
    }
}

#[derive(ApiResponse)]
pub(crate) enum UserResponse {
    /// The account, as it is now.
    #[oai(status = 200)]
    Ok(Json<AdminUser>),
}
errors! {
    UserErrors {
        401 => says::UNAUTHORIZED,
        403 => says::NOT_ADMIN,
        404 => says::NO_ACCOUNT,
        409 => says::LAST_ADMIN,
        429 retry => says::WRITES_THROTTLED,
    }
}

#[derive(ApiResponse)]
pub(crate) enum CreateUserResponse {
    /// Created.
    #[oai(status = 201)]
    Created(Json<AdminUser>),
}
errors! {
    CreateUserErrors {
        400 => "Username or password invalid.",
        401 => says::UNAUTHORIZED,
        403 => says::NOT_ADMIN,
        409 => says::TAKEN,
        429 retry => says::WRITES_THROTTLED,
    }
}

#[derive(ApiResponse)]
pub(crate) enum DoneResponse {
    /// Done.
    #[oai(status = 204)]
    NoContent,
}
errors! {
    DoneErrors {
        401 => says::UNAUTHORIZED,
        403 => says::NOT_ADMIN,
        404 => says::NO_ACCOUNT,
        429 retry => says::WRITES_THROTTLED,
    }
}
errors! {
    ResetPasswordErrors {
        400 => "The password is not 12–1024 characters.",
        401 => says::UNAUTHORIZED,
        403 => says::NOT_ADMIN,
        404 => says::NO_ACCOUNT,
        429 retry => says::WRITES_THROTTLED,
    }
}
errors! {
    ClearTotpErrors {
        401 => says::UNAUTHORIZED,
        403 => says::NOT_ADMIN,
        404 => says::NO_ACCOUNT,
        409 => "Two-factor sign-in is not on for this account.",
        429 retry => says::WRITES_THROTTLED,
    }
}
errors! {
    DeleteUserErrors {
        401 => says::UNAUTHORIZED,
        403 => says::NOT_ADMIN,
        404 => says::NO_ACCOUNT,
        409 => says::LAST_ADMIN,
        429 retry => says::WRITES_THROTTLED,
    }
}

/// Refuses callers without the `admin` scope (only admins hold it). A
/// refusal is audited (`admin.request`, denied, naming the account the
/// request was about if any), as one of the caller's writes: past their
/// write rate the refusal is still answered, but no longer recorded, so a
/// caller cannot flood the log.
pub(crate) async fn admin_only(
    state: &State,
    caller: &Caller,
    target: AuditTarget,
) -> Result<UserId, Problem> {
    let refused = match caller.require(Scope::Admin) {
        Ok(admin) => return Ok(admin),
        Err(refused) => refused,
    };
    if let Ok(Ok(())) = guard::spend(state, caller.user()).await {
        let acting = state.acting(caller.origin());
        let recorded = acting
            .blocking(move |e| e.audit().record_denied(AuditAction::AdminRequest, target))
            .await;
        if !matches!(recorded, Ok(Ok(()))) {
            tracing::error!("could not record a refused admin request");
        }
    }
    Err(refused)
}

/// [`admin_only`] for an operation that writes: it also takes one write
/// from the admin's per-minute quota (429 with `Retry-After`), as every
/// durable write does.
pub(crate) async fn admin_writer(
    state: &State,
    caller: &Caller,
    target: AuditTarget,
) -> poem::Result<Result<UserId, Problem>> {
    let admin = match admin_only(state, caller, target).await {
        Ok(admin) => admin,
        Err(refused) => return Ok(Err(refused)),
    };
    Ok(guard::spend(state, admin).await?.map(|()| admin))
}

/// Whether an operation on an account only reads it.
#[derive(Clone, Copy)]
pub(crate) enum Access {
    Read,
    Write,
}

pub(crate) fn user_id(text: &str) -> Result<UserId, Problem> {
    text.parse::<UserId>().map_err(|_| Problem::unknown_user())
}

/// Runs `work` on the account `id` for an admin caller (403 otherwise, 404
/// for an id that is no account; a write takes one from the admin's write
/// rate), logs `what`, and answers with `done`.
pub(crate) async fn on_account<T: Send + 'static, R, E: Errors>(
    state: &State,
    caller: &Caller,
    id: &str,
    access: Access,
    what: &'static str,
    work: impl FnOnce(&Engine, UserId) -> Result<T, AccountError> + Send + 'static,
    done: impl FnOnce(T) -> R,
) -> Answer<R, E> {
    let target = user_id(id).map_or(AuditTarget::None, AuditTarget::User);
    let admin = match access {
        Access::Read => or_answer!(admin_only(state, caller, target).await),
        Access::Write => or_answer!(admin_writer(state, caller, target).await?),
    };
    let user = or_answer!(user_id(id));
    let acting = state.acting(caller.origin());
    match acting.blocking(move |e| work(e, user)).await? {
        Ok(value) => {
            tracing::info!(admin = %admin, user = %user, "{what}");
            Ok(done(value))
        }
        Err(e) => answer(account_problem(e)),
    }
}

pub(crate) struct AdminApi;

#[OpenApi(tag = "ApiTags::Admin")]
impl AdminApi {
    /// List accounts (admins only).
    ///
    /// In id order, `limit` per page (1–500, default 100);
    /// pass the previous page's `next` as `after`.
    #[oai(
        path = "/v1/admin/users",
        method = "get",
        operation_id = "admin_list_users"
    )]
    async fn list(
        &self,
        state: Data<&State>,
        caller: Caller,
        /// Page size, 1–500 (default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))]
        limit: Query<Option<u64>>,
        /// The previous page's `next`.
        after: Query<Option<Uuid>>,
    ) -> Answer<UsersResponse, UsersErrors> {
        or_answer!(admin_only(&state, &caller, AuditTarget::None).await);
        let limit = limit.0.unwrap_or(100).clamp(1, MAX_PAGE) as usize;
        let after = after.0.map(|u| UserId::from_u128(u.as_u128()));
        match state.read(move |e| e.admin().users(after, limit)).await? {
            Ok(page) => Ok(UsersResponse::Ok(Json(AdminUserPage {
                next: page.next.map(|u| Uuid::from_u128(u.as_u128())),
                users: page.users.into_iter().map(AdminUser::from).collect(),
            }))),
            Err(e) => answer(account_problem(e.into())),
        }
    }

    /// Create an account (admins only).
    ///
    /// The way accounts are made when registration is closed.
    #[oai(
        path = "/v1/admin/users",
        method = "post",
        operation_id = "admin_create_user"
    )]
    async fn create(
        &self,
        state: Data<&State>,
        caller: Caller,
        body: JsonBody<NewAdminUser>,
    ) -> Answer<CreateUserResponse, CreateUserErrors> {
        let admin = or_answer!(admin_writer(&state, &caller, AuditTarget::None).await?);
        let NewAdminUser {
            username: Username(username),
            password,
            role,
        } = body.0;
        let role: Role = role.map_or(Role::User, Into::into);
        let name = username.clone();
        let created = state
            .acting(caller.origin())
            .hashing(Lane::Accounts, move |e| {
                e.accounts()
                    .create_with_role(&name, password.secret(), role)
            })
            .await?;
        match created {
            Ok(user) => {
                tracing::info!(admin = %admin, user = %user.id, role = %role, "account created by admin");
                Ok(CreateUserResponse::Created(Json(user.into())))
            }
            Err(e) => answer(account_problem(e)),
        }
    }

    /// Change an account's role (admins only).
    ///
    /// Takes effect on the account's next request; its streams end.
    #[oai(
        path = "/v1/admin/users/:id/role",
        method = "put",
        operation_id = "admin_set_role"
    )]
    async fn set_role(
        &self,
        state: Data<&State>,
        caller: Caller,
        /// The account's id.
        id: Path<String>,
        body: JsonBody<RoleChange>,
    ) -> Answer<UserResponse, UserErrors> {
        let role: Role = body.0.role.into();
        on_account(
            &state,
            &caller,
            &id.0,
            Access::Write,
            "role changed",
            move |e, user| e.admin().set_role(user, role),
            |u| UserResponse::Ok(Json(u.into())),
        )
        .await
    }

    /// Disable or enable an account (admins only).
    ///
    /// A disabled account's credentials are refused from its next request
    /// on and its streams end; enabling it restores its sessions.
    #[oai(
        path = "/v1/admin/users/:id/disabled",
        method = "put",
        operation_id = "admin_set_disabled"
    )]
    async fn set_disabled(
        &self,
        state: Data<&State>,
        caller: Caller,
        /// The account's id.
        id: Path<String>,
        body: JsonBody<DisabledChange>,
    ) -> Answer<UserResponse, UserErrors> {
        let disabled = body.0.disabled;
        let what = if disabled {
            "account disabled"
        } else {
            "account enabled"
        };
        on_account(
            &state,
            &caller,
            &id.0,
            Access::Write,
            what,
            move |e, user| e.admin().set_disabled(user, disabled),
            |u| UserResponse::Ok(Json(u.into())),
        )
        .await
    }

    /// End every session and API key of an account (admins only).
    ///
    /// Every access token, refresh token and API key of the account stops
    /// working; its streams end.
    #[oai(
        path = "/v1/admin/users/:id/sessions",
        method = "delete",
        operation_id = "admin_end_sessions"
    )]
    async fn end_sessions(
        &self,
        state: Data<&State>,
        caller: Caller,
        /// The account's id.
        id: Path<String>,
    ) -> Answer<DoneResponse, DoneErrors> {
        on_account(
            &state,
            &caller,
            &id.0,
            Access::Write,
            "sessions ended by admin",
            |e, user| e.admin().end_sessions(user),
            |()| DoneResponse::NoContent,
        )
        .await
    }

    /// Set an account's password (admins only).
    ///
    /// For someone who cannot sign in: every session and API key of the
    /// account ends. Their end-to-end keys stay wrapped under the old
    /// password, so messages sealed to them cannot be opened again; the
    /// web client offers to make a new key. Audited as `password.reset`.
    #[oai(
        path = "/v1/admin/users/:id/password",
        method = "post",
        operation_id = "admin_reset_password"
    )]
    async fn reset_password(
        &self,
        state: Data<&State>,
        caller: Caller,
        /// The account's id.
        id: Path<String>,
        body: JsonBody<NewPassword>,
    ) -> Answer<DoneResponse, ResetPasswordErrors> {
        let password = body.0.password;
        on_account(
            &state,
            &caller,
            &id.0,
            Access::Write,
            "password reset by admin; sessions and keys ended",
            move |e, user| e.admin().reset_password(user, password.secret()),
            |()| DoneResponse::NoContent,
        )
        .await
    }

    /// Turn off an account's two-factor sign-in (admins only).
    ///
    /// For someone who lost both their authenticator and their recovery
    /// codes: the password alone signs in again, and they can set up a new
    /// authenticator. Audited as `totp.clear`.
    #[oai(
        path = "/v1/admin/users/:id/totp",
        method = "delete",
        operation_id = "admin_clear_totp"
    )]
    async fn clear_totp(
        &self,
        state: Data<&State>,
        caller: Caller,
        /// The account's id.
        id: Path<String>,
    ) -> Answer<DoneResponse, ClearTotpErrors> {
        let target = user_id(&id.0).map_or(AuditTarget::None, AuditTarget::User);
        let admin = or_answer!(admin_writer(&state, &caller, target).await?);
        let user = or_answer!(user_id(&id.0));
        let acting = state.acting(caller.origin());
        match acting.blocking(move |e| e.two_factor().clear(user)).await? {
            Ok(()) => {
                tracing::info!(admin = %admin, user = %user, "two-factor sign-in cleared by admin");
                Ok(DoneResponse::NoContent)
            }
            Err(e) => answer(totp_problem(e)),
        }
    }

    /// Delete an account (admins only).
    ///
    /// Crypto-shredding: its wrapped data keys, records, sessions and share
    /// links go in one transaction; nothing of it can be decrypted again.
    #[oai(
        path = "/v1/admin/users/:id",
        method = "delete",
        operation_id = "admin_delete_user"
    )]
    async fn delete(
        &self,
        state: Data<&State>,
        caller: Caller,
        /// The account's id.
        id: Path<String>,
    ) -> Answer<DoneResponse, DeleteUserErrors> {
        on_account(
            &state,
            &caller,
            &id.0,
            Access::Write,
            "account deleted by admin",
            |e, user| e.admin().delete_user(user),
            |()| DoneResponse::NoContent,
        )
        .await
    }
}

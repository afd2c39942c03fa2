//! The admin API's operations on the store rather than on accounts: quotas,
//! the audit trail and its signed checkpoint, online backups. Every
//! operation needs the `admin` scope.

use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use strongroom_engine::audit::{AuditAction, AuditFilter, AuditTarget};
use strongroom_engine::{Scope, Timestamp};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::accounts::wire::QuotaView;
use crate::admin::audit::{AuditPageView, CheckpointJson, actor_filter};
use crate::admin::wire::{BackupView, MAX_QUOTA, QuotaLimits};
use crate::admin::{Access, admin_only, admin_writer, on_account, user_id};
use crate::http::auth::Caller;
use crate::http::problem::{Answer, Problem, answer, errors, internal, or_answer, says};
use crate::http::state::State;
use crate::tags::ApiTags;
use crate::wire::json_body::JsonBody;

/// Largest page of `GET /v1/admin/audit`.
const MAX_AUDIT_PAGE: u64 = 1000;

#[derive(ApiResponse)]
pub(crate) enum QuotaResponse {
    /// The account's quota in force and usage.
    #[oai(status = 200)]
    Ok(Json<QuotaView>),
}
errors! {
    QuotaErrors {
        401 => says::UNAUTHORIZED,
        403 => says::NOT_ADMIN,
        404 => says::NO_ACCOUNT,
    }
}
errors! {
    QuotaChangeErrors {
        400 => "A limit beyond 2^63 − 1.",
        401 => says::UNAUTHORIZED,
        403 => says::NOT_ADMIN,
        404 => says::NO_ACCOUNT,
        409 => "`writes_per_minute` 0 for your own account.",
        429 retry => says::WRITES_THROTTLED,
    }
}

#[derive(ApiResponse)]
pub(crate) enum AuditResponse {
    /// A page of the audit log, oldest first.
    #[oai(status = 200)]
    Ok(Json<AuditPageView>),
}
errors! {
    AuditErrors {
        400 => "An unknown `action`, or a bad `limit`.",
        401 => says::UNAUTHORIZED,
        403 => says::NOT_ADMIN,
    }
}

#[derive(ApiResponse)]
pub(crate) enum CheckpointResponse {
    /// The chain head, signed.
    #[oai(status = 200)]
    Ok(Json<CheckpointJson>),
}
errors! {
    CheckpointErrors {
        401 => says::UNAUTHORIZED,
        403 => says::NOT_ADMIN,
    }
}

#[derive(ApiResponse)]
pub(crate) enum BackupResponse {
    /// Written.
    #[oai(status = 201)]
    Created(Json<BackupView>),
}
errors! {
    BackupErrors {
        401 => says::UNAUTHORIZED,
        403 => says::NOT_ADMIN,
        409 => "This server has no backup directory.",
        429 retry => says::WRITES_THROTTLED,
        507 => "A disk is full (the backup directory's, or the database's); nothing of the backup was kept.",
    }
}

fn timestamp(t: OffsetDateTime) -> Timestamp {
    let millis = t.unix_timestamp_nanos() / 1_000_000;
    Timestamp::from_unix_millis(u64::try_from(millis).unwrap_or(0))
}

pub(crate) struct AdminOpsApi;

#[OpenApi(tag = "ApiTags::Admin")]
impl AdminOpsApi {
    /// Read an account's quota and usage (admins only).
    #[oai(
        path = "/v1/admin/users/:id/quota",
        method = "get",
        operation_id = "admin_get_quota"
    )]
    async fn quota(
        &self,
        state: Data<&State>,
        caller: Caller,
        /// The account's id.
        id: Path<String>,
    ) -> Answer<QuotaResponse, QuotaErrors> {
        let done = |q| QuotaResponse::Ok(Json(QuotaView::from(q)));
        on_account(
            &state,
            &caller,
            &id.0,
            Access::Read,
            "quota read",
            |e, u| e.accounts().quota(u),
            done,
        )
        .await
    }

    /// Set an account's quota (admins only).
    ///
    /// Replaces the defaults for this account. Usage above a lowered quota
    /// stays; new messages are refused (403) until it drops below.
    #[oai(
        path = "/v1/admin/users/:id/quota",
        method = "put",
        operation_id = "admin_set_quota"
    )]
    async fn set_quota(
        &self,
        state: Data<&State>,
        caller: Caller,
        /// The account's id.
        id: Path<String>,
        body: JsonBody<QuotaLimits>,
    ) -> Answer<QuotaResponse, QuotaChangeErrors> {
        if body.0.max_bytes > MAX_QUOTA || body.0.max_records > MAX_QUOTA {
            let detail = "max_bytes and max_records must be at most 9223372036854775807";
            return answer(Problem::new(StatusCode::BAD_REQUEST, detail));
        }
        let own = user_id(&id.0).is_ok_and(|u| u == caller.user());
        if own && body.0.writes_per_minute == 0 && caller.require(Scope::Admin).is_ok() {
            let detail = "an admin cannot set their own writes_per_minute to 0: \
                          every admin operation is a write, so they could not undo it";
            return answer(Problem::new(StatusCode::CONFLICT, detail));
        }
        let quota = body.0.into();
        let work = move |e: &strongroom_engine::Engine, u| e.admin().set_quota(u, Some(quota));
        let done = |q| QuotaResponse::Ok(Json(QuotaView::from(q)));
        let (id, what) = (&id.0, "quota set");
        on_account(&state, &caller, id, Access::Write, what, work, done).await
    }

    /// Return an account to the default quota (admins only).
    #[oai(
        path = "/v1/admin/users/:id/quota",
        method = "delete",
        operation_id = "admin_reset_quota"
    )]
    async fn reset_quota(
        &self,
        state: Data<&State>,
        caller: Caller,
        /// The account's id.
        id: Path<String>,
    ) -> Answer<QuotaResponse, QuotaChangeErrors> {
        let work = |e: &strongroom_engine::Engine, u| e.admin().set_quota(u, None);
        let done = |q| QuotaResponse::Ok(Json(QuotaView::from(q)));
        let (id, what) = (&id.0, "quota reset");
        on_account(&state, &caller, id, Access::Write, what, work, done).await
    }

    /// Read the audit trail (admins only).
    ///
    /// Oldest first, `limit` per page (1–1000, default 100); pass the
    /// previous page's `next` as `after`. Each entry's `tx_hash` chains it
    /// to the one before; `GET /v1/admin/audit/checkpoint` signs the head.
    #[oai(path = "/v1/admin/audit", method = "get", operation_id = "admin_audit")]
    #[allow(clippy::too_many_arguments)]
    async fn audit(
        &self,
        state: Data<&State>,
        caller: Caller,
        /// Only entries whose actor is this account (or one of its keys).
        actor: Query<Option<Uuid>>,
        /// Only entries of this action (`login`, `message.send`, …).
        action: Query<Option<String>>,
        /// Only entries written at or after this time.
        from: Query<Option<OffsetDateTime>>,
        /// Only entries written before this time.
        until: Query<Option<OffsetDateTime>>,
        /// The previous page's `next` (at most 2^63 − 1).
        #[oai(validator(minimum(value = "0")))]
        after: Query<Option<u64>>,
        /// Page size, 1–1000 (default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u64>>,
    ) -> Answer<AuditResponse, AuditErrors> {
        or_answer!(admin_only(&state, &caller, AuditTarget::None).await);
        let action = match action.0.as_deref().map(AuditAction::from_name) {
            None => None,
            Some(Some(action)) => Some(action),
            Some(None) => {
                let detail = format!("action must be one of {}", AuditAction::names().join(", "));
                return answer(Problem::new(StatusCode::BAD_REQUEST, detail));
            }
        };
        let filter = AuditFilter {
            actor: actor_filter(actor.0),
            action,
            from: from.0.map(timestamp),
            until: until.0.map(timestamp),
        };
        let limit = limit.0.unwrap_or(100).clamp(1, MAX_AUDIT_PAGE) as usize;
        let after = after.0.unwrap_or(0);
        if after > MAX_QUOTA {
            let detail = "after must be at most 9223372036854775807";
            return answer(Problem::new(StatusCode::BAD_REQUEST, detail));
        }
        match state
            .read(move |e| e.audit().page(&filter, after, limit))
            .await?
        {
            Ok(page) => Ok(AuditResponse::Ok(Json(AuditPageView::from(&page)))),
            Err(e) => answer(internal("audit read", &e)),
        }
    }

    /// Get a signed checkpoint of the audit trail (admins only).
    ///
    /// The chain head signed with the server's Ed25519 audit key. Keep it
    /// elsewhere: `strongroom audit verify --checkpoint FILE` later proves
    /// that no entry up to it was changed, removed or reordered.
    #[oai(
        path = "/v1/admin/audit/checkpoint",
        method = "get",
        operation_id = "admin_audit_checkpoint"
    )]
    async fn checkpoint(
        &self,
        state: Data<&State>,
        caller: Caller,
    ) -> Answer<CheckpointResponse, CheckpointErrors> {
        or_answer!(admin_only(&state, &caller, AuditTarget::None).await);
        match state.read(|e| e.audit().checkpoint()).await? {
            Ok(c) => Ok(CheckpointResponse::Ok(Json(CheckpointJson::from(&c)))),
            Err(e) => answer(internal("audit checkpoint", &e)),
        }
    }

    /// Write an online backup (admins only).
    ///
    /// A consistent snapshot from one read transaction, written to a new
    /// file in the server's backup directory while writers keep going
    /// (still encrypted; the master key is not in it).
    #[oai(
        path = "/v1/admin/backups",
        method = "post",
        operation_id = "admin_backup"
    )]
    async fn backup(
        &self,
        state: Data<&State>,
        caller: Caller,
    ) -> Answer<BackupResponse, BackupErrors> {
        let admin = or_answer!(admin_writer(&state, &caller, AuditTarget::None).await?);
        let Some(hook) = state.config.backup.clone() else {
            let detail = "this server has no backup directory";
            return answer(Problem::new(StatusCode::CONFLICT, detail));
        };
        let acting = state.acting(caller.origin());
        match acting.blocking(move |e| (hook.0)(e)).await? {
            Ok(done) => {
                tracing::info!(admin = %admin, path = %done.path.display(), bytes = done.bytes, records = done.records, "backup written");
                Ok(BackupResponse::Created(Json(BackupView {
                    path: done.path.display().to_string(),
                    bytes: done.bytes,
                    records: done.records,
                    users: done.users,
                })))
            }
            Err(e) if e.disk_full => {
                tracing::error!(error = %e.message, "backup refused: a disk is full");
                answer(Problem::new(
                    StatusCode::INSUFFICIENT_STORAGE,
                    "a disk is full (the backup directory's, or the database's), \
                     so nothing of the backup was kept",
                ))
            }
            Err(e) => answer(internal("backup", &e.message)),
        }
    }
}

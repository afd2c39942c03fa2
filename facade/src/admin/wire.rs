//! The JSON bodies of the admin API.

use poem_openapi::Object;
use strongroom_engine::accounts::{Quota, User};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::accounts::wire::RoleName;
use crate::wire::text::Username;
use crate::wire::{Password, datetime};

/// An account as an admin sees it (never its password hash).
#[derive(Object)]
pub(crate) struct AdminUser {
    /// Its id.
    id: Uuid,
    /// Its username.
    username: String,
    /// Its role.
    role: RoleName,
    /// Whether its credentials are refused.
    disabled: bool,
    /// When it was created.
    created_at: OffsetDateTime,
}

impl From<User> for AdminUser {
    fn from(user: User) -> Self {
        Self {
            id: Uuid::from_u128(user.id.as_u128()),
            username: user.username,
            role: user.role.into(),
            disabled: user.disabled,
            created_at: datetime(user.created_at),
        }
    }
}

/// A page of accounts, in id order.
#[derive(Object)]
pub(crate) struct AdminUserPage {
    /// The accounts.
    pub(crate) users: Vec<AdminUser>,
    /// Pass as `after` for the next page; absent on the last.
    pub(crate) next: Option<Uuid>,
}

/// An account to create.
#[derive(Object)]
pub(crate) struct NewAdminUser {
    /// 3–64 characters of `a-z`, `0-9`, `_`, `.`, `-`.
    pub(crate) username: Username,
    /// 12–1024 characters.
    pub(crate) password: Password,
    /// Its role (default `user`).
    pub(crate) role: Option<RoleName>,
}

/// A new role.
#[derive(Object)]
pub(crate) struct RoleChange {
    /// The role.
    pub(crate) role: RoleName,
}

/// Disable or enable an account.
#[derive(Object)]
pub(crate) struct DisabledChange {
    /// `true` refuses the account's credentials from the next request on.
    pub(crate) disabled: bool,
}

/// Largest storage limit an admin may set (the largest JSON integer every
/// client reads exactly enough: 2^63 − 1).
pub(crate) const MAX_QUOTA: u64 = i64::MAX as u64;

/// What an account may hold and write.
#[derive(Object, Clone, Copy)]
pub(crate) struct QuotaLimits {
    /// Bytes of sealed messages it may have stored (each message: its
    /// bytes plus 33); at most 2^63 − 1.
    #[oai(validator(minimum(value = "0")))]
    pub(crate) max_bytes: u64,
    /// Messages it may have stored; at most 2^63 − 1.
    #[oai(validator(minimum(value = "0")))]
    pub(crate) max_records: u64,
    /// Writes (stores, sends, deletes, broadcasts, share links) per minute.
    #[oai(validator(minimum(value = "0"), maximum(value = "4294967295")))]
    pub(crate) writes_per_minute: u64,
}

impl From<QuotaLimits> for Quota {
    fn from(q: QuotaLimits) -> Self {
        Self {
            max_bytes: q.max_bytes,
            max_records: q.max_records,
            writes_per_minute: u32::try_from(q.writes_per_minute).unwrap_or(u32::MAX),
        }
    }
}

/// Where an online backup went.
#[derive(Object)]
pub(crate) struct BackupView {
    /// The backup file on the server.
    pub(crate) path: String,
    /// Its size in bytes.
    pub(crate) bytes: u64,
    /// Records in it.
    pub(crate) records: u64,
    /// Accounts in it.
    pub(crate) users: u64,
}

/// A password an admin sets.
#[derive(Object)]
pub(crate) struct NewPassword {
    /// 12–1024 characters.
    pub(crate) password: Password,
}

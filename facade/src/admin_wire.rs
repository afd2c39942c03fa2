//! The JSON bodies of the admin API.

use poem_openapi::{Enum, Object};
use strongroom_engine::{Role, User};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::text::Username;
use crate::wire::{Password, datetime};

/// An account's role.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub(crate) enum RoleName {
    /// Manages users; may broadcast.
    Admin,
    /// A person.
    User,
    /// A program.
    Service,
}

impl From<Role> for RoleName {
    fn from(role: Role) -> Self {
        match role {
            Role::Admin => Self::Admin,
            Role::User => Self::User,
            Role::Service => Self::Service,
        }
    }
}

impl From<RoleName> for Role {
    fn from(role: RoleName) -> Self {
        match role {
            RoleName::Admin => Self::Admin,
            RoleName::User => Self::User,
            RoleName::Service => Self::Service,
        }
    }
}

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

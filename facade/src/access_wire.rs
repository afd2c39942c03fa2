//! The JSON bodies of `/v1/me` and `/v1/api-keys`.

use poem_openapi::{Enum, Object};
use strongroom_engine::api_keys::{ApiKeyInfo, NewApiKey};
use strongroom_engine::{Scope, Scopes};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::admin_wire::{QuotaView, RoleName};
use crate::text::KeyName;
use crate::wire::datetime;

/// One permission a credential can hold.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScopeName {
    /// List and read one's messages and share links.
    #[oai(rename = "messages:read")]
    MessagesRead,
    /// Store, send and delete messages; create and revoke share links.
    #[oai(rename = "messages:write")]
    MessagesWrite,
    /// Open event streams.
    #[oai(rename = "events:read")]
    EventsRead,
    /// Broadcast to everyone.
    #[oai(rename = "broadcast")]
    Broadcast,
    /// The admin API.
    #[oai(rename = "admin")]
    Admin,
}

impl From<ScopeName> for Scope {
    fn from(s: ScopeName) -> Self {
        match s {
            ScopeName::MessagesRead => Self::MessagesRead,
            ScopeName::MessagesWrite => Self::MessagesWrite,
            ScopeName::EventsRead => Self::EventsRead,
            ScopeName::Broadcast => Self::Broadcast,
            ScopeName::Admin => Self::Admin,
        }
    }
}

impl From<Scope> for ScopeName {
    fn from(s: Scope) -> Self {
        match s {
            Scope::MessagesRead => Self::MessagesRead,
            Scope::MessagesWrite => Self::MessagesWrite,
            Scope::EventsRead => Self::EventsRead,
            Scope::Broadcast => Self::Broadcast,
            Scope::Admin => Self::Admin,
        }
    }
}

pub(crate) fn scope_names(scopes: Scopes) -> Vec<ScopeName> {
    scopes.iter().map(ScopeName::from).collect()
}

/// A key to create.
#[derive(Object)]
pub(crate) struct NewApiKeyRequest {
    /// A name to tell it by (1–64 characters, no control characters).
    pub(crate) name: KeyName,
    /// What it may do: at least one scope, none beyond your role.
    #[oai(validator(min_items = 1, max_items = 5))]
    pub(crate) scopes: Vec<ScopeName>,
    /// Seconds until it stops working (60 to 31 622 400, one year);
    /// absent: never.
    #[oai(validator(minimum(value = "60"), maximum(value = "31622400")))]
    pub(crate) expires_in: Option<u64>,
}

/// An API key's facts (never its secret).
#[derive(Object)]
pub(crate) struct ApiKeyView {
    /// Its id (revoke by it).
    id: Uuid,
    /// Its name.
    name: String,
    /// What it may do.
    scopes: Vec<ScopeName>,
    /// When it was created.
    created_at: OffsetDateTime,
    /// When it stops working; absent: never.
    expires_at: Option<OffsetDateTime>,
    /// When it was last used (to the minute); absent: never.
    last_used: Option<OffsetDateTime>,
}

impl From<&ApiKeyInfo> for ApiKeyView {
    fn from(k: &ApiKeyInfo) -> Self {
        Self {
            id: Uuid::from_u128(k.id.as_u128()),
            name: k.name.clone(),
            scopes: scope_names(k.scopes),
            created_at: datetime(k.created_at),
            expires_at: k.expires_at.map(datetime),
            last_used: k.last_used.map(datetime),
        }
    }
}

/// A new key: its facts and its secret, shown this once.
#[derive(Object)]
pub(crate) struct ApiKeyCreated {
    /// The key's facts.
    key: ApiKeyView,
    /// The key: send it as `Authorization: Bearer <secret>`. Only its hash
    /// is stored; it cannot be shown again. Format: `srk_` + 64 hex digits
    /// + 8 hex digits of CRC-32, so secret scanners can recognise it.
    secret: String,
}

impl From<NewApiKey> for ApiKeyCreated {
    fn from(k: NewApiKey) -> Self {
        Self {
            key: ApiKeyView::from(&k.info),
            secret: k.secret.expose_secret().to_owned(),
        }
    }
}

/// Your API keys.
#[derive(Object)]
pub(crate) struct ApiKeyList {
    /// Unexpired keys, oldest first.
    pub(crate) keys: Vec<ApiKeyView>,
}

/// How the request was authenticated.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub(crate) enum CredentialKind {
    /// An access token (a login).
    Login,
    /// An API key.
    ApiKey,
}

/// Who you are, what this credential may do, and what you use.
#[derive(Object)]
pub(crate) struct Me {
    /// Your account's id.
    pub(crate) id: Uuid,
    /// Your username.
    pub(crate) username: String,
    /// Your role.
    pub(crate) role: RoleName,
    /// The credential of this request.
    pub(crate) credential: CredentialKind,
    /// The id of the API key, when the credential is one.
    pub(crate) key_id: Option<Uuid>,
    /// What this credential may do.
    pub(crate) scopes: Vec<ScopeName>,
    /// Your quota and usage.
    pub(crate) quota: QuotaView,
}

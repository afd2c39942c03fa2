//! The JSON bodies of accounts: credentials and token pairs, roles,
//! `/v1/me` with the quota in force, and API keys.

use poem_openapi::{Enum, Object};
use strongroom_engine::accounts::{QuotaStatus, User};
use strongroom_engine::api_keys::{ApiKeyInfo, NewApiKey};
use strongroom_engine::sessions::{SecondFactor, TokenPair};
use strongroom_engine::{Role, Scope, Scopes};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::http::problem::Problem;
use crate::wire::secret_text::SecretText;
use crate::wire::text::{KeyName, SaltText, Username, WrappedKeyText};
use crate::wire::{AnyCode, Password, RecoveryCodeText, TokenText, TotpCode, datetime};

/// Username and password. The password never appears in logs or errors.
#[derive(Object)]
pub(crate) struct Credentials {
    /// 3–64 characters of `a-z`, `0-9`, `_`, `.`, `-`, or an email
    /// address (at most 254 characters); compared without case.
    pub(crate) username: Username,
    /// 12–1024 characters.
    pub(crate) password: Password,
}

/// Username, password, and the second factor when the account has
/// two-factor sign-in on (`totp` or `recovery_code`, not both). None of
/// them appears in logs or errors.
#[derive(Object)]
pub(crate) struct LoginRequest {
    /// 3–64 characters of `a-z`, `0-9`, `_`, `.`, `-`, or an email
    /// address (at most 254 characters); compared without case.
    pub(crate) username: Username,
    /// 12–1024 characters.
    pub(crate) password: Password,
    /// The six-digit code of your authenticator app.
    pub(crate) totp: Option<TotpCode>,
    /// One of your recovery codes, instead of `totp` (each works once).
    pub(crate) recovery_code: Option<RecoveryCodeText>,
    /// A web session: the refresh token goes in an HttpOnly, Secure,
    /// SameSite=Strict `__Host-` cookie instead of the body (default
    /// false).
    pub(crate) cookie: Option<bool>,
}

/// A code that turns two-factor sign-in off.
#[derive(Object)]
pub(crate) struct TotpOff {
    /// The six digits your authenticator app shows now, or one of your
    /// recovery codes.
    pub(crate) code: AnyCode,
}

impl TotpOff {
    /// The code as the engine takes it: six digits are a TOTP code,
    /// anything else a recovery code (which then simply does not match).
    pub(crate) fn factor(self) -> SecondFactor {
        let code = self.code.into_secret();
        let text = strongroom_engine::secrecy::ExposeSecret::expose_secret(&code);
        if text.len() == 6 && text.bytes().all(|b| b.is_ascii_digit()) {
            SecondFactor::Totp(code)
        } else {
            SecondFactor::RecoveryCode(code)
        }
    }
}

/// The second factor of a request, if one came. Both at once is no
/// second factor (an invalid one: 401, like a wrong code).
pub(crate) fn second_factor(
    totp: Option<TotpCode>,
    recovery_code: Option<RecoveryCodeText>,
) -> Result<Option<SecondFactor>, Problem> {
    match (totp, recovery_code) {
        (Some(_), Some(_)) => Err(Problem::typed(
            poem::http::StatusCode::UNAUTHORIZED,
            crate::http::problem::SECOND_FACTOR_INVALID,
            "Second factor invalid",
            "send `totp` or `recovery_code`, not both",
        )),
        (Some(code), None) => Ok(Some(SecondFactor::Totp(code.into_secret()))),
        (None, Some(code)) => Ok(Some(SecondFactor::RecoveryCode(code.into_secret()))),
        (None, None) => Ok(None),
    }
}

/// A first code from the authenticator app, to turn two-factor sign-in on.
#[derive(Object)]
pub(crate) struct TotpConfirmation {
    /// The six-digit code the app shows now.
    pub(crate) code: TotpCode,
}

/// What an authenticator app needs. Shown once.
#[derive(Object)]
pub(crate) struct TotpSetupView {
    /// The secret, base32: type it into the app if you cannot scan.
    pub(crate) secret: SecretText,
    /// `otpauth://totp/…`: show it as a QR code for the app to scan.
    pub(crate) otpauth_uri: SecretText,
    /// `otpauth_uri` as a QR code, an SVG image drawn by this server.
    pub(crate) qr_svg: String,
}

/// Recovery codes, shown once: each signs in once in place of a code.
#[derive(Object)]
pub(crate) struct RecoveryCodes {
    /// Ten codes (`xxxx-xxxx-xxxx-xxxx`).
    pub(crate) recovery_codes: Vec<SecretText>,
}

/// A password change. Every end-to-end key version you hold must come
/// re-wrapped under the new password (list them with `GET /v1/keys`,
/// unwrap each with the current password, wrap it with the new one), or
/// nothing changes (409).
#[derive(Object)]
pub(crate) struct PasswordChange {
    /// Your password now.
    pub(crate) current_password: Password,
    /// The new one: 12–1024 characters.
    pub(crate) new_password: Password,
    /// Each of your end-to-end key versions, its private key wrapped again
    /// under the new password. Empty (the default) when you hold none.
    #[oai(default, validator(max_items = 32))]
    pub(crate) e2e_keys: Vec<RewrappedKeyUpload>,
}

/// One end-to-end key version's private key, wrapped again.
#[derive(Object)]
pub(crate) struct RewrappedKeyUpload {
    /// The key version (from `GET /v1/keys`).
    #[oai(validator(minimum(value = "1"), maximum(value = "4294967295")))]
    pub(crate) version: u32,
    /// The private key wrapped under a key derived from the new password
    /// (PBKDF2-SHA256 with `salt` and `iterations`): 32 to 512 bytes,
    /// unpadded base64url.
    pub(crate) wrapped_private_key: WrappedKeyText,
    /// The PBKDF2 salt: 16 to 64 bytes, unpadded base64url.
    pub(crate) salt: SaltText,
    /// PBKDF2-SHA256 iterations, 600 000 to 10 000 000.
    #[oai(validator(minimum(value = "600000"), maximum(value = "10000000")))]
    pub(crate) iterations: u32,
}

/// A password, to confirm who you are, and the second factor when the
/// account has two-factor sign-in on.
#[derive(Object)]
pub(crate) struct PasswordConfirmation {
    /// Your password.
    pub(crate) password: Password,
    /// The six-digit code of your authenticator app.
    pub(crate) totp: Option<TotpCode>,
    /// One of your recovery codes, instead of `totp`.
    pub(crate) recovery_code: Option<RecoveryCodeText>,
}

/// A newly created account.
#[derive(Object)]
pub(crate) struct Account {
    /// The account's id.
    id: Uuid,
    /// The account's username.
    username: String,
    /// When the account was created (RFC 3339, UTC).
    created_at: OffsetDateTime,
}

impl From<User> for Account {
    fn from(user: User) -> Self {
        Self {
            id: Uuid::from_u128(user.id.as_u128()),
            username: user.username,
            created_at: datetime(user.created_at),
        }
    }
}

/// A refresh token to exchange: in the body, or (for a web session) in
/// the `__Host-strongroom_refresh` cookie, with an empty body `{}`.
#[derive(Object)]
pub(crate) struct RefreshRequest {
    /// The refresh token from the last login or refresh (absent: the
    /// cookie's).
    pub(crate) refresh_token: Option<TokenText>,
}

/// A fresh token pair.
#[derive(Object)]
pub(crate) struct Tokens {
    /// Send as `Authorization: Bearer <access_token>`.
    access_token: SecretText,
    /// Exchange at `POST /v1/sessions/refresh` for a new pair; single use.
    /// Absent for a web session: it is in an HttpOnly cookie instead.
    #[oai(skip_serializing_if_is_none)]
    refresh_token: Option<SecretText>,
    /// Always `Bearer`.
    token_type: String,
    /// Seconds until the access token expires.
    expires_in: u64,
    /// Seconds until the refresh token expires.
    refresh_expires_in: u64,
}

impl Tokens {
    /// The pair with the refresh token left out (it travels in a cookie).
    pub(crate) fn without_refresh_token(mut self) -> Self {
        self.refresh_token = None;
        self
    }
}

impl From<TokenPair> for Tokens {
    fn from(pair: TokenPair) -> Self {
        Self {
            access_token: SecretText::from(&pair.access_token),
            refresh_token: Some(SecretText::from(&pair.refresh_token)),
            token_type: "Bearer".to_owned(),
            expires_in: pair.access_expires_in.as_secs(),
            refresh_expires_in: pair.refresh_expires_in.as_secs(),
        }
    }
}

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

/// The limits in force for an account.
#[derive(Object, Clone, Copy)]
pub(crate) struct QuotaInForce {
    /// Bytes of sealed messages it may have stored.
    pub(crate) max_bytes: u64,
    /// Messages it may have stored.
    pub(crate) max_records: u64,
    /// Writes per minute.
    pub(crate) writes_per_minute: u64,
}

/// An account's quota in force and what it uses.
#[derive(Object)]
pub(crate) struct QuotaView {
    /// The limits in force (the largest numbers mean: no limit).
    pub(crate) limits: QuotaInForce,
    /// Whether an admin set them for this account (else: the defaults).
    pub(crate) custom: bool,
    /// Sealed bytes of the messages it sent that are still stored.
    pub(crate) used_bytes: u64,
    /// Messages it sent that are still stored.
    pub(crate) used_records: u64,
}

impl From<QuotaStatus> for QuotaView {
    fn from(s: QuotaStatus) -> Self {
        Self {
            limits: QuotaInForce {
                max_bytes: s.quota.max_bytes,
                max_records: s.quota.max_records,
                writes_per_minute: u64::from(s.quota.writes_per_minute),
            },
            custom: s.custom,
            used_bytes: s.usage.bytes,
            used_records: s.usage.records,
        }
    }
}

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
    secret: SecretText,
}

impl From<NewApiKey> for ApiKeyCreated {
    fn from(k: NewApiKey) -> Self {
        Self {
            key: ApiKeyView::from(&k.info),
            secret: SecretText::from(&k.secret),
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
    /// Whether two-factor sign-in (TOTP) is on.
    pub(crate) two_factor: bool,
    /// The server's clock now: a client counts expiry down against it
    /// (its own clock may be off).
    pub(crate) server_time: time::OffsetDateTime,
    /// Seconds a message lives when sent without `ttl_seconds`.
    pub(crate) default_ttl_seconds: u64,
    /// The longest `ttl_seconds` a message may have.
    pub(crate) max_ttl_seconds: u64,
    /// The most bytes of UTF-8 a message (or a share link's secret) holds.
    pub(crate) max_message_bytes: u64,
}

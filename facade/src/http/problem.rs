//! RFC 9457 problem details: every 4xx and 5xx answer is
//! `application/problem+json` with `type`, `title`, `status` and `detail`;
//! engine errors map to problems here, and problems to each operation's
//! documented response variants.

use std::marker::PhantomData;

use poem::http::{StatusCode, header};
use poem::{IntoResponse, Response};
use poem_openapi::registry::{MetaHeader, MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiResponse, Object};
use strongroom_engine::credits::InsufficientCredits;
use strongroom_engine::{
    AccountError, ApiKeyError, AuthError, CreditsError, RecordError, ShareError, StorageError,
    TotpError,
};

/// The media type of every error answer.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error answer (RFC 9457 problem details).
#[derive(Object, Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[oai(example)]
pub struct Problem {
    /// A URI reference identifying the problem type (`about:blank`: the
    /// title is the HTTP status phrase).
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub ty: String,
    /// Short summary: the HTTP status phrase.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request, in plain words.
    pub detail: String,
    /// For a 402: the account's balance and what the refused action
    /// costs, in credits (written as the members `balance` and `cost`;
    /// the document's `Problem` schema lists them, see
    /// `spec::document_payment`).
    #[oai(skip)]
    #[serde(skip)]
    pub credits: Option<Box<(u64, u64)>>,
    /// For a 429: seconds until a retry can succeed (sent as
    /// `Retry-After`, not in the body).
    #[oai(skip)]
    #[serde(skip)]
    pub retry_after: Option<u64>,
    /// A 404 for an account that does not exist ([`Problem::unknown_user`]).
    #[oai(skip)]
    #[serde(skip)]
    unknown_user: bool,
}

impl Problem {
    /// A problem with this status and detail.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            ty: "about:blank".to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            credits: None,
            retry_after: None,
            unknown_user: false,
        }
    }

    /// A 404: no account has that name or id. Where an operation names
    /// no account but the caller's (it documents no 404), the account is
    /// the caller's own, deleted by a concurrent request after the
    /// credential was checked, and the operation answers 401 instead, as
    /// the credential is answered a moment later.
    pub fn unknown_user() -> Self {
        Self {
            unknown_user: true,
            ..Self::new(StatusCode::NOT_FOUND, "user not found")
        }
    }

    /// A 402: the account cannot pay for the action (nothing was done);
    /// the body names its `balance` and the action's `cost`.
    pub fn insufficient_credits(e: InsufficientCredits) -> Self {
        Self {
            credits: Some(Box::new((e.balance, e.cost))),
            ..Self::typed(
                StatusCode::PAYMENT_REQUIRED,
                INSUFFICIENT_CREDITS,
                "Insufficient credits",
                e.to_string(),
            )
        }
    }

    /// A problem of its own type (a `tag:` URI clients may match on) and
    /// title.
    pub fn typed(status: StatusCode, ty: &str, title: &str, detail: impl Into<String>) -> Self {
        Self {
            ty: ty.to_owned(),
            title: title.to_owned(),
            ..Self::new(status, detail)
        }
    }

    /// A 401 saying the password was right and a second factor must come
    /// with it (`totp` or `recovery_code`).
    pub fn second_factor_required() -> Self {
        Self::typed(
            StatusCode::UNAUTHORIZED,
            SECOND_FACTOR_REQUIRED,
            "Second factor required",
            "this account has two-factor sign-in on: send a `totp` code or a `recovery_code` \
             with the password",
        )
    }

    /// A 401 saying the second factor was wrong or used already.
    pub fn second_factor_invalid() -> Self {
        Self::typed(
            StatusCode::UNAUTHORIZED,
            SECOND_FACTOR_INVALID,
            "Second factor invalid",
            "the TOTP code or recovery code is wrong or was used already",
        )
    }

    /// A 429 that asks the client to wait `retry_after` seconds.
    pub fn throttled(retry_after: u64, detail: impl Into<String>) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, detail)
        }
    }

    /// A 503: the database refused a write for conflicting with others
    /// through every retry; nothing was written, and the same request may
    /// succeed after `Retry-After`.
    pub fn busy() -> Self {
        Self {
            retry_after: Some(1),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the database is busy with conflicting writes and nothing was written; \
                 retry after Retry-After seconds",
            )
        }
    }

    /// A 503 with `Retry-After`: the database gave no connection in time
    /// (down, unreachable, or every connection busy), and nothing was
    /// written.
    pub fn unavailable() -> Self {
        Self {
            retry_after: Some(5),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the database cannot be reached right now and nothing was written; \
                 retry after Retry-After seconds",
            )
        }
    }

    /// A 503 without `Retry-After`: this server's engine was opened
    /// read-only (an embedder serving a snapshot), so it answers reads
    /// and nothing it is asked to write will ever be written here.
    pub fn read_only() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "this server holds its store read-only, so nothing was written; \
             it answers reads only",
        )
    }

    /// A 507: the disk holding the database is full, and nothing was
    /// written; the same request succeeds once space is freed.
    pub fn full() -> Self {
        Self::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "the server's disk is full, so nothing was written; \
             the same request succeeds once space is freed",
        )
    }

    /// The status code as a `StatusCode`.
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// The problem type of a login (or confirmation) that needs a second
/// factor.
pub(crate) const SECOND_FACTOR_REQUIRED: &str = "tag:strongroom,2026:second-factor-required";
/// The problem type of a balance that cannot pay for an action.
pub(crate) const INSUFFICIENT_CREDITS: &str = "tag:strongroom,2026:insufficient-credits";
/// The problem type of a wrong or reused second factor.
pub(crate) const SECOND_FACTOR_INVALID: &str = "tag:strongroom,2026:second-factor-invalid";

impl poem_openapi::types::Example for Problem {
    fn example() -> Self {
        Self::new(StatusCode::NOT_FOUND, "message not found")
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({
            "type": self.ty,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        });
        if let Some((balance, cost)) = self.credits.as_deref() {
            body["balance"] = (*balance).into();
            body["cost"] = (*cost).into();
        }
        let mut response = Response::builder()
            .status(self.status_code())
            .content_type(PROBLEM_JSON)
            .body(body.to_string());
        if self.status == 401 {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        if let Some(wait) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(wait));
        }
        response
    }
}

/// Turns any error that escaped the handlers (poem-openapi's own parse
/// errors, unknown paths, wrong methods, failed auth) into a problem.
/// Server errors get a generic detail: internals never reach the client.
pub(crate) async fn from_error(err: poem::Error) -> Response {
    if let Some(ApiError(problem)) = err.downcast_ref::<ApiError>() {
        // An operation's own answer: as it was made (`Retry-After` too).
        return problem.clone().into_response();
    }
    if let Some(path) = err.downcast_ref::<poem_openapi::error::ParsePathError>() {
        // poem-openapi names path parameters `param0`, `param1`, … where
        // the spec names them; and every one of ours is text, which fails
        // only when its percent-decoded bytes are not UTF-8.
        let detail = if path.reason.contains("expects an input value") {
            "a path segment is not UTF-8 text once percent-decoded".to_owned()
        } else {
            format!("the path does not parse: {}", path.reason)
        };
        return Problem::new(StatusCode::BAD_REQUEST, detail).into_response();
    }
    if let Some(param) = err.downcast_ref::<poem_openapi::error::ParseParamError>()
        && let Some(what) = parameter_must_be(&param.reason)
    {
        let detail = format!("parameter `{}` must be {what}", param.name);
        return Problem::new(StatusCode::BAD_REQUEST, detail).into_response();
    }
    let status = err.status();
    let detail = if status.is_server_error() {
        tracing::error!(status = status.as_u16(), error = %err, "request failed");
        "internal error".to_owned()
    } else if status == StatusCode::UNAUTHORIZED {
        "missing, invalid or expired bearer token".to_owned()
    } else {
        err.to_string()
    };
    Problem::new(status, detail).into_response()
}

/// What a query or header parameter must be, in words, from
/// poem-openapi's reason for refusing it (which names its internal types:
/// `failed to parse "integer(uint64)": invalid digit found in string
/// (occurred while parsing "optional_integer(uint64)")`); `None` keeps
/// poem-openapi's words.
fn parameter_must_be(reason: &str) -> Option<String> {
    let bound = |name: &str| {
        let rest = &reason[reason.find(name)? + name.len()..];
        Some(rest.split([',', ')']).next()?.trim().to_owned())
    };
    if reason.contains("verification failed") {
        if let Some(low) = bound("minimum(") {
            return Some(format!("at least {low}"));
        }
        return bound("maximum(").map(|high| format!("at most {high}"));
    }
    let what = if reason.contains("\"integer(uint") {
        "a whole number, 0 or more"
    } else if reason.contains("\"integer(") {
        "a whole number"
    } else if reason.contains("\"string_uuid\"") {
        "a UUID"
    } else if reason.contains("\"string_date-time\"") {
        "an RFC 3339 date-time, such as 2026-12-01T00:00:00Z"
    } else if reason.contains("\"boolean\"") {
        "true or false"
    } else {
        return None;
    };
    Some(what.to_owned())
}

/// The error that carries a problem out of a handler when the operation
/// does not document its status (server errors): rendered by the same
/// catch-all as every other error.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.detail)]
pub(crate) struct ApiError(pub(crate) Problem);

impl poem::error::ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        self.0.status_code()
    }

    fn as_response(&self) -> Response {
        self.0.clone().into_response()
    }
}

/// One error status an operation documents.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ErrorStatus {
    /// The status code.
    pub(crate) status: u16,
    /// What it means for this operation (the spec's description).
    pub(crate) description: &'static str,
    /// Whether the answer carries `Retry-After`.
    pub(crate) retry_after: bool,
}

/// The error statuses of an operation, declared with [`errors!`]: the
/// type parameter of its [`Problems`].
pub(crate) trait Errors: Send + Sync + 'static {
    /// Its error statuses, in ascending order.
    const STATUSES: &'static [ErrorStatus];
}

/// An operation's error answer: a problem (`application/problem+json`)
/// with one of the statuses `E` documents; its OpenAPI responses are
/// exactly those, plus the 402 every metered operation may answer. A server error (5xx) that `E` does not list is answered
/// all the same, with a generic detail.
pub(crate) struct Problems<E>(Problem, PhantomData<fn() -> E>);

/// What an operation returns: its success response, or a problem it
/// documents.
pub(crate) type Answer<R, E> = Result<R, Problems<E>>;

impl<E: Errors> From<Problem> for Problems<E> {
    fn from(problem: Problem) -> Self {
        let documents = |status| E::STATUSES.iter().any(|s| s.status == status);
        let problem = if problem.unknown_user && !documents(404) {
            Problem::new(StatusCode::UNAUTHORIZED, "this account no longer exists")
        } else {
            problem
        };
        // 402 is documented on every operation a bearer token may call
        // (see `spec::document_payment`).
        debug_assert!(
            problem.status >= 500 || problem.status == 402 || documents(problem.status),
            "status {} is not documented for this operation: {}",
            problem.status,
            problem.detail
        );
        Self(problem, PhantomData)
    }
}

/// A poem error inside a handler (a blocking task that failed) becomes
/// the problem it carries, or a generic one.
impl<E> From<poem::Error> for Problems<E> {
    fn from(err: poem::Error) -> Self {
        let problem = match err.downcast_ref::<ApiError>() {
            Some(ApiError(problem)) => problem.clone(),
            None if err.status().is_server_error() => internal("request", &err),
            None => Problem::new(err.status(), err.to_string()),
        };
        Self(problem, PhantomData)
    }
}

impl<E> From<Problems<E>> for poem::Error {
    fn from(problems: Problems<E>) -> Self {
        ApiError(problems.0).into()
    }
}

impl<E: Errors> ApiResponse for Problems<E> {
    fn meta() -> MetaResponses {
        let responses = E::STATUSES
            .iter()
            .map(|s| MetaResponse {
                description: s.description,
                status: Some(s.status),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: PROBLEM_JSON,
                    schema: Problem::schema_ref(),
                }],
                headers: match s.retry_after {
                    true => vec![MetaHeader {
                        name: "RETRY-AFTER".to_owned(),
                        description: None,
                        required: true,
                        deprecated: false,
                        schema: u64::schema_ref(),
                    }],
                    false => Vec::new(),
                },
            })
            .collect();
        MetaResponses { responses }
    }

    fn register(registry: &mut Registry) {
        Problem::register(registry);
    }
}

impl<E: Send> IntoResponse for Problems<E> {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

/// Declares an operation's error statuses: a unit type implementing
/// [`Errors`], for its [`Problems`]. `retry` marks a status whose answer
/// carries `Retry-After`:
///
/// ```ignore
/// errors! {
///     StoreErrors {
///         400 => "Message too long, or ttl out of range.",
///         401 => says::UNAUTHORIZED,
///         429 retry => says::WRITES_THROTTLED,
///     }
/// }
/// ```
macro_rules! errors {
    ($(#[$meta:meta])* $name:ident { $($status:literal $($retry:ident)? => $description:expr),* $(,)? }) => {
        $(#[$meta])*
        pub(crate) struct $name;

        impl $crate::http::problem::Errors for $name {
            const STATUSES: &'static [$crate::http::problem::ErrorStatus] = &[$(
                $crate::http::problem::ErrorStatus {
                    status: $status,
                    description: $description,
                    retry_after: $crate::http::problem::errors!(@retry $($retry)?),
                }
            ),*];
        }
    };
    (@retry retry) => { true };
    (@retry) => { false };
}
pub(crate) use errors;

/// Answers `problem` as an operation's documented error.
pub(crate) fn answer<R, E: Errors>(problem: Problem) -> Answer<R, E> {
    Err(problem.into())
}

/// The value of a `Result<T, Problem>`, or an early return that answers
/// its problem as the operation's documented error.
macro_rules! or_answer {
    ($result:expr) => {
        match $result {
            Ok(value) => value,
            Err(problem) => return $crate::http::problem::answer(problem),
        }
    };
}
pub(crate) use or_answer;

/// The descriptions several operations share.
pub(crate) mod says {
    /// 401 of every operation that needs a bearer token.
    pub(crate) const UNAUTHORIZED: &str = "Missing, invalid or expired bearer token.";
    /// 403 of the admin operations.
    pub(crate) const NOT_ADMIN: &str =
        "The credential lacks the `admin` scope (only admins hold it).";
    /// 403 of reads.
    pub(crate) const LACKS_READ: &str = "The credential lacks the `messages:read` scope.";
    /// 403 of writes.
    pub(crate) const LACKS_WRITE: &str = "The credential lacks the `messages:write` scope.";
    /// 403 of streams.
    pub(crate) const LACKS_EVENTS: &str = "The credential lacks the `events:read` scope.";
    /// 403 of what a person's session must do itself.
    pub(crate) const API_KEY: &str = "The request came with an API key.";
    /// 403 of logins.
    pub(crate) const DISABLED: &str = "The account is disabled.";
    /// 404 of admin operations on an account.
    pub(crate) const NO_ACCOUNT: &str = "No such account.";
    /// 404 of a message's operations.
    pub(crate) const NO_MESSAGE: &str =
        "No such message for the caller (absent, expired, or someone else's).";
    /// 409 of account creation.
    pub(crate) const TAKEN: &str = "The username is taken.";
    /// 409 of what would leave no enabled admin.
    pub(crate) const LAST_ADMIN: &str =
        "The last enabled admin cannot be demoted, disabled or deleted.";
    /// 429 of writes.
    pub(crate) const WRITES_THROTTLED: &str =
        "Over the caller's writes per minute; retry after `Retry-After`\nseconds.";
}

/// A 500 whose cause is logged, never shown.
pub(crate) fn internal(what: &str, err: &dyn std::fmt::Display) -> Problem {
    tracing::error!(error = %err, "{what} failed");
    Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}

/// An engine error that may be a storage failure (the engine's
/// `storage_error`).
pub(crate) trait StorageFailure: std::fmt::Display {
    /// The storage failure it is, if it is one.
    fn storage(&self) -> Option<&StorageError>;
}

macro_rules! storage_failure {
    ($($error:ty),*) => {$(
        impl StorageFailure for $error {
            fn storage(&self) -> Option<&StorageError> {
                self.storage_error()
            }
        }
    )*};
}
storage_failure!(
    RecordError,
    AccountError,
    ShareError,
    AuthError,
    TotpError,
    CreditsError,
    ApiKeyError,
    strongroom_engine::PasskeyError,
    strongroom_engine::E2eKeyError
);

/// An engine error no caller could have avoided: a 503 with
/// `Retry-After` when the database was busy ([`Problem::busy`]) or gave
/// no connection ([`Problem::unavailable`]), a 507 when its disk was full
/// ([`Problem::full`]), else a 500 as [`internal`].
pub(crate) fn server_error(what: &str, err: &impl StorageFailure) -> Problem {
    match err.storage() {
        Some(StorageError::Busy) => {
            tracing::warn!("{what} found the database busy with conflicting writes");
            Problem::busy()
        }
        Some(StorageError::Full) => {
            tracing::error!("{what} refused: the disk holding the database is full");
            Problem::full()
        }
        Some(StorageError::ReadOnly) => Problem::read_only(),
        Some(StorageError::Unavailable(why)) => {
            tracing::error!(cause = %why, "{what} refused: the database gave no connection in time");
            Problem::unavailable()
        }
        _ => internal(what, err),
    }
}

pub(crate) fn record_problem(err: RecordError) -> Problem {
    match err {
        RecordError::NotFound => Problem::new(StatusCode::NOT_FOUND, "message not found"),
        RecordError::UnknownUser => Problem::unknown_user(),
        RecordError::TtlOutOfRange { max_secs } => Problem::new(
            StatusCode::BAD_REQUEST,
            format!("ttl_seconds must be between 1 and {max_secs}"),
        ),
        RecordError::TooLarge { max } => Problem::new(
            StatusCode::BAD_REQUEST,
            format!("message must be at most {max} bytes of UTF-8"),
        ),
        RecordError::QuotaExceeded { what, used, limit } => Problem::new(
            StatusCode::FORBIDDEN,
            format!("quota exceeded: {used} of {limit} {what} in use"),
        ),
        RecordError::Credits(e) => Problem::insufficient_credits(e),
        RecordError::InvalidLimit { max } => Problem::new(
            StatusCode::BAD_REQUEST,
            format!("limit must be between 1 and {max}"),
        ),
        // Well-formed but never issued: no such page.
        RecordError::InvalidCursor => Problem::new(
            StatusCode::NOT_FOUND,
            "cursor not found: it is not a next_cursor this server issued",
        ),
        // Which decryption step failed is never revealed.
        other => server_error("record operation", &other),
    }
}

pub(crate) fn account_problem(err: AccountError) -> Problem {
    match err {
        AccountError::InvalidUsername | AccountError::InvalidPassword => {
            Problem::new(StatusCode::BAD_REQUEST, err.to_string())
        }
        AccountError::UsernameTaken => Problem::new(StatusCode::CONFLICT, "username is taken"),
        AccountError::NotFound => Problem::unknown_user(),
        AccountError::LastAdmin
        | AccountError::KeysNotRewrapped { .. }
        | AccountError::SamePassword => Problem::new(StatusCode::CONFLICT, err.to_string()),
        AccountError::InvalidRewrappedKey(_) => {
            Problem::new(StatusCode::BAD_REQUEST, err.to_string())
        }
        AccountError::WrongPassword => {
            Problem::new(StatusCode::UNAUTHORIZED, "the password is wrong")
        }
        AccountError::SecondFactorRequired => Problem::second_factor_required(),
        AccountError::InvalidSecondFactor => Problem::second_factor_invalid(),
        other => server_error("account operation", &other),
    }
}

/// Opening says only 404 (never existed, malformed, purged) or 410 (was
/// there, cannot be opened any more), never which kind of gone.
pub(crate) fn share_problem(err: ShareError) -> Problem {
    match err {
        ShareError::NotFound => Problem::new(StatusCode::NOT_FOUND, "share not found"),
        ShareError::Gone => Problem::new(StatusCode::GONE, "this share is no longer available"),
        ShareError::WrongPassphrase => {
            Problem::new(StatusCode::UNAUTHORIZED, "wrong or missing passphrase")
        }
        ShareError::TtlOutOfRange { .. }
        | ShareError::InvalidViews { .. }
        | ShareError::InvalidContent { .. }
        | ShareError::InvalidPassphrase => Problem::new(StatusCode::BAD_REQUEST, err.to_string()),
        ShareError::QuotaExceeded { .. } => Problem::new(StatusCode::FORBIDDEN, err.to_string()),
        ShareError::FileNotFound => Problem::new(StatusCode::NOT_FOUND, "file not found"),
        ShareError::UnknownUser => Problem::unknown_user(),
        ShareError::Credits(e) => Problem::insufficient_credits(e),
        other => server_error("share operation", &other),
    }
}

pub(crate) fn auth_problem(err: AuthError) -> Problem {
    match err {
        AuthError::InvalidCredentials => {
            Problem::new(StatusCode::UNAUTHORIZED, "invalid username or password")
        }
        AuthError::InvalidToken => {
            Problem::new(StatusCode::UNAUTHORIZED, "invalid or expired token")
        }
        AuthError::Disabled => Problem::new(StatusCode::FORBIDDEN, "this account is disabled"),
        AuthError::RefreshTokenReused => Problem::new(
            StatusCode::UNAUTHORIZED,
            "refresh token was already used; the session has been revoked",
        ),
        AuthError::SecondFactorRequired => Problem::second_factor_required(),
        AuthError::InvalidSecondFactor => Problem::second_factor_invalid(),
        other => server_error("authentication", &other),
    }
}

pub(crate) fn totp_problem(err: TotpError) -> Problem {
    match err {
        TotpError::AlreadyEnabled | TotpError::NotPending | TotpError::NotEnabled => {
            Problem::new(StatusCode::CONFLICT, err.to_string())
        }
        TotpError::InvalidCode => Problem::second_factor_invalid(),
        TotpError::NotFound => Problem::unknown_user(),
        other => server_error("two-factor operation", &other),
    }
}

pub(crate) fn credits_problem(err: CreditsError) -> Problem {
    match err {
        CreditsError::Insufficient(e) => Problem::insufficient_credits(e),
        CreditsError::UnknownUser => Problem::unknown_user(),
        CreditsError::InvalidAmount
        | CreditsError::InvalidReason
        | CreditsError::InvalidLimit { .. } => {
            Problem::new(StatusCode::BAD_REQUEST, err.to_string())
        }
        CreditsError::Disabled => Problem::new(StatusCode::CONFLICT, err.to_string()),
        other => server_error("credits operation", &other),
    }
}

pub(crate) fn api_key_problem(err: ApiKeyError) -> Problem {
    match err {
        ApiKeyError::InvalidName | ApiKeyError::NoScopes | ApiKeyError::InvalidExpiry => {
            Problem::new(StatusCode::BAD_REQUEST, err.to_string())
        }
        // A valid request the account's state refuses.
        ApiKeyError::TooMany { .. } => Problem::new(StatusCode::CONFLICT, err.to_string()),
        ApiKeyError::ExceedsRole(scope) => Problem::new(
            StatusCode::FORBIDDEN,
            format!("scope `{scope}` exceeds what your role allows"),
        ),
        ApiKeyError::NotFound => Problem::new(StatusCode::NOT_FOUND, "api key not found"),
        ApiKeyError::UnknownUser => Problem::unknown_user(),
        other => server_error("api key operation", &other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strongroom_engine::StorageError;

    errors! {
        NamesAUser { 401 => "", 404 => "" }
    }
    errors! {
        NamesOnlyTheCaller { 401 => "" }
    }

    #[test]
    fn an_unknown_user_is_the_callers_own_account_where_no_other_is_named() {
        let named: Problems<NamesAUser> = account_problem(AccountError::NotFound).into();
        assert_eq!(
            (named.0.status, named.0.detail.as_str()),
            (404, "user not found")
        );
        let own: Problems<NamesOnlyTheCaller> = api_key_problem(ApiKeyError::UnknownUser).into();
        assert_eq!(
            (own.0.status, own.0.detail.as_str()),
            (401, "this account no longer exists")
        );
        // Only an unknown user: another 404 is left as it is (and a debug
        // build's assertion catches it if undocumented).
        let named: Problems<NamesAUser> = api_key_problem(ApiKeyError::NotFound).into();
        assert_eq!(named.0.detail, "api key not found");
    }

    #[test]
    fn a_busy_database_is_a_503_to_retry_and_other_storage_failures_a_500() {
        let busy = record_problem(RecordError::Storage(StorageError::Busy));
        assert_eq!((busy.status, busy.retry_after), (503, Some(1)));
        let response = busy.clone().into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        // Through another error that holds it, too.
        let busy = credits_problem(CreditsError::Storage(StorageError::Busy));
        assert_eq!(busy.status, 503);
        let other = record_problem(RecordError::Storage(StorageError::InUse));
        assert_eq!((other.status, other.retry_after), (500, None));
        assert_eq!(other.detail, "internal error");
    }

    #[test]
    fn a_full_disk_is_a_507_that_says_so() {
        let full = record_problem(RecordError::Storage(StorageError::Full));
        assert_eq!(full.status, 507);
        assert_eq!(
            full.detail,
            "the server's disk is full, so nothing was written; \
             the same request succeeds once space is freed"
        );
        for full in [
            account_problem(AccountError::Storage(StorageError::Full)),
            share_problem(ShareError::Storage(StorageError::Full)),
            credits_problem(CreditsError::Storage(StorageError::Full)),
        ] {
            assert_eq!(full.status, 507);
        }
    }

    #[test]
    fn a_database_that_gives_no_connection_is_a_503_to_retry_never_with_why() {
        let why = "timed out waiting for connection: error connecting to server";
        let down = StorageError::Unavailable(why.to_owned());
        let answer = server_error("authentication", &AuthError::Storage(down.clone()));
        assert_eq!((answer.status, answer.retry_after), (503, Some(5)));
        assert!(!answer.detail.contains("timed out"), "{}", answer.detail);
        let busy = server_error("a write", &RecordError::Storage(StorageError::Busy));
        assert_eq!((busy.status, busy.retry_after), (503, Some(1)));
        let other = server_error("a write", &RecordError::Storage(StorageError::InUse));
        assert_eq!(
            (other.status, other.detail.as_str()),
            (500, "internal error")
        );
        assert_eq!(record_problem(RecordError::Storage(down)).status, 503);
    }

    #[test]
    fn parameter_reasons_are_put_in_words() {
        let cases = [
            (
                r#"failed to parse "integer(uint64)": invalid digit found in string (occurred while parsing "optional_integer(uint64)")"#,
                Some("a whole number, 0 or more"),
            ),
            (
                r#"failed to parse "string_uuid": invalid character: found `z` at 0 (occurred while parsing "optional_string_uuid")"#,
                Some("a UUID"),
            ),
            (
                r#"failed to parse "string_date-time": the 'year' component could not be parsed (occurred while parsing "optional_string_date-time")"#,
                Some("an RFC 3339 date-time, such as 2026-12-01T00:00:00Z"),
            ),
            (
                "verification failed. minimum(1, exclusive: false)",
                Some("at least 1"),
            ),
            (
                "verification failed. maximum(500, exclusive: false)",
                Some("at most 500"),
            ),
            ("verification failed. maxLength(64)", None),
            ("something else entirely", None),
        ];
        for (reason, words) in cases {
            assert_eq!(parameter_must_be(reason).as_deref(), words, "{reason}");
        }
    }
}

//! Mapping engine errors to problems, and problems to each operation's
//! documented response variants.

use poem::http::StatusCode;
use strongroom_engine::{AccountError, AuthError, RecordError};

use crate::problem::Problem;

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

    fn as_response(&self) -> poem::Response {
        poem::IntoResponse::into_response(self.0.clone())
    }
}

/// An operation response that can carry some problems as documented variants.
pub(crate) trait FromProblem: Sized {
    /// The documented variant for this problem, or the problem back.
    fn from_problem(problem: Problem) -> Result<Self, Problem>;
}

/// Answers `problem` as `R`'s documented variant, or as an error.
pub(crate) fn answer<R: FromProblem>(problem: Problem) -> poem::Result<R> {
    R::from_problem(problem).map_err(|p| ApiError(p).into())
}

/// Implements [`FromProblem`] by status code.
macro_rules! problem_variants {
    ($ty:ty { $($status:literal => $variant:ident),* $(,)? }) => {
        impl $crate::responses::FromProblem for $ty {
            fn from_problem(p: $crate::problem::Problem) -> Result<Self, $crate::problem::Problem> {
                match p.status {
                    $($status => Ok(Self::$variant(poem_openapi::payload::Json(p))),)*
                    _ => Err(p),
                }
            }
        }
    };
}
pub(crate) use problem_variants;

fn internal(what: &str, err: &dyn std::fmt::Display) -> Problem {
    tracing::error!(error = %err, "{what} failed");
    Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}

pub(crate) fn record_problem(err: RecordError) -> Problem {
    match err {
        RecordError::NotFound => Problem::new(StatusCode::NOT_FOUND, "message not found"),
        RecordError::UnknownUser => Problem::new(StatusCode::NOT_FOUND, "user not found"),
        RecordError::TtlOutOfRange { max_secs } => Problem::new(
            StatusCode::BAD_REQUEST,
            format!("ttl_seconds must be between 1 and {max_secs}"),
        ),
        RecordError::TooLarge { max } => Problem::new(
            StatusCode::BAD_REQUEST,
            format!("message must be at most {max} bytes of UTF-8"),
        ),
        RecordError::InvalidLimit { max } => Problem::new(
            StatusCode::BAD_REQUEST,
            format!("limit must be between 1 and {max}"),
        ),
        // Which decryption step failed is never revealed.
        other => internal("record operation", &other),
    }
}

pub(crate) fn account_problem(err: AccountError) -> Problem {
    match err {
        AccountError::InvalidUsername | AccountError::InvalidPassword => {
            Problem::new(StatusCode::BAD_REQUEST, err.to_string())
        }
        AccountError::UsernameTaken => Problem::new(StatusCode::CONFLICT, "username is taken"),
        AccountError::NotFound => Problem::new(StatusCode::NOT_FOUND, "user not found"),
        other => internal("account operation", &other),
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
        AuthError::RefreshTokenReused => Problem::new(
            StatusCode::UNAUTHORIZED,
            "refresh token was already used; the session has been revoked",
        ),
        other => internal("authentication", &other),
    }
}

//! RFC 9457 problem details: every 4xx and 5xx answer is
//! `application/problem+json` with `type`, `title`, `status` and `detail`.

use poem::http::{StatusCode, header};
use poem::{IntoResponse, Response};
use poem_openapi::Object;

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
}

impl Problem {
    /// A problem with this status and detail.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            ty: "about:blank".to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
        }
    }

    /// The status code as a `StatusCode`.
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl poem_openapi::types::Example for Problem {
    fn example() -> Self {
        Self::new(StatusCode::NOT_FOUND, "message not found")
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "type": self.ty,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        });
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
        response
    }
}

/// Turns any error that escaped the handlers (poem-openapi's own parse
/// errors, unknown paths, wrong methods, failed auth) into a problem.
/// Server errors get a generic detail: internals never reach the client.
pub(crate) async fn from_error(err: poem::Error) -> Response {
    let status = err.status();
    let detail = if status.is_server_error() {
        tracing::error!(status = status.as_u16(), error = %err, "request failed");
        "internal error".to_owned()
    } else if status == StatusCode::UNAUTHORIZED {
        "missing, invalid or expired bearer token".to_owned()
    } else {
        err.to_string()
    };
    let mut response = Problem::new(status, detail).into_response();
    if let Some(retry) = err.data::<RetryAfter>() {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, retry.0.into());
    }
    response
}

/// Seconds a rate-limited client should wait, carried on a 429 error.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RetryAfter(pub(crate) u64);

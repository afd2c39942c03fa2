//! Reads every request body before a handler sees it: at most a size limit
//! (413, whether or not the client sent `Content-Length`), within a time
//! limit (408: a client trickling its body cannot hold a connection and a
//! handler open).

use std::time::Duration;

use poem::http::{StatusCode, header};
use poem::{Body, IntoResponse, Request, Response};

use crate::http::problem::{self, Problem};

pub(crate) struct BodyLimit {
    pub(crate) max: usize,
    pub(crate) timeout: Duration,
}

impl BodyLimit {
    /// Reads `req`'s body into memory within the limits, or answers the
    /// request instead.
    pub(crate) async fn admit(&self, req: &mut Request) -> Result<(), Response> {
        let too_large = || {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body is larger than {} bytes", self.max),
            )
            .into_response()
        };
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > self.max as u64) {
            return Err(too_large());
        }
        // No body at all (most GETs): nothing to read.
        let chunked = req.headers().contains_key(header::TRANSFER_ENCODING);
        if declared.unwrap_or(0) == 0 && !chunked {
            return Ok(());
        }
        let body = req.take_body();
        match tokio::time::timeout(self.timeout, body.into_bytes_limit(self.max)).await {
            Ok(Ok(bytes)) => {
                req.set_body(Body::from_bytes(bytes));
                Ok(())
            }
            Ok(Err(poem::error::ReadBodyError::PayloadTooLarge)) => Err(too_large()),
            Ok(Err(e)) => Err(problem::from_error(e.into()).await),
            Err(_) => Err(Problem::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "request body not received within {} s",
                    self.timeout.as_secs()
                ),
            )
            .into_response()),
        }
    }
}

//! Reads every request body before a handler sees it, whatever the
//! protocol (HTTP/1.1 or HTTP/2, plain or TLS): at most a size limit (413,
//! whether or not the client sent `Content-Length`), within a time limit
//! (408: a client trickling its body cannot hold a connection and a
//! handler open).

use std::time::Duration;

use poem::http::{StatusCode, header};
use poem::{Body, IntoResponse, Request, Response};

use crate::http::problem::{self, Problem};
use crate::wire::zeroized;

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
        // Skipped only when the body is known to be empty: the protocol
        // says so (HTTP/1 without Content-Length or Transfer-Encoding, an
        // HTTP/2 stream ended with its headers, Content-Length: 0). An
        // HTTP/2 body has no Transfer-Encoding and need not declare a
        // length, so those headers alone would let it skip the limit.
        let body = req.take_body();
        if body.is_empty() {
            req.set_body(body);
            return Ok(());
        }
        match tokio::time::timeout(self.timeout, body.into_bytes_limit(self.max)).await {
            Ok(Ok(bytes)) => {
                // Bodies hold passwords and message text: the copy the
                // handler reads is zeroized when dropped.
                req.set_body(Body::from_bytes(zeroized::copy_of(bytes)));
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

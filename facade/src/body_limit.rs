//! Reads every request body before a handler sees it: at most a size limit
//! (413, whether or not the client sent `Content-Length`), within a time
//! limit (408: a client trickling its body cannot hold a connection and a
//! handler open).

use std::time::Duration;

use poem::http::{StatusCode, header};
use poem::{Body, Endpoint, IntoResponse, Middleware, Request, Response};

use crate::problem::Problem;

pub(crate) struct BodyLimit {
    pub(crate) max: usize,
    pub(crate) timeout: Duration,
}

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        BodyLimitEndpoint {
            inner,
            max: self.max,
            timeout: self.timeout,
        }
    }
}

pub(crate) struct BodyLimitEndpoint<E> {
    inner: E,
    max: usize,
    timeout: Duration,
}

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
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
            return Ok(too_large());
        }
        // No body at all (most GETs): nothing to read.
        let chunked = req.headers().contains_key(header::TRANSFER_ENCODING);
        if declared.unwrap_or(0) == 0 && !chunked {
            return self.inner.call(req).await.map(IntoResponse::into_response);
        }
        let body = req.take_body();
        match tokio::time::timeout(self.timeout, body.into_bytes_limit(self.max)).await {
            Ok(Ok(bytes)) => req.set_body(Body::from_bytes(bytes)),
            Ok(Err(poem::error::ReadBodyError::PayloadTooLarge)) => return Ok(too_large()),
            Ok(Err(e)) => return Err(e.into()),
            Err(_) => {
                return Ok(Problem::new(
                    StatusCode::REQUEST_TIMEOUT,
                    format!(
                        "request body not received within {} s",
                        self.timeout.as_secs()
                    ),
                )
                .into_response());
            }
        }
        self.inner.call(req).await.map(IntoResponse::into_response)
    }
}

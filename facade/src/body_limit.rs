//! Refuses request bodies over a size limit with 413, whether or not the
//! client sent `Content-Length` (chunked bodies are read up to the limit).

use poem::http::{StatusCode, header};
use poem::{Body, Endpoint, IntoResponse, Middleware, Request, Response};

use crate::problem::Problem;

pub(crate) struct BodyLimit(pub(crate) usize);

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        BodyLimitEndpoint { inner, max: self.0 }
    }
}

pub(crate) struct BodyLimitEndpoint<E> {
    inner: E,
    max: usize,
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
        match declared {
            Some(len) if len > self.max as u64 => return Ok(too_large()),
            Some(_) => {}
            None => {
                let body = req.take_body();
                match body.into_bytes_limit(self.max).await {
                    Ok(bytes) => req.set_body(Body::from_bytes(bytes)),
                    Err(poem::error::ReadBodyError::PayloadTooLarge) => return Ok(too_large()),
                    Err(e) => return Err(e.into()),
                }
            }
        }
        self.inner.call(req).await.map(IntoResponse::into_response)
    }
}

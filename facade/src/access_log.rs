//! One log line per request: method, path (never the query string, which
//! may carry a ticket), status and latency. Headers are never logged.

use std::time::Instant;

use poem::{Endpoint, IntoResponse, Middleware, Request, Response};

pub(crate) struct AccessLog;

impl<E: Endpoint> Middleware<E> for AccessLog {
    type Output = AccessLogEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        AccessLogEndpoint { inner }
    }
}

pub(crate) struct AccessLogEndpoint<E> {
    inner: E,
}

impl<E: Endpoint> Endpoint for AccessLogEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let start = Instant::now();
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let client = req.remote_addr().to_string();
        let response = self.inner.call(req).await.map(IntoResponse::into_response);
        let status = match &response {
            Ok(r) => r.status().as_u16(),
            Err(e) => e.status().as_u16(),
        };
        tracing::debug!(
            %method,
            path,
            status,
            client,
            micros = start.elapsed().as_micros() as u64,
            "request"
        );
        response
    }
}

//! Request metrics: a counter by route, method and status, and a latency
//! histogram by route and method. The route is the matched path template
//! (`/v1/messages/:id`), never the raw path, so labels stay few.

use std::time::Instant;

use poem::PathPattern;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};

pub(crate) struct RequestMetrics;

impl<E: Endpoint> Middleware<E> for RequestMetrics {
    type Output = RequestMetricsEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        RequestMetricsEndpoint { inner }
    }
}

pub(crate) struct RequestMetricsEndpoint<E> {
    inner: E,
}

impl<E: Endpoint> Endpoint for RequestMetricsEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let start = Instant::now();
        let method = req.method().as_str().to_owned();
        let response = match self.inner.call(req).await {
            Ok(r) => r.into_response(),
            Err(e) => e.into_response(),
        };
        let route = response
            .data::<PathPattern>()
            .map_or_else(|| "unmatched".to_owned(), |p| p.0.to_string());
        let status = response.status().as_u16().to_string();
        metrics::counter!(
            "strongroom_http_requests_total",
            "route" => route.clone(),
            "method" => method.clone(),
            "status" => status
        )
        .increment(1);
        metrics::histogram!(
            "strongroom_http_request_duration_seconds",
            "route" => route,
            "method" => method
        )
        .record(start.elapsed().as_secs_f64());
        Ok(response)
    }
}

//! The frame around every request, in one middleware: it decides the
//! client address (the peer, or what a trusted proxy says), sets the
//! headers every API answer carries — `Cache-Control: no-store` (answers
//! hold tokens, tickets and message text), `X-Content-Type-Options:
//! nosniff`, `Strict-Transport-Security` when serving over TLS, and
//! `Allow` on a 405 — records request metrics (by matched route template,
//! never the raw path) and, at debug level, logs one line per request
//! (never the query string, which may carry a ticket). One layer rather than several: each
//! poem layer moves the request and its inner future once more, which a
//! request pays whatever it does.

use std::sync::Arc;
use std::time::Instant;

use ipnet::IpNet;
use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{Endpoint, IntoResponse, Middleware, PathPattern, Request, Response};

use crate::http::client::{self, ClientAddress};
use crate::http::headers::{Routes, allowed, template};
use crate::http::log_text::escaped;

/// `Strict-Transport-Security`: one year, subdomains included.
const HSTS: HeaderValue = HeaderValue::from_static("max-age=31536000; includeSubDomains");

#[derive(Clone)]
pub(crate) struct Frame {
    pub(crate) trusted: Arc<Vec<IpNet>>,
    pub(crate) routes: Routes,
    /// Whether to send `Strict-Transport-Security`.
    pub(crate) hsts: bool,
}

impl<E: Endpoint> Middleware<E> for Frame {
    type Output = FrameEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        FrameEndpoint {
            inner,
            frame: self.clone(),
        }
    }
}

pub(crate) struct FrameEndpoint<E> {
    inner: E,
    frame: Frame,
}

impl<E: Endpoint> Endpoint for FrameEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let start = Instant::now();
        let frame = &self.frame;
        let address = client::resolve(client::peer(&req), req.headers(), &frame.trusted);
        req.set_data(ClientAddress(address));
        let method = req.method().clone();
        // A cheap clone (shared bytes): the path, for `Allow` and the log.
        let uri = req.uri().clone();
        let mut response = match self.inner.call(req).await {
            Ok(r) => r.into_response(),
            Err(e) => e.into_response(),
        };
        let status = response.status();
        let headers = response.headers_mut();
        headers
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        if frame.hsts {
            headers.insert(header::STRICT_TRANSPORT_SECURITY, HSTS);
        }
        if status == StatusCode::METHOD_NOT_ALLOWED {
            let methods = allowed(&frame.routes, uri.path());
            let list: Vec<&str> = methods.iter().map(Method::as_str).collect();
            if let Ok(value) = HeaderValue::from_str(&list.join(", ")) {
                headers.insert(header::ALLOW, value);
            }
        }
        // The route's template, never the path: a share link's path is its
        // secret. A request answered before routing (413, 415, 405) is
        // named by the template its path falls under, else "unmatched".
        let route: Option<Arc<str>> = match response.data::<PathPattern>() {
            Some(pattern) => Some(pattern.0.clone()),
            None => template(&frame.routes, uri.path()),
        };
        record(route.clone(), &method, status, start);
        if tracing::enabled!(tracing::Level::DEBUG) {
            tracing::debug!(
                %method,
                path = %escaped(route.as_deref().unwrap_or("unmatched")),
                status = status.as_u16(),
                client = %address,
                micros = start.elapsed().as_micros() as u64,
                "request"
            );
        }
        Ok(response)
    }
}

/// Counts the request and its latency, labelled without allocating on
/// the common paths.
fn record(route: Option<Arc<str>>, method: &Method, status: StatusCode, start: Instant) {
    let route: metrics::SharedString = match route {
        Some(route) => route.into(),
        None => "unmatched".into(),
    };
    let method = static_method(method);
    let status = static_status(status);
    metrics::counter!(
        "strongroom_http_requests_total",
        "route" => route.clone(),
        "method" => method,
        "status" => status
    )
    .increment(1);
    metrics::histogram!(
        "strongroom_http_request_duration_seconds",
        "route" => route,
        "method" => method
    )
    .record(start.elapsed().as_secs_f64());
}

fn static_method(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::HEAD => "HEAD",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

fn static_status(status: StatusCode) -> metrics::SharedString {
    const KNOWN: [(u16, &str); 16] = [
        (200, "200"),
        (201, "201"),
        (204, "204"),
        (303, "303"),
        (400, "400"),
        (401, "401"),
        (403, "403"),
        (404, "404"),
        (405, "405"),
        (408, "408"),
        (409, "409"),
        (410, "410"),
        (413, "413"),
        (415, "415"),
        (429, "429"),
        (500, "500"),
    ];
    match KNOWN.iter().find(|(code, _)| *code == status.as_u16()) {
        Some((_, text)) => (*text).into(),
        None => status.as_u16().to_string().into(),
    }
}

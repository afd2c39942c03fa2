//! Cross-origin requests, when origins are configured: poem's `Cors`
//! answers preflights and adds the allow headers for the listed origins,
//! and refuses other cross-origin requests. A request from the server's
//! own origin is not cross-origin: the built-in web client and share page
//! (their module scripts and their POSTs carry `Origin`) pass straight
//! through, whatever the list says. Every answer carries `Vary: Origin`,
//! so a cache never serves one origin's answer to another.

use std::sync::Arc;

use poem::http::{HeaderValue, Method, header};
use poem::middleware::Cors;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};

use crate::http::problem;

/// The CORS layer: the allowed origins, and the server's public origin if
/// one was given (else the request's own scheme and host).
pub(crate) struct CrossOrigin {
    origins: Vec<String>,
    public_origin: Option<String>,
}

impl CrossOrigin {
    /// The layer for these allowed origins; `None` when there are none
    /// (poem's `Cors` with no origin would allow every origin).
    pub(crate) fn new(origins: &[String], public_url: Option<&str>) -> Option<Self> {
        (!origins.is_empty()).then(|| Self {
            origins: origins.to_vec(),
            public_origin: public_url.and_then(origin_of),
        })
    }

    fn cors(&self) -> Cors {
        Cors::new()
            .allow_origins(self.origins.iter().map(String::as_str))
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
            .allow_headers(["authorization", "content-type", "last-event-id"])
            .expose_headers(["retry-after", "location"])
            .max_age(600)
    }
}

impl<E: Endpoint + 'static> Middleware<E> for CrossOrigin {
    type Output = CrossOriginEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        let inner = Arc::new(ep);
        CrossOriginEndpoint {
            checked: self.cors().transform(inner.clone()),
            inner,
            public_origin: self.public_origin.clone(),
        }
    }
}

pub(crate) struct CrossOriginEndpoint<E: Endpoint + 'static> {
    inner: Arc<E>,
    checked: <Cors as Middleware<Arc<E>>>::Output,
    public_origin: Option<String>,
}

impl<E: Endpoint + 'static> Endpoint for CrossOriginEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        let same = match req.headers().get(header::ORIGIN) {
            None => true,
            Some(origin) => is_same_origin(&req, origin, self.public_origin.as_deref()),
        };
        let answer = if same {
            self.inner.call(req).await.map(IntoResponse::into_response)
        } else {
            self.checked
                .call(req)
                .await
                .map(IntoResponse::into_response)
        };
        // A refusal is answered here (as a problem), so it varies too.
        let mut response = match answer {
            Ok(response) => response,
            Err(e) => problem::from_error(e).await,
        };
        response
            .headers_mut()
            .append(header::VARY, HeaderValue::from_static("origin"));
        Ok(response)
    }
}

/// Whether `origin` is the server's own: its public origin when one is
/// configured, else the scheme and host the request came to.
pub(crate) fn is_same_origin(
    req: &Request,
    origin: &HeaderValue,
    public_origin: Option<&str>,
) -> bool {
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if let Some(public) = public_origin {
        return origin.eq_ignore_ascii_case(public);
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()));
    let Some(host) = host else {
        return false;
    };
    let scheme = req.scheme().as_str();
    origin
        .split_once("://")
        .is_some_and(|(s, h)| s.eq_ignore_ascii_case(scheme) && h.eq_ignore_ascii_case(host))
}

/// The origin of a URL (`scheme://host[:port]`, the path dropped) as
/// browsers send it in `Origin`: scheme and host in lower case, the
/// scheme's default port left out. The server's public origin comes from
/// it, and the binary takes `--cors-origin` through it: both are compared
/// with what browsers send.
pub fn origin_of(url: &str) -> Option<String> {
    let uri: poem::http::Uri = url.trim().parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let authority = uri.authority()?;
    let default_port = match scheme.as_str() {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    };
    let host = authority.host().to_ascii_lowercase();
    Some(match authority.port_u16() {
        Some(port) if Some(port) != default_port => format!("{scheme}://{host}:{port}"),
        _ => format!("{scheme}://{host}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_url_gives_its_origin() {
        assert_eq!(
            origin_of("https://vault.example.com/base").as_deref(),
            Some("https://vault.example.com")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(origin_of("nope"), None);
        // As a browser sends it: a public URL naming the default port
        // would otherwise make the web client's own requests cross-origin.
        assert_eq!(
            origin_of("https://vault.example.com:443/base").as_deref(),
            Some("https://vault.example.com")
        );
        assert_eq!(
            origin_of("http://vault.example.com:80").as_deref(),
            Some("http://vault.example.com")
        );
        assert_eq!(
            origin_of("https://vault.example.com:8443").as_deref(),
            Some("https://vault.example.com:8443")
        );
    }
}

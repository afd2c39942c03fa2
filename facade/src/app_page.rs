//! The web client at `/app`: one HTML page, one ES module and one style
//! sheet, embedded in the binary (no CDN, no build step). Served with a
//! Content-Security-Policy that allows only this origin's script, style
//! and API calls — no inline code, no framing.

use poem::http::header;
use poem::{Response, Route, get, handler};

const HTML: &str = include_str!("../assets/app/index.html");
const JS: &str = include_str!("../assets/app/app.js");
const CSS: &str = include_str!("../assets/app/app.css");

/// No inline script or style, nothing from another origin, no framing.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                   connect-src 'self'; img-src 'self'; base-uri 'none'; \
                   form-action 'none'; frame-ancestors 'none'";

/// The page and its two assets.
pub(crate) fn routes() -> Route {
    Route::new()
        .at("/", get(page))
        .at("/app.js", get(script))
        .at("/app.css", get(style))
}

fn respond(body: &'static str, content_type: &'static str, cache: &'static str) -> Response {
    Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CACHE_CONTROL, cache)
        .header("content-security-policy", CSP)
        .header("referrer-policy", "no-referrer")
        .header("x-frame-options", "DENY")
        .body(body)
}

#[handler]
fn page() -> Response {
    respond(HTML, "text/html; charset=utf-8", "no-cache")
}

#[handler]
fn script() -> Response {
    respond(JS, "text/javascript; charset=utf-8", "no-cache")
}

#[handler]
fn style() -> Response {
    respond(CSS, "text/css; charset=utf-8", "no-cache")
}

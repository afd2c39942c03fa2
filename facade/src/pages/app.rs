//! The web client at `/app`: one HTML page, its ES modules (the app, its
//! end-to-end layer, its files, its share-link sealing and the vendored HPKE library,
//! committed as built by `scripts/build-hpke.sh`) and one style sheet,
//! embedded in the binary (no CDN, nothing to build to run it), with its
//! icon and web-app manifest, and `/favicon.ico` for every page. Served
//! with a Content-Security-Policy that allows only this origin's script,
//! style and API calls — no inline code, no framing.

use poem::http::{StatusCode, header};
use poem::web::Path;
use poem::{Response, Route, get, handler};

const JS: &str = "text/javascript; charset=utf-8";

/// Every file under `/app/`, by name: content type and bytes.
const ASSETS: &[(&str, &str, &str)] = &[
    ("app.js", JS, include_str!("../../assets/app/app.js")),
    ("areas.js", JS, include_str!("../../assets/app/areas.js")),
    ("i18n.js", JS, include_str!("../../assets/app/i18n.js")),
    ("de.js", JS, include_str!("../../assets/app/de.js")),
    ("e2e.js", JS, include_str!("../../assets/app/e2e.js")),
    (
        "credits.js",
        JS,
        include_str!("../../assets/app/credits.js"),
    ),
    ("files.js", JS, include_str!("../../assets/app/files.js")),
    (
        "passkeys.js",
        JS,
        include_str!("../../assets/app/passkeys.js"),
    ),
    (
        "share_list.js",
        JS,
        include_str!("../../assets/app/share_list.js"),
    ),
    (
        "file_link.js",
        JS,
        include_str!("../../assets/app/file_link.js"),
    ),
    ("hpke.js", JS, include_str!("../../assets/app/hpke.js")),
    ("zxcvbn.js", JS, include_str!("../../assets/app/zxcvbn.js")),
    ("qr.js", JS, include_str!("../../assets/app/qr.js")),
    ("uqr.js", JS, include_str!("../../assets/app/uqr.js")),
    (
        "share_link.js",
        JS,
        include_str!("../../assets/app/share_link.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/app/app.css"),
    ),
    (
        "icon.svg",
        "image/svg+xml",
        include_str!("../../assets/app/icon.svg"),
    ),
    (
        "manifest.webmanifest",
        "application/manifest+json",
        include_str!("../../assets/app/manifest.webmanifest"),
    ),
];

/// `/favicon.ico`, which browsers ask every page's origin for: the icon
/// as a 32 × 32 ICO.
const FAVICON: &[u8] = include_bytes!("../../assets/favicon.ico");

const HTML: &str = include_str!("../../assets/app/index.html");

/// No inline script or style, nothing from another origin, no framing.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                   connect-src 'self'; img-src 'self'; manifest-src 'self'; base-uri 'none'; \
                   form-action 'none'; frame-ancestors 'none'";

/// The page and its assets.
pub(crate) fn routes() -> Route {
    Route::new().at("/", get(page)).at("/:file", get(asset))
}

fn respond(body: &'static str, content_type: &'static str) -> Response {
    Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CACHE_CONTROL, "no-cache")
        .header("content-security-policy", CSP)
        .header("referrer-policy", "no-referrer")
        .header("x-frame-options", "DENY")
        .body(body)
}

#[handler]
fn page() -> Response {
    respond(HTML, "text/html; charset=utf-8")
}

/// The favicon, cached for a day.
#[handler]
pub(crate) fn favicon() -> Response {
    Response::builder()
        .header(header::CONTENT_TYPE, "image/x-icon")
        .header(header::CACHE_CONTROL, "public, max-age=86400")
        .body(FAVICON)
}

#[handler]
fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, body)) => respond(body, content_type),
        None => StatusCode::NOT_FOUND.into(),
    }
}

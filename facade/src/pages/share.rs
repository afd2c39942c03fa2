//! `GET /s/{token}`: the page a share link opens. It shows only that a
//! secret is waiting, until when, and how many views remain, with a button;
//! it never consumes a view, so chat and mail clients that fetch links to
//! preview them cannot burn a one-time secret. The content is released
//! only by `POST /v1/shares/{token}/open`, which the page's script sends
//! when the button is pressed. JSON instead of HTML with
//! `Accept: application/json`.

use base64::Engine as _;
use poem::http::{HeaderValue, StatusCode, header};
use poem::web::{Data, Path};
use poem::{IntoResponse, Request, Response, Route, get, handler};
use poem_openapi::payload::Json;
use strongroom_engine::shares::ShareStatus;
use strongroom_engine::{SecretString, ShareError};
use time::format_description::well_known::Rfc3339;

use crate::http::problem::share_problem;
use crate::http::state::State;
use crate::shares::wire::ShareStatusBody;
use crate::wire::datetime;

const CSS: &str = include_str!("../../assets/share/share.css");
const JS: &str = include_str!("../../assets/share/share.js");

/// No inline script or style, no other origin, no framing, no referrer.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                   connect-src 'self'; img-src 'self'; base-uri 'none'; \
                   form-action 'none'; frame-ancestors 'none'";

/// The page and its two assets.
pub(crate) fn routes() -> Route {
    Route::new()
        .at("/:token", get(page))
        .at("/assets/share.js", get(asset_js))
        .at("/assets/share.css", get(asset_css))
}

#[handler]
fn asset_js() -> Response {
    asset(JS, "text/javascript; charset=utf-8")
}

#[handler]
fn asset_css() -> Response {
    asset(CSS, "text/css; charset=utf-8")
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CACHE_CONTROL, "public, max-age=300")
        .body(body)
}

#[handler]
async fn page(req: &Request, state: Data<&State>, Path(token): Path<String>) -> Response {
    let json = wants_json(req);
    let secret = SecretString::from(token.clone());
    let status = match state.read(move |e| e.shares().status(&secret)).await {
        Ok(status) => status,
        Err(e) => return e.into_response(),
    };
    let mut response = match (status, json) {
        (Ok(s), true) => Json(ShareStatusBody::from(s)).into_response(),
        (Err(e), true) => share_problem(e).into_response(),
        (Ok(s), false) => html(StatusCode::OK, &waiting(&token, s)),
        (Err(ShareError::Gone), false) => html(
            StatusCode::GONE,
            "<h1>This secret is no longer available</h1>\
             <p>It was opened as many times as it allowed, expired, or was revoked.</p>",
        ),
        (Err(ShareError::NotFound), false) => html(
            StatusCode::NOT_FOUND,
            "<h1>There is no secret at this link</h1>\
             <p>Check that the whole link was copied.</p>",
        ),
        (Err(e), false) => share_problem(e).into_response(),
    };
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers.insert(
        "x-robots-tag",
        HeaderValue::from_static("noindex, nofollow"),
    );
    response
}

/// JSON when the client asks for it and not for HTML.
fn wants_json(req: &Request) -> bool {
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    accept.contains("application/json") && !accept.contains("text/html")
}

fn waiting(token: &str, s: ShareStatus) -> String {
    let expires = datetime(s.expires_at)
        .format(&Rfc3339)
        .unwrap_or_else(|_| "soon".to_owned());
    let views = match s.views_left {
        1 => "It can be viewed once more, then it is deleted.".to_owned(),
        n => format!("It can be viewed {n} more times."),
    };
    let passphrase = if s.passphrase_required {
        r#"<label for="passphrase">Passphrase</label>
<input id="passphrase" type="password" autocomplete="off" required>"#
    } else {
        ""
    };
    // The token is 43 base64url characters (it was just found by it), so
    // it needs no escaping; it is escaped anyway.
    // A secret encrypted in the sender's browser opens only with the key
    // in the link's fragment: the page checks it before consuming a view.
    let (client, key) = if s.client_encrypted {
        (
            "true",
            r#"<div id="key-row" hidden>
<p id="key-missing">This link's key (the part after <code>#</code>) is missing or cut off. Nothing has been opened: paste the full link, or just its key.</p>
<label for="key">The full link, or its key</label>
<input id="key" autocomplete="off" spellcheck="false">
</div>"#,
        )
    } else {
        ("false", "")
    };
    // A file: named (when the link alone opens it) and downloaded, not
    // shown.
    let (what, file, button, name) = if s.file {
        let named = match (&s.file_facts, s.client_encrypted) {
            (Some((label, size)), _) => format!(
                r#"<p class="file"><strong id="file-name">{}</strong> ({} bytes, {})</p>"#,
                escape(&label.name),
                size,
                escape(&label.media_type)
            ),
            // Sealed in the sender's browser: this page reads the name
            // with the link's key.
            (None, true) => "<p class=\"file\" id=\"file-facts\">Encrypted in the sender's \
                             browser; its name shows here when the link's key opens it.</p>"
                .to_owned(),
            (None, false) => {
                "<p class=\"file\">Its name and size show once the passphrase is given.</p>"
                    .to_owned()
            }
        };
        let name = s
            .file_facts
            .as_ref()
            .map_or_else(|| "file".to_owned(), |(label, _)| escape(&label.name));
        ("a file", named, "Download the file", name)
    } else {
        (
            "a secret",
            String::new(),
            "Reveal the secret",
            String::new(),
        )
    };
    let holds_file = if s.file { "true" } else { "false" };
    // Ciphertext only the link's key opens: safe in the page.
    let label = s
        .file_label
        .as_ref()
        .filter(|l| !l.is_empty())
        .map(|l| base64::engine::general_purpose::STANDARD.encode(l))
        .unwrap_or_default();
    format!(
        r#"<main id="share" data-token="{token}" data-client-encrypted="{client}" data-file="{holds_file}" data-name="{name}" data-label="{label}">
<h1>Someone shared {what} with you</h1>
{file}<p class="facts">{views} It expires at <time datetime="{expires}">{expires}</time> (UTC).</p>
<form id="form">{key}{passphrase}
<button id="reveal" type="submit">{button}</button>
</form>
<p id="error" class="error" role="alert" hidden></p>
<pre id="secret" hidden></pre>
<p id="after" hidden></p>
<noscript><p>Revealing the secret needs JavaScript (it is decrypted in this page).</p></noscript>
</main>
<script src="/s/assets/share.js"></script>"#,
        token = escape(token),
    )
}

fn html(status: StatusCode, body: &str) -> Response {
    let document = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>A shared secret</title>
<link rel="icon" href="/favicon.ico">
<link rel="stylesheet" href="/s/assets/share.css">
</head><body>
{body}
</body></html>"#
    );
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .body(document)
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

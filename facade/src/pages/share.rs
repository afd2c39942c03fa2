//! `GET /s/{token}`: the page a share link opens. It shows only that a
//! secret is waiting, until when, and how many views remain, with a button;
//! it never consumes a view, so chat and mail clients that fetch links to
//! preview them cannot burn a one-time secret. The content is released
//! only by `POST /v1/shares/{token}/open`, which the page's script sends
//! when the button is pressed. JSON instead of HTML with
//! `Accept: application/json`.

use std::fmt;
use std::io::Write as _;

use base64::Engine as _;
use poem::error::{MethodNotAllowedError, NotFoundError, ParsePathError};
use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{Endpoint, IntoResponse, PathPattern, Request, Response};
use poem_openapi::payload::Json;
use strongroom_engine::secrecy::ExposeSecret;
use strongroom_engine::shares::ShareStatus;
use strongroom_engine::{SecretBytes, ShareError};
use time::format_description::well_known::Rfc3339;

use crate::http::problem::share_problem;
use crate::http::secret_path;
use crate::http::state::State;
use crate::shares::wire::ShareStatusBody;
use crate::wire::{datetime, zeroized};

const CSS: &str = include_str!("../../assets/share/share.css");
const JS: &str = include_str!("../../assets/share/share.js");

/// No inline script or style, no other origin, no framing, no referrer.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                   connect-src 'self'; img-src 'self'; base-uri 'none'; \
                   form-action 'none'; frame-ancestors 'none'";

/// The page and its two assets, under `/s/`, routed here by hand: poem's
/// router copies a path parameter (here the link's token) into `String`s,
/// and its nesting rewrites the URI into a new one, all freed unerased.
pub(crate) struct SharePages;

impl Endpoint for SharePages {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let rest = req.uri().path().strip_prefix("/s/").unwrap_or("");
        // Each answer is logged and counted under its route's template.
        let (target, template) = match rest {
            "assets/share.js" => (Target::Script, "/s/assets/share.js"),
            "assets/share.css" => (Target::Style, "/s/assets/share.css"),
            token if !token.is_empty() && !token.contains('/') => (Target::Page, "/s/:token"),
            _ => return Err(NotFoundError.into()),
        };
        let pattern = PathPattern(template.into());
        match answer(&req, target, rest).await {
            Ok(mut response) => {
                response.set_data(pattern);
                Ok(response)
            }
            Err(mut refused) => {
                refused.set_data(pattern);
                Err(refused)
            }
        }
    }
}

enum Target {
    Page,
    Script,
    Style,
}

/// `GET` (or `HEAD`, the same without the body) of `target`.
async fn answer(req: &Request, target: Target, rest: &str) -> poem::Result<Response> {
    let head = req.method() == Method::HEAD;
    if req.method() != Method::GET && !head {
        return Err(MethodNotAllowedError.into());
    }
    let mut response = match target {
        Target::Script => asset(JS, "text/javascript; charset=utf-8"),
        Target::Style => asset(CSS, "text/css; charset=utf-8"),
        Target::Page => page(req, rest).await?,
    };
    if head {
        response.set_body(());
    }
    Ok(response)
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CACHE_CONTROL, "public, max-age=300")
        .body(body)
}

/// The page for the token `raw` (a path segment, percent-decoded as
/// poem's router would; not UTF-8 then, a 400 as poem's).
async fn page(req: &Request, raw: &str) -> poem::Result<Response> {
    let Some(state) = req.data::<State>() else {
        return Ok(StatusCode::INTERNAL_SERVER_ERROR.into_response());
    };
    let json = wants_json(req);
    // The link's token, kept (it goes into the page) as a secret.
    let Some(token) = secret_path::decode(raw) else {
        return Err(ParsePathError.into());
    };
    let secret = token.clone();
    let status = match state.read(move |e| e.shares().status(&secret)).await {
        Ok(status) => status,
        Err(e) => return Ok(e.into_response()),
    };
    let mut response = match (status, json) {
        (Ok(s), true) => Json(ShareStatusBody::from(s)).into_response(),
        (Err(e), true) => share_problem(e).into_response(),
        (Ok(s), false) => html(StatusCode::OK, &waiting(token.expose_secret(), s)),
        (Err(ShareError::Gone), false) => html(
            StatusCode::GONE,
            b"<h1>This secret is no longer available</h1>\
             <p>It was opened as many times as it allowed, expired, or was revoked.</p>",
        ),
        (Err(ShareError::NotFound), false) => html(
            StatusCode::NOT_FOUND,
            b"<h1>There is no secret at this link</h1>\
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
    Ok(response)
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

/// The page's body while the share is waiting: written straight into
/// erasing bytes, as it holds the link's token.
fn waiting(token: &str, s: ShareStatus) -> SecretBytes {
    let expires = datetime(s.expires_at)
        .format(&Rfc3339)
        .unwrap_or_else(|_| "soon".to_owned());
    let passphrase = if s.passphrase_required {
        r#"<label for="passphrase">Passphrase</label>
<input id="passphrase" type="password" autocomplete="off" required>"#
    } else {
        ""
    };
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
    let (what, button) = if s.file {
        ("a file", "Download the file")
    } else {
        ("a secret", "Reveal the secret")
    };
    // The name the download is saved under, when the link alone opens it.
    let name = match (s.file, &s.file_facts) {
        (false, _) => "",
        (true, Some((label, _))) => label.name.as_str(),
        (true, None) => "file",
    };
    let holds_file = if s.file { "true" } else { "false" };
    // Ciphertext only the link's key opens: safe in the page.
    let label = s
        .file_label
        .as_ref()
        .filter(|l| !l.is_empty())
        .map(|l| base64::engine::general_purpose::STANDARD.encode(l))
        .unwrap_or_default();
    let mut out = SecretBytes::with_capacity(2048 + name.len() + label.len());
    // Writing to memory cannot fail (hence the `let _ =`s below). The
    // token is 43 base64url characters (it was just found by it), so it
    // needs no escaping; it is escaped anyway.
    let _ = write!(
        out,
        r#"<main id="share" data-token="{token}" data-client-encrypted="{client}" data-file="{holds_file}" data-name="{name}" data-label="{label}">
<h1>Someone shared {what} with you</h1>
"#,
        token = Escaped(token),
        name = Escaped(name),
    );
    // A file: named (when the link alone opens it) and downloaded, not
    // shown.
    if s.file {
        let _ = match (&s.file_facts, s.client_encrypted) {
            (Some((label, size)), _) => write!(
                out,
                r#"<p class="file"><strong id="file-name">{}</strong> ({size} bytes, {})</p>"#,
                Escaped(&label.name),
                Escaped(&label.media_type)
            ),
            // Sealed in the sender's browser: this page reads the name
            // with the link's key.
            (None, true) => out.write_all(
                b"<p class=\"file\" id=\"file-facts\">Encrypted in the sender's \
                  browser; its name shows here when the link's key opens it.</p>",
            ),
            (None, false) => out.write_all(
                b"<p class=\"file\">Its name and size show once the passphrase is given.</p>",
            ),
        };
    }
    let _ = match s.views_left {
        1 => out.write_all(b"<p class=\"facts\">It can be viewed once more, then it is deleted."),
        n => write!(out, "<p class=\"facts\">It can be viewed {n} more times."),
    };
    let _ = write!(
        out,
        r#" It expires at <time datetime="{expires}">{expires}</time> (UTC).</p>
<form id="form">{key}{passphrase}
<button id="reveal" type="submit">{button}</button>
</form>
<p id="error" class="error" role="alert" hidden></p>
<pre id="secret" hidden></pre>
<p id="after" hidden></p>
<noscript><p>Revealing the secret needs JavaScript (it is decrypted in this page).</p></noscript>
</main>
<script src="/s/assets/share.js"></script>"#
    );
    out
}

/// The document around `body`, in erasing bytes of its exact length.
fn html(status: StatusCode, body: &[u8]) -> Response {
    const HEAD: &[u8] = br#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>A shared secret</title>
<link rel="icon" href="/favicon.ico">
<link rel="stylesheet" href="/s/assets/share.css">
</head><body>
"#;
    const TAIL: &[u8] = b"\n</body></html>";
    let mut document = SecretBytes::with_capacity(HEAD.len() + body.len() + TAIL.len());
    document.extend_from_slice(HEAD);
    document.extend_from_slice(body);
    document.extend_from_slice(TAIL);
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .body(zeroized::bytes(document))
}

/// Text escaped for HTML (in an element or a quoted attribute), written
/// through the formatter: no escaped copy is made.
struct Escaped<'a>(&'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut run = 0;
        for (at, c) in self.0.char_indices() {
            let escape = match c {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                _ => continue,
            };
            f.write_str(&self.0[run..at])?;
            f.write_str(escape)?;
            run = at + 1;
        }
        f.write_str(&self.0[run..])
    }
}

#[cfg(test)]
mod tests {
    use super::Escaped;

    #[test]
    fn html_text_is_escaped() {
        assert_eq!(
            Escaped(r#"<a href="x">Tom & Jerry's</a> é"#).to_string(),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt; é"
        );
        assert_eq!(Escaped("plain").to_string(), "plain");
        assert_eq!(Escaped("").to_string(), "");
    }
}

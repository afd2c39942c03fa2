//! Swagger UI at `/docs`. The page shares its origin with the web client,
//! so it gets a Content-Security-Policy too: only its own two inline
//! scripts run (allowed by their SHA-256, computed from the page as
//! served), requests go only to this origin, and nothing may frame it.
//! Swagger UI styles its elements as it renders, so inline styles stay
//! allowed; no script can be injected through them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use poem::http::header;
use poem::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// The page and the policy that lets exactly its own scripts run.
pub(crate) struct DocsPage {
    html: String,
    csp: String,
}

impl DocsPage {
    /// `html`, as poem-openapi made it with the served document inside.
    pub(crate) fn new(html: String) -> Self {
        // A way back to the web client, above Swagger UI.
        let html = html.replacen(
            "<body>",
            "<body><p><a href=\"/app\">Strongroom web client</a></p>",
            1,
        );
        let hashes: Vec<String> = inline_scripts(&html)
            .map(|script| format!("'sha256-{}'", STANDARD.encode(Sha256::digest(script))))
            .collect();
        let csp = format!(
            "default-src 'none'; script-src {}; style-src 'unsafe-inline'; \
             img-src 'self' data:; font-src data:; connect-src 'self'; base-uri 'none'; \
             form-action 'none'; frame-ancestors 'none'",
            hashes.join(" ")
        );
        Self { html, csp }
    }

    /// The page as an answer.
    pub(crate) fn response(&self) -> Response {
        Response::builder()
            .content_type("text/html; charset=utf-8")
            .header(header::CONTENT_SECURITY_POLICY, self.csp.as_str())
            .header(header::X_FRAME_OPTIONS, "DENY")
            .header(header::REFERRER_POLICY, "no-referrer")
            .body(self.html.clone())
            .into_response()
    }
}

/// The contents of each `<script …>…</script>` of `html`, in order (a
/// script's text may itself mention `<script`: the next one is looked
/// for after the end of this one).
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    let mut rest = html;
    std::iter::from_fn(move || {
        let open = rest.find("<script")?;
        let after = &rest[open..];
        let body = &after[after.find('>')? + 1..];
        let end = body.find("</script>")?;
        rest = &body[end + "</script>".len()..];
        Some(&body[..end])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_inline_script_is_allowed_by_its_hash_and_nothing_else() {
        let page = DocsPage::new(
            "<head><script charset=\"x\">a('<script')</script></head><script>b</script>".into(),
        );
        let a = STANDARD.encode(Sha256::digest("a('<script')"));
        let b = STANDARD.encode(Sha256::digest("b"));
        assert!(
            page.csp
                .contains(&format!("script-src 'sha256-{a}' 'sha256-{b}';"))
        );
        assert!(page.csp.contains("frame-ancestors 'none'"));
        assert!(!page.csp.contains("unsafe-eval"));
    }
}

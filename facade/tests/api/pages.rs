//! The pages beside the API: every origin's `/favicon.ico` (no 404 in any
//! page's console), the web client's icon and manifest (allowed by its
//! CSP), its `<noscript>` notice, and links between `/app` and `/docs`.

use crate::common;

#[tokio::test]
async fn icons_manifest_and_links_between_the_pages() {
    let s = common::start().await;
    let get = |path: &str| s.http.get(s.url(path)).send();
    let favicon = get("/favicon.ico").await.expect("favicon");
    assert_eq!(favicon.status(), 200);
    assert_eq!(favicon.headers()["content-type"], "image/x-icon");
    let bytes = favicon.bytes().await.expect("bytes");
    assert_eq!(&bytes[..4], &[0, 0, 1, 0], "an ICO header");
    let icon = get("/app/icon.svg").await.expect("icon");
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");
    let manifest = get("/app/manifest.webmanifest").await.expect("manifest");
    assert_eq!(
        manifest.headers()["content-type"],
        "application/manifest+json"
    );
    let manifest: serde_json::Value = manifest.json().await.expect("json");
    assert_eq!(manifest["start_url"], "/app");
    assert_eq!(manifest["icons"][0]["src"], "/app/icon.svg");
    let app = get("/app").await.expect("app");
    let csp = app.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_owned();
    assert!(csp.contains("manifest-src 'self'"), "{csp}");
    let page = app.text().await.expect("page");
    for part in [
        "<noscript>",
        r#"href="/docs""#,
        r#"rel="manifest""#,
        r#"rel="icon""#,
    ] {
        assert!(page.contains(part), "{part}");
    }
    let docs = get("/docs")
        .await
        .expect("docs")
        .text()
        .await
        .expect("docs");
    assert!(
        docs.contains(r#"<a href="/app">"#),
        "the docs link to the client"
    );
}

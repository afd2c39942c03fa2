//! The share page in a real headless Chromium: loading it (scripts and
//! all) consumes nothing; the button releases the secret once; a
//! client-encrypted secret sealed in Rust is decrypted by the page with the
//! key from the URL fragment (WebCrypto), which then leaves the address
//! bar; a wrong passphrase is reported and costs no view.

mod common;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{TestServer, start};
use fantoccini::{Client, Locator};
use serde_json::json;
use strongroom::engine::secrecy::ExposeSecret;
use strongroom::engine::share_client;

async fn views_left(s: &TestServer, url: &str) -> (u16, serde_json::Value) {
    let r = s
        .send(s.http.get(url).header("accept", "application/json"))
        .await;
    (r.status, r.body["views_left"].clone())
}

async fn shown(client: &Client, css: &str) -> String {
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(&format!("{css}:not([hidden])")))
        .await
        .unwrap_or_else(|e| panic!("{css} never appeared: {e}"))
        .text()
        .await
        .expect("text")
}

/// Presses the page's button.
async fn reveal(client: &Client) {
    client
        .find(Locator::Css("#reveal"))
        .await
        .expect("button")
        .click()
        .await
        .expect("click");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_share_page_reveals_once_and_decrypts_in_the_browser() {
    let Some(browser) = common::browser::launch("browser_share").await else {
        return;
    };
    let client = &browser.client;
    let s = start().await;
    let (alice, _) = s.account("alice").await;

    // Sealed in Rust; only the page, with the fragment, can read it.
    let (blob, key) = share_client::seal("sealed in Rust, opened in Chromium".as_bytes());
    let created = s
        .post(
            "/v1/shares",
            json!({"message": STANDARD.encode(&blob), "client_encrypted": true}),
            Some(&alice),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let url = created.body["url"].as_str().expect("url").to_owned();
    client
        .goto(&format!("{url}#{}", key.expose_secret()))
        .await
        .expect("page loads");
    let heading = client
        .find(Locator::Css("h1"))
        .await
        .expect("heading")
        .text()
        .await
        .expect("text");
    assert_eq!(heading, "Someone shared a secret with you");
    assert_eq!(
        views_left(&s, &url).await,
        (200, json!(1)),
        "loading consumed nothing"
    );

    reveal(client).await;
    assert_eq!(
        shown(client, "#secret").await,
        "sealed in Rust, opened in Chromium"
    );
    let after = client.current_url().await.expect("url");
    assert!(
        after.fragment().is_none(),
        "key left in the address bar: {after}"
    );
    assert_eq!(views_left(&s, &url).await.0, 410);
    client.refresh().await.expect("reload");
    let gone = client.source().await.expect("source");
    assert!(gone.contains("no longer available"), "{gone}");

    // A passphrase: a wrong one is reported and costs nothing.
    let created = s
        .post(
            "/v1/shares",
            json!({"message": "behind a passphrase", "passphrase": "open sesame"}),
            Some(&alice),
        )
        .await;
    let url = created.body["url"].as_str().expect("url").to_owned();
    client.goto(&url).await.expect("page loads");
    let field = client
        .find(Locator::Css("#passphrase"))
        .await
        .expect("field");
    field.send_keys("open says me").await.expect("type");
    reveal(client).await;
    assert!(shown(client, "#error").await.contains("Wrong passphrase"));
    assert_eq!(views_left(&s, &url).await, (200, json!(1)));
    field.clear().await.expect("clear");
    field.send_keys("open sesame").await.expect("type");
    reveal(client).await;
    assert_eq!(shown(client, "#secret").await, "behind a passphrase");
    browser.client.clone().close().await.expect("close");
}

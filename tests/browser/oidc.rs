//! Single sign-on in real headless Chromium: the web client shows "Sign in
//! with Test SSO" when the server has an OpenID Connect provider (the npm
//! `oidc-provider`, started here), a click goes through the provider's
//! login and consent pages and back to the client signed in with a cookie
//! session; the account (named after the verified email) has no password,
//! so the page continues without end-to-end keys. Skipped loudly only
//! without Node or Chromium.

use crate::common;

use std::time::Duration;

use common::binary::Binary;
use common::browser::{click, fill, keeping_screenshots, text, wait_for};
use fantoccini::Client;
use strongroom_testkit::free_port;
use strongroom_testkit::oidc::{CLIENT_ID, Provider};

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_client_signs_in_through_the_provider() {
    let (provider_port, port) = (free_port(), free_port());
    let base = format!("http://127.0.0.1:{port}");
    let redirect = format!("{base}/v1/oidc/callback");
    let Some(provider) = Provider::start("browser_oidc", provider_port, &redirect, "key-1") else {
        return;
    };
    let Some(browser) = common::browser::launch("browser_oidc").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let secret = Provider::client_secret_file(dir.path());
    let listen = format!("127.0.0.1:{port}");
    let server = Binary::start(
        &dir.path().join("data"),
        &[
            "--listen",
            &listen,
            "--public-url",
            &base,
            "--oidc-issuer",
            &provider.issuer,
            "--oidc-client-id",
            CLIENT_ID,
            "--oidc-client-secret-file",
            &secret,
            "--oidc-name",
            "Test SSO",
        ],
        &[],
    );
    let client = &browser.client;
    keeping_screenshots("browser_oidc", &[("dana", client)], scenario(&base, client)).await;
    assert!(server.stop().status.success());
}

async fn scenario(base: &str, client: &Client) {
    client
        .goto(&format!("{base}/app"))
        .await
        .expect("open /app");
    wait_for(client, "#oidc-row:not([hidden])", WAIT).await;
    assert_eq!(text(client, "#oidc-login").await, "Sign in with Test SSO");
    click(client, "#oidc-login").await;
    // The provider's own pages: its login form, then its consent form.
    wait_for(client, "input[name=login]", WAIT).await;
    fill(client, "input[name=login]", "dana").await;
    fill(client, "input[name=password]", "any").await;
    click(client, "button[type=submit]").await;
    wait_for(client, "input[name=prompt][value=consent]", WAIT).await;
    click(client, "button[type=submit]").await;
    // Back in the client, signed in by the cookie: the locked screen.
    wait_for(client, "#locked:not([hidden])", WAIT).await;
    assert_eq!(text(client, "#locked-who").await, "dana@example.com");
    click(client, "#skip-unlock").await;
    wait_for(client, "#live.on", WAIT).await;
    click(client, "#nav-settings").await;
    wait_for(
        client,
        "#identities-area:not([hidden]) #identities-list li",
        WAIT,
    )
    .await;
    assert!(
        text(client, "#identities-list li")
            .await
            .starts_with("dana at http://127.0.0.1:")
    );
}

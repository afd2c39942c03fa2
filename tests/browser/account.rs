//! The account a person keeps, in real headless Chromium: sign up, turn on
//! two-factor sign-in from Settings (the test reads the secret the page
//! shows and computes codes as an authenticator app would), reload the
//! page and still be signed in (the refresh token is in an HttpOnly cookie
//! no script can read; only the end-to-end keys need the password again),
//! sign out, sign in again with a code, change the password with an
//! end-to-end message surviving it, turn two-factor sign-in off with a
//! recovery code, and delete the account.

use crate::common;

use std::time::Duration;

use common::browser::{click, fill, inbox, keeping_screenshots, sign_in, text, wait_for};
use common::{PASSWORD, TestServer, start};
use fantoccini::{Client, Locator};

const WAIT: Duration = Duration::from_secs(20);
const NEW_PASSWORD: &str = "a brand new passphrase";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_from_settings_a_reload_that_keeps_the_session_and_a_coded_sign_in() {
    let Some(browser) = common::browser::launch("browser_account").await else {
        return;
    };
    let s = start().await;
    let client = &browser.client;
    keeping_screenshots(
        "browser_account",
        &[("carol", client)],
        scenario(&s, client),
    )
    .await;
}

/// The code the app shows now (the server's clock).
fn code(s: &TestServer, secret: &str) -> String {
    strongroom_testkit::totp_code(secret, s.clock_now().as_unix_millis() / 1000)
}

async fn scenario(s: &TestServer, client: &Client) {
    sign_in(client, &s.base, "carol@example.com", true, WAIT).await;
    // An end-to-end message to herself, to open after the password change.
    fill(client, "#to", "carol@example.com").await;
    fill(client, "#text", "sealed before the change").await;
    click(client, "#send").await;
    wait_for(client, "#inbox li.sealed", WAIT).await;

    // Settings: set up an authenticator app.
    click(client, "#nav-settings").await;
    assert!(text(client, "#totp-status").await.starts_with("Off"));
    click(client, "#totp-start").await;
    wait_for(client, "#totp-setup:not([hidden]) #totp-qr svg", WAIT).await;
    let secret = text(client, "#totp-secret").await;
    assert_eq!(secret.len(), 32, "a 160-bit base32 secret: {secret}");
    fill(client, "#totp-code", &code(s, &secret)).await;
    click(client, "#totp-confirm").await;
    wait_for(client, "#totp-recovery:not([hidden])", WAIT).await;
    let items = client
        .find_all(Locator::Css("#recovery-list li"))
        .await
        .expect("codes");
    let mut codes = Vec::new();
    for item in items {
        codes.push(item.text().await.expect("code"));
    }
    assert_eq!(codes.len(), 10);
    assert!(text(client, "#totp-status").await.starts_with("On"));
    click(client, "#recovery-done").await;

    // The refresh token is out of the page's reach.
    let cookies = client
        .execute("return document.cookie", vec![])
        .await
        .expect("cookies");
    assert!(!cookies.to_string().contains("strongroom"), "{cookies}");

    // A reload keeps the session: only the keys need the password.
    client.refresh().await.expect("reload");
    wait_for(client, "#locked:not([hidden])", WAIT).await;
    assert_eq!(text(client, "#locked-who").await, "carol@example.com");
    fill(client, "#unlock-password", PASSWORD).await;
    click(client, "#unlock").await;
    wait_for(client, "#live.on", WAIT).await;
    assert_eq!(inbox(client).await, ["sealed before the change"]);

    // Signed out, then in again: the page asks for the code.
    click(client, "#logout").await;
    wait_for(client, "#signin:not([hidden])", WAIT).await;
    client.refresh().await.expect("reload");
    wait_for(client, "#signin:not([hidden])", WAIT).await;
    fill(client, "#username", "carol@example.com").await;
    fill(client, "#password", PASSWORD).await;
    click(client, "#login").await;
    wait_for(client, "#code-row:not([hidden])", WAIT).await;
    s.advance(Duration::from_secs(30));
    fill(client, "#code", &code(s, &secret)).await;
    click(client, "#login").await;
    wait_for(client, "#live.on", WAIT).await;

    // A new password: the end-to-end message still opens after it.
    click(client, "#nav-settings").await;
    fill(client, "#current-password", PASSWORD).await;
    fill(client, "#new-password", NEW_PASSWORD).await;
    fill(client, "#new-password-again", NEW_PASSWORD).await;
    click(client, "#change-password").await;
    wait_for(client, "#status", WAIT).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while !text(client, "#status")
        .await
        .starts_with("Password changed")
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{}",
            text(client, "#status").await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    client.refresh().await.expect("reload");
    wait_for(client, "#locked:not([hidden])", WAIT).await;
    fill(client, "#unlock-password", NEW_PASSWORD).await;
    click(client, "#unlock").await;
    wait_for(client, "#live.on", WAIT).await;
    wait_for(client, "#inbox li.sealed .badge.on", WAIT).await;
    assert_eq!(inbox(client).await, ["sealed before the change"]);

    // Two-factor sign-in off with a recovery code, then the account
    // deleted with the password alone: gone.
    click(client, "#nav-settings").await;
    fill(client, "#totp-off-code", &codes[0]).await;
    click(client, "#totp-off").await;
    wait_for(client, "#totp-off-form[hidden]", WAIT).await;
    assert!(text(client, "#totp-status").await.starts_with("Off"));
    fill(client, "#delete-password", NEW_PASSWORD).await;
    click(client, "#delete-confirm").await;
    click(client, "#delete-account").await;
    wait_for(client, "#signin:not([hidden])", WAIT).await;
    let gone = s
        .engine
        .accounts()
        .find("carol@example.com")
        .expect("lookup");
    assert!(gone.is_none(), "the account is gone");
}

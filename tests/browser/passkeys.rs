//! Passkeys in a real headless Chromium with the DevTools virtual
//! authenticator: a person adds a passkey from Settings, signs out, signs
//! in with it (no username, no password), sees it used, removes it, and
//! can no longer sign in with it.

use crate::common;

use std::time::Duration;

use common::browser::{click, fill, text, virtual_authenticator, wait_for, wait_for_text};
use fantoccini::Locator;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_adds_a_passkey_signs_in_with_it_and_removes_it() {
    let Some(browser) = common::browser::launch("browser_passkeys").await else {
        return;
    };
    let client = &browser.client;
    let s = common::start().await;
    // WebAuthn needs a secure context and a domain: localhost, not an IP.
    let base = s.base.replace("127.0.0.1", "localhost");

    common::browser::keeping_screenshots("browser_passkeys", &[("alice", client)], async {
        client.goto(&format!("{base}/app")).await.expect("open");
        virtual_authenticator(client).await;
        fill(client, "#username", "alice").await;
        fill(client, "#password", common::PASSWORD).await;
        click(client, "#register").await;
        fill(client, "#password-again", common::PASSWORD).await;
        click(client, "#register").await;
        wait_for(client, "#live.on", WAIT).await;

        click(client, "#nav-settings").await;
        assert_eq!(text(client, "#passkeys-empty").await, "No passkeys yet.");
        fill(client, "#passkey-name", "laptop").await;
        click(client, "#passkey-add").await;
        wait_for_text(client, "#status", "Passkey laptop added", WAIT).await;
        let listed = wait_for_text(client, "#passkeys-list", "laptop", WAIT).await;
        assert!(listed.contains("not used yet"), "{listed}");

        click(client, "#logout").await;
        wait_for(client, "#passkey-login", WAIT).await;
        click(client, "#passkey-login").await;
        wait_for_text(client, "#status", "Signed in with your passkey", WAIT).await;
        assert_eq!(text(client, "#locked-who").await, "alice");
        click(client, "#unlock-password").await;
        fill(client, "#unlock-password", common::PASSWORD).await;
        click(client, "#unlock").await;
        wait_for(client, "#live.on", WAIT).await;

        click(client, "#nav-settings").await;
        let listed = wait_for_text(client, "#passkeys-list", "last used", WAIT).await;
        assert!(listed.contains("laptop"), "{listed}");
        client
            .execute("window.confirm = () => true;", vec![])
            .await
            .expect("confirm");
        click(client, "#passkeys-list button").await;
        wait_for_text(client, "#status", "Passkey laptop removed", WAIT).await;
        assert!(
            client
                .find(Locator::Css("#passkeys-empty"))
                .await
                .expect("empty note")
                .is_displayed()
                .await
                .expect("displayed")
        );

        // The authenticator still holds the credential; the server no
        // longer accepts it.
        click(client, "#logout").await;
        wait_for(client, "#passkey-login", WAIT).await;
        click(client, "#passkey-login").await;
        wait_for_text(
            client,
            "#status",
            "Passkey sign-in failed: the passkey was not accepted",
            WAIT,
        )
        .await;
    })
    .await;
}

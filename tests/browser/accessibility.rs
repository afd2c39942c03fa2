//! Accessibility scans with axe-core (4.14.1, vendored under
//! `tests/browser/vendor/`, MPL-2.0), injected through WebDriver: the web
//! client signed out, signed in (every area, light and dark) and the
//! share page must have no serious or critical violation; and the main
//! flows work with the keyboard alone.

use crate::common;

use std::time::Duration;

use common::browser::{cdp, click, sign_in, wait_for, wait_for_text};
use fantoccini::Client;
use serde_json::{Value, json};

const AXE: &str = include_str!("vendor/axe.min.js");

/// The serious and critical violations axe finds on the page now, as
/// `rule: target` lines.
async fn violations(client: &Client) -> Vec<String> {
    // Evaluated by DevTools, not by the page: the page's CSP (no eval)
    // does not apply to the driver's scripts.
    client
        .execute(&format!("{AXE}\n;return true;"), vec![])
        .await
        .expect("axe loads");
    let found = client
        .execute_async(
            "const done = arguments[arguments.length - 1]; \
             axe.run(document, { resultTypes: ['violations'] }) \
               .then((r) => done(r.violations.map((v) => ({ id: v.id, impact: v.impact, \
                 help: v.help, targets: v.nodes.map((n) => n.target.join(' ') + ' ' + ((n.any[0] || {}).message || '')) })))) \
               .catch((e) => done([{ id: 'axe-error', impact: 'critical', help: String(e), targets: [] }]));",
            vec![],
        )
        .await
        .expect("axe runs");
    let found: Vec<Value> = serde_json::from_value(found).expect("violations");
    found
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .map(|v| format!("{}: {} {}", v["id"], v["help"], v["targets"]))
        .collect()
}

/// The signed-in page's areas (Credits only shows when the server meters).
const AREAS: [&str; 5] = ["inbox", "send", "files", "shares", "settings"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_and_the_share_page_have_no_serious_violations() {
    let Some(browser) = common::browser::launch("browser_axe").await else {
        return;
    };
    let client = &browser.client;
    let s = common::start().await;
    client.goto(&format!("{}/app", s.base)).await.expect("open");
    wait_for(client, "#username", Duration::from_secs(10)).await;
    let signed_out = violations(client).await;
    assert!(signed_out.is_empty(), "signed out: {signed_out:#?}");

    sign_in(client, &s.base, "alice", true, Duration::from_secs(20)).await;
    // Every area of the signed-in page, light then dark.
    for scheme in ["light", "dark"] {
        cdp(
            client,
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-color-scheme", "value": scheme}]}),
        )
        .await;
        for area in AREAS {
            click(client, &format!("#nav-{area}")).await;
            let found = violations(client).await;
            assert!(found.is_empty(), "signed in, {area}, {scheme}: {found:#?}");
        }
    }

    let (token, _) = s.account("bob").await;
    let created = s
        .post(
            "/v1/shares",
            json!({"message": "the code is 1234"}),
            Some(&token),
        )
        .await;
    let url = created.body["url"].as_str().expect("url").to_owned();
    client.goto(&url).await.expect("share page");
    wait_for(client, "main", Duration::from_secs(10)).await;
    let share_dark = violations(client).await;
    assert!(share_dark.is_empty(), "share page, dark: {share_dark:#?}");
    cdp(
        client,
        "Emulation.setEmulatedMedia",
        json!({"features": [{"name": "prefers-color-scheme", "value": "light"}]}),
    )
    .await;
    let share_light = violations(client).await;
    assert!(
        share_light.is_empty(),
        "share page, light: {share_light:#?}"
    );
}

const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";

/// Presses Tab until the element `id` has the focus (the page's tab order
/// must reach it within 60 presses, wrapping at the end).
async fn tab_to(client: &Client, id: &str) {
    for _ in 0..60 {
        let active = client.active_element().await.expect("focus");
        if active.attr("id").await.expect("id").as_deref() == Some(id) {
            return;
        }
        active.send_keys(TAB).await.expect("tab");
    }
    panic!("Tab never reached #{id}");
}

/// Types into whatever has the focus.
async fn press(client: &Client, keys: &str) {
    let active = client.active_element().await.expect("focus");
    active.send_keys(keys).await.expect("keys");
}

/// Signing up, moving between areas, sending, deleting and making a share
/// link, with the keyboard alone (Tab, typing, Enter).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_flow_works_from_the_keyboard() {
    let Some(browser) = common::browser::launch("browser_keyboard").await else {
        return;
    };
    let client = &browser.client;
    let s = common::start().await;
    let wait = Duration::from_secs(20);
    common::browser::keeping_screenshots("browser_keyboard", &[("kai", client)], async {
        client.goto(&format!("{}/app", s.base)).await.expect("open");
        wait_for(client, "#username", wait).await;
        tab_to(client, "username").await;
        press(client, "kai").await;
        tab_to(client, "password").await;
        press(client, common::PASSWORD).await;
        tab_to(client, "register").await;
        press(client, ENTER).await; // opens the sign-up fields, focus on the second password
        wait_for(client, "#register-extra:not([hidden])", wait).await;
        tab_to(client, "password-again").await;
        press(client, common::PASSWORD).await;
        press(client, ENTER).await; // Enter in a field: Create my account
        wait_for(client, "#live.on", wait).await;

        tab_to(client, "nav-send").await;
        press(client, ENTER).await;
        wait_for(client, "#area-send:not([hidden])", wait).await;
        tab_to(client, "to").await;
        press(client, "kai").await;
        tab_to(client, "text").await;
        press(client, "typed, not clicked").await;
        tab_to(client, "send").await;
        press(client, ENTER).await;
        wait_for_text(client, "#status", "Sent to kai", wait).await;

        tab_to(client, "nav-inbox").await;
        press(client, ENTER).await;
        wait_for(client, "#inbox li .text", wait).await;
        assert_eq!(common::browser::inbox(client).await, ["typed, not clicked"]);
        client
            .execute("window.confirm = () => true;", vec![])
            .await
            .expect("confirm");
        let delete = client
            .find(fantoccini::Locator::Css("#inbox li button"))
            .await
            .expect("delete button");
        let delete_id = "delete-first";
        client
            .execute(
                "arguments[0].id = arguments[1];",
                vec![
                    serde_json::to_value(&delete).expect("element"),
                    json!(delete_id),
                ],
            )
            .await
            .expect("name it");
        tab_to(client, delete_id).await;
        press(client, ENTER).await;
        wait_for(client, "#inbox-empty:not([hidden])", wait).await;

        tab_to(client, "nav-shares").await;
        press(client, ENTER).await;
        tab_to(client, "share-text").await;
        press(client, "the door code").await;
        tab_to(client, "share-create").await;
        press(client, ENTER).await;
        wait_for(client, "#share-result:not([hidden])", wait).await;
        let errors = common::browser::console_errors(client).await;
        assert!(errors.is_empty(), "the console: {errors:#?}");
    })
    .await;
}

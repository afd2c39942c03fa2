//! Accessibility scans with axe-core (4.14.1, vendored under
//! `tests/browser/vendor/`, MPL-2.0), injected through WebDriver: the web
//! client signed out, signed in (light and dark) and the share page must
//! have no serious or critical violation.

use crate::common;

use std::time::Duration;

use common::browser::{cdp, click, sign_in, wait_for};
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

//! The web client in real headless Chromium, two separate browser
//! sessions: both register; A sends to B and B's open inbox shows it
//! live, without a reload; B's stream is cut (its account changes) and the
//! page resumes with a fresh ticket and its last event id, receiving the
//! next message once; B deletes and logs out. The page fits 360 px and is
//! served with a CSP without `unsafe-inline`. On a failure, each page's
//! screenshot is saved under `target/tmp/browser_app/`.

use crate::common;

use std::time::{Duration, Instant};

use common::browser::{click, fill, inbox, keeping_screenshots, sign_in, wait_for, wait_for_text};
use common::{TestServer, start};
use fantoccini::Client;

/// Opens the client, creates the account and waits for its live stream.
async fn register(s: &TestServer, client: &Client, name: &str) {
    sign_in(client, &s.base, name, true, Duration::from_secs(20)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_browsers_exchange_messages_live_and_resume_after_a_drop() {
    let Some(a) = common::browser::launch("browser_app").await else {
        return;
    };
    let Some(b) = common::browser::launch("browser_app").await else {
        return;
    };
    let s = start().await;
    let (alice, bob) = (&a.client, &b.client);
    let pages = [("alice", alice), ("bob", bob)];
    keeping_screenshots("browser_app", &pages, scenario(&s, alice, bob)).await;
}

/// The ids of the web client's areas on screen (one at a time).
async fn areas_shown(client: &Client) -> Vec<String> {
    let shown = client
        .execute(
            "return Array.from(document.querySelectorAll('.area:not([hidden])'), \
             (a) => a.id.replace('area-', ''));",
            vec![],
        )
        .await
        .expect("areas");
    serde_json::from_value(shown).expect("names")
}

async fn scenario(s: &TestServer, alice: &Client, bob: &Client) {
    register(s, bob, "bob").await;
    register(s, alice, "alice").await;
    assert!(
        common::browser::text(bob, "#inbox-empty")
            .await
            .starts_with("No messages yet")
    );

    fill(alice, "#to", "bob").await;
    fill(alice, "#text", "hello bob").await;
    click(alice, "#send").await;
    // Live, over bob's open stream, with no reload: how fast is the load
    // harness's to say (`sse_load`, docs/performance.md), not a timed test's.
    wait_for(bob, "#inbox li", Duration::from_secs(5)).await;
    assert_eq!(inbox(bob).await, ["hello bob"]);

    // Cut bob's stream: a role change ends it; the page reconnects with a
    // fresh ticket and its last event id.
    let bob_id = s
        .engine
        .accounts()
        .find("bob")
        .expect("lookup")
        .expect("bob");
    s.engine
        .admin()
        .set_role(bob_id, strongroom::engine::Role::User)
        .expect("role");
    wait_for(bob, "#live:not(.on)", Duration::from_secs(5)).await;
    wait_for(bob, "#live.on", Duration::from_secs(10)).await;
    // While bob looks elsewhere, new messages count in the title.
    bob.execute(
        "Object.defineProperty(document, 'hidden', { value: true, configurable: true });",
        vec![],
    )
    .await
    .expect("hide");
    // Ctrl+Enter in the text sends, like the button.
    fill(alice, "#text", "after the drop").await;
    alice
        .execute(
            "document.getElementById('text').dispatchEvent(new KeyboardEvent('keydown', \
             { key: 'Enter', ctrlKey: true, bubbles: true }))",
            vec![],
        )
        .await
        .expect("ctrl+enter");
    wait_for(bob, "#inbox li:nth-child(2)", Duration::from_secs(5)).await;
    assert_eq!(
        inbox(bob).await,
        ["after the drop", "hello bob"],
        "no gap, no duplicate"
    );
    assert_eq!(bob.title().await.expect("title"), "(1) Strongroom");
    bob.execute(
        "Object.defineProperty(document, 'hidden', { value: false, configurable: true }); \
         document.dispatchEvent(new Event('visibilitychange'));",
        vec![],
    )
    .await
    .expect("show");
    assert_eq!(bob.title().await.expect("title"), "Strongroom");
    // Reply puts the sender in the send form.
    click(bob, "#inbox li:first-child button.reply").await;
    let to = common::browser::element(bob, "#to")
        .await
        .prop("value")
        .await
        .expect("to");
    assert_eq!(to.as_deref(), Some("alice"));
    // Reply opened the Send area, in the address too.
    assert_eq!(areas_shown(bob).await, ["send"]);
    let url = bob.current_url().await.expect("url");
    assert_eq!(url.fragment(), Some("/send"));
    // A message that arrives meanwhile counts beside the Inbox link until
    // the inbox is opened (here by Back).
    fill(alice, "#text", "while bob writes").await;
    click(alice, "#send").await;
    let count = wait_for_text(bob, "#unread", "1", Duration::from_secs(5)).await;
    assert_eq!(count, "1");
    bob.back().await.expect("back");
    wait_for(bob, "#area-inbox:not([hidden])", Duration::from_secs(5)).await;
    assert_eq!(areas_shown(bob).await, ["inbox"]);
    let counted = common::browser::element(bob, "#unread").await;
    assert!(
        !counted.is_displayed().await.expect("shown?"),
        "count cleared"
    );
    assert_eq!(
        inbox(bob).await,
        ["while bob writes", "after the drop", "hello bob"]
    );
    // Deleting asks first.
    bob.execute("window.confirm = () => true;", vec![])
        .await
        .expect("confirm");
    // `STRONGROOM_SCREENSHOT=docs/web-client.png` keeps a picture of it
    // (how the README's screenshot was made).
    if let Some(path) = std::env::var_os("STRONGROOM_SCREENSHOT") {
        bob.set_window_size(760, 820).await.expect("resize");
        let png = bob.screenshot().await.expect("screenshot");
        std::fs::write(path, png).expect("write screenshot");
    }

    // Delete, then log out.
    for left in [&["after the drop", "hello bob"][..], &["hello bob"]] {
        click(bob, "#inbox li:first-child button").await;
        let deadline = Instant::now() + Duration::from_secs(5);
        while inbox(bob).await != left {
            assert!(Instant::now() < deadline, "{:?}", inbox(bob).await);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let owner = s.engine.records().list(bob_id, None, 10).expect("list");
    assert_eq!(owner.records.len(), 1, "deleted on the server too");
    // Already gone on the server (deleted elsewhere): deleting it here
    // just removes it, with no error.
    s.engine
        .records()
        .delete(bob_id, owner.records[0].meta.id)
        .expect("deleted elsewhere");
    click(bob, "#inbox li:first-child button").await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while !inbox(bob).await.is_empty() {
        assert!(Instant::now() < deadline, "still shown");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = common::browser::text(bob, "#status").await;
    assert!(!status.contains("failed"), "{status}");
    click(bob, "#logout").await;
    wait_for(bob, "#signin:not([hidden])", Duration::from_secs(5)).await;

    // 360 px wide: nothing overflows sideways.
    alice.set_window_size(360, 740).await.expect("resize");
    let width = alice
        .execute("return document.documentElement.scrollWidth", vec![])
        .await
        .expect("width");
    assert!(
        width.as_u64().expect("number") <= 360,
        "page is {width} px wide"
    );
}

#[tokio::test]
async fn the_client_is_served_with_a_strict_csp() {
    let s = start().await;
    for path in [
        "/app",
        "/app/app.js",
        "/app/e2e.js",
        "/app/hpke.js",
        "/app/app.css",
    ] {
        let res = s.http.get(s.url(path)).send().await.expect("get");
        assert_eq!(res.status(), 200, "{path}");
        let csp = res.headers()["content-security-policy"]
            .to_str()
            .expect("csp")
            .to_owned();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe"),
            "{csp}"
        );
    }
    let missing = s.http.get(s.url("/app/nope.js")).send().await.expect("get");
    assert_eq!(missing.status(), 404);
}

/// `/docs` carries a hash-based CSP (it shares the client's origin): the
/// Swagger UI must still render and list the operations under it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_docs_render_under_their_csp() {
    let Some(browser) = common::browser::launch("browser_docs").await else {
        return;
    };
    let s = start().await;
    let client = &browser.client;
    client.goto(&s.url("/docs")).await.expect("open /docs");
    let title = wait_for(client, ".swagger-ui .info .title", Duration::from_secs(20)).await;
    assert!(
        title.text().await.expect("title").contains("Strongroom"),
        "the UI rendered"
    );
    wait_for(
        client,
        "#operations-Accounts-login",
        Duration::from_secs(10),
    )
    .await;
}

/// The client follows the system's colour scheme: light by default, dark
/// when the browser prefers it (emulated through DevTools), with the
/// focus ring visible against either page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_follows_a_dark_colour_scheme() {
    let Some(browser) = common::browser::launch("browser_dark").await else {
        return;
    };
    let client = &browser.client;
    let s = start().await;
    client.goto(&format!("{}/app", s.base)).await.expect("open");
    wait_for(client, "#username", Duration::from_secs(10)).await;
    let colours = |client: &Client| {
        let client = client.clone();
        async move {
            let v = client
                .execute(
                    "const b = getComputedStyle(document.body); \
                     const root = getComputedStyle(document.documentElement); \
                     return [b.backgroundColor, b.color, root.getPropertyValue('--focus').trim()];",
                    vec![],
                )
                .await
                .expect("styles");
            serde_json::from_value::<Vec<String>>(v).expect("three strings")
        }
    };
    assert_eq!(
        colours(client).await,
        ["rgb(246, 246, 244)", "rgb(27, 27, 27)", "#1a5fb4"]
    );
    common::browser::cdp(
        client,
        "Emulation.setEmulatedMedia",
        serde_json::json!({"features": [{"name": "prefers-color-scheme", "value": "dark"}]}),
    )
    .await;
    assert_eq!(
        colours(client).await,
        ["rgb(18, 20, 23)", "rgb(236, 236, 236)", "#ffd166"]
    );
}

/// Expiry is a choice and always visible: the send form offers lifetimes
/// with the server's default chosen, each message shows its time left on
/// the server's clock, and it leaves the page when it expires (the page's
/// clock is moved forward, as tests move the engine's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_show_their_time_left_and_leave_when_they_expire() {
    let Some(browser) = common::browser::launch("browser_expiry").await else {
        return;
    };
    let client = &browser.client;
    let s = start().await;
    keeping_screenshots("browser_expiry", &[("alice", client)], async {
        register(&s, client, "alice").await;
        let chosen = client
            .execute(
                "const t = document.getElementById('ttl'); \
                 return [t.options[t.selectedIndex].text, \
                         Array.from(t.options, (o) => o.value).join(',')];",
                vec![],
            )
            .await
            .expect("lifetimes");
        assert_eq!(
            chosen,
            serde_json::json!(["10 min (default)", "300,600,3600,86400,604800"])
        );
        fill(client, "#to", "alice").await;
        fill(client, "#text", "gone in five").await;
        client
            .execute("document.getElementById('ttl').value = '300';", vec![])
            .await
            .expect("choose 5 minutes");
        click(client, "#e2e").await; // readable: one copy, to oneself
        click(client, "#send").await;
        wait_for_text(client, "#status", "Sent to alice", Duration::from_secs(10)).await;
        click(client, "#nav-inbox").await;
        let item = wait_for(client, "#inbox li .left", Duration::from_secs(10)).await;
        let left = item.text().await.expect("time left");
        assert_eq!(left, "disappears in 5 min");
        let token = s.login("alice", common::PASSWORD).await.0;
        let stored = s.get("/v1/messages", &token).await;
        let m = &stored.body["messages"][0];
        let lifetime = time::OffsetDateTime::parse(
            m["expires_at"].as_str().expect("expiry"),
            &time::format_description::well_known::Rfc3339,
        )
        .expect("rfc 3339")
            - time::OffsetDateTime::parse(
                m["created_at"].as_str().expect("creation"),
                &time::format_description::well_known::Rfc3339,
            )
            .expect("rfc 3339");
        assert_eq!(lifetime.whole_seconds(), 300);

        let forward = |minutes: u64| {
            format!(
                "const now = Date.now; const ahead = {}; Date.now = () => now() + ahead;",
                minutes * 60_000
            )
        };
        // Three minutes on: under two left (the page's real seconds count
        // too), so it says two.
        client.execute(&forward(3), vec![]).await.expect("clock");
        let mut said = String::new();
        for _ in 0..50 {
            said = item.text().await.expect("time left");
            if said == "disappears in 2 min" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(said, "disappears in 2 min");
        client.execute(&forward(3), vec![]).await.expect("clock");
        let deadline = Instant::now() + Duration::from_secs(5);
        while !inbox(client).await.is_empty() {
            assert!(Instant::now() < deadline, "the expired message stayed");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
}

/// Signing up shows the rules and the warning first, asks for the
/// password twice, rates it as it is typed (zxcvbn-ts), and refuses an
/// easily guessed one or two that differ before anything is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_asks_twice_and_refuses_a_guessable_password() {
    let Some(browser) = common::browser::launch("browser_sign_up").await else {
        return;
    };
    let client = &browser.client;
    let s = start().await;
    keeping_screenshots("browser_sign_up", &[("carol", client)], async {
        client.goto(&format!("{}/app", s.base)).await.expect("open");
        fill(client, "#username", "carol").await;
        click(client, "#register").await;
        let rules = common::browser::text(client, "#password-rules").await;
        assert!(
            rules.contains("12 characters") && rules.contains("can never be opened again"),
            "{rules}"
        );
        fill(client, "#password", "aaaaaaaaaaaa").await;
        let rated = wait_for_text(
            client,
            "#strength-text",
            "very weak",
            Duration::from_secs(10),
        )
        .await;
        assert!(rated.contains("Repeated characters"), "{rated}");
        fill(client, "#password-again", "aaaaaaaaaaaa").await;
        click(client, "#register").await;
        wait_for_text(
            client,
            "#status",
            "Choose a harder password",
            Duration::from_secs(10),
        )
        .await;
        fill(client, "#password", common::PASSWORD).await;
        wait_for_text(
            client,
            "#strength-text",
            "very strong",
            Duration::from_secs(10),
        )
        .await;
        click(client, "#register").await;
        wait_for_text(
            client,
            "#status",
            "The two passwords differ",
            Duration::from_secs(10),
        )
        .await;
        assert_eq!(s.engine.accounts().find("carol").expect("lookup"), None);
        fill(client, "#password-again", common::PASSWORD).await;
        click(client, "#register").await;
        wait_for(client, "#live.on", Duration::from_secs(20)).await;
        assert!(s.engine.accounts().find("carol").expect("lookup").is_some());
    })
    .await;
}

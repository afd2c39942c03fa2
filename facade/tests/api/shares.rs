//! Share links end to end over a real TCP port: create, preview without
//! consuming (plain GETs and the user agents of link unfurlers), open
//! exactly once under 32 concurrent requests, passphrases, list and
//! revoke, expiry, anonymous creation, the page's headers, a binary share
//! made through the engine (opened as base64), and problems that say only
//! 404 or 410.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{TestServer, assert_problem, start, start_with};
use serde_json::{Value, json};
use strongroom_engine::secrecy::ExposeSecret;
use strongroom_engine::shares::client;
use strongroom_facade::ApiConfig;

/// User agents of common link unfurlers (chat, mail and social clients).
const UNFURLERS: [&str; 8] = [
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "TelegramBot (like TwitterBot)",
    "WhatsApp/2.23.20.0",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Twitterbot/1.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) SkypeUriPreview Preview/0.5",
    "Microsoft Office/16.0 (Microsoft Outlook 16.0.12026; Pro)",
];

async fn create(s: &TestServer, token: Option<&str>, body: Value) -> Value {
    let r = s.post("/v1/shares", body, token).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body
}

fn token_of(url: &str) -> String {
    url.rsplit("/s/").next().expect("token").to_owned()
}

async fn open(s: &TestServer, token: &str, body: Value) -> common::Reply {
    s.post(&format!("/v1/shares/{token}/open"), body, None)
        .await
}

#[tokio::test]
async fn previews_never_consume_a_view_and_the_open_releases_it_once() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    let created = create(
        &s,
        Some(&alice),
        json!({"message": "the vault code is 7-3-1", "ttl_seconds": 3600}),
    )
    .await;
    assert_eq!(created["max_views"], 1);
    let url = created["url"].as_str().expect("url");
    assert!(url.starts_with(&format!("{}/s/", s.base)), "{url}");
    let token = token_of(url);
    assert_eq!(token.len(), 43);

    // A plain GET, every unfurler, and JSON: all only look.
    for agent in std::iter::once("curl/8.5.0").chain(UNFURLERS) {
        let page = s
            .http
            .get(s.url(&format!("/s/{token}")))
            .header("user-agent", agent)
            .send()
            .await
            .expect("page");
        assert_eq!(page.status(), 200, "{agent}");
        let headers = page.headers().clone();
        let html = page.text().await.expect("html");
        assert!(html.contains("Someone shared a secret with you"));
        assert!(!html.contains("7-3-1"), "content leaked to {agent}");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(headers["cache-control"], "no-store");
        let csp = headers["content-security-policy"].to_str().expect("csp");
        assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));
        assert!(!csp.contains("unsafe-inline"));
    }
    let status = s
        .send(
            s.http
                .get(s.url(&format!("/s/{token}")))
                .header("accept", "application/json"),
        )
        .await;
    assert_eq!(status.status, 200);
    assert_eq!(status.body["views_left"], 1);
    assert_eq!(status.body["passphrase_required"], false);

    let opened = open(&s, &token, json!({})).await;
    assert_eq!(opened.status, 200, "{}", opened.body);
    assert_eq!(opened.body["message"], "the vault code is 7-3-1");
    assert_eq!(opened.body["views_left"], 0);
    assert!(opened.content_type.starts_with("application/json"));

    assert_problem(&open(&s, &token, json!({})).await, 410);
    let page = s
        .http
        .get(s.url(&format!("/s/{token}")))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 410);
}

#[tokio::test]
async fn thirty_two_concurrent_opens_give_one_secret_and_31_gone() {
    let s = Arc::new(start().await);
    let (alice, _) = s.account("alice").await;
    let created = create(&s, Some(&alice), json!({"message": "once only"})).await;
    let token = token_of(created["url"].as_str().expect("url"));
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (s, token) = (s.clone(), token.clone());
            tokio::spawn(async move { open(&s, &token, json!({})).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        let reply = task.await.expect("task");
        if reply.status == 200 {
            assert_eq!(reply.body["message"], "once only");
        } else {
            assert_problem(&reply, 410);
        }
        statuses.push(reply.status);
    }
    assert_eq!(statuses.iter().filter(|&&s| s == 200).count(), 1);
    assert_eq!(statuses.iter().filter(|&&s| s == 410).count(), 31);
}

#[tokio::test]
async fn errors_say_only_not_found_or_gone() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    let (_, unknown) = client::seal(b"");
    let unknown = unknown.expose_secret().to_owned();
    let mut bodies = Vec::new();
    for token in [unknown.as_str(), "short", &"!".repeat(43), &"A".repeat(200)] {
        let r = open(&s, token, json!({})).await;
        assert_problem(&r, 404);
        bodies.push(r.body);
    }
    // Expired, used up and revoked read alike.
    let expiring = create(&s, Some(&alice), json!({"message": "a", "ttl_seconds": 60})).await;
    let used = create(&s, Some(&alice), json!({"message": "b"})).await;
    let revoked = create(&s, Some(&alice), json!({"message": "c"})).await;
    let used_token = token_of(used["url"].as_str().expect("url"));
    assert_eq!(open(&s, &used_token, json!({})).await.status, 200);
    let r = s
        .delete(
            &format!("/v1/shares/{}", revoked["id"].as_str().expect("id")),
            &alice,
        )
        .await;
    assert_eq!(r.status, 204);
    s.advance(Duration::from_secs(60));
    let mut gone = Vec::new();
    for share in [&expiring, &used, &revoked] {
        let r = open(
            &s,
            &token_of(share["url"].as_str().expect("url")),
            json!({}),
        )
        .await;
        assert_problem(&r, 410);
        gone.push(r.body);
    }
    assert!(gone.windows(2).all(|w| w[0] == w[1]), "{gone:?}");
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    // After the purge an expired share is simply unknown.
    s.engine
        .shares()
        .purge_expired(s.clock_now(), 100)
        .expect("purge");
    let r = open(
        &s,
        &token_of(expiring["url"].as_str().expect("url")),
        json!({}),
    )
    .await;
    assert_problem(&r, 404);
}

#[tokio::test]
async fn a_passphrase_is_checked_without_spending_views_and_five_wrong_destroy() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    let created = create(
        &s,
        Some(&alice),
        json!({"message": "guarded", "passphrase": "open sesame", "max_views": 2}),
    )
    .await;
    let token = token_of(created["url"].as_str().expect("url"));
    assert_problem(&open(&s, &token, json!({})).await, 401);
    for _ in 0..4 {
        assert_problem(
            &open(&s, &token, json!({"passphrase": "open says me"})).await,
            401,
        );
    }
    let opened = open(&s, &token, json!({"passphrase": "open sesame"})).await;
    assert_eq!(opened.status, 200, "{}", opened.body);
    assert_eq!(opened.body["views_left"], 1);
    assert_problem(
        &open(&s, &token, json!({"passphrase": "wrong again"})).await,
        401,
    );
    assert_problem(
        &open(&s, &token, json!({"passphrase": "open sesame"})).await,
        410,
    );
    let listed = s.get("/v1/shares", &alice).await;
    assert_eq!(listed.body["shares"][0]["state"], "destroyed");
}

#[tokio::test]
async fn creators_list_and_revoke_only_their_own_and_never_see_content() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    let (bob, _) = s.account("bob").await;
    let created = create(
        &s,
        Some(&alice),
        json!({"message": "listed not shown", "max_views": 3}),
    )
    .await;
    let id = created["id"].as_str().expect("id");
    let listed = s.get("/v1/shares", &alice).await;
    assert_eq!(listed.status, 200);
    let text = listed.body.to_string();
    assert!(!text.contains("listed not shown"));
    assert!(!text.contains(&token_of(created["url"].as_str().expect("url"))));
    let share = &listed.body["shares"][0];
    assert_eq!(share["id"], id);
    assert_eq!(share["state"], "active");
    assert_eq!(
        (share["views_used"].as_u64(), share["views_left"].as_u64()),
        (Some(0), Some(3))
    );
    assert_eq!(s.get("/v1/shares", &bob).await.body["shares"], json!([]));
    assert_problem(&s.delete(&format!("/v1/shares/{id}"), &bob).await, 404);
    assert_problem(&s.delete("/v1/shares/not-an-id", &alice).await, 404);
    assert_eq!(
        s.delete(&format!("/v1/shares/{id}"), &alice).await.status,
        204
    );
    let listed = s.get("/v1/shares", &alice).await;
    assert_eq!(listed.body["shares"][0]["state"], "revoked");
    assert_problem(&s.get_anonymous("/v1/shares").await, 401);
}

#[tokio::test]
async fn bad_requests_are_400_and_anonymous_creation_is_off_by_default() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    for body in [
        json!({"message": "x", "ttl_seconds": 59}),
        json!({"message": "x", "ttl_seconds": 604_801}),
        json!({"message": "x", "max_views": 0}),
        json!({"message": "x", "max_views": 101}),
        json!({"message": ""}),
        json!({"message": "x", "passphrase": ""}),
        json!({"message": "x".repeat(87_424), "client_encrypted": true}),
        json!({"message": "x".repeat(64 * 1024 + 1)}),
    ] {
        assert_problem(&s.post("/v1/shares", body.clone(), Some(&alice)).await, 400);
    }
    assert_problem(
        &s.post("/v1/shares", json!({"message": "x"}), None).await,
        401,
    );
    assert_problem(
        &s.post("/v1/shares", json!({"message": "x"}), Some("not-a-token"))
            .await,
        401,
    );
}

#[tokio::test]
async fn anonymous_shares_when_allowed_are_limited_per_address() {
    let config = ApiConfig {
        anonymous_shares: true,
        public_url: Some("https://vault.example.com".to_owned()),
        ..ApiConfig::default()
    };
    let s = start_with(config, "").await;
    for _ in 0..5 {
        let created = create(&s, None, json!({"message": "from nobody"})).await;
        let url = created["url"].as_str().expect("url");
        assert!(url.starts_with("https://vault.example.com/s/"), "{url}");
    }
    let r = s
        .post("/v1/shares", json!({"message": "one too many"}), None)
        .await;
    assert_problem(&r, 429);
    assert!(r.retry_after.is_some());
    // An invalid token is refused, never treated as anonymous.
    assert_problem(
        &s.post("/v1/shares", json!({"message": "x"}), Some("bogus"))
            .await,
        401,
    );
}

#[tokio::test]
async fn a_client_encrypted_share_carries_only_the_blob() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    let (blob, key) = client::seal("for your eyes only".as_bytes());
    let created = create(
        &s,
        Some(&alice),
        json!({"message": STANDARD.encode(&blob), "client_encrypted": true}),
    )
    .await;
    let token = token_of(created["url"].as_str().expect("url"));
    let status = s
        .send(
            s.http
                .get(s.url(&format!("/s/{token}")))
                .header("accept", "application/json"),
        )
        .await;
    assert_eq!(status.body["client_encrypted"], true);
    let opened = open(&s, &token, json!({})).await;
    assert_eq!(opened.body["client_encrypted"], true);
    let released = STANDARD
        .decode(opened.body["message"].as_str().expect("blob"))
        .expect("base64");
    assert_eq!(released, blob);
    let plain = client::open(&released, &key).expect("decrypts");
    assert_eq!(plain.as_slice(), b"for your eyes only");
}

#[tokio::test]
async fn share_links_answer_head_and_percent_encoded_tokens_and_refuse_other_methods() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    let created = create(&s, Some(&alice), json!({"message": "m"})).await;
    let token = token_of(created["url"].as_str().expect("url"));
    let head = s
        .http
        .head(s.url(&format!("/s/{token}")))
        .send()
        .await
        .expect("head");
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["cache-control"], "no-store");
    assert!(head.text().await.expect("body").is_empty());
    // The token's first character percent-encoded is the same link.
    let encoded = format!("/s/%{:02X}{}", token.as_bytes()[0], &token[1..]);
    let page = s.http.get(s.url(&encoded)).send().await.expect("page");
    assert_eq!(page.status(), 200, "{encoded}");
    for (method, path, status) in [
        (reqwest::Method::DELETE, format!("/s/{token}"), 405),
        (reqwest::Method::POST, "/s/assets/share.js".to_owned(), 405),
        (reqwest::Method::GET, format!("/s/{token}/more"), 404),
        (reqwest::Method::GET, "/s/".to_owned(), 404),
        (reqwest::Method::GET, "/s/%FF".to_owned(), 400),
    ] {
        let r = s
            .http
            .request(method.clone(), s.url(&path))
            .send()
            .await
            .expect("answer");
        assert_eq!(r.status(), status, "{method} {path}");
    }
    // Looking never consumed the one view; the open takes the token
    // percent-encoded too.
    let encoded = format!("%{:02X}{}", token.as_bytes()[0], &token[1..]);
    assert_eq!(open(&s, &encoded, json!({})).await.status, 200);
    assert_problem(&open(&s, &token, json!({})).await, 410);
}

#[tokio::test]
async fn the_page_assets_are_served() {
    let s = start().await;
    for (path, kind) in [
        ("/s/assets/share.js", "text/javascript"),
        ("/s/assets/share.css", "text/css"),
    ] {
        let r = s.http.get(s.url(path)).send().await.expect("asset");
        assert_eq!(r.status(), 200);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .expect("type")
                .starts_with(kind)
        );
    }
}

#[tokio::test]
async fn a_share_counts_toward_its_creators_quota() {
    let s = start().await;
    let (root, _) = s.with_role("root", strongroom_engine::Role::Admin).await;
    let (alice, alice_id) = s.with_role("alice", strongroom_engine::Role::User).await;
    let quota = json!({"max_bytes": 200, "max_records": 1000, "writes_per_minute": 100});
    let path = format!("/v1/admin/users/{alice_id}/quota");
    assert_eq!(s.call("PUT", &path, Some(&root), quota).await.status, 200);
    create(&s, Some(&alice), json!({"message": "x".repeat(100)})).await;
    let refused = s
        .post(
            "/v1/shares",
            json!({"message": "y".repeat(100)}),
            Some(&alice),
        )
        .await;
    assert_problem(&refused, 403);
    assert!(
        refused.body["detail"]
            .as_str()
            .expect("detail")
            .contains("quota"),
        "{}",
        refused.body
    );
    let status = s.get(&path, &root).await;
    assert_eq!(status.body["used_records"], 1, "{}", status.body);
}

#[tokio::test]
async fn passphrase_guesses_are_throttled_per_address_before_any_hashing() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    let mut tokens = Vec::new();
    for _ in 0..3 {
        let created = create(
            &s,
            Some(&alice),
            json!({"message": "guarded", "passphrase": "open sesame"}),
        )
        .await;
        tokens.push(token_of(created["url"].as_str().expect("url")));
    }
    // Ten guesses from one address, spread so that no share is destroyed.
    for i in 0..10 {
        let r = open(&s, &tokens[i % 3], json!({"passphrase": "a wrong guess"})).await;
        assert_problem(&r, 401);
    }
    let throttled = open(&s, &tokens[1], json!({"passphrase": "open sesame"})).await;
    assert_problem(&throttled, 429);
    assert!(throttled.retry_after.is_some());
    // Asking whether a passphrase is needed costs nothing and is not counted.
    assert_problem(&open(&s, &tokens[2], json!({})).await, 401);
}

#[tokio::test]
async fn a_binary_share_made_through_the_engine_opens_as_base64() {
    let s = start().await;
    let content = [0u8, 159, 146, 150, 255, b'\n'];
    let created = s
        .engine
        .shares()
        .create(
            None,
            strongroom_engine::shares::NewShare {
                content: &content,
                ttl: None,
                max_views: None,
                passphrase: None,
                client_encrypted: false,
            },
        )
        .expect("create");
    let r = open(&s, created.token.expose_secret(), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["message"], STANDARD.encode(content));
    assert_eq!(r.body["client_encrypted"], false);
    assert_eq!(r.body["views_left"], 0);
}

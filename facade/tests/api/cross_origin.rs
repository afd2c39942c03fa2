//! What a browser app on another origin needs, over a real TCP port: CORS
//! preflights answered for configured origins only, an EventSource that
//! resumes with a fresh ticket and `?last_event_id=` (no gap, no
//! duplicate; the header wins over the query), and streams that end with a
//! reason when the access token expires. Also: at most N streams per user,
//! and a body that trickles in is cut off.

use crate::common;

use std::time::Duration;

use common::sse::{Next, SseStream};
use common::{assert_problem, start_with};
use serde_json::json;
use strongroom_facade::ApiConfig;

const WAIT: Duration = Duration::from_secs(10);

async fn preflight(s: &common::TestServer, origin: &str) -> reqwest::Response {
    s.http
        .request(reqwest::Method::OPTIONS, s.url("/v1/sessions"))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "content-type, authorization",
        )
        .send()
        .await
        .expect("preflight")
}

#[tokio::test]
async fn cors_preflights_succeed_for_configured_origins_only() {
    let config = ApiConfig {
        cors_origins: vec!["https://app.example".to_owned()],
        ..ApiConfig::default()
    };
    let s = start_with(config, "").await;
    let ok = preflight(&s, "https://app.example").await;
    assert!(ok.status().is_success(), "{}", ok.status());
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let methods = ok.headers()["access-control-allow-methods"]
        .to_str()
        .expect("methods");
    assert!(methods.contains("POST"), "{methods}");
    let headers = ok.headers()["access-control-allow-headers"]
        .to_str()
        .expect("headers")
        .to_lowercase();
    assert!(
        headers.contains("authorization") && headers.contains("content-type"),
        "{headers}"
    );
    let actual = s
        .http
        .get(s.url("/healthz"))
        .header("Origin", "https://app.example")
        .send()
        .await
        .expect("get");
    assert_eq!(
        actual.headers()["access-control-allow-origin"],
        "https://app.example"
    );

    let other = preflight(&s, "https://evil.example").await;
    assert!(other.headers().get("access-control-allow-origin").is_none());
    let other_get = s
        .http
        .get(s.url("/healthz"))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .expect("get");
    assert!(
        other_get
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    // No origins configured: no CORS for anyone.
    let closed = common::start().await;
    let r = preflight(&closed, "https://app.example").await;
    assert!(r.headers().get("access-control-allow-origin").is_none());
}

async fn ticket(s: &common::TestServer, token: &str) -> String {
    let r = s.post("/v1/events/tickets", json!({}), Some(token)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["ticket"].as_str().expect("ticket").to_owned()
}

async fn open_with_ticket(s: &common::TestServer, query: &str) -> SseStream {
    let res = s
        .http
        .get(s.url(&format!("/v1/events?{query}")))
        .send()
        .await
        .expect("open");
    assert_eq!(res.status(), 200);
    SseStream::new(res)
}

#[tokio::test]
async fn an_event_source_resumes_with_a_fresh_ticket_and_last_event_id() {
    let s = common::start().await;
    let (alice, _) = s.account("alice").await;
    let t = ticket(&s, &alice).await;
    let mut stream = open_with_ticket(&s, &format!("ticket={t}")).await;
    s.post("/v1/messages", json!({"message": "one"}), Some(&alice))
        .await;
    let one = stream.expect(WAIT).await;
    drop(stream);
    for text in ["two", "three"] {
        s.post("/v1/messages", json!({"message": text}), Some(&alice))
            .await;
    }
    // The ticket was spent: a reconnect with it is refused.
    let spent = s
        .http
        .get(s.url(&format!("/v1/events?ticket={t}")))
        .send()
        .await
        .expect("spent");
    assert_eq!(spent.status(), 401);
    // A fresh ticket and the last id seen: the gap is replayed, nothing twice.
    let t2 = ticket(&s, &alice).await;
    let mut resumed =
        open_with_ticket(&s, &format!("ticket={t2}&last_event_id={}", one.id())).await;
    assert_eq!(resumed.expect(WAIT).await.json()["message"], "two");
    let three = resumed.expect(WAIT).await;
    assert_eq!(three.json()["message"], "three");
    s.post("/v1/messages", json!({"message": "four"}), Some(&alice))
        .await;
    assert_eq!(resumed.expect(WAIT).await.json()["message"], "four");

    // The header wins over the query.
    let res = s
        .http
        .get(s.url(&format!("/v1/events?last_event_id={}", one.id())))
        .bearer_auth(&alice)
        .header("Last-Event-ID", three.id())
        .send()
        .await
        .expect("open");
    let mut both = SseStream::new(res);
    s.post("/v1/messages", json!({"message": "five"}), Some(&alice))
        .await;
    let next = both.expect(WAIT).await;
    assert_eq!(
        next.json()["message"],
        "four",
        "resumed after three, not after one"
    );
}

#[tokio::test]
async fn a_stream_ends_when_its_access_token_expires() {
    let config = ApiConfig {
        stream_check: Duration::from_millis(50),
        ..ApiConfig::default()
    };
    let s = start_with(config, "").await;
    let (alice, _) = s.account("alice").await;
    let (bob, _) = s.account("bob").await;
    let res = s
        .http
        .get(s.url("/v1/events"))
        .bearer_auth(&alice)
        .send()
        .await
        .expect("open");
    let mut stream = SseStream::new(res);
    s.post(
        "/v1/users/alice/messages",
        json!({"message": "before"}),
        Some(&bob),
    )
    .await;
    assert_eq!(stream.expect(WAIT).await.json()["message"], "before");
    s.advance(Duration::from_secs(15 * 60));
    // A message after expiry is never delivered on this stream.
    s.post(
        "/v1/users/alice/messages",
        json!({"message": "private"}),
        Some(&bob),
    )
    .await;
    let end = stream.expect(WAIT).await;
    assert_eq!(end.event, "end");
    assert_eq!(end.json()["reason"], "token_expired");
    assert!(matches!(stream.next(WAIT).await, Next::End));

    // A ticket-opened stream ends with the token that issued the ticket.
    let (carol, _) = s.account("carol").await;
    let t = ticket(&s, &carol).await;
    let mut by_ticket = open_with_ticket(&s, &format!("ticket={t}")).await;
    s.advance(Duration::from_secs(15 * 60));
    let end = by_ticket.expect(WAIT).await;
    assert_eq!(end.json()["reason"], "token_expired");
}

#[tokio::test]
async fn a_user_holds_a_bounded_number_of_streams() {
    let config = ApiConfig {
        streams_per_user: 2,
        // A closed stream is noticed at its next write.
        keep_alive: Duration::from_millis(100),
        ..ApiConfig::default()
    };
    let s = start_with(config, "").await;
    let (alice, _) = s.account("alice").await;
    let (bob, _) = s.account("bob").await;
    let open = |token: String| {
        let s = &s;
        async move {
            s.http
                .get(s.url("/v1/events"))
                .bearer_auth(token)
                .send()
                .await
                .expect("open")
        }
    };
    let first = open(alice.clone()).await;
    let second = open(alice.clone()).await;
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    let third = s
        .send(s.http.get(s.url("/v1/events")).bearer_auth(&alice))
        .await;
    assert_problem(&third, 429);
    assert!(
        third.body["detail"]
            .as_str()
            .expect("detail")
            .contains("at most 2")
    );
    assert_eq!(
        open(bob).await.status(),
        200,
        "other users are not affected"
    );
    drop(first);
    // The slot frees once the server notices the closed stream.
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let again = open(alice.clone()).await;
        if again.status() == 200 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "slot never freed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(second);
}

#[tokio::test]
async fn a_body_that_trickles_in_is_cut_off_with_408() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let config = ApiConfig {
        body_timeout: Duration::from_secs(1),
        ..ApiConfig::default()
    };
    let s = start_with(config, "").await;
    let addr = s.base.trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
    socket
        .write_all(b"POST /v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"user")
        .await
        .expect("write");
    let mut answer = vec![0u8; 1024];
    let n = tokio::time::timeout(WAIT, socket.read(&mut answer))
        .await
        .expect("answered in time")
        .expect("read");
    let text = String::from_utf8_lossy(&answer[..n]);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("application/problem+json"), "{text}");
    assert!(text.contains("connection: close"), "{text}");
}

#[tokio::test]
async fn the_servers_own_pages_pass_whatever_origins_are_configured() {
    let config = ApiConfig {
        cors_origins: vec!["https://app.example".to_owned()],
        ..ApiConfig::default()
    };
    let s = start_with(config, "").await;
    // What the built-in web client sends: its own origin, on a module
    // script and on a POST.
    let own = s.url("").trim_end_matches('/').to_owned();
    let script = s
        .http
        .get(s.url("/app/app.js"))
        .header("Origin", &own)
        .send()
        .await
        .expect("script");
    assert_eq!(script.status(), 200);
    let login = s
        .http
        .post(s.url("/v1/sessions"))
        .header("Origin", &own)
        .json(&json!({"username": "nobody", "password": "correct horse battery"}))
        .send()
        .await
        .expect("login");
    assert_eq!(
        login.status(),
        401,
        "refused for its password, not its origin"
    );
    // Another origin is still refused, and every answer varies by origin.
    let foreign = s
        .http
        .post(s.url("/v1/sessions"))
        .header("Origin", "https://evil.example")
        .json(&json!({"username": "nobody", "password": "correct horse battery"}))
        .send()
        .await
        .expect("login");
    assert_eq!(foreign.status(), 403);
    for answer in [&script, &login, &foreign] {
        let vary: Vec<_> = answer
            .headers()
            .get_all("vary")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        assert!(
            vary.iter()
                .any(|v| v.to_ascii_lowercase().contains("origin")),
            "{vary:?}"
        );
    }
}

#[tokio::test]
async fn the_api_docs_page_cannot_be_framed_or_run_foreign_scripts() {
    let s = common::start().await;
    let docs = s.http.get(s.url("/docs")).send().await.expect("docs");
    assert_eq!(docs.status(), 200);
    let csp = docs.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let scripts = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src"))
        .expect("script-src");
    assert!(scripts.contains("'sha256-"), "{csp}");
    assert!(!scripts.contains("unsafe"), "{csp}");
    assert_eq!(docs.headers()["x-frame-options"], "DENY");
    let body = docs.text().await.expect("body");
    assert!(body.contains("swagger"), "still the Swagger UI");
}

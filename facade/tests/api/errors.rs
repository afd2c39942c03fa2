//! End-to-end over a real TCP port: every kind of bad input gets the right
//! 4xx as application/problem+json, never a 500.

use crate::common;

use common::{assert_problem, start};
use serde_json::json;

#[tokio::test]
async fn malformed_json_wrong_types_and_missing_fields_are_400() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    let raw = |body: &'static str| {
        s.http
            .post(s.url("/v1/messages"))
            .bearer_auth(&alice)
            .header("content-type", "application/json")
            .body(body)
    };
    for body in [
        "{",
        "not json",
        "[]",
        "{\"message\": 5}",
        "{}",
        "{\"message\": null}",
        "\"x\"",
    ] {
        let r = s.send(raw(body)).await;
        assert_eq!(r.status, 400, "{body} -> {}", r.body);
        assert_problem(&r, 400);
    }
    let wrong_type = s
        .post(
            "/v1/accounts",
            json!({"username": "bob", "password": 123_456_789_012_u64}),
            None,
        )
        .await;
    assert_problem(&wrong_type, 400);
    assert!(
        !wrong_type.body["detail"]
            .as_str()
            .expect("detail")
            .contains("123456789012")
    );
    let no_content_type = s
        .http
        .post(s.url("/v1/messages"))
        .bearer_auth(&alice)
        .body("{\"message\":\"x\"}");
    let r = s.send(no_content_type).await;
    assert!(r.status == 400 || r.status == 415, "{}", r.status);
    assert_problem(&r, r.status);
}

#[tokio::test]
async fn bodies_over_one_mebibyte_are_413_with_or_without_content_length() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    let big = format!("{{\"message\": \"{}\"}}", "a".repeat(1024 * 1024));
    let r = s
        .send(
            s.http
                .post(s.url("/v1/messages"))
                .bearer_auth(&alice)
                .header("content-type", "application/json")
                .body(big.clone()),
        )
        .await;
    assert_problem(&r, 413);
    let chunks = futures_util::stream::iter(
        big.into_bytes()
            .chunks(64 * 1024)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let streamed = s
        .http
        .post(s.url("/v1/messages"))
        .bearer_auth(&alice)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(chunks));
    assert_problem(&s.send(streamed).await, 413);
}

#[tokio::test]
async fn missing_and_garbage_bearer_tokens_are_401() {
    let s = start().await;
    assert_problem(&s.send(s.http.get(s.url("/v1/messages"))).await, 401);
    for token in ["garbage", "", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
        let r = s.get("/v1/messages", token).await;
        assert_problem(&r, 401);
    }
    let basic = s
        .http
        .get(s.url("/v1/messages"))
        .header("authorization", "Basic YWxpY2U6cHc=");
    assert_problem(&s.send(basic).await, 401);
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods_are_problems() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    assert_problem(&s.get("/v1/nothing-here", &alice).await, 404);
    let r = s
        .send(s.http.put(s.url("/v1/messages")).bearer_auth(&alice))
        .await;
    assert!(r.status == 405 || r.status == 404, "{}", r.status);
    assert_problem(&r, r.status);
}

#[tokio::test]
async fn account_validation_and_conflicts() {
    let s = start().await;
    let create =
        |u: &str, p: &str| s.post("/v1/accounts", json!({"username": u, "password": p}), None);
    assert_problem(&create("Bad Name", "correct horse battery").await, 400);
    assert_problem(&create("alice", "short").await, 400);
    let ok = create("alice", "correct horse battery").await;
    assert_eq!(ok.status, 201);
    assert_eq!(ok.body["username"], "alice");
    assert!(ok.body["id"].is_string() && ok.body["created_at"].is_string());
    assert_problem(&create("alice", "another good password").await, 409);
}

#[tokio::test]
async fn health_docs_and_spec_are_served() {
    let s = start().await;
    let health = s.send(s.http.get(s.url("/healthz"))).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.body["status"], "ok");
    let docs = s.http.get(s.url("/docs")).send().await.expect("docs");
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.expect("html").contains("swagger"));
    let spec = s.send(s.http.get(s.url("/openapi.json"))).await;
    assert_eq!(spec.status, 200);
    assert!(spec.body["paths"]["/v1/messages"].is_object());
}

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
    for (body, says) in [
        ("{", "at line 1 column"),
        ("not json", "at line 1 column"),
        ("[]", "the body must be a JSON object"),
        ("", "the body must be a JSON object"),
        ("null", "the body must be a JSON object"),
        ("{\"message\": 5}", "field `message` must be a string"),
        ("{}", "field `message` is missing"),
        ("{\"message\": null}", "field `message` is missing"),
        ("\"x\"", "the body must be a JSON object"),
        (
            "{\"message\": \"m\", \"ttl_seconds\": -1}",
            "field `ttl_seconds` must be a whole number, at least 0",
        ),
        (
            "{\"message\": \"m\", \"ttl_seconds\": \"60\"}",
            "field `ttl_seconds` must be a whole number",
        ),
    ] {
        let r = s.send(raw(body)).await;
        assert_eq!(r.status, 400, "{body} -> {}", r.body);
        assert_problem(&r, 400);
        let detail = r.body["detail"].as_str().expect("detail");
        assert!(detail.contains(says), "{body} -> {detail}");
    }
    let scopes = s
        .post(
            "/v1/api-keys",
            json!({"name": "k", "scopes": ["messages:read", "everything"]}),
            Some(&alice),
        )
        .await;
    assert_problem(&scopes, 400);
    let detail = scopes.body["detail"].as_str().expect("detail");
    assert!(
        detail.contains("field `scopes[1]` must be one of"),
        "{detail}"
    );
    assert!(!detail.contains("everything"), "{detail}");
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
    assert!(
        wrong_type.body["detail"]
            .as_str()
            .expect("detail")
            .contains("field `password` must be a string")
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

/// Sends `head` and `body` on a connection of its own, reads until the
/// server closes it, and returns what it said.
async fn answer_to(s: &common::TestServer, head: &str, body: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = s.base.trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
    socket.write_all(head.as_bytes()).await.expect("head");
    // The server may answer and close before it reads the body.
    let _ = socket.write_all(body).await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        socket.read_to_end(&mut answer),
    )
    .await;
    assert!(read.is_ok(), "the server closed the connection");
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_body_refused_unread_closes_the_connection_and_says_so() {
    // Without `Connection: close`, a client pools the connection the
    // server stops reading, and its next request fails to send.
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    let too_large = answer_to(
        &s,
        "POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: 2097152\r\n\r\n",
        &[b' '; 1024],
    )
    .await;
    assert!(too_large.starts_with("HTTP/1.1 413"), "{too_large}");
    assert!(too_large.contains("connection: close"), "{too_large}");
    // A file upload refused before its body is read (a ttl of 0).
    let upload = answer_to(
        &s,
        &format!(
            "POST /v1/files?ttl_seconds=0 HTTP/1.1\r\nHost: x\r\n\
             Authorization: Bearer {alice}\r\nContent-Length: 4194304\r\n\r\n"
        ),
        &[0u8; 1024],
    )
    .await;
    assert!(upload.starts_with("HTTP/1.1 400"), "{upload}");
    assert!(upload.contains("connection: close"), "{upload}");
    // A page reads no body.
    let page = answer_to(
        &s,
        "POST /docs HTTP/1.1\r\nHost: x\r\nContent-Length: 4194304\r\n\r\n",
        &[0u8; 1024],
    )
    .await;
    assert!(page.starts_with("HTTP/1.1 405"), "{page}");
    assert!(page.contains("connection: close"), "{page}");
    // A body read in full leaves the connection open for the next request.
    let r = s
        .http
        .post(s.url("/v1/messages"))
        .bearer_auth(&alice)
        .header("content-type", "application/json")
        .body("{\"message\": 1}")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("connection").is_none());
}

/// 8 MiB in 64 KiB chunks: more than HTTP/2's flow-control windows let a
/// client send before the server reads, so the server answers first.
fn eight_mebibytes() -> reqwest::Body {
    let chunks = (0..128).map(|_| Ok::<_, std::io::Error>(vec![b' '; 64 * 1024]));
    reqwest::Body::wrap_stream(futures_util::stream::iter(chunks))
}

#[tokio::test]
async fn over_http2_a_body_refused_unread_still_gets_its_answer() {
    // The stream may be reset once the answer is out (RFC 9113 §8.1), not
    // before it: a reset first left the client with no answer at all.
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .expect("client");
    let post = |path: &str, token: &str| {
        h2.post(s.url(path))
            .bearer_auth(token)
            .header("content-type", "application/json")
    };
    // Too large by its declared length, and found too large as it comes.
    let declared = post("/v1/messages", &alice)
        .header("content-length", "8388608")
        .body(eight_mebibytes());
    let streamed = post("/v1/messages", &alice).body(eight_mebibytes());
    // Uploads refused before their body is read: no credential, a bad ttl.
    let unsigned = post("/v1/files", "garbage").body(eight_mebibytes());
    let bad_ttl = post("/v1/files?ttl_seconds=0", &alice).body(eight_mebibytes());
    for (what, req, status) in [
        ("declared", declared, 413),
        ("streamed", streamed, 413),
        ("unsigned upload", unsigned, 401),
        ("bad ttl upload", bad_ttl, 400),
    ] {
        let answer = req.send().await.unwrap_or_else(|e| panic!("{what}: {e:?}"));
        assert_eq!(answer.version(), reqwest::Version::HTTP_2, "{what}");
        assert_eq!(answer.status(), status, "{what}");
        let problem: serde_json::Value = answer.json().await.expect(what);
        assert_eq!(problem["status"], status, "{what}");
    }
    // The connection carries on.
    let health = h2.get(s.url("/healthz")).send().await.expect("health");
    assert_eq!(health.status(), 200);
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
async fn a_path_segment_that_is_not_utf8_is_named_as_such() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    for (method, path) in [
        ("GET", "/v1/messages/%FF"),
        ("DELETE", "/v1/files/%C3%28"),
        ("POST", "/v1/shares/%FF/open"),
    ] {
        let r = s.call(method, path, Some(&alice), json!({})).await;
        assert_problem(&r, 400);
        let detail = r.body["detail"].as_str().expect("detail");
        assert_eq!(
            detail, "a path segment is not UTF-8 text once percent-decoded",
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn a_bad_query_parameter_is_named_with_what_it_must_be() {
    let s = start().await;
    let (root, _) = s.with_role("root", strongroom_engine::Role::Admin).await;
    for (path, says) in [
        (
            "/v1/files?ttl_seconds=-5",
            "parameter `ttl_seconds` must be a whole number, 0 or more",
        ),
        (
            "/v1/admin/audit?limit=0",
            "parameter `limit` must be at least 1",
        ),
        (
            "/v1/admin/users?limit=501",
            "parameter `limit` must be at most 500",
        ),
        (
            "/v1/admin/users?after=zzz",
            "parameter `after` must be a UUID",
        ),
        (
            "/v1/admin/audit?from=yesterday",
            "parameter `from` must be an RFC 3339 date-time",
        ),
    ] {
        let method = if path.starts_with("/v1/files") {
            "POST"
        } else {
            "GET"
        };
        let r = s.call(method, path, Some(&root), json!(null)).await;
        assert_problem(&r, 400);
        let detail = r.body["detail"].as_str().expect("detail");
        assert!(detail.starts_with(says), "{path}: {detail}");
    }
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
    let slash = s.http.get(s.url("/docs/")).send().await.expect("docs/");
    assert_eq!(slash.url().path(), "/docs", "redirected to the page");
    assert_eq!(slash.status(), 200);
    let spec = s.send(s.http.get(s.url("/openapi.json"))).await;
    assert_eq!(spec.status, 200);
    assert!(spec.body["paths"]["/v1/messages"].is_object());
}

#[tokio::test]
async fn an_engine_opened_read_only_serves_reads_and_answers_writes_503() {
    use std::sync::Arc;
    use strongroom_testkit::http::{Api, engine, serve};
    use strongroom_testkit::{KEY_A, master};

    let app = |engine| {
        poem::IntoEndpoint::into_endpoint(strongroom_facade::api(engine, Default::default()))
    };
    let (dir, clock, writable) = engine();
    let (addr, task) = serve(app(writable.clone())).await;
    let s = Api::new(format!("http://{addr}"));
    let (alice, _) = s.account("alice").await;
    let sent = s
        .post("/v1/messages", json!({"message": "kept"}), Some(&alice))
        .await;
    assert_eq!(sent.status, 201, "{}", sent.body);
    // What an embedder serving a snapshot would do.
    let snapshot = dir.path().join("snapshot.redb");
    writable
        .maintenance()
        .backup_to(&snapshot)
        .expect("snapshot");
    let mut builder = strongroom_engine::Engine::builder(master(KEY_A));
    builder.clock(Arc::new(clock));
    let replica = builder.open_read_only(&snapshot).expect("read-only open");
    let (addr, replica_task) = serve(app(replica)).await;
    let ro = Api::new(format!("http://{addr}"));
    let listed = ro.get("/v1/messages", &alice).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body["messages"][0]["message"], "kept");
    let id = sent.body["id"].as_str().expect("id");
    for refused in [
        ro.post("/v1/messages", json!({"message": "x"}), Some(&alice))
            .await,
        ro.post(
            "/v1/sessions",
            json!({"username": "alice", "password": common::PASSWORD}),
            None,
        )
        .await,
        ro.delete(&format!("/v1/messages/{id}"), &alice).await,
        ro.post(
            "/v1/accounts",
            json!({"username": "bob", "password": common::PASSWORD}),
            None,
        )
        .await,
        ro.post("/v1/shares", json!({"message": "x"}), Some(&alice))
            .await,
        ro.post(
            "/v1/api-keys",
            json!({"name": "ci", "scopes": ["messages:read"]}),
            Some(&alice),
        )
        .await,
        ro.post("/v1/me/totp", json!({}), Some(&alice)).await,
        ro.call("DELETE", "/v1/sessions/current", Some(&alice), json!(null))
            .await,
        ro.send(
            ro.http
                .post(ro.url("/v1/files"))
                .bearer_auth(&alice)
                .header("content-type", "text/plain")
                .header("x-file-name", "a.txt")
                .body("file"),
        )
        .await,
    ] {
        assert_problem(&refused, 503);
        assert!(
            refused.body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("read-only")),
            "{}",
            refused.body
        );
    }
    replica_task.abort();
    task.abort();
}

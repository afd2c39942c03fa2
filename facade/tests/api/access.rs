//! Scopes, API keys, quotas and rates over a real TCP port: a scope × route
//! matrix (a key holding one scope, against every operation), a role ×
//! route matrix for the operations every role reaches, the life of a key,
//! storage quotas, write rates and broadcast caps.

use crate::common;

use std::time::Duration;

use common::{PASSWORD, TestServer, assert_problem, start, start_with};
use serde_json::{Value, json};
use strongroom_engine::Role;
use strongroom_facade::{ApiConfig, BroadcastCaps};

const SCOPES: [&str; 5] = [
    "messages:read",
    "messages:write",
    "events:read",
    "broadcast",
    "admin",
];

/// Creates a key with `scopes` for the holder of `token`; its secret and id.
async fn key(s: &TestServer, token: &str, scopes: &[&str]) -> (String, String) {
    let r = s
        .post(
            "/v1/api-keys",
            json!({"name": "test key", "scopes": scopes}),
            Some(token),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let secret = r.body["secret"].as_str().expect("secret").to_owned();
    let id = r.body["key"]["id"].as_str().expect("id").to_owned();
    (secret, id)
}

/// Sets the account `id`'s writes per minute to `per_minute` as the admin
/// `root` (and the other limits out of the way).
async fn write_rate(s: &TestServer, root: &str, id: &str, per_minute: u32) {
    let quota =
        json!({"max_bytes": 1_000_000, "max_records": 1000, "writes_per_minute": per_minute});
    let path = format!("/v1/admin/users/{id}/quota");
    assert_eq!(s.call("PUT", &path, Some(root), quota).await.status, 200);
}

/// Only the status of `GET /v1/events` (the body is an endless stream).
async fn stream_status(s: &TestServer, token: &str) -> u16 {
    let res = s
        .http
        .get(s.url("/v1/events"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    res.status().as_u16()
}

/// A message in `owner`'s inbox, for reading and deleting.
fn message_of(s: &TestServer, owner: &str) -> String {
    let id = s
        .engine
        .accounts()
        .find(owner)
        .expect("lookup")
        .expect("user");
    let receipt = s
        .engine
        .records()
        .put(id, b"for the matrix", None)
        .expect("put");
    receipt.meta.id.to_string()
}

/// Every operation with the scope it needs (`None`: any credential, or a
/// signed-in session only when `session_only`) and its success status.
fn operations(
    s: &TestServer,
    owner: &str,
) -> Vec<(&'static str, String, Value, Option<&'static str>, u16)> {
    let m = |scope| Some(scope);
    vec![
        (
            "POST",
            "/v1/messages".into(),
            json!({"message": "hi"}),
            m("messages:write"),
            201,
        ),
        (
            "POST",
            "/v1/users/bob/messages".into(),
            json!({"message": "hi"}),
            m("messages:write"),
            201,
        ),
        (
            "GET",
            "/v1/messages".into(),
            json!(null),
            m("messages:read"),
            200,
        ),
        (
            "GET",
            format!("/v1/messages/{}", message_of(s, owner)),
            json!(null),
            m("messages:read"),
            200,
        ),
        (
            "DELETE",
            format!("/v1/messages/{}", message_of(s, owner)),
            json!(null),
            m("messages:write"),
            204,
        ),
        (
            "POST",
            "/v1/events/tickets".into(),
            json!(null),
            m("events:read"),
            201,
        ),
        (
            "POST",
            "/v1/broadcasts".into(),
            json!({"message": "all"}),
            m("broadcast"),
            201,
        ),
        (
            "POST",
            "/v1/shares".into(),
            json!({"message": "s"}),
            m("messages:write"),
            201,
        ),
        (
            "GET",
            "/v1/shares".into(),
            json!(null),
            m("messages:read"),
            200,
        ),
        (
            "GET",
            "/v1/admin/users".into(),
            json!(null),
            m("admin"),
            200,
        ),
        (
            "GET",
            "/v1/admin/audit".into(),
            json!(null),
            m("admin"),
            200,
        ),
        (
            "GET",
            "/v1/admin/audit/checkpoint".into(),
            json!(null),
            m("admin"),
            200,
        ),
        ("GET", "/v1/me".into(), json!(null), None, 200),
    ]
}

#[tokio::test]
async fn a_key_reaches_exactly_the_operations_of_its_scope() {
    let s = start().await;
    let (root, _) = s.with_role("root", Role::Admin).await;
    s.account("bob").await;
    for scope in SCOPES {
        let (secret, _) = key(&s, &root, &[scope]).await;
        for (method, path, body, needs, ok) in operations(&s, "root") {
            let r = s.call(method, &path, Some(&secret), body).await;
            match needs {
                Some(needed) if needed != scope => {
                    assert_problem(&r, 403);
                    let detail = r.body["detail"].as_str().expect("detail");
                    assert!(detail.contains(needed), "{method} {path}: {detail}");
                }
                _ => assert_eq!(r.status, ok, "{scope}: {method} {path}: {}", r.body),
            }
        }
        let expected = if scope == "events:read" { 200 } else { 403 };
        assert_eq!(
            stream_status(&s, &secret).await,
            expected,
            "{scope}: events"
        );
        // Keys never manage keys, nor log out.
        for (method, path) in [
            ("POST", "/v1/api-keys"),
            ("GET", "/v1/api-keys"),
            ("DELETE", "/v1/sessions/current"),
        ] {
            let body = json!({"name": "k", "scopes": [scope]});
            assert_problem(&s.call(method, path, Some(&secret), body).await, 403);
        }
    }
    // The admin's own access token holds every scope.
    for (method, path, body, _, ok) in operations(&s, "root") {
        let r = s.call(method, &path, Some(&root), body).await;
        assert_eq!(r.status, ok, "{method} {path}: {}", r.body);
    }
}

#[tokio::test]
async fn each_role_reaches_its_operations_and_no_key_exceeds_it() {
    let s = start().await;
    let (user, _) = s.with_role("alice", Role::User).await;
    let (service, _) = s.with_role("robot", Role::Service).await;
    let (admin, _) = s.with_role("root", Role::Admin).await;
    s.account("bob").await;
    // (token, role's scopes) against every non-admin operation.
    for (token, role, granted) in [
        (&user, "user", &SCOPES[..3]),
        (&service, "service", &SCOPES[..4]),
        (&admin, "admin", &SCOPES[..]),
    ] {
        let owner = match role {
            "user" => "alice",
            "service" => "robot",
            _ => "root",
        };
        for (method, path, body, needs, ok) in operations(&s, owner) {
            let r = s.call(method, &path, Some(token), body).await;
            let allowed = needs.is_none_or(|n| granted.contains(&n));
            let expected = if allowed { ok } else { 403 };
            assert_eq!(r.status, expected, "{role}: {method} {path}: {}", r.body);
        }
        let me = s.get("/v1/me", token).await;
        assert_eq!(me.body["role"], role);
        assert_eq!(me.body["credential"], "login");
        assert_eq!(me.body["scopes"], json!(granted));
        // A key may hold any of the role's scopes, and none beyond them.
        for scope in SCOPES {
            let r = s
                .post(
                    "/v1/api-keys",
                    json!({"name": "k", "scopes": [scope]}),
                    Some(token),
                )
                .await;
            if granted.contains(&scope) {
                assert_eq!(r.status, 201, "{role} {scope}: {}", r.body);
            } else {
                assert_problem(&r, 403);
                assert!(r.body["detail"].as_str().expect("detail").contains(scope));
            }
        }
    }
}

#[tokio::test]
async fn a_key_is_shown_once_listed_without_its_secret_and_revoked() {
    let s = start().await;
    let (root, _) = s.with_role("root", Role::Admin).await;
    // Another admin, so root may be demoted below.
    s.with_role("deputy", Role::Admin).await;
    let (secret, id) = key(&s, &root, &["messages:read", "admin"]).await;
    // srk_ + 64 hex + 8 hex of CRC-32.
    assert_eq!(secret.len(), 76);
    assert!(secret.starts_with("srk_"));
    assert!(
        secret[4..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    let me = s.get("/v1/me", &secret).await;
    assert_eq!(me.body["credential"], "api_key");
    assert_eq!(me.body["key_id"], id.as_str());
    assert_eq!(me.body["scopes"], json!(["messages:read", "admin"]));
    let listed = s.get("/v1/api-keys", &root).await;
    assert_eq!(listed.status, 200);
    assert!(!listed.body.to_string().contains(&secret[4..]));
    assert_eq!(listed.body["keys"][0]["name"], "test key");
    assert!(listed.body["keys"][0]["last_used"].is_string());
    // A near miss is refused outright.
    let mut typo = secret.clone();
    typo.replace_range(10..11, if &secret[10..11] == "0" { "1" } else { "0" });
    assert_problem(&s.get("/v1/me", &typo).await, 401);
    // Demoting the owner narrows the key at once.
    let root_id = s
        .engine
        .accounts()
        .find("root")
        .expect("lookup")
        .expect("root");
    s.engine
        .admin()
        .set_role(root_id, Role::User)
        .expect("demote");
    assert_problem(&s.get("/v1/admin/users", &secret).await, 403);
    assert_eq!(s.get("/v1/messages", &secret).await.status, 200);
    s.engine
        .admin()
        .set_role(root_id, Role::Admin)
        .expect("promote");
    let relogin = s
        .post(
            "/v1/sessions",
            json!({"username": "root", "password": PASSWORD}),
            None,
        )
        .await;
    let root = relogin.body["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(
        s.delete(&format!("/v1/api-keys/{id}"), &root).await.status,
        204
    );
    assert_problem(&s.get("/v1/me", &secret).await, 401);
    assert_problem(&s.delete(&format!("/v1/api-keys/{id}"), &root).await, 404);
    // Bad requests.
    for body in [
        json!({"name": "", "scopes": ["admin"]}),
        json!({"name": "k", "scopes": []}),
        json!({"name": "k", "scopes": ["root"]}),
        json!({"name": "k", "scopes": ["admin"], "expires_in": 10}),
    ] {
        assert_problem(&s.post("/v1/api-keys", body, Some(&root)).await, 400);
    }
}

#[tokio::test]
async fn an_expiring_key_stops_at_its_expiry() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    let r = s
        .post(
            "/v1/api-keys",
            json!({"name": "brief", "scopes": ["messages:read"], "expires_in": 60}),
            Some(&alice),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let secret = r.body["secret"].as_str().expect("secret").to_owned();
    assert!(r.body["key"]["expires_at"].is_string());
    assert_eq!(s.get("/v1/messages", &secret).await.status, 200);
    s.advance(Duration::from_secs(61));
    assert_problem(&s.get("/v1/messages", &secret).await, 401);
}

#[tokio::test]
async fn storage_quotas_refuse_with_usage_and_limit_and_admins_override_them() {
    let s = start().await;
    let (root, _) = s.with_role("root", Role::Admin).await;
    let (alice, alice_id) = s.with_role("alice", Role::User).await;
    let quota = json!({"max_bytes": 1_000_000, "max_records": 2, "writes_per_minute": 100});
    let set = s
        .call(
            "PUT",
            &format!("/v1/admin/users/{alice_id}/quota"),
            Some(&root),
            quota,
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.body["custom"], true);
    for _ in 0..2 {
        let r = s
            .post("/v1/messages", json!({"message": "12345"}), Some(&alice))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let refused = s
        .post("/v1/messages", json!({"message": "x"}), Some(&alice))
        .await;
    assert_problem(&refused, 403);
    assert_eq!(
        refused.body["detail"],
        "quota exceeded: 2 of 2 messages in use"
    );
    let me = s.get("/v1/me", &alice).await;
    assert_eq!(me.body["quota"]["used_records"], 2);
    assert_eq!(me.body["quota"]["used_bytes"], 2 * (5 + 33));
    assert_eq!(me.body["quota"]["limits"]["max_records"], 2);
    // Back to the defaults (none on this server): storing works again.
    let reset = s
        .call(
            "DELETE",
            &format!("/v1/admin/users/{alice_id}/quota"),
            Some(&root),
            json!(null),
        )
        .await;
    assert_eq!(reset.body["custom"], false);
    let r = s
        .post("/v1/messages", json!({"message": "x"}), Some(&alice))
        .await;
    assert_eq!(r.status, 201);
    // Only admins see or set quotas.
    let path = format!("/v1/admin/users/{alice_id}/quota");
    assert_problem(&s.call("GET", &path, Some(&alice), json!(null)).await, 403);
}

#[tokio::test]
async fn writes_past_the_rate_answer_429_with_retry_after_until_the_minute_refills() {
    let s = start().await;
    let (root, _) = s.with_role("root", Role::Admin).await;
    let (alice, alice_id) = s.with_role("alice", Role::User).await;
    write_rate(&s, &root, &alice_id, 3).await;
    for _ in 0..3 {
        let r = s
            .post("/v1/messages", json!({"message": "m"}), Some(&alice))
            .await;
        assert_eq!(r.status, 201);
    }
    let throttled = s
        .post("/v1/messages", json!({"message": "m"}), Some(&alice))
        .await;
    assert_problem(&throttled, 429);
    assert_eq!(throttled.retry_after.as_deref(), Some("20"));
    // Reads are not writes.
    assert_eq!(s.get("/v1/messages", &alice).await.status, 200);
    s.advance(Duration::from_secs(20));
    let r = s
        .post("/v1/messages", json!({"message": "m"}), Some(&alice))
        .await;
    assert_eq!(r.status, 201);
}

#[tokio::test]
async fn stream_tickets_are_writes_and_count_toward_the_rate() {
    // A ticket is a row the store writes (and syncs): without the count,
    // a session could make the server write as fast as it can ask.
    let s = start().await;
    let (root, _) = s.with_role("root", Role::Admin).await;
    let (alice, alice_id) = s.with_role("alice", Role::User).await;
    write_rate(&s, &root, &alice_id, 2).await;
    for _ in 0..2 {
        let r = s
            .call("POST", "/v1/events/tickets", Some(&alice), json!(null))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let throttled = s
        .call("POST", "/v1/events/tickets", Some(&alice), json!(null))
        .await;
    assert_problem(&throttled, 429);
    assert_eq!(throttled.retry_after.as_deref(), Some("30"));
    // The same budget as every other write.
    let message = s
        .post("/v1/messages", json!({"message": "m"}), Some(&alice))
        .await;
    assert_problem(&message, 429);
    s.advance(Duration::from_secs(30));
    let r = s
        .call("POST", "/v1/events/tickets", Some(&alice), json!(null))
        .await;
    assert_eq!(r.status, 201);
}

#[tokio::test]
async fn admin_writes_count_toward_the_admins_rate_and_reads_do_not() {
    let s = start().await;
    let (root, root_id) = s.with_role("root", Role::Admin).await;
    let (ops, ops_id) = s.with_role("ops", Role::Admin).await;
    let (_, bob_id) = s.with_role("bob", Role::User).await;
    write_rate(&s, &root, &ops_id, 3).await;
    let writes = [
        (
            "PUT",
            format!("/v1/admin/users/{bob_id}/disabled"),
            json!({"disabled": false}),
        ),
        (
            "DELETE",
            format!("/v1/admin/users/{bob_id}/sessions"),
            json!(null),
        ),
        (
            "PUT",
            format!("/v1/admin/users/{bob_id}/role"),
            json!({"role": "user"}),
        ),
    ];
    for (method, path, body) in &writes {
        let r = s.call(method, path, Some(&ops), body.clone()).await;
        assert!(r.status < 300, "{method} {path}: {} {}", r.status, r.body);
    }
    for (method, path, body) in [
        &writes[0],
        &(
            "DELETE",
            format!("/v1/admin/users/{bob_id}/quota"),
            json!(null),
        ),
        &(
            "POST",
            "/v1/admin/users".to_owned(),
            json!({"username": "carol", "password": "correct horse battery"}),
        ),
        &("DELETE", format!("/v1/admin/users/{bob_id}"), json!(null)),
    ] {
        let r = s.call(method, path, Some(&ops), body.clone()).await;
        assert_problem(&r, 429);
        assert_eq!(r.retry_after.as_deref(), Some("20"), "{method} {path}");
    }
    // Reads take nothing; nothing was done; another admin is not held up.
    let list = s
        .call("GET", "/v1/admin/users", Some(&ops), json!(null))
        .await;
    assert_eq!(list.status, 200);
    assert_eq!(
        list.body["users"].as_array().map(Vec::len),
        Some(3),
        "no carol"
    );
    let read = s
        .call(
            "GET",
            &format!("/v1/admin/users/{bob_id}/quota"),
            Some(&ops),
            json!(null),
        )
        .await;
    assert_eq!(read.status, 200);
    let r = s
        .call(
            "PUT",
            &format!("/v1/admin/users/{bob_id}/disabled"),
            Some(&root),
            json!({"disabled": false}),
        )
        .await;
    assert_eq!(r.status, 200);
    s.advance(Duration::from_secs(20));
    let r = s
        .call(writes[1].0, &writes[1].1, Some(&ops), json!(null))
        .await;
    assert_eq!(r.status, 204);
    // An admin cannot stop their own writes: they could not undo it.
    let zero = json!({"max_bytes": 1_000_000, "max_records": 1000, "writes_per_minute": 0});
    let own = s
        .call(
            "PUT",
            &format!("/v1/admin/users/{root_id}/quota"),
            Some(&root),
            zero.clone(),
        )
        .await;
    assert_problem(&own, 409);
    // Not an admin: refused as such, whatever the body.
    let (alice, alice_id) = s.with_role("alice", Role::User).await;
    let path = format!("/v1/admin/users/{alice_id}/quota");
    let zero_own = json!({"max_bytes": 1, "max_records": 1, "writes_per_minute": 0});
    assert_problem(&s.call("PUT", &path, Some(&alice), zero_own).await, 403);
    let other = s
        .call(
            "PUT",
            &format!("/v1/admin/users/{ops_id}/quota"),
            Some(&root),
            zero,
        )
        .await;
    assert_eq!(
        other.status, 200,
        "another admin's: the one who set it can undo it"
    );
}

#[tokio::test]
async fn linking_an_identity_counts_toward_the_rate() {
    let s = start().await;
    let (root, _) = s.with_role("root", Role::Admin).await;
    let (alice, alice_id) = s.with_role("alice", Role::User).await;
    write_rate(&s, &root, &alice_id, 1).await;
    let link = || s.call("POST", "/v1/me/identities/oidc", Some(&alice), json!(null));
    assert_problem(&link().await, 404);
    let throttled = link().await;
    assert_problem(&throttled, 429);
    assert_eq!(throttled.retry_after.as_deref(), Some("60"));
}

#[tokio::test]
async fn broadcasts_have_their_own_size_ttl_and_rate_caps() {
    let config = ApiConfig {
        broadcast: BroadcastCaps {
            max_len: 100,
            max_ttl: Duration::from_secs(3600),
            per_minute: 2,
        },
        ..ApiConfig::default()
    };
    let s = start_with(config, "").await;
    let (root, _) = s.with_role("root", Role::Admin).await;
    let long = "x".repeat(101);
    assert_problem(
        &s.post("/v1/broadcasts", json!({"message": long}), Some(&root))
            .await,
        400,
    );
    let far = json!({"message": "x", "ttl_seconds": 3601});
    assert_problem(&s.post("/v1/broadcasts", far, Some(&root)).await, 400);
    for _ in 0..2 {
        let r = s
            .post("/v1/broadcasts", json!({"message": "x"}), Some(&root))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let r = s
        .post("/v1/broadcasts", json!({"message": "x"}), Some(&root))
        .await;
    assert_problem(&r, 429);
    assert_eq!(r.retry_after.as_deref(), Some("30"));
    // Messages are not broadcasts.
    let r = s
        .post("/v1/messages", json!({"message": "x"}), Some(&root))
        .await;
    assert_eq!(r.status, 201);
}

#[tokio::test]
async fn the_audit_trail_over_http_records_callers_addresses_and_outcomes() {
    let s = start().await;
    let (root, root_id) = s.with_role("root", Role::Admin).await;
    let wrong = json!({"username": "root", "password": "not the password"});
    assert_problem(&s.post("/v1/sessions", wrong, None).await, 401);
    let (secret, key_id) = key(&s, &root, &["messages:write"]).await;
    let r = s
        .post("/v1/messages", json!({"message": "by key"}), Some(&secret))
        .await;
    assert_eq!(r.status, 201);

    let logins = s.get("/v1/admin/audit?action=login", &root).await;
    assert_eq!(logins.status, 200, "{}", logins.body);
    let entries = logins.body["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["outcome"], "success");
    assert_eq!(entries[0]["actor"], format!("user:{root_id}"));
    assert_eq!(entries[0]["address"], "127.0.0.1");
    assert_eq!(entries[1]["outcome"], "denied");
    assert_eq!(entries[1]["target"], format!("user:{root_id}"));
    let sends = s.get("/v1/admin/audit?action=message.send", &root).await;
    let send = &sends.body["entries"][0];
    assert_eq!(send["actor"], format!("key:{key_id}"));
    assert_eq!(send["actor_user"], root_id.as_str());
    assert_eq!(send["tx_hash"].as_str().expect("hash").len(), 64);
    // Chained: each entry names the one before.
    let all = s.get("/v1/admin/audit", &root).await;
    let all = all.body["entries"].as_array().expect("entries").clone();
    for pair in all.windows(2) {
        assert_eq!(pair[1]["prev_hash"], pair[0]["tx_hash"]);
    }
    // Paging and filters.
    let page = s.get("/v1/admin/audit?limit=2", &root).await;
    assert_eq!(page.body["entries"].as_array().expect("page").len(), 2);
    let next = page.body["next"].as_u64().expect("next");
    let rest = s.get(&format!("/v1/admin/audit?after={next}"), &root).await;
    assert_eq!(rest.body["entries"][0]["seq"], next + 1);
    let by_actor = s
        .get(&format!("/v1/admin/audit?actor={root_id}"), &root)
        .await;
    assert!(by_actor.body["entries"].as_array().expect("entries").len() >= 3);
    let later = s
        .get("/v1/admin/audit?from=2100-01-01T00:00:00Z", &root)
        .await;
    assert_eq!(later.body["entries"], json!([]));
    assert_problem(&s.get("/v1/admin/audit?action=dance", &root).await, 400);
    // The checkpoint verifies against the store.
    let c = s.get("/v1/admin/audit/checkpoint", &root).await;
    let json: strongroom_facade::CheckpointJson =
        serde_json::from_value(c.body.clone()).expect("checkpoint json");
    let checkpoint = json.to_checkpoint().expect("checkpoint");
    assert!(checkpoint.signature_valid());
    assert_eq!(checkpoint.seq, all.len() as u64);
    let report = s.engine.audit().verify(Some(&checkpoint)).expect("verify");
    assert!(report.is_ok(), "{:?}", report.problems);
    // Never a secret in it.
    let text = all.iter().map(Value::to_string).collect::<String>();
    for secret in [PASSWORD, "not the password", "by key", &secret[4..], &root] {
        assert!(!text.contains(secret), "audit holds a secret");
    }
}

#[tokio::test]
async fn key_management_and_share_revocation_count_as_writes() {
    let s = start().await;
    let (root, _) = s.with_role("root", Role::Admin).await;
    let (alice, alice_id) = s.with_role("alice", Role::User).await;
    write_rate(&s, &root, &alice_id, 4).await;
    // Four writes of four kinds spend the minute...
    let (_, id) = key(&s, &alice, &["messages:read"]).await;
    assert_eq!(
        s.delete(&format!("/v1/api-keys/{id}"), &alice).await.status,
        204
    );
    let share = s
        .post("/v1/shares", json!({"message": "m"}), Some(&alice))
        .await;
    assert_eq!(share.status, 201, "{}", share.body);
    let share_id = share.body["id"].as_str().expect("id");
    assert_eq!(
        s.delete(&format!("/v1/shares/{share_id}"), &alice)
            .await
            .status,
        204
    );
    // ...and each kind is then refused.
    let throttled = [
        s.post(
            "/v1/api-keys",
            json!({"name": "k", "scopes": ["messages:read"]}),
            Some(&alice),
        )
        .await,
        s.delete(&format!("/v1/api-keys/{id}"), &alice).await,
        s.delete(&format!("/v1/shares/{share_id}"), &alice).await,
        s.call(
            "PUT",
            "/v1/keys",
            Some(&alice),
            json!({
                "public_key": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                "wrapped_private_key": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                "salt": "AAAAAAAAAAAAAAAAAAAAAA",
                "iterations": 600_000,
            }),
        )
        .await,
    ];
    for reply in &throttled {
        assert_problem(reply, 429);
        assert!(reply.retry_after.is_some());
    }
}

#[tokio::test]
async fn the_hundred_and_first_key_is_a_conflict_not_a_bad_request() {
    let s = start().await;
    let (root, _) = s.with_role("root", Role::Admin).await;
    let (alice, alice_id) = s.with_role("alice", Role::User).await;
    write_rate(&s, &root, &alice_id, 1000).await;
    for _ in 0..100 {
        key(&s, &alice, &["messages:read"]).await;
    }
    let refused = s
        .post(
            "/v1/api-keys",
            json!({"name": "one too many", "scopes": ["messages:read"]}),
            Some(&alice),
        )
        .await;
    assert_problem(&refused, 409);
}

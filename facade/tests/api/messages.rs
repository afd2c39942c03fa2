//! End-to-end over a real TCP port: the message routes, ownership, expiry
//! and listing with cursors.

use crate::common;

use std::time::Duration;

use common::{assert_problem, start};
use serde_json::json;

#[tokio::test]
async fn register_login_store_list_get_delete() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    let stored = s
        .post(
            "/v1/messages",
            json!({"message": "hello vault", "ttl_seconds": 60}),
            Some(&alice),
        )
        .await;
    assert_eq!(stored.status, 201, "{}", stored.body);
    let id = stored.body["id"].as_str().expect("id").to_owned();
    let envelope = stored.body["ciphertext"].as_str().expect("ciphertext");
    assert!(!envelope.contains("hello"));
    assert!(stored.body["created_at"].is_string() && stored.body["expires_at"].is_string());

    let list = s.get("/v1/messages", &alice).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["messages"][0]["id"], id.as_str());
    assert_eq!(list.body["messages"][0]["message"], "hello vault");
    assert_eq!(list.body["messages"][0]["sender"], "alice");
    assert!(list.body["next_cursor"].is_null());

    let one = s.get(&format!("/v1/messages/{id}"), &alice).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.body["message"], "hello vault");

    assert_eq!(
        s.delete(&format!("/v1/messages/{id}"), &alice).await.status,
        204
    );
    assert_problem(&s.get(&format!("/v1/messages/{id}"), &alice).await, 404);
    assert_problem(&s.delete(&format!("/v1/messages/{id}"), &alice).await, 404);
}

#[tokio::test]
async fn send_to_another_user_and_read_it_as_them() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    let (bob, _) = s.account("bob").await;
    let sent = s
        .post(
            "/v1/users/bob/messages",
            json!({"message": "hi bob"}),
            Some(&alice),
        )
        .await;
    assert_eq!(sent.status, 201, "{}", sent.body);
    let id = sent.body["id"].as_str().expect("id");
    let got = s.get(&format!("/v1/messages/{id}"), &bob).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["sender"], "alice");
    assert_eq!(got.body["message"], "hi bob");
    // Alice sent it but it is Bob's: she cannot read it.
    assert_problem(&s.get(&format!("/v1/messages/{id}"), &alice).await, 404);
    assert_problem(
        &s.post(
            "/v1/users/nobody/messages",
            json!({"message": "x"}),
            Some(&alice),
        )
        .await,
        404,
    );
}

#[tokio::test]
async fn another_users_record_is_byte_for_byte_an_absent_one() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    let (mallory, _) = s.account("mallory").await;
    let id = s
        .post("/v1/messages", json!({"message": "private"}), Some(&alice))
        .await
        .body["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let absent = "018bcfe5-6800-7000-8000-000000000000";
    for method in ["GET", "DELETE"] {
        let fetch = |path: String| {
            let req = s
                .http
                .request(method.parse().expect("method"), s.url(&path))
                .bearer_auth(&mallory);
            async move {
                let res = req.send().await.expect("request");
                (
                    res.status(),
                    res.headers().get("content-type").cloned(),
                    res.bytes().await.expect("body"),
                )
            }
        };
        let theirs = fetch(format!("/v1/messages/{id}")).await;
        let missing = fetch(format!("/v1/messages/{absent}")).await;
        let garbage = fetch("/v1/messages/not-an-id".to_owned()).await;
        assert_eq!(theirs.0, 404);
        assert_eq!(theirs, missing);
        assert_eq!(theirs, garbage);
    }
    assert_eq!(
        s.get(&format!("/v1/messages/{id}"), &alice).await.status,
        200
    );
}

#[tokio::test]
async fn expired_messages_answer_404_and_leave_the_list() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    let short = s
        .post(
            "/v1/messages",
            json!({"message": "short", "ttl_seconds": 5}),
            Some(&alice),
        )
        .await;
    let long = s
        .post(
            "/v1/messages",
            json!({"message": "long", "ttl_seconds": 600}),
            Some(&alice),
        )
        .await;
    s.advance(Duration::from_secs(5));
    let id = short.body["id"].as_str().expect("id");
    assert_problem(&s.get(&format!("/v1/messages/{id}"), &alice).await, 404);
    let list = s.get("/v1/messages", &alice).await;
    let ids: Vec<&str> = list.body["messages"]
        .as_array()
        .expect("array")
        .iter()
        .map(|m| m["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, [long.body["id"].as_str().expect("id")]);
}

#[tokio::test]
async fn listing_pages_with_a_cursor_and_rejects_bad_ones() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    for i in 0..5 {
        s.post(
            "/v1/messages",
            json!({"message": format!("m{i}")}),
            Some(&alice),
        )
        .await;
        s.advance(Duration::from_millis(2));
    }
    let mut seen = Vec::new();
    let mut path = "/v1/messages?limit=2".to_owned();
    loop {
        let page = s.get(&path, &alice).await;
        assert_eq!(page.status, 200, "{}", page.body);
        for m in page.body["messages"].as_array().expect("array") {
            seen.push(m["message"].as_str().expect("text").to_owned());
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/messages?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ["m4", "m3", "m2", "m1", "m0"]);
    assert_problem(&s.get("/v1/messages?cursor=garbage", &alice).await, 400);
    assert_problem(&s.get("/v1/messages?limit=0", &alice).await, 400);
    assert_problem(&s.get("/v1/messages?limit=101", &alice).await, 400);
    assert_problem(&s.get("/v1/messages?limit=abc", &alice).await, 400);
}

/// A bad body answers the same for a recipient that exists and one that
/// does not: sending is no oracle for which usernames exist.
#[tokio::test]
async fn a_bad_send_body_is_400_whether_or_not_the_recipient_exists() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    s.account("bob").await;
    let big = "x".repeat(65 * 1024);
    for body in [
        json!({"message": big}),
        json!({"message": "x", "ttl_seconds": 0}),
        json!({"message": "x", "ttl_seconds": 604_801}),
    ] {
        let known = s
            .post("/v1/users/bob/messages", body.clone(), Some(&alice))
            .await;
        let unknown = s
            .post("/v1/users/nobody/messages", body, Some(&alice))
            .await;
        assert_problem(&known, 400);
        assert_problem(&unknown, 400);
        assert_eq!(known.body, unknown.body);
    }
    let r = s
        .post(
            "/v1/users/nobody/messages",
            json!({"message": "x"}),
            Some(&alice),
        )
        .await;
    assert_problem(&r, 404);
}

#[tokio::test]
async fn bad_ttl_and_oversized_messages_are_400() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    for ttl in [json!(0), json!(604_801), json!(-1), json!("ten")] {
        let r = s
            .post(
                "/v1/messages",
                json!({"message": "x", "ttl_seconds": ttl}),
                Some(&alice),
            )
            .await;
        assert_problem(&r, 400);
    }
    assert_eq!(
        s.post(
            "/v1/messages",
            json!({"message": "x", "ttl_seconds": 604_800}),
            Some(&alice)
        )
        .await
        .status,
        201
    );
    let big = "é".repeat(32 * 1024 + 1); // 65 538 bytes of UTF-8
    assert_problem(
        &s.post("/v1/messages", json!({"message": big}), Some(&alice))
            .await,
        400,
    );
    let fits = "a".repeat(64 * 1024);
    assert_eq!(
        s.post("/v1/messages", json!({"message": fits}), Some(&alice))
            .await
            .status,
        201
    );
}

#[tokio::test]
async fn ids_are_opaque_and_tampered_ids_are_404_or_400() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    let (bob, _) = s.account("bob").await;
    let mut ids = Vec::new();
    for i in 0..8 {
        // Bob writes between Alice's writes; her ids must not show it.
        s.post("/v1/messages", json!({"message": "b"}), Some(&bob))
            .await;
        let r = s
            .post(
                "/v1/messages",
                json!({"message": format!("a{i}")}),
                Some(&alice),
            )
            .await;
        ids.push(r.body["id"].as_str().expect("id").to_owned());
    }
    for pair in ids.windows(2) {
        assert_ne!(pair[0][..8], pair[1][..8], "no shared prefix: {pair:?}");
        let a = u128::from_str_radix(&pair[0].replace('-', ""), 16).expect("hex");
        let b = u128::from_str_radix(&pair[1].replace('-', ""), 16).expect("hex");
        assert!((24..=104).contains(&(a ^ b).count_ones()), "{pair:?}");
    }
    // Flip one hex digit: the id names nothing, and says nothing more.
    for at in [0, 9, 14, 19, 35] {
        let mut chars: Vec<char> = ids[0].chars().collect();
        chars[at] = if chars[at] == '0' { '1' } else { '0' };
        let tampered: String = chars.into_iter().collect();
        assert_problem(
            &s.get(&format!("/v1/messages/{tampered}"), &alice).await,
            404,
        );
        assert_problem(
            &s.delete(&format!("/v1/messages/{tampered}"), &alice).await,
            404,
        );
    }
    for bad in ["not-a-cursor", "", "1234"] {
        let r = s.get(&format!("/v1/messages?cursor={bad}"), &alice).await;
        assert_problem(&r, 400);
    }
    // Well-formed, never issued: no such page.
    let forged = "e3e70682-c209-1cac-a29f-6fbed82c07cd";
    let r = s
        .get(&format!("/v1/messages?cursor={forged}"), &alice)
        .await;
    assert_problem(&r, 404);
    // A cursor of Alice's is a valid cursor: it pages her messages.
    let page = s.get("/v1/messages?limit=3", &alice).await;
    let next = page.body["next_cursor"]
        .as_str()
        .expect("cursor")
        .to_owned();
    let rest = s.get(&format!("/v1/messages?cursor={next}"), &alice).await;
    assert_eq!(rest.body["messages"].as_array().expect("page").len(), 5);
}

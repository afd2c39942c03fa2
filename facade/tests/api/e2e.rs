//! The end-to-end key directory over a real TCP port, and an end-to-end
//! message through it: the recipient publishes a key, the sender fetches
//! it and sends a sealed text, the server stores and returns only that
//! text, and only the recipient's key opens it.

use crate::common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{assert_problem, start};
use serde_json::json;
use strongroom_engine::e2e;

fn upload(public: &e2e::PublicKey) -> serde_json::Value {
    json!({
        "public_key": public.to_base64(),
        "wrapped_private_key": URL_SAFE_NO_PAD.encode([9u8; 60]),
        "salt": URL_SAFE_NO_PAD.encode([3u8; 16]),
        "iterations": 600_000,
    })
}

#[tokio::test]
async fn a_sealed_message_travels_through_the_server_unread() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    let (bob, _) = s.account("bob").await;
    assert_problem(&s.get("/v1/users/bob/key", &alice).await, 404);

    let (bob_secret, bob_public) = e2e::generate_keypair();
    let put = s
        .call("PUT", "/v1/keys", Some(&bob), upload(&bob_public))
        .await;
    assert_eq!(put.status, 201, "{}", put.body);
    assert_eq!(put.body["version"], 1);
    assert_eq!(put.body["key_id"], hex::encode(bob_public.key_id()));

    let fetched = s.get("/v1/users/bob/key", &alice).await;
    assert_eq!(fetched.status, 200, "{}", fetched.body);
    assert!(fetched.body.get("wrapped_private_key").is_none());
    let key = e2e::PublicKey::from_base64(fetched.body["public_key"].as_str().expect("key"))
        .expect("a public key");
    assert_eq!(key, bob_public);

    let secret_text = "the safe combination is 31-7-22";
    let sealed = e2e::seal(&key, secret_text.as_bytes());
    let sent = s
        .post(
            "/v1/users/bob/messages",
            json!({"message": sealed}),
            Some(&alice),
        )
        .await;
    assert_eq!(sent.status, 201);
    let inbox = s.get("/v1/messages", &bob).await;
    let stored = inbox.body["messages"][0]["message"].as_str().expect("text");
    assert_eq!(stored, sealed, "the server returns the sealed text as sent");
    assert!(!inbox.body.to_string().contains(secret_text));
    let opened = e2e::open(&bob_secret, stored).expect("bob opens it");
    assert_eq!(opened.as_slice(), secret_text.as_bytes());

    // Bob's own list carries what a new device needs; nobody else's does.
    let own = s.get("/v1/keys", &bob).await;
    assert_eq!(
        own.body["keys"][0]["wrapped_private_key"],
        URL_SAFE_NO_PAD.encode([9u8; 60])
    );
    assert_eq!(own.body["keys"][0]["iterations"], 600_000);
    assert_eq!(s.get("/v1/keys", &alice).await.body["keys"], json!([]));
    // A second key pair becomes current; the first stays listed.
    let (_, newer) = e2e::generate_keypair();
    let put = s.call("PUT", "/v1/keys", Some(&bob), upload(&newer)).await;
    assert_eq!(put.body["version"], 2);
    assert_eq!(
        s.get("/v1/keys", &bob).await.body["keys"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    let current = s.get("/v1/users/bob/key", &alice).await;
    assert_eq!(current.body["public_key"], newer.to_base64());
}

#[tokio::test]
async fn publishing_checks_its_input_and_needs_a_signed_in_session() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    let (_, public) = e2e::generate_keypair();
    let mut bad = Vec::new();
    for (field, value) in [
        ("public_key", json!("not base64!")),
        ("public_key", json!(URL_SAFE_NO_PAD.encode([1u8; 31]))),
        (
            "wrapped_private_key",
            json!(URL_SAFE_NO_PAD.encode([1u8; 8])),
        ),
        ("salt", json!(URL_SAFE_NO_PAD.encode([1u8; 4]))),
        ("iterations", json!(100_000)),
    ] {
        let mut body = upload(&public);
        body[field] = value;
        bad.push(s.call("PUT", "/v1/keys", Some(&alice), body).await);
    }
    for r in &bad {
        assert_problem(r, 400);
    }
    assert_problem(&s.call("PUT", "/v1/keys", None, upload(&public)).await, 401);
    let key = s
        .post(
            "/v1/api-keys",
            json!({"name": "k", "scopes": ["messages:read", "messages:write"]}),
            Some(&alice),
        )
        .await;
    let key = key.body["secret"].as_str().expect("secret").to_owned();
    assert_problem(
        &s.call("PUT", "/v1/keys", Some(&key), upload(&public)).await,
        403,
    );
    assert_problem(&s.get("/v1/keys", &key).await, 403);
    // A key with messages:write may look recipients up.
    assert_problem(&s.get("/v1/users/nobody/key", &key).await, 404);
}

#[tokio::test]
async fn the_thirty_third_key_version_is_a_conflict_not_a_bad_request() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    for version in 1..=32 {
        let (_, public) = e2e::generate_keypair();
        let put = s
            .call("PUT", "/v1/keys", Some(&alice), upload(&public))
            .await;
        assert_eq!(put.status, 201, "version {version}: {}", put.body);
    }
    let (_, public) = e2e::generate_keypair();
    let refused = s
        .call("PUT", "/v1/keys", Some(&alice), upload(&public))
        .await;
    assert_problem(&refused, 409);
}

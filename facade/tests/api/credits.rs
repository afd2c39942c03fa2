//! Credits over a real TCP port: the balance and price list, 402 with
//! `balance` and `cost` and nothing stored, 64 concurrent requests against
//! 50 credits, admin-only adjustments, service calls paid (and refunded
//! when refused) with a service account's API key, and Stripe's signed
//! webhook — paid, replayed, forged, stale, unsigned.

use crate::common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use common::{TestServer, assert_problem};
use serde_json::{Value, json};
use strongroom_engine::credits::{Chargeable, CreditsConfig};
use strongroom_engine::{Role, SecretString};
use strongroom_facade::{ApiConfig, StripeConfig, stripe_signature};

const SECRET: &str = "whsec_test_0123456789";

async fn metered(tune: impl FnOnce(&mut CreditsConfig)) -> TestServer {
    let mut credits = CreditsConfig::enabled();
    tune(&mut credits);
    let mut prices = HashMap::new();
    prices.insert("price_pack_100".to_owned(), 100);
    let config = ApiConfig {
        stripe: Some(Arc::new(StripeConfig {
            secret: SecretString::from(SECRET),
            prices,
        })),
        ..ApiConfig::default()
    };
    TestServer::start_tuned(config, "", move |b| {
        b.credits(credits);
    })
    .await
}

async fn share(s: &TestServer, token: &str) -> common::Reply {
    s.post("/v1/shares", json!({"message": "the code"}), Some(token))
        .await
}

async fn balance(s: &TestServer, token: &str) -> u64 {
    let r = s.get("/v1/me/credits", token).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["balance"].as_u64().expect("balance")
}

async fn ledger(s: &TestServer, token: &str) -> Vec<Value> {
    let r = s.get("/v1/me/credits/ledger?limit=100", token).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["entries"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn the_balance_the_price_list_and_a_402_that_stores_nothing() {
    let s = metered(|c| c.initial = 12).await;
    let (alice, _) = s.account("alice").await;
    let r = s.get("/v1/me/credits", &alice).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["balance"], 12);
    assert_eq!(r.body["enabled"], true);
    assert_eq!(r.body["price_list"]["file-upload"], 10);
    assert_eq!(r.body["price_list"]["share"], 5);
    assert_eq!(r.body["price_list"]["file-download"], 2);
    assert_eq!(r.body["price_list"]["service-call"], 3);
    assert_eq!(r.body["price_list"]["store"], 0);

    assert_eq!(share(&s, &alice).await.status, 201);
    assert_eq!(share(&s, &alice).await.status, 201);
    let refused = share(&s, &alice).await;
    assert_problem(&refused, 402);
    assert_eq!(refused.body["balance"], 2);
    assert_eq!(refused.body["cost"], 5);
    assert_eq!(
        refused.body["type"],
        "tag:strongroom,2026:insufficient-credits"
    );
    let listed = s.get("/v1/shares", &alice).await;
    assert_eq!(listed.body["shares"].as_array().map(Vec::len), Some(2));

    // An upload is refused before its body is read; nothing is kept.
    let upload = s
        .http
        .post(s.url("/v1/files"))
        .bearer_auth(&alice)
        .body(vec![1u8; 4096])
        .send()
        .await
        .expect("upload");
    assert_eq!(upload.status(), 402);
    let body: Value = upload.json().await.expect("problem");
    assert_eq!(
        (body["balance"].as_u64(), body["cost"].as_u64()),
        (Some(2), Some(10))
    );
    assert_eq!(
        s.engine
            .maintenance()
            .check_integrity()
            .expect("check")
            .files,
        0
    );

    let entries = ledger(&s, &alice).await;
    let kinds: Vec<&str> = entries.iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(kinds, ["grant", "charge", "charge"]);
    assert_eq!(entries[1]["action"], "share");
    assert_eq!(entries[1]["amount"], -5);
    assert_eq!(entries[2]["balance_after"], 2);
    assert_eq!(entries[2]["tx_hash"].as_str().map(str::len), Some(64));
    // Reads stay free.
    assert_eq!(balance(&s, &alice).await, 2);
}

#[tokio::test]
async fn uploads_and_downloads_pay_their_prices() {
    let s = metered(|_| {}).await;
    let (alice, _) = s.account("alice").await;
    let stored = s
        .http
        .post(s.url("/v1/files"))
        .bearer_auth(&alice)
        .header("X-File-Name", "a.txt")
        .body("twelve bytes")
        .send()
        .await
        .expect("upload");
    assert_eq!(stored.status(), 201);
    let id = stored.json::<Value>().await.expect("file")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(balance(&s, &alice).await, 40);
    for _ in 0..2 {
        let got = s
            .http
            .get(s.url(&format!("/v1/files/{id}")))
            .bearer_auth(&alice)
            .send()
            .await
            .expect("download");
        assert_eq!(got.status(), 200);
        assert_eq!(got.text().await.expect("bytes"), "twelve bytes");
    }
    assert_eq!(balance(&s, &alice).await, 36);
    // A file that is not there costs nothing.
    let missing = s
        .get("/v1/files/01890a5d-ac96-774b-bcce-b302099a8057", &alice)
        .await;
    assert_problem(&missing, 404);
    assert_eq!(balance(&s, &alice).await, 36);
    // Nor does a range past its end (a finished download resumed).
    let past = s
        .http
        .get(s.url(&format!("/v1/files/{id}")))
        .bearer_auth(&alice)
        .header("Range", "bytes=12-")
        .send()
        .await
        .expect("range");
    assert_eq!(past.status(), 416);
    assert_eq!(balance(&s, &alice).await, 36);
}

#[tokio::test]
async fn sixty_four_concurrent_requests_against_fifty_credits() {
    let s = Arc::new(
        metered(|c| {
            c.prices.set(Chargeable::Store, 1);
        })
        .await,
    );
    let (alice, _) = s.account("alice").await;
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let (s, alice) = (s.clone(), alice.clone());
            tokio::spawn(async move {
                let body = json!({"message": format!("message {i}")});
                s.post("/v1/messages", body, Some(&alice)).await
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        let r = task.await.expect("request");
        match r.status {
            201 => created += 1,
            402 => {
                assert_problem(&r, 402);
                assert_eq!(
                    (r.body["balance"].as_u64(), r.body["cost"].as_u64()),
                    (Some(0), Some(1))
                );
            }
            other => panic!("unexpected {other}: {}", r.body),
        }
    }
    assert_eq!(created, 50);
    assert_eq!(balance(&s, &alice).await, 0);
    let listed = s.get("/v1/messages?limit=100", &alice).await;
    assert_eq!(listed.body["messages"].as_array().map(Vec::len), Some(50));
}

#[tokio::test]
async fn only_admins_adjust_and_search_and_every_adjustment_is_audited() {
    let s = metered(|_| {}).await;
    let (alice, alice_id) = s.with_role("alice", Role::User).await;
    let (root, root_id) = s.with_role("root", Role::Admin).await;
    let path = format!("/v1/admin/users/{alice_id}/credits");
    let body = json!({"amount": 100, "reason": "annual plan"});
    assert_problem(&s.post(&path, body.clone(), Some(&alice)).await, 403);
    let topped = s.post(&path, body, Some(&root)).await;
    assert_eq!(topped.status, 200, "{}", topped.body);
    assert_eq!(topped.body["kind"], "top-up");
    assert_eq!(topped.body["balance_after"], 150);
    assert_eq!(topped.body["reason"], "annual plan");
    let taken = s.post(&path, json!({"amount": -30}), Some(&root)).await;
    assert_eq!(taken.body["kind"], "adjustment");
    let too_much = s.post(&path, json!({"amount": -121}), Some(&root)).await;
    assert_problem(&too_much, 402);
    assert_eq!(
        (
            too_much.body["balance"].as_u64(),
            too_much.body["cost"].as_u64()
        ),
        (Some(120), Some(121))
    );
    assert_problem(&s.post(&path, json!({"amount": 0}), Some(&root)).await, 400);
    let nobody = "/v1/admin/users/01890a5d-ac96-774b-bcce-b302099a8057/credits";
    assert_problem(
        &s.post(nobody, json!({"amount": 5}), Some(&root)).await,
        404,
    );

    // The audit log names the admin as the actor of each adjustment.
    let audit = s.get("/v1/admin/audit?action=credits.top-up", &root).await;
    assert_eq!(audit.status, 200, "{}", audit.body);
    let entry = &audit.body["entries"][0];
    assert_eq!(entry["actor"], format!("user:{root_id}"));
    assert_eq!(entry["seq"], topped.body["seq"]);

    let search = format!("/v1/admin/credits/ledger?account={alice_id}&kind=top-up");
    assert_problem(&s.get(&search, &alice).await, 403);
    let found = s.get(&search, &root).await;
    assert_eq!(found.status, 200, "{}", found.body);
    let entries = found.body["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["tx_hash"], topped.body["tx_hash"]);
    assert_problem(
        &s.get("/v1/admin/credits/ledger?kind=gift", &root).await,
        400,
    );
    let verify = s.engine.audit().verify(None).expect("verify");
    assert!(verify.is_ok(), "{:?}", verify.problems);
}

#[tokio::test]
async fn a_service_accounts_api_key_pays_for_each_call_and_gets_refused_calls_back() {
    let s = metered(|_| {}).await;
    let (svc, _) = s.with_role("svc", Role::Service).await;
    let made = s
        .post(
            "/v1/api-keys",
            json!({"name": "worker", "scopes": ["messages:read", "messages:write"]}),
            Some(&svc),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let key = made.body["secret"].as_str().expect("key").to_owned();
    // The person's own session is not a service call.
    assert_eq!(balance(&s, &svc).await, 50);
    let listed = s.get("/v1/messages", &key).await;
    assert_eq!(listed.status, 200);
    assert_eq!(balance(&s, &svc).await, 47);
    // A share costs the call and the share.
    assert_eq!(share(&s, &key).await.status, 201);
    assert_eq!(balance(&s, &svc).await, 39);
    // A refused call is given back.
    let bad = s
        .post(
            "/v1/messages",
            json!({"message": "x", "ttl_seconds": 0}),
            Some(&key),
        )
        .await;
    assert_problem(&bad, 400);
    assert_eq!(balance(&s, &svc).await, 39);
    let kinds: Vec<String> = ledger(&s, &svc)
        .await
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["kind"].as_str().unwrap_or(""),
                e["action"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "grant ",
            "charge service-call",
            "charge service-call",
            "charge share",
            "charge service-call",
            "refund service-call",
        ]
    );
    // Down to less than a call: 402 before anything runs.
    let root = s.with_role("root", Role::Admin).await.0;
    let svc_id = s.engine.accounts().find("svc").expect("find").expect("svc");
    let drain = json!({"amount": -38});
    let path = format!("/v1/admin/users/{svc_id}/credits");
    assert_eq!(s.post(&path, drain, Some(&root)).await.status, 200);
    let poor = s.get("/v1/messages", &key).await;
    assert_problem(&poor, 402);
    assert_eq!(
        (poor.body["balance"].as_u64(), poor.body["cost"].as_u64()),
        (Some(1), Some(3))
    );
    assert_eq!(balance(&s, &svc).await, 1);
}

/// A service call's charge, and its refund when the call is refused, are
/// durable writes: they count toward the account's write rate like any
/// other, so refused calls cannot fill the ledger without limit.
#[tokio::test]
async fn a_service_calls_toll_counts_toward_the_write_rate() {
    let s = metered(|_| {}).await;
    let (svc, _) = s.with_role("svc", Role::Service).await;
    let made = s
        .post(
            "/v1/api-keys",
            json!({"name": "worker", "scopes": ["messages:read"]}),
            Some(&svc),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let key = made.body["secret"].as_str().expect("key").to_owned();
    let svc_id = s.engine.accounts().find("svc").expect("find").expect("svc");
    let quota = strongroom_engine::accounts::Quota {
        max_bytes: 1_000_000,
        max_records: 1000,
        writes_per_minute: 3,
    };
    s.engine
        .admin()
        .set_quota(svc_id, Some(quota))
        .expect("quota");
    // Each refused read is charged and given back: two ledger lines, no
    // credits spent, and one write from the rate.
    let missing = "/v1/messages/00000000000000000000000000000000";
    for _ in 0..3 {
        assert_problem(&s.get(missing, &key).await, 404);
    }
    let written = ledger(&s, &svc).await.len();
    assert_eq!(written, 7, "a grant, then a charge and a refund per call");
    let spent = s.get(missing, &key).await;
    assert_problem(&spent, 429);
    assert_eq!(ledger(&s, &svc).await.len(), written, "nothing written");
    assert_eq!(balance(&s, &svc).await, 50);
    // The rate refills on the engine's clock.
    s.advance(Duration::from_secs(20));
    assert_problem(&s.get(missing, &key).await, 404);
    assert_eq!(ledger(&s, &svc).await.len(), written + 2);
}

fn checkout(event: &str, account: &str, credits: Value) -> String {
    json!({
        "id": event,
        "object": "event",
        "type": "checkout.session.completed",
        "data": {"object": {
            "object": "checkout.session",
            "payment_status": "paid",
            "client_reference_id": account,
            "metadata": {"credits": credits}
        }}
    })
    .to_string()
}

async fn deliver(s: &TestServer, body: &str, signature: Option<String>) -> common::Reply {
    let mut req = s
        .http
        .post(s.url("/v1/billing/stripe"))
        .header("Content-Type", "application/json; charset=utf-8")
        .body(body.to_owned());
    if let Some(signature) = signature {
        req = req.header("Stripe-Signature", signature);
    }
    s.send(req).await
}

fn now(s: &TestServer) -> u64 {
    s.clock_now().as_unix_millis() / 1000
}

#[tokio::test]
async fn stripe_purchases_are_verified_credited_once_and_refused_when_forged_or_stale() {
    let s = metered(|_| {}).await;
    let (alice, alice_id) = s.with_role("alice", Role::User).await;
    let secret = SecretString::from(SECRET);
    let body = checkout("evt_1", &alice_id, json!("250"));
    let signed = stripe_signature(&secret, now(&s), body.as_bytes());

    let paid = deliver(&s, &body, Some(signed.clone())).await;
    assert_eq!(paid.status, 200, "{}", paid.body);
    assert_eq!(paid.body["credited"], 250);
    assert_eq!(paid.body["duplicate"], false);
    assert_eq!(balance(&s, &alice).await, 300);
    // Stripe delivers again (a retry, or a replay): nothing more.
    let again = deliver(&s, &body, Some(signed)).await;
    assert_eq!(again.status, 200);
    assert_eq!(
        (
            again.body["credited"].as_u64(),
            again.body["duplicate"].as_bool()
        ),
        (Some(0), Some(true))
    );
    assert_eq!(balance(&s, &alice).await, 300);
    let entries = ledger(&s, &alice).await;
    assert_eq!(
        entries.last().map(|e| e["kind"].clone()),
        Some(json!("purchase"))
    );
    assert_eq!(
        entries.last().map(|e| e["reason"].clone()),
        Some(json!("evt_1"))
    );

    // Forged: another secret, a changed body, no header, garbage; stale.
    let body2 = checkout("evt_2", &alice_id, json!(1000));
    let forged = stripe_signature(
        &SecretString::from("whsec_other"),
        now(&s),
        body2.as_bytes(),
    );
    assert_problem(&deliver(&s, &body2, Some(forged)).await, 400);
    let changed = stripe_signature(&secret, now(&s), body.as_bytes());
    assert_problem(&deliver(&s, &body2, Some(changed)).await, 400);
    assert_problem(&deliver(&s, &body2, None).await, 400);
    assert_problem(
        &deliver(&s, &body2, Some("t=1,v1=zz".to_owned())).await,
        400,
    );
    let early = stripe_signature(&secret, now(&s), body2.as_bytes());
    s.advance(Duration::from_secs(301));
    assert_problem(&deliver(&s, &body2, Some(early)).await, 400);
    assert_eq!(balance(&s, &alice).await, 300);

    // Line items priced by --stripe-price.
    let items = json!({
        "id": "evt_3", "type": "checkout.session.completed",
        "data": {"object": {"payment_status": "paid", "client_reference_id": alice_id,
                 "line_items": {"data": [{"price": {"id": "price_pack_100"}, "quantity": 2}]}}}
    })
    .to_string();
    let signed = stripe_signature(&secret, now(&s), items.as_bytes());
    let r = deliver(&s, &items, Some(signed)).await;
    assert_eq!(r.body["credited"], 200, "{}", r.body);
    // Unpaid sessions and other events are acknowledged, not credited.
    let unpaid = body
        .replace("\"paid\"", "\"unpaid\"")
        .replace("evt_1", "evt_4");
    let signed = stripe_signature(&secret, now(&s), unpaid.as_bytes());
    assert_eq!(deliver(&s, &unpaid, Some(signed)).await.body["credited"], 0);
    // A paid session for nobody: 422, nothing credited.
    let nobody = checkout("evt_5", "01890a5d-ac96-774b-bcce-b302099a8057", json!("5"));
    let signed = stripe_signature(&secret, now(&s), nobody.as_bytes());
    assert_problem(&deliver(&s, &nobody, Some(signed)).await, 422);
    assert_eq!(balance(&s, &alice).await, 500);
}

#[tokio::test]
async fn without_credits_nothing_is_metered_and_the_webhook_is_absent() {
    let s = common::start().await;
    let (alice, _) = s.account("alice").await;
    for _ in 0..12 {
        assert_eq!(share(&s, &alice).await.status, 201);
    }
    let r = s.get("/v1/me/credits", &alice).await;
    assert_eq!(
        (r.body["balance"].as_u64(), r.body["enabled"].as_bool()),
        (Some(0), Some(false))
    );
    assert_problem(&deliver(&s, "{}", Some("t=1,v1=00".to_owned())).await, 404);
}

//! End-to-end over a real TCP port: login, refresh rotation and reuse
//! detection, logout, and login rate limiting.

use crate::common;

use std::time::Duration;

use common::{PASSWORD, assert_problem, start};
use serde_json::json;
use strongroom_engine::Role;

#[tokio::test]
async fn login_returns_a_bearer_pair_and_bad_credentials_look_alike() {
    let s = start().await;
    s.account("alice").await;
    let ok = s
        .post(
            "/v1/sessions",
            json!({"username": "alice", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(ok.status, 201);
    assert_eq!(ok.body["token_type"], "Bearer");
    assert_eq!(ok.body["expires_in"], 900);
    assert_eq!(ok.body["refresh_expires_in"], 604_800);
    let wrong = s
        .post(
            "/v1/sessions",
            json!({"username": "alice", "password": "wrong password!"}),
            None,
        )
        .await;
    let unknown = s
        .post(
            "/v1/sessions",
            json!({"username": "nobody", "password": PASSWORD}),
            None,
        )
        .await;
    assert_problem(&wrong, 401);
    assert_eq!(wrong.body, unknown.body);
}

#[tokio::test]
async fn access_tokens_expire() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    assert_eq!(s.get("/v1/messages", &alice).await.status, 200);
    s.advance(Duration::from_secs(15 * 60));
    assert_problem(&s.get("/v1/messages", &alice).await, 401);
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_session() {
    let s = start().await;
    let (_, refresh) = s.account("alice").await;
    let rotated = s
        .post(
            "/v1/sessions/refresh",
            json!({"refresh_token": refresh}),
            None,
        )
        .await;
    assert_eq!(rotated.status, 201, "{}", rotated.body);
    let new_access = rotated.body["access_token"]
        .as_str()
        .expect("access")
        .to_owned();
    let new_refresh = rotated.body["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    assert_eq!(s.get("/v1/messages", &new_access).await.status, 200);
    // The old refresh token again: reuse. The whole family goes.
    assert_problem(
        &s.post(
            "/v1/sessions/refresh",
            json!({"refresh_token": refresh}),
            None,
        )
        .await,
        401,
    );
    assert_problem(&s.get("/v1/messages", &new_access).await, 401);
    assert_problem(
        &s.post(
            "/v1/sessions/refresh",
            json!({"refresh_token": new_refresh}),
            None,
        )
        .await,
        401,
    );
    assert_problem(
        &s.post(
            "/v1/sessions/refresh",
            json!({"refresh_token": "junk"}),
            None,
        )
        .await,
        401,
    );
}

#[tokio::test]
async fn logout_revokes_the_presented_token() {
    let s = start().await;
    let (alice, refresh) = s.account("alice").await;
    assert_eq!(s.delete("/v1/sessions/current", &alice).await.status, 204);
    assert_problem(&s.get("/v1/messages", &alice).await, 401);
    assert_problem(
        &s.post(
            "/v1/sessions/refresh",
            json!({"refresh_token": refresh}),
            None,
        )
        .await,
        401,
    );
    assert_problem(&s.delete("/v1/sessions/current", &alice).await, 401);
}

#[tokio::test]
async fn repeated_bad_logins_are_throttled_with_retry_after() {
    let s = start().await;
    s.account("alice").await;
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let r = s
            .post(
                "/v1/sessions",
                json!({"username": "alice", "password": "wrong password!"}),
                None,
            )
            .await;
        statuses.push(r.status);
        if r.status == 429 {
            assert_problem(&r, 429);
            let wait: u64 = r
                .retry_after
                .as_deref()
                .expect("Retry-After")
                .parse()
                .expect("seconds");
            assert!((1..=60).contains(&wait), "{wait}");
            break;
        }
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    assert!(
        statuses.iter().filter(|&&c| c == 401).count() >= 5,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn broadcasting_needs_the_admin_role_and_a_disabled_account_is_refused() {
    let s = common::start().await;
    let (alice, _) = s.account("alice").await;
    let r = s
        .post(
            "/v1/broadcasts",
            json!({"message": "hello all"}),
            Some(&alice),
        )
        .await;
    common::assert_problem(&r, 403);
    s.promote("alice");
    // Another admin, so alice may be disabled below.
    s.with_role("deputy", Role::Admin).await;
    let r = s
        .post(
            "/v1/broadcasts",
            json!({"message": "hello all"}),
            Some(&alice),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);

    let id = s
        .engine
        .accounts()
        .find("alice")
        .expect("lookup")
        .expect("alice");
    s.engine.admin().set_disabled(id, true).expect("disable");
    common::assert_problem(&s.get("/v1/messages", &alice).await, 401);
    let login = s
        .post(
            "/v1/sessions",
            json!({"username": "alice", "password": common::PASSWORD}),
            None,
        )
        .await;
    common::assert_problem(&login, 403);
}

#[tokio::test]
async fn closed_registration_refuses_new_accounts() {
    let config = strongroom_facade::ApiConfig {
        open_registration: false,
        ..Default::default()
    };
    let s = common::start_with(config, "").await;
    let r = s
        .post(
            "/v1/accounts",
            json!({"username": "mallory", "password": common::PASSWORD}),
            None,
        )
        .await;
    common::assert_problem(&r, 403);
    assert!(
        r.body["detail"]
            .as_str()
            .expect("detail")
            .contains("closed")
    );
}

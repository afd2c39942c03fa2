//! The admin API over a real TCP port: a role × route matrix (every admin
//! operation for admin, user, service and no token), and what each
//! operation does to the account it names.

use crate::common;

use common::{assert_problem, start};
use serde_json::json;
use strongroom_engine::Role;

#[tokio::test]
async fn every_admin_operation_is_refused_to_users_services_and_strangers() {
    let s = start().await;
    let (admin, _) = s.with_role("root", Role::Admin).await;
    let (user, _) = s.with_role("alice", Role::User).await;
    let (service, _) = s.with_role("robot", Role::Service).await;
    let (_, target) = s.with_role("target", Role::User).await;
    let operations = [
        ("GET", "/v1/admin/users".to_owned(), json!(null), 200),
        (
            "POST",
            "/v1/admin/users".to_owned(),
            json!({"username": "made-by-root", "password": common::PASSWORD}),
            201,
        ),
        (
            "PUT",
            format!("/v1/admin/users/{target}/role"),
            json!({"role": "service"}),
            200,
        ),
        (
            "PUT",
            format!("/v1/admin/users/{target}/disabled"),
            json!({"disabled": false}),
            200,
        ),
        (
            "DELETE",
            format!("/v1/admin/users/{target}/sessions"),
            json!(null),
            204,
        ),
        (
            "DELETE",
            format!("/v1/admin/users/{target}"),
            json!(null),
            204,
        ),
    ];
    for (method, path, body, _) in &operations {
        assert_problem(&s.call(method, path, None, body.clone()).await, 401);
        for token in [&user, &service] {
            let r = s.call(method, path, Some(token), body.clone()).await;
            assert_problem(&r, 403);
        }
    }
    // The refusals changed nothing; the admin's calls each succeed.
    for (method, path, body, ok) in &operations {
        let r = s.call(method, path, Some(&admin), body.clone()).await;
        assert_eq!(r.status, *ok, "{method} {path}: {}", r.body);
    }
    assert!(
        s.engine
            .accounts()
            .find("target")
            .expect("lookup")
            .is_none(),
        "deleted"
    );
    assert!(
        s.engine
            .accounts()
            .find("made-by-root")
            .expect("lookup")
            .is_some()
    );
}

#[tokio::test]
async fn admins_page_through_accounts_and_manage_them() {
    let s = start().await;
    let (admin, _) = s.with_role("root", Role::Admin).await;
    // Straight through the engine: the login rate limit would stop seven
    // registrations from one address.
    for i in 0..7 {
        s.engine
            .accounts()
            .create(
                &format!("user{i}"),
                &strongroom_engine::SecretString::from(common::PASSWORD),
            )
            .expect("user");
    }
    let mut seen = Vec::new();
    let mut path = "/v1/admin/users?limit=3".to_owned();
    loop {
        let page = s.call("GET", &path, Some(&admin), json!(null)).await;
        assert_eq!(page.status, 200, "{}", page.body);
        for u in page.body["users"].as_array().expect("users") {
            assert!(u.get("password_hash").is_none());
            seen.push(u["username"].as_str().expect("name").to_owned());
        }
        match page.body["next"].as_str() {
            Some(next) => path = format!("/v1/admin/users?limit=3&after={next}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 8, "{seen:?}");
    assert_problem(
        &s.call("GET", "/v1/admin/users?limit=0", Some(&admin), json!(null))
            .await,
        400,
    );

    let (alice, alice_id) = s.with_role("alice", Role::User).await;
    let r = s
        .call(
            "PUT",
            &format!("/v1/admin/users/{alice_id}/disabled"),
            Some(&admin),
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(r.body["disabled"], true);
    assert_problem(&s.get("/v1/messages", &alice).await, 401);
    s.call(
        "PUT",
        &format!("/v1/admin/users/{alice_id}/disabled"),
        Some(&admin),
        json!({"disabled": false}),
    )
    .await;
    assert_eq!(s.get("/v1/messages", &alice).await.status, 200);
    let r = s
        .call(
            "DELETE",
            &format!("/v1/admin/users/{alice_id}/sessions"),
            Some(&admin),
            json!(null),
        )
        .await;
    assert_eq!(r.status, 204);
    assert_problem(&s.get("/v1/messages", &alice).await, 401);
    assert_problem(
        &s.call(
            "DELETE",
            "/v1/admin/users/not-an-id",
            Some(&admin),
            json!(null),
        )
        .await,
        404,
    );
    let created = s
        .call(
            "POST",
            "/v1/admin/users",
            Some(&admin),
            json!({"username": "ops", "password": common::PASSWORD, "role": "admin"}),
        )
        .await;
    assert_eq!(created.body["role"], "admin");
    let taken = s
        .call(
            "POST",
            "/v1/admin/users",
            Some(&admin),
            json!({"username": "ops", "password": common::PASSWORD}),
        )
        .await;
    assert_problem(&taken, 409);
}

#[tokio::test]
async fn refused_admin_requests_are_audited_with_who_asked() {
    let s = start().await;
    s.with_role("root", Role::Admin).await;
    let (alice, alice_id) = s.with_role("alice", Role::User).await;
    assert_problem(&s.get("/v1/admin/users", &alice).await, 403);
    assert_problem(&s.get("/v1/admin/audit", &alice).await, 403);
    let log = s
        .engine
        .audit()
        .page(
            &strongroom_engine::audit::AuditFilter {
                action: Some(strongroom_engine::audit::AuditAction::AdminRequest),
                ..Default::default()
            },
            0,
            10,
        )
        .expect("log")
        .entries;
    assert_eq!(log.len(), 2);
    for entry in log {
        assert_eq!(
            entry.outcome,
            strongroom_engine::audit::AuditOutcome::Denied
        );
        assert_eq!(
            entry.actor.user().map(|u| u.to_string()),
            Some(alice_id.clone())
        );
        assert!(entry.address.is_some());
    }
}

#[tokio::test]
async fn the_last_admin_cannot_demote_disable_or_delete_itself() {
    let s = start().await;
    let (root, root_id) = s.with_role("root", Role::Admin).await;
    let base = format!("/v1/admin/users/{root_id}");
    for (method, path, body) in [
        ("PUT", format!("{base}/role"), json!({"role": "user"})),
        ("PUT", format!("{base}/disabled"), json!({"disabled": true})),
        ("DELETE", base.clone(), json!(null)),
    ] {
        let r = s.call(method, &path, Some(&root), body).await;
        assert_problem(&r, 409);
    }
    assert_eq!(s.get("/v1/admin/users", &root).await.status, 200);
    // With a second admin, the first may step down.
    s.with_role("deputy", Role::Admin).await;
    let r = s
        .call(
            "PUT",
            &format!("{base}/role"),
            Some(&root),
            json!({"role": "user"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

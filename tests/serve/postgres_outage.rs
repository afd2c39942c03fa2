//! One instance on PostgreSQL when the database server misbehaves: the
//! connections it ends (a restart, a failover) are replaced unseen; a
//! failure to read while checking a bearer token is a server error, never
//! a 401 (which tells a client its token is bad and to sign in again); a
//! database that gives no connection is a 503 to retry. Needs PostgreSQL
//! installed; skipped loudly otherwise.

use crate::common;

use std::sync::Arc;

use common::binary::Binary;
use serde_json::json;
use strongroom::engine::secrecy::ExposeSecret;
use strongroom_testkit::postgres::PgCluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ended_connections_are_replaced_and_a_failed_token_check_is_not_a_401_nor_a_database_down()
{
    let made = PgCluster::start_off_runtime(
        || PgCluster::start("postgres_outage"),
        |c| c.database("outage"),
    );
    let Some((cluster, url)) = made.await else {
        return;
    };
    let cluster = Arc::new(cluster);
    let dir = tempfile::tempdir().expect("dir");
    let server = Binary::start(
        &dir.path().join("data"),
        &["--database-url", url.expose_secret()],
        &[("STRONGROOM_MASTER_KEY", common::KEY)],
    );
    let creds = json!({"username": "alice", "password": common::PASSWORD});
    let made = server.api.call("POST", "/v1/accounts", None, creds).await;
    assert_eq!(made.status, 201, "{}", made.body);
    let token = server.api.login("alice", common::PASSWORD).await.0;
    assert_eq!(server.api.get("/v1/me", &token).await.status, 200);

    for round in 0..2 {
        assert!(on_cluster(&cluster, |c| c.end_connections("outage")).await > 0);
        let me = server.api.get("/v1/me", &token).await;
        assert_eq!(me.status, 200, "round {round}: {}", me.body);
        let sent = server
            .api
            .post(
                "/v1/messages",
                json!({"message": "still here"}),
                Some(&token),
            )
            .await;
        assert_eq!(sent.status, 201, "round {round}: {}", sent.body);
    }

    let made = server
        .api
        .post("/v1/events/tickets", json!({}), Some(&token))
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let ticket = made.body["ticket"].as_str().expect("ticket").to_owned();

    // The tokens cannot be read: a server error, with nothing of why.
    let sql = "ALTER TABLE strongroom_tokens RENAME TO strongroom_tokens_away";
    on_cluster(&cluster, move |c| c.execute("outage", sql)).await;
    let failed = server.api.get("/v1/me", &token).await;
    assert_eq!(failed.status, 500, "{}", failed.body);
    assert_eq!(failed.body["detail"], "internal error");
    // The event stream too, which also takes a ticket instead.
    let stream = server.api.get("/v1/events", &token).await;
    assert_eq!(stream.status, 500, "{}", stream.body);
    let path = format!("/v1/events?ticket={ticket}");
    let by_ticket = server.api.get_anonymous(&path).await;
    assert_eq!(by_ticket.status, 500, "{}", by_ticket.body);
    let sql = "ALTER TABLE strongroom_tokens_away RENAME TO strongroom_tokens";
    on_cluster(&cluster, move |c| c.execute("outage", sql)).await;
    assert_eq!(server.api.get("/v1/me", &token).await.status, 200);
    // A database that takes no connections: every pooled one ended, and no
    // new one allowed. After the pool's 10 s wait, a 503 to retry.
    // From the `postgres` database: `outage` cannot refuse its own.
    let sql = "ALTER DATABASE outage ALLOW_CONNECTIONS false";
    on_cluster(&cluster, move |c| c.execute("postgres", sql)).await;
    on_cluster(&cluster, |c| c.end_connections("outage")).await;
    let res = server
        .api
        .http
        .get(server.url("/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "5");
    let body: serde_json::Value = res.json().await.expect("problem");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("cannot be reached"), "{detail}");
    // Until the pool has a connection again, the next calls fail at once
    // (the log says so) instead of each waiting the 10 s out.
    assert_eq!(server.api.get("/v1/me", &token).await.status, 503);
    assert_eq!(server.api.get_anonymous("/readyz").await.status, 503);
    let sql = "ALTER DATABASE outage ALLOW_CONNECTIONS true";
    on_cluster(&cluster, move |c| c.execute("postgres", sql)).await;
    // The pool connects again in the background (every 5 s at most).
    let back = std::time::Instant::now();
    loop {
        let me = server.api.get("/v1/me", &token).await;
        if me.status == 200 {
            break;
        }
        assert_eq!(me.status, 503, "{}", me.body);
        assert!(
            back.elapsed().as_secs() < 30,
            "the pool never connected again"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let exited = server.stop_async().await;
    assert!(
        exited
            .stderr
            .contains("none since the last wait for one timed out"),
        "{}",
        exited.stderr
    );
    assert!(
        exited.stderr.contains("authentication"),
        "the failure is logged: {}",
        exited.stderr
    );
}

/// `work` on the cluster, off the runtime (its client blocks).
async fn on_cluster<T: Send + 'static>(
    cluster: &Arc<PgCluster>,
    work: impl FnOnce(&PgCluster) -> T + Send + 'static,
) -> T {
    let cluster = cluster.clone();
    tokio::task::spawn_blocking(move || work(&cluster))
        .await
        .expect("work on the cluster")
}

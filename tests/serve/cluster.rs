//! Two `strongroom serve` processes on one PostgreSQL database and one
//! NATS server (both started here from their Debian packages, as an
//! unprivileged user): an account made on A logs in on B; a stream open on
//! B receives a message sent through A within a second; a stream resumes
//! with `Last-Event-ID` on the other instance with no gap and no
//! duplicate; a message sent while NATS is down reaches an open stream on
//! the other instance once NATS is back; a logout on A ends the session's
//! stream on B; A killed with SIGKILL loses
//! nothing it acknowledged, and B keeps serving. B reads its database URL
//! from a file (`--database-url-file`); a NATS that cannot be reached at
//! start fails the start in one line. Skipped loudly when a package is
//! missing.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use common::binary::{Binary, run_to_exit};
use common::nats::Nats;
use common::sse::SseStream;
use serde_json::{Value, json};
use strongroom::engine::secrecy::ExposeSecret;
use strongroom_testkit::postgres::PgCluster;

const WAIT: Duration = Duration::from_secs(10);

async fn send(s: &Binary, token: &str, to: &str, text: &str) {
    let path = format!("/v1/users/{to}/messages");
    let body = json!({"message": text});
    let (status, body) = s.api.call("POST", &path, Some(token), body).await.parts();
    assert_eq!(status, 201, "{body}");
}

async fn stream(s: &Binary, token: &str, last_event_id: Option<&str>) -> SseStream {
    SseStream::open(&s.url("/v1/events"), token, last_event_id).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_database_act_as_one() {
    let Some(mut nats) = Nats::start("multi_instance") else {
        return;
    };
    let made = PgCluster::start_off_runtime(
        || PgCluster::start("multi_instance"),
        |c| c.database("two_instances"),
    );
    let Some((_cluster, url)) = made.await else {
        return;
    };
    let dirs = [
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    ];
    // B reads the URL from a file, as from a mounted secret.
    let url_file = dirs[1].path().join("database_url");
    std::fs::write(&url_file, format!("{}\n", url.expose_secret())).expect("url file");
    std::fs::set_permissions(&url_file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let url_file = url_file.display().to_string();
    let start = |i: usize| {
        let database = match i {
            0 => ["--database-url", url.expose_secret()],
            _ => ["--database-url-file", url_file.as_str()],
        };
        Binary::start(
            &dirs[i].path().join("data"),
            &[database[0], database[1], "--nats-url", &nats.url],
            &[("STRONGROOM_MASTER_KEY", common::KEY)],
        )
    };
    let a = start(0);
    let b = start(1);

    // An account made on A logs in on B.
    for name in ["alice", "bob"] {
        let creds = json!({"username": name, "password": common::PASSWORD});
        let (status, body) = a
            .api
            .call("POST", "/v1/accounts", None, creds)
            .await
            .parts();
        assert_eq!(status, 201, "{body}");
    }
    let alice_a = a.api.login("alice", common::PASSWORD).await.0;
    let bob_b = b.api.login("bob", common::PASSWORD).await.0;

    // A stream on B hears what is sent through A, within a second.
    let mut on_b = stream(&b, &bob_b, None).await;
    let sent = Instant::now();
    send(&a, &alice_a, "bob", "through A").await;
    let first = on_b.expect(WAIT).await;
    let took = sent.elapsed();
    assert_eq!(first.json()["message"], "through A");
    assert!(took < Duration::from_secs(1), "arrived after {took:?}");
    drop(on_b);

    // Resume on A from B's event id: exactly what came after, once.
    send(
        &b,
        &b.api.login("alice", common::PASSWORD).await.0,
        "bob",
        "second",
    )
    .await;
    send(&a, &alice_a, "bob", "third").await;
    let bob_a = a.api.login("bob", common::PASSWORD).await.0;
    let mut on_a = stream(&a, &bob_a, Some(&first.id())).await;
    let texts =
        [on_a.expect(WAIT).await, on_a.expect(WAIT).await].map(|e| e.json()["message"].clone());
    assert_eq!(texts, [json!("second"), json!("third")]);
    assert!(
        matches!(
            on_a.next(Duration::from_millis(300)).await,
            common::sse::Next::Timeout
        ),
        "no duplicate"
    );
    drop(on_a);

    // NATS goes away: a message sent meanwhile reaches B's open stream
    // once the connection is back (the stream catches up from the store).
    let mut on_b = stream(&b, &bob_b, Some(&first.id())).await;
    for _ in 0..2 {
        on_b.expect(WAIT).await; // "second", "third"
    }
    nats.stop();
    send(&a, &alice_a, "bob", "while NATS was down").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    nats.restart();
    let late = on_b.expect(Duration::from_secs(20)).await;
    assert_eq!(late.json()["message"], "while NATS was down");
    drop(on_b);

    // Logging out on A ends that session's stream on B.
    let bob_session = b.api.login("bob", common::PASSWORD).await.0;
    let mut doomed = stream(&b, &bob_session, None).await;
    let (status, _) = a
        .api
        .call(
            "DELETE",
            "/v1/sessions/current",
            Some(&bob_session),
            Value::Null,
        )
        .await
        .parts();
    assert_eq!(status, 204);
    let end = loop {
        let event = doomed.expect(WAIT).await;
        if event.event == "end" {
            break event;
        }
    };
    assert_eq!(end.json()["reason"], "session_revoked");

    // A is killed mid-flight: whatever it acknowledged is on B.
    let mut acknowledged = 4;
    for n in 0..20 {
        send(&a, &alice_a, "bob", &format!("burst {n}")).await;
        acknowledged += 1;
    }
    a.signal("KILL");
    let (status, page) = b
        .api
        .call("GET", "/v1/messages?limit=100", Some(&bob_b), Value::Null)
        .await
        .parts();
    assert_eq!(status, 200, "{page}");
    let stored = page["messages"].as_array().expect("messages").len();
    assert_eq!(stored, acknowledged, "nothing acknowledged is lost");
    // And B keeps serving: a stream and a send on B alone.
    let mut on_b = stream(&b, &bob_b, None).await;
    let alice_b = b.api.login("alice", common::PASSWORD).await.0;
    send(&b, &alice_b, "bob", "B alone").await;
    let mut last = on_b.expect(WAIT).await;
    while last.json()["message"] != "B alone" {
        last = on_b.expect(WAIT).await;
    }
    drop(a);
    let exited = b.stop();
    assert!(exited.status.success(), "{}", exited.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_exits_within_the_grace_period_while_nats_is_down() {
    let Some(mut nats) = Nats::start("nats_down_shutdown") else {
        return;
    };
    let made = PgCluster::start_off_runtime(
        || PgCluster::start("nats_down_shutdown"),
        |c| c.database("nats_down"),
    );
    let Some((_cluster, url)) = made.await else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    // A NATS that cannot be reached at start fails the start in one line.
    let nowhere = format!("nats://127.0.0.1:{}", strongroom_testkit::free_port());
    let exited = run_to_exit(
        &dir.path().join("data"),
        &[
            "--database-url",
            url.expose_secret(),
            "--nats-url",
            &nowhere,
        ],
        &[("STRONGROOM_MASTER_KEY", common::KEY)],
    );
    assert_eq!(exited.status.code(), Some(1), "{}", exited.stderr);
    let errors: Vec<&str> = exited
        .stderr
        .lines()
        .filter(|l| !l.contains(" INFO "))
        .collect();
    assert_eq!(errors.len(), 1, "{}", exited.stderr);
    assert!(
        errors[0].starts_with("error: NATS at --nats-url: "),
        "{}",
        exited.stderr
    );
    let server = Binary::start(
        &dir.path().join("data"),
        &[
            "--database-url",
            url.expose_secret(),
            "--nats-url",
            &nats.url,
            "--shutdown-grace",
            "3",
        ],
        &[("STRONGROOM_MASTER_KEY", common::KEY)],
    );
    let token = server.api.account("alice").await.0;
    send(&server, &token, "alice", "while NATS is up").await;
    // NATS goes first; a message sent now waits to be published.
    nats.stop();
    send(&server, &token, "alice", "while NATS is down").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let exited = tokio::task::spawn_blocking(move || server.stop())
        .await
        .expect("stop");
    assert!(exited.status.success(), "{}", exited.stderr);
    assert!(
        exited.took < Duration::from_secs(6),
        "took {:?} to exit with a 3 s grace:\n{}",
        exited.took,
        exited.stderr
    );
}

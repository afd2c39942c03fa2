//! One platform's story, end to end on the `strongroom` binary: the
//! operator makes the first admin from the command line and serves with
//! registration closed; the admin creates a user and a service; the
//! service makes a read-only key, reads with it and is refused a write;
//! the admin reads the audit trail of all of it, takes a signed
//! checkpoint and an online backup; offline, `audit verify` passes against
//! it, and catches a
//! rewritten or truncated log.

use crate::common;

use std::path::Path;

use common::binary::{Binary, run, run_with_stdin};
use serde_json::{Value, json};
use strongroom_testkit::raw::{AuditTamper, RawStore, tamper_audit};

const ADMIN_PASSWORD: &str = "the first admin's password";

fn arg(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// The account of the trail's first login (the admin's).
fn first_login_actor(trail: &Value) -> Value {
    trail["entries"][1]["actor_user"].clone()
}

/// Changes the stopped store's audit log behind the chain's back, as
/// someone who can write the database file would.
fn tamper(data: &Path, how: AuditTamper) {
    tamper_audit(&RawStore::Redb(data.join("strongroom.redb")), how);
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_bootstraps_a_service_reads_with_a_scoped_key_and_the_audit_trail_verifies() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let made = run_with_stdin(
        &[
            "user",
            "add",
            "root",
            "--role",
            "admin",
            "--data-dir",
            arg(&data),
        ],
        &[],
        &format!("{ADMIN_PASSWORD}\n"),
    );
    assert!(made.status.success(), "{}", made.stderr);

    let server = Binary::start(&data, &["--registration", "closed"], &[]);
    let stranger = json!({"username": "mallory", "password": common::PASSWORD});
    let (status, _) = server
        .api
        .call("POST", "/v1/accounts", None, stranger)
        .await
        .parts();
    assert_eq!(status, 403, "registration is closed");

    let root = server.api.login("root", ADMIN_PASSWORD).await.0;
    for (name, role) in [("alice", "user"), ("billing", "service")] {
        let body = json!({"username": name, "password": common::PASSWORD, "role": role});
        let (status, created) = server
            .api
            .call("POST", "/v1/admin/users", Some(&root), body)
            .await
            .parts();
        assert_eq!(status, 201, "{created}");
    }
    let billing = server.api.login("billing", common::PASSWORD).await.0;
    let request = json!({"name": "invoice reader", "scopes": ["messages:read"]});
    let (status, key) = server
        .api
        .call("POST", "/v1/api-keys", Some(&billing), request)
        .await
        .parts();
    assert_eq!(status, 201, "{key}");
    let key = key["secret"].as_str().expect("secret").to_owned();

    let alice = server.api.login("alice", common::PASSWORD).await.0;
    let invoice = json!({"message": "invoice #42: 100 credits"});
    let path = "/v1/users/billing/messages";
    let (status, _) = server
        .api
        .call("POST", path, Some(&alice), invoice)
        .await
        .parts();
    assert_eq!(status, 201);

    // The service reads with its key, and may not write with it.
    let (status, inbox) = server
        .api
        .call("GET", "/v1/messages", Some(&key), json!(null))
        .await
        .parts();
    assert_eq!(status, 200);
    assert_eq!(inbox["messages"][0]["message"], "invoice #42: 100 credits");
    let reply = json!({"message": "paid"});
    let (status, refused) = server
        .api
        .call("POST", "/v1/users/alice/messages", Some(&key), reply)
        .await
        .parts();
    assert_eq!(status, 403);
    assert!(
        refused["detail"]
            .as_str()
            .expect("detail")
            .contains("messages:write"),
        "{refused}"
    );

    // The admin reads the trail of all of it.
    let (status, trail) = server
        .api
        .call("GET", "/v1/admin/audit", Some(&root), json!(null))
        .await
        .parts();
    assert_eq!(status, 200, "{trail}");
    let entries = trail["entries"].as_array().expect("entries");
    let actions: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| {
            let actor = e["actor"].as_str().expect("actor");
            let kind = actor.split(':').next().expect("kind");
            (e["action"].as_str().expect("action"), kind)
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("user.create", "operator"), // the first admin, from the command line
            ("login", "user"),           // root
            ("user.create", "user"),     // alice, by root
            ("user.create", "user"),     // billing, by root
            ("login", "user"),           // billing
            ("key.create", "user"),      // billing's read-only key
            ("login", "user"),           // alice
            ("message.send", "user"),    // alice to billing
        ]
    );
    assert!(
        entries
            .iter()
            .all(|e| e["address"] == "127.0.0.1" || e["actor"] == "operator")
    );
    let (status, checkpoint) = server
        .api
        .call(
            "GET",
            "/v1/admin/audit/checkpoint",
            Some(&root),
            json!(null),
        )
        .await
        .parts();
    assert_eq!(status, 200);
    assert_eq!(checkpoint["seq"], 8);
    let kept = tmp.path().join("checkpoint.json");
    std::fs::write(&kept, checkpoint.to_string()).expect("keep checkpoint");
    // An online backup, asked for over HTTP, lands in the backup dir and
    // in the trail under the admin's name.
    let (status, backup) = server
        .api
        .call("POST", "/v1/admin/backups", Some(&root), json!(null))
        .await
        .parts();
    assert_eq!(status, 201, "{backup}");
    let file = Path::new(backup["path"].as_str().expect("path"));
    assert!(
        file.starts_with(data.join("backups")) && file.exists(),
        "{backup}"
    );
    assert_eq!(
        (backup["users"].as_u64(), backup["records"].as_u64()),
        (Some(3), Some(1))
    );
    let path = "/v1/admin/audit?action=backup";
    let (_, backups) = server
        .api
        .call("GET", path, Some(&root), json!(null))
        .await
        .parts();
    assert_eq!(
        backups["entries"][0]["actor_user"],
        first_login_actor(&trail)
    );
    let stopped = server.stop();
    assert!(stopped.status.success(), "{}", stopped.stderr);

    // Offline, a third party's checkpoint verifies the whole chain.
    let verified = run(
        &[
            "audit",
            "verify",
            "--data-dir",
            arg(&data),
            "--checkpoint",
            arg(&kept),
        ],
        &[],
    );
    assert_eq!(
        verified.status.code(),
        Some(0),
        "{}{}",
        verified.stdout,
        verified.stderr
    );
    assert!(
        verified.stdout.contains("ok: the audit chain is intact"),
        "{}",
        verified.stdout
    );
    let own = run(&["audit", "checkpoint", "--data-dir", arg(&data)], &[]);
    let own: Value = serde_json::from_str(&own.stdout).expect("checkpoint json");
    assert_eq!(own["public_key"], checkpoint["public_key"]);
    let whole = run(&["verify", "--data-dir", arg(&data)], &[]);
    assert_eq!(whole.status.code(), Some(0), "{}", whole.stdout);

    // A truncated log looks whole on its own; the kept checkpoint
    // exposes it.
    tamper(&data, AuditTamper::Truncate(7));
    let alone = run(&["audit", "verify", "--data-dir", arg(&data)], &[]);
    assert_eq!(alone.status.code(), Some(0), "{}", alone.stdout);
    let against = run(
        &[
            "audit",
            "verify",
            "--json",
            "--data-dir",
            arg(&data),
            "--checkpoint",
            arg(&kept),
        ],
        &[],
    );
    assert_eq!(against.status.code(), Some(3), "{}", against.stdout);
    let report: Value = serde_json::from_str(&against.stdout).expect("json");
    assert_eq!(report["sound"], false);
    assert!(
        report["problems"][0]
            .as_str()
            .expect("problem")
            .contains("truncated")
    );
    // A rewritten entry is caught by the chain alone, and by `verify`.
    tamper(&data, AuditTamper::Modify(2));
    let modified = run(&["audit", "verify", "--data-dir", arg(&data)], &[]);
    assert_eq!(modified.status.code(), Some(3));
    assert!(
        modified.stdout.contains("audit entry 2 was modified"),
        "{}",
        modified.stdout
    );
    assert_eq!(
        run(&["verify", "--data-dir", arg(&data)], &[])
            .status
            .code(),
        Some(3)
    );
    // A checkpoint file that is not one is an error, not a verdict.
    std::fs::write(&kept, "{}").expect("write");
    let bad = run(
        &[
            "audit",
            "verify",
            "--data-dir",
            arg(&data),
            "--checkpoint",
            arg(&kept),
        ],
        &[],
    );
    assert_eq!(bad.status.code(), Some(1), "{}", bad.stderr);
    assert!(bad.stderr.contains("not a checkpoint"), "{}", bad.stderr);
}

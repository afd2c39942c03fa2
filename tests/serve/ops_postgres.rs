//! The operator commands on a store in PostgreSQL (`--database-url`, the
//! master key given as `serve` takes it), as an operator runs them: seed,
//! user add, verify (deep, JSON), audit verify and checkpoint, backup and
//! restore into another database (refused once it holds a store),
//! rotate-data-keys, rotate-master-key, compact's "nothing to compact",
//! and `migrate` from PostgreSQL into a data dir and from that data dir
//! into another database, each ending with a sound deep check; the
//! server then serves the last copy. Skipped
//! loudly when PostgreSQL is not installed.

use crate::common;

use std::os::unix::fs::PermissionsExt;

use common::binary::{Exited, run, run_with_stdin};
use serde_json::Value;
use strongroom::engine::secrecy::ExposeSecret;
use strongroom_testkit::postgres::PgCluster;

const NEW_KEY: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

fn ok(exited: &Exited, what: &str) {
    assert!(
        exited.status.success(),
        "{what}: {}\n{}",
        exited.stdout,
        exited.stderr
    );
}

/// One `error:` line containing `reason`, exit 1.
fn refused(exited: &Exited, reason: &str) {
    assert_eq!(exited.status.code(), Some(1), "{}", exited.stdout);
    let error = exited.error_line();
    assert!(error.contains(reason), "{error}");
}

/// `verify --deep --json` of a store: (users, records), asserting sound.
fn verified(args: &[&str], key: &str) -> (u64, u64) {
    let mut all = vec!["verify", "--deep", "--json"];
    all.extend_from_slice(args);
    let exited = run(&all, &[("STRONGROOM_MASTER_KEY", key)]);
    ok(&exited, "verify");
    let report: Value = serde_json::from_str(exited.stdout.trim()).expect("json");
    assert_eq!(report["sound"], true, "{report}");
    assert_eq!(report["envelopes_opened"], report["records"], "{report}");
    (
        report["users"].as_u64().expect("users"),
        report["records"].as_u64().expect("records"),
    )
}

fn on(url: &str) -> [&str; 2] {
    ["--database-url", url]
}

#[tokio::test]
async fn every_operator_command_works_on_a_postgres_store() {
    let made = PgCluster::start_off_runtime(
        || PgCluster::start("operator commands on postgres"),
        |c| {
            ["ops_first", "ops_second", "ops_third", "ops_fourth"]
                .map(|name| c.database(name).expose_secret().to_owned())
        },
    );
    let Some((_cluster, [first, second, third, fourth])) = made.await else {
        return;
    };
    let (first, second, third) = (first.as_str(), second.as_str(), third.as_str());
    let dir = tempfile::tempdir().expect("dir");
    let path = |name: &str| dir.path().join(name).display().to_string();
    let key = [("STRONGROOM_MASTER_KEY", common::KEY)];

    // Without the master key given, nothing opens.
    refused(
        &run(&["verify", "--database-url", first], &[]),
        "every instance needs the same master key",
    );

    let credentials = path("credentials.txt");
    let seeded = run(
        &[
            "seed",
            "--database-url",
            first,
            "--users",
            "3",
            "--messages",
            "40",
            "--broadcasts",
            "2",
            "--credentials",
            &credentials,
        ],
        &key,
    );
    ok(&seeded, "seed");
    let added = run_with_stdin(
        &[
            "user",
            "add",
            "root",
            "--role",
            "admin",
            "--database-url",
            first,
        ],
        &key,
        "correct horse battery\n",
    );
    ok(&added, "user add");
    let (users, records) = verified(&on(first), common::KEY);
    assert_eq!(users, 4);
    assert_eq!(records, 42);

    // The audit chain, and a checkpoint kept outside.
    ok(
        &run(&["audit", "verify", "--database-url", first], &key),
        "audit verify",
    );
    let checkpoint = run(&["audit", "checkpoint", "--database-url", first], &key);
    ok(&checkpoint, "audit checkpoint");
    let checkpoint_file = path("checkpoint.json");
    std::fs::write(&checkpoint_file, &checkpoint.stdout).expect("checkpoint");
    ok(
        &run(
            &[
                "audit",
                "verify",
                "--database-url",
                first,
                "--checkpoint",
                &checkpoint_file,
            ],
            &key,
        ),
        "audit verify --checkpoint",
    );

    // A backup (the same embedded format as a data dir's) restores into
    // an empty database, and never into one that holds a store.
    let backup = path("first.backup");
    ok(
        &run(&["backup", "--database-url", first, "--to", &backup], &key),
        "backup",
    );
    let restore = ["restore", "--database-url", second, "--from", &backup];
    ok(&run(&restore, &key), "restore");
    assert_eq!(verified(&on(second), common::KEY), (4, 42));
    refused(&run(&restore, &key), "already holds Strongroom data");
    assert_eq!(verified(&on(second), common::KEY), (4, 42));

    // Keys: data keys rotated, then the master key; the old key no longer
    // opens the store.
    ok(
        &run(&["rotate-data-keys", "--database-url", first], &key),
        "rotate-data-keys",
    );
    let new_key_file = path("new.key");
    std::fs::write(&new_key_file, NEW_KEY).expect("key");
    std::fs::set_permissions(&new_key_file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    ok(
        &run(
            &[
                "rotate-master-key",
                "--database-url",
                first,
                "--new-key-file",
                &new_key_file,
            ],
            &key,
        ),
        "rotate-master-key",
    );
    refused(
        &run(&["verify", "--database-url", first], &key),
        "the master key does not match",
    );
    assert_eq!(verified(&on(first), NEW_KEY), (4, 42));
    let new_key = [("STRONGROOM_MASTER_KEY", NEW_KEY)];
    let compact = run(&["compact", "--database-url", first], &new_key);
    ok(&compact, "compact");
    assert!(
        compact.stdout.contains("nothing to compact"),
        "{}",
        compact.stdout
    );

    // Out of PostgreSQL into a data dir, and from there into another
    // database; each copy checked deep.
    let data = path("data");
    let out = run(
        &[
            "migrate",
            "--from-database-url",
            first,
            "--to-data-dir",
            &data,
        ],
        &new_key,
    );
    ok(&out, "migrate to a data dir");
    assert!(
        out.stdout.contains("ok: no problem found"),
        "{}",
        out.stdout
    );
    assert_eq!(verified(&["--data-dir", &data], NEW_KEY), (4, 42));
    let mode = std::fs::metadata(dir.path().join("data/strongroom.redb"))
        .expect("file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let into_third = [
        "migrate",
        "--from-data-dir",
        &data,
        "--to-database-url",
        third,
    ];
    let out = run(&into_third, &new_key);
    ok(&out, "migrate to postgres");
    assert_eq!(verified(&on(third), NEW_KEY), (4, 42));
    refused(&run(&into_third, &new_key), "already holds Strongroom data");
    // A data dir's own key file serves the copy too (it is read from the
    // source, then given to the copy).
    let key_file = dir.path().join("data/master.key");
    std::fs::write(&key_file, NEW_KEY).expect("key file");
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let out = run(
        &[
            "migrate",
            "--from-data-dir",
            &data,
            "--to-database-url",
            &fourth,
        ],
        &[],
    );
    ok(&out, "migrate with the data dir's key file");
    assert!(
        out.stdout
            .contains("the copy opens with the same master key"),
        "{}",
        out.stdout
    );
    assert_eq!(verified(&on(&fourth), NEW_KEY), (4, 42));
    refused(
        &run(
            &[
                "migrate",
                "--from-database-url",
                third,
                "--to-data-dir",
                &data,
            ],
            &new_key,
        ),
        "already exists",
    );
    // The server serves the last copy: the admin made on the first signs in.
    let server = common::binary::Binary::start(
        &dir.path().join("serve"),
        &["--database-url", third],
        &new_key,
    );
    let creds = serde_json::json!({"username": "root", "password": "correct horse battery"});
    let (status, body) = server
        .api
        .call("POST", "/v1/sessions", None, creds)
        .await
        .parts();
    assert_eq!(status, 201, "{body}");
    assert!(server.stop().status.success());
}

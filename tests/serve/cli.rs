//! The `strongroom serve` binary: creates its data directory (0700), key
//! file and database (0600) on first run; serves the API; on SIGTERM ends
//! open streams at once with a final event and exits within a second; a
//! failed start names the address or path and leaves nothing behind;
//! exposed files are refused; logs are text or JSON, never forgeable;
//! flags beat their environment variables.
#![cfg(unix)]

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::binary::{Binary, run_limited, run_to_exit};
use common::sse::SseStream;
use serde_json::json;

const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const KEY_B: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

fn creds(name: &str) -> serde_json::Value {
    json!({"username": name, "password": "correct horse battery"})
}

#[tokio::test]
async fn first_run_creates_private_files_and_the_data_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("strongroom-data");
    let http = reqwest::Client::new();
    let server = Binary::start(&data, &[], &[]);
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("master.key")), 0o600);
    assert_eq!(mode(&data.join("strongroom.redb")), 0o600);
    let docs = http.get(server.url("/docs")).send().await.expect("docs");
    assert_eq!(docs.status(), 200);
    let root = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(server.url("/"))
        .send()
        .await
        .expect("root");
    assert_eq!(root.status(), 303);
    assert_eq!(root.headers()["location"], "/app");
    assert!(
        !docs.headers().contains_key("strict-transport-security")
            && !root.headers().contains_key("strict-transport-security"),
        "no HSTS over plain HTTP"
    );
    server.api.account("alice").await;
    let base = server.base.clone();
    let exited = server.stop();
    assert!(exited.status.success(), "{}", exited.stderr);
    assert!(
        exited.stderr.contains("created a new master key file"),
        "{}",
        exited.stderr
    );
    assert!(
        exited.stderr.contains("shut down cleanly"),
        "{}",
        exited.stderr
    );
    assert!(
        exited.stdout.contains(&format!("Swagger UI: {base}/docs")),
        "{}",
        exited.stdout
    );

    // Second run: same key, same data.
    let server = Binary::start(&data, &[], &[]);
    let r = http
        .post(server.url("/v1/sessions"))
        .json(&creds("alice"))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 201, "the account survived the restart");
    let exited = server.stop();
    assert!(!exited.stderr.contains("created a new master key file"));
}

#[tokio::test]
async fn sigterm_ends_open_streams_at_once_and_a_restart_can_follow() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let server = Binary::start(&data, &["--shutdown-grace", "10"], &[]);
    let token = server.api.account("alice").await.0;
    let mut stream = SseStream::open(&server.url("/v1/events"), &token, None).await;
    let reader = tokio::spawn(async move { stream.expect(Duration::from_secs(10)).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let exited = tokio::task::spawn_blocking(move || server.stop())
        .await
        .expect("stop");
    let end = reader.await.expect("reader");
    assert_eq!(end.event, "end");
    assert_eq!(end.json()["reason"], "shutting_down");
    assert!(exited.status.success(), "{}", exited.stderr);
    assert!(
        exited.took < Duration::from_secs(2),
        "exit took {:?} with an open stream (grace 10 s)",
        exited.took
    );
    // The database is closed: the next start opens it at once.
    let again = Binary::start(&data, &[], &[]);
    assert!(again.stop().status.success());
}

#[test]
fn a_file_where_a_directory_belongs_is_named_so_and_nothing_is_created() {
    // Before: "…/backups: Not a directory (os error 20)" for a data dir
    // that is a file, "accessible to other users (mode 644); run `chmod
    // 700 …`" for a backup dir that is one, and a key file made in the
    // data dir before a database path that is a directory was refused.
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a directory").expect("file");
    let data = dir.path().join("d");
    let exited = run_to_exit(&file, &[], &[]);
    assert_eq!(exited.status.code(), Some(1), "{}", exited.stderr);
    assert_eq!(
        exited.error_line(),
        format!("error: {}: not a directory", file.display())
    );
    let backups = file.display().to_string();
    let exited = run_to_exit(&data, &["--backup-dir", &backups], &[]);
    assert_eq!(
        exited.error_line(),
        format!("error: {}: not a directory", file.display())
    );
    assert!(!data.exists(), "nothing created");
    let database = data.join("strongroom.redb");
    std::fs::create_dir_all(&database).expect("a directory for the database");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let exited = run_to_exit(&data, &[], &[]);
    assert_eq!(
        exited.error_line(),
        format!("error: {}: a directory, not a file", database.display())
    );
    assert!(!data.join("master.key").exists(), "no key made");
}

#[test]
fn a_busy_address_fails_in_one_line_and_creates_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("never");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let exited = run_to_exit(&data, &["--listen", &addr], &[]);
    assert!(!exited.status.success());
    let expected = format!("error: cannot listen on {addr}: address already in use");
    assert!(exited.stderr.contains(&expected), "{}", exited.stderr);
    assert!(!exited.stdout.contains("listening"), "{}", exited.stdout);
    assert!(!data.exists(), "a failed start created the data dir");
}

/// A first start that cannot write its new key file (here: no file may
/// grow, so the kernel ends the process at the first byte, as a crash or a
/// full disk would stop it) leaves no key file behind: a part of one, or an
/// empty one, would stop every later start. The next start creates it.
#[test]
fn a_first_start_stopped_while_writing_the_key_file_leaves_none() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let stopped = run_limited(&data, "ulimit -f 0", &[]);
    assert!(!stopped.status.success(), "{}", stopped.stderr);
    assert!(data.is_dir(), "the data dir was made first");
    assert!(
        !data.join("master.key").exists(),
        "a key file was left after its write failed"
    );
    let server = Binary::start(&data, &[], &[]);
    assert_eq!(mode(&data.join("master.key")), 0o600);
    let exited = server.stop();
    assert!(
        exited.stderr.contains("created a new master key file"),
        "{}",
        exited.stderr
    );
}

/// A first start in an empty data dir made beforehand (a container's
/// volume) that cannot create its database (here: files may grow to 32
/// KiB, less than redb's first layout; a full disk stops it the same way)
/// fails and leaves no half-made database file, which would stop every
/// later start as "not a redb database". The next start creates it.
#[test]
fn a_first_start_that_cannot_create_the_database_leaves_none() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    // SIGXFSZ ignored: a write past the limit fails (EFBIG) instead.
    let stopped = run_limited(&data, "trap '' XFSZ; ulimit -f 64", &[]);
    assert_eq!(stopped.status.code(), Some(1), "{}", stopped.stderr);
    assert!(
        stopped
            .stderr
            .contains("strongroom.redb: storage error: the disk is full"),
        "{}",
        stopped.stderr
    );
    assert!(data.join("master.key").exists(), "the key was made first");
    assert!(
        !data.join("strongroom.redb").exists(),
        "a database file was left after its creation failed"
    );
    let server = Binary::start(&data, &[], &[]);
    assert_eq!(mode(&data.join("strongroom.redb")), 0o600);
    server.stop();
}

#[test]
fn exposed_data_dirs_and_files_are_refused_unless_allowed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("open");
    std::fs::create_dir(&data).expect("mkdir");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let exited = run_to_exit(&data, &[], &[]);
    assert!(!exited.status.success());
    assert!(
        exited
            .stderr
            .contains("is accessible to other users (mode 755)"),
        "{}",
        exited.stderr
    );
    assert!(
        exited.stderr.contains(&data.display().to_string()),
        "{}",
        exited.stderr
    );
    assert!(!data.join("strongroom.redb").exists());

    let server = Binary::start(&data, &["--allow-insecure-permissions"], &[]);
    assert_eq!(mode(&data.join("strongroom.redb")), 0o600);
    assert!(server.stop().status.success());

    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    std::fs::set_permissions(
        data.join("strongroom.redb"),
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("chmod");
    let exited = run_to_exit(&data, &[], &[]);
    assert!(
        exited
            .stderr
            .contains("strongroom.redb is accessible to other users"),
        "{}",
        exited.stderr
    );
}

#[tokio::test]
async fn json_logs_are_one_object_per_line_and_client_strings_cannot_forge_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Binary::start(&dir.path().join("d"), &["--log-format", "json"], &[]);
    let http = reqwest::Client::new();
    let forged = "eve\n2026-11-24T00:00:00Z  INFO login succeeded username=admin";
    let r = http
        .post(server.url("/v1/sessions"))
        .json(&json!({"username": forged, "password": "correct horse battery"}))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 401);
    let exited = server.stop();
    let mut saw_failure = false;
    for line in exited.stderr.lines().filter(|l| !l.is_empty()) {
        let entry: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {line}"));
        if entry["fields"]["message"] == "login failed" {
            saw_failure = true;
            let name = entry["fields"]["username"].as_str().expect("username");
            assert!(
                name.starts_with("\"eve\\u{a}2026"),
                "quoted, escaped: {name}"
            );
            assert!(name.chars().count() <= 67, "truncated: {name}");
        }
        assert!(!line.contains("correct horse"), "password logged: {line}");
    }
    assert!(saw_failure, "{}", exited.stderr);
    // The banner too: in this mode every line either stream carries is JSON.
    let banner: Vec<&str> = exited.stdout.lines().filter(|l| !l.is_empty()).collect();
    assert!(banner.len() >= 2, "{}", exited.stdout);
    for line in banner {
        let entry: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("a plain banner line ({e}): {line}"));
        assert!(entry["timestamp"].is_string(), "{line}");
    }
}

#[test]
fn a_backup_dir_other_users_can_read_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backups = dir.path().join("backups");
    std::fs::create_dir(&backups).expect("mkdir");
    std::fs::set_permissions(&backups, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let data = dir.path().join("d");
    let args = ["--backup-dir", backups.to_str().expect("utf-8")];
    let exited = run_to_exit(&data, &args, &[]);
    assert_ne!(exited.status.code(), Some(0));
    assert!(
        exited.stderr.contains("backups") && exited.stderr.contains("other users"),
        "{}",
        exited.stderr
    );
    assert!(
        !data.join("strongroom.redb").exists(),
        "refused before opening"
    );
    std::fs::set_permissions(&backups, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let server = Binary::start(&data, &args, &[]);
    assert!(server.stop().status.success());
}

#[test]
fn an_invalid_log_filter_is_an_error_not_a_silent_default() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exited = run_to_exit(
        &dir.path().join("d"),
        &[],
        &[("STRONGROOM_LOG", "info,[[[")],
    );
    assert_eq!(exited.status.code(), Some(2));
    assert!(
        exited.stderr.contains("STRONGROOM_LOG: invalid log filter"),
        "{}",
        exited.stderr
    );
}

#[test]
fn serve_help_names_every_environment_variable() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_strongroom"))
        .args(["serve", "--help"])
        .output()
        .expect("help");
    let help = String::from_utf8_lossy(&out.stdout);
    for var in [
        "STRONGROOM_LISTEN",
        "STRONGROOM_DATA_DIR",
        "STRONGROOM_MASTER_KEY_FILE",
        "STRONGROOM_MASTER_KEY ",
        "STRONGROOM_TLS_CERT",
        "STRONGROOM_TLS_KEY",
        "STRONGROOM_TLS_SELF_SIGNED",
        "STRONGROOM_TRUSTED_PROXIES",
        "STRONGROOM_CORS_ORIGINS",
        "STRONGROOM_HEADER_TIMEOUT",
        "STRONGROOM_IDLE_TIMEOUT",
        "STRONGROOM_BODY_TIMEOUT",
        "STRONGROOM_MAX_CONNECTIONS",
        "STRONGROOM_MAX_CONNECTIONS_PER_ADDRESS",
        "STRONGROOM_MAX_STREAMS_PER_USER",
        "STRONGROOM_METRICS_LISTEN",
        "STRONGROOM_REAP_INTERVAL",
        "STRONGROOM_SHUTDOWN_GRACE",
        "STRONGROOM_LOG ",
        "STRONGROOM_LOG_FORMAT",
        "NO_COLOR",
    ] {
        assert!(
            help.contains(var),
            "serve --help does not mention {var}:\n{help}"
        );
    }
}

#[tokio::test]
async fn a_key_file_on_the_command_line_beats_the_key_in_the_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("d");
    let key_b = dir.path().join("b.key");
    std::fs::write(&key_b, KEY_B).expect("key");
    std::fs::set_permissions(&key_b, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let key_b = key_b.display().to_string();
    // Created under key B.
    let server = Binary::start(&data, &["--master-key-file", &key_b], &[]);
    assert!(server.stop().status.success());
    // The flag wins over STRONGROOM_MASTER_KEY (key A).
    let env = [("STRONGROOM_MASTER_KEY", KEY_A)];
    let server = Binary::start(&data, &["--master-key-file", &key_b], &env);
    assert!(server.stop().status.success());
    // Without the flag the environment's key is used, and refused.
    let exited = run_to_exit(&data, &[], &env);
    assert!(!exited.status.success());
    assert!(
        exited.stderr.contains("master key does not match"),
        "{}",
        exited.stderr
    );
    // The file named in the environment loses to the key in the environment.
    let both = [
        ("STRONGROOM_MASTER_KEY", KEY_A),
        ("STRONGROOM_MASTER_KEY_FILE", key_b.as_str()),
    ];
    let exited = run_to_exit(&data, &[], &both);
    assert!(
        exited.stderr.contains("master key does not match"),
        "{}",
        exited.stderr
    );
}

#[tokio::test]
async fn healthcheck_exits_zero_for_a_ready_server_and_one_after_it_stops() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Binary::start(&dir.path().join("d"), &[], &[]);
    let url = server.url("/readyz");
    let healthy = common::binary::run(&["healthcheck", "--url", &url], &[]);
    assert!(healthy.status.success(), "{}", healthy.stderr);
    assert!(server.stop().status.success());
    let gone = common::binary::run(&["healthcheck", "--url", &url, "--timeout", "2"], &[]);
    assert_eq!(gone.status.code(), Some(1));
    assert_eq!(gone.stderr.lines().count(), 1, "{}", gone.stderr);
    assert!(gone.stderr.starts_with("unhealthy: "), "{}", gone.stderr);
    // A wait of u64::MAX seconds panicked adding it to the clock; zero
    // was taken as a millisecond.
    let max = u64::MAX.to_string();
    for timeout in ["0", "86401", max.as_str()] {
        let refused =
            common::binary::run(&["healthcheck", "--url", &url, "--timeout", timeout], &[]);
        assert_eq!(refused.status.code(), Some(2), "{}", refused.stderr);
        assert!(
            refused
                .stderr
                .contains(&format!("{timeout} is not in 1..=86400")),
            "{}",
            refused.stderr
        );
    }
}

#[test]
fn a_secret_file_larger_than_any_secret_is_refused_unread() {
    // A gibibyte (sparse: no disk used) given as the key or the database
    // URL was read whole into memory before it was refused.
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("d");
    let huge = dir.path().join("huge");
    let file = std::fs::File::create(&huge).expect("create");
    file.set_len(1 << 30).expect("sparse gibibyte");
    std::fs::set_permissions(&huge, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let path = huge.display().to_string();
    for args in [
        ["--master-key-file", path.as_str()],
        ["--database-url-file", path.as_str()],
    ] {
        let exited = run_to_exit(&data, &args, &[("STRONGROOM_MASTER_KEY", KEY_A)]);
        assert_eq!(exited.status.code(), Some(1), "{args:?}: {}", exited.stderr);
        let error = exited.error_line();
        assert!(
            error.contains(&path) && error.contains("larger than 64 KiB"),
            "{args:?}: {error}"
        );
    }
}

#[test]
fn a_key_file_others_can_read_on_a_writable_mount_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("d");
    for key in [dir.path().join("beside.key"), data.join("inside.key")] {
        std::fs::create_dir_all(key.parent().expect("parent")).expect("mkdir");
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).ok();
        std::fs::write(&key, KEY_A).expect("key");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o444)).expect("chmod");
        let key = key.display().to_string();
        let exited = run_to_exit(&data, &["--master-key-file", &key], &[]);
        assert!(!exited.status.success());
        let error = exited.error_line();
        assert!(
            error.contains("accessible to other users (mode 444)")
                && error.contains("read-only secret"),
            "{}",
            exited.stderr
        );
    }
}

#[test]
fn an_unreachable_database_fails_the_start_in_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = strongroom_testkit::free_port();
    let url = format!("postgres://strongroom:not-this-password@127.0.0.1:{port}/strongroom");
    let exited = run_to_exit(
        &dir.path().join("d"),
        &["--database-url", &url],
        &[("STRONGROOM_MASTER_KEY", KEY_A)],
    );
    assert_eq!(exited.status.code(), Some(1));
    let lines: Vec<&str> = exited.stderr.lines().collect();
    let errors: Vec<&&str> = lines.iter().filter(|l| !l.contains(" INFO ")).collect();
    assert_eq!(errors.len(), 1, "{}", exited.stderr);
    assert!(
        errors[0].starts_with("error: database at --database-url: ")
            && errors[0].contains("Connection refused"),
        "{}",
        exited.stderr
    );
    assert!(
        !exited.stderr.contains("not-this-password"),
        "{}",
        exited.stderr
    );
}

#[test]
fn a_zero_timeout_or_connection_cap_is_refused_at_start_not_taken_as_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("d");
    for (flag, env) in [
        ("--header-timeout", "STRONGROOM_HEADER_TIMEOUT"),
        ("--idle-timeout", "STRONGROOM_IDLE_TIMEOUT"),
        ("--body-timeout", "STRONGROOM_BODY_TIMEOUT"),
        ("--reap-interval", "STRONGROOM_REAP_INTERVAL"),
        ("--max-connections", "STRONGROOM_MAX_CONNECTIONS"),
        (
            "--max-connections-per-address",
            "STRONGROOM_MAX_CONNECTIONS_PER_ADDRESS",
        ),
        (
            "--max-streams-per-connection",
            "STRONGROOM_MAX_STREAMS_PER_CONNECTION",
        ),
    ] {
        for exited in [
            run_to_exit(&data, &[flag, "0"], &[]),
            run_to_exit(&data, &[], &[(env, "0")]),
        ] {
            assert_eq!(exited.status.code(), Some(2), "{flag}: {}", exited.stderr);
            assert!(
                exited
                    .stderr
                    .contains(&format!("invalid value '0' for '{flag}"))
                    && exited.stderr.contains("0 is not in 1.."),
                "{}",
                exited.stderr
            );
        }
    }
    assert!(!data.exists(), "refused before anything was created");
}

#[test]
fn a_wait_longer_than_a_day_or_a_count_past_its_cap_is_refused_at_start() {
    // Each was taken before: a header timeout of u64::MAX seconds then
    // panicked every HTTP/1 connection (the deadline overflowed `Instant`),
    // a reap interval as long stopped the start with a panic, and a
    // retention of that many days overflowed 64 bits of seconds.
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("d");
    // A value taken would fail at the listen (exit 1) instead of serving.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let max = u64::MAX.to_string();
    for (flag, value, range) in [
        ("--header-timeout", max.as_str(), "1..=86400"),
        ("--idle-timeout", "86401", "1..=86400"),
        ("--body-timeout", "86401", "1..=86400"),
        ("--reap-interval", max.as_str(), "1..=86400"),
        ("--shutdown-grace", "86401", "0..=86400"),
        ("--audit-retention-days", max.as_str(), "1..=36500"),
        ("--audit-retention-days", "0", "1..=36500"),
        ("--database-connections", "0", "1..=10000"),
        ("--database-connections", "4294967295", "1..=10000"),
        ("--cache-mib", "0", "1..=1048576"),
        ("--cache-mib", max.as_str(), "1..=1048576"),
    ] {
        let exited = run_to_exit(&data, &["--listen", &addr, flag, value], &[]);
        assert_eq!(exited.status.code(), Some(2), "{flag}: {}", exited.stderr);
        assert!(
            exited
                .stderr
                .contains(&format!("invalid value '{value}' for '{flag}"))
                && exited
                    .stderr
                    .contains(&format!("{value} is not in {range}")),
            "{flag}: {}",
            exited.stderr
        );
    }
    assert!(!data.exists(), "refused before anything was created");
}

#[tokio::test]
async fn every_wait_at_its_longest_still_serves() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("d");
    let day = "86400";
    let server = Binary::start(
        &data,
        &[
            "--header-timeout",
            day,
            "--idle-timeout",
            day,
            "--body-timeout",
            day,
            "--reap-interval",
            day,
            "--shutdown-grace",
            day,
            "--audit-retention-days",
            "36500",
        ],
        &[],
    );
    let (token, _) = server.api.account("alice").await;
    let me = server.api.get("/v1/me", &token).await;
    assert_eq!((me.status, &me.body["username"]), (200, &json!("alice")));
    let exited = tokio::task::spawn_blocking(move || server.stop())
        .await
        .expect("stop");
    assert!(exited.status.success(), "{}", exited.stderr);
    assert!(!exited.stderr.contains("panicked"), "{}", exited.stderr);
}

#[test]
fn an_unknown_credit_action_is_a_start_up_error_that_lists_the_valid_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("d");
    let exited = run_to_exit(&data, &["--credits", "--credit-cost", "gift=3"], &[]);
    assert_eq!(exited.status.code(), Some(2), "{}", exited.stderr);
    assert!(
        exited.stderr.contains("unknown action \"gift\"")
            && exited.stderr.contains(
                "file-upload, share, file-download, service-call, store, send, broadcast"
            ),
        "{}",
        exited.stderr
    );
    assert!(!data.exists(), "refused before anything was created");
}

#[tokio::test]
async fn serve_with_credits_charges_shares_and_credits_a_signed_stripe_purchase() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("d");
    std::fs::create_dir(&data).expect("mkdir");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let secret_file = dir.path().join("stripe.secret");
    std::fs::write(&secret_file, "whsec_serve_test\n").expect("secret");
    std::fs::set_permissions(&secret_file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let args = [
        "--credits",
        "--credits-initial",
        "7",
        "--credit-cost",
        "share=7,store=1",
        "--stripe-webhook-secret-file",
        secret_file.to_str().expect("utf-8"),
        "--stripe-price",
        "price_pack=40",
    ];
    let server = Binary::start(&data, &args, &[]);
    let (alice, _) = server.api.account("alice").await;
    let me = server.api.get("/v1/me", &alice).await;
    let alice_id = me.body["id"].as_str().expect("id").to_owned();
    let credits = server.api.get("/v1/me/credits", &alice).await;
    assert_eq!(credits.body["balance"], 7);
    assert_eq!(credits.body["price_list"]["share"], 7);
    assert_eq!(credits.body["price_list"]["store"], 1);
    let share = json!({"message": "the code"});
    assert_eq!(
        server
            .api
            .post("/v1/shares", share.clone(), Some(&alice))
            .await
            .status,
        201
    );
    let refused = server
        .api
        .post("/v1/shares", share.clone(), Some(&alice))
        .await;
    assert_eq!(refused.status, 402, "{}", refused.body);
    assert_eq!(
        (
            refused.body["balance"].as_u64(),
            refused.body["cost"].as_u64()
        ),
        (Some(0), Some(7))
    );

    let event = json!({
        "id": "evt_serve_1", "type": "checkout.session.completed",
        "data": {"object": {"payment_status": "paid", "client_reference_id": alice_id,
                 "line_items": {"data": [{"price": {"id": "price_pack"}, "quantity": 1}]}}}
    })
    .to_string();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs();
    let secret = strongroom::engine::SecretString::from("whsec_serve_test");
    let signature = strongroom::facade::stripe_signature(&secret, now, event.as_bytes());
    let paid = reqwest::Client::new()
        .post(server.url("/v1/billing/stripe"))
        .header("Content-Type", "application/json")
        .header("Stripe-Signature", signature)
        .body(event)
        .send()
        .await
        .expect("webhook");
    assert_eq!(paid.status(), 200);
    assert_eq!(
        server.api.get("/v1/me/credits", &alice).await.body["balance"],
        40
    );
    assert_eq!(
        server
            .api
            .post("/v1/shares", share, Some(&alice))
            .await
            .status,
        201
    );
    let stderr = server.stderr();
    assert!(
        !stderr.contains("whsec_serve_test"),
        "the secret reached the log"
    );
    assert!(server.stop().status.success());
}

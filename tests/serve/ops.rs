//! The operator commands as an operator runs them: the `strongroom` binary
//! on real data dirs — verify (text, JSON, deep, a damaged store), backup
//! (refusing to overwrite, refusing a store a server holds), restore (into
//! an empty dir only, checking the key first), compact.

use crate::common;

use std::fs;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use redb::ReadableTable;

use common::binary::{Binary, run};
use strongroom::engine::{Engine, MasterKey, RecordId, SecretString, UserId};

const KEY: &str = common::KEY;
const OTHER_KEY: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

/// A data dir as `serve` leaves it (0700, key file and database 0600),
/// holding `n` records of one user; returns the user and the ids.
fn populated(dir: &Path, n: usize) -> (UserId, Vec<RecordId>) {
    fs::DirBuilder::new().mode(0o700).create(dir).expect("dir");
    write_private(&dir.join("master.key"), KEY);
    write_private(&dir.join("strongroom.redb"), "");
    let engine = open(&dir.join("strongroom.redb"), KEY);
    let alice = engine
        .accounts()
        .create("alice", &SecretString::from(common::PASSWORD))
        .expect("user")
        .id;
    let ids = (0..n)
        .map(|i| {
            engine
                .records()
                .put(alice, format!("message {i}").as_bytes(), None)
                .expect("put")
                .meta
                .id
        })
        .collect();
    (alice, ids)
}

fn write_private(path: &Path, text: &str) {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true).mode(0o600);
    std::io::Write::write_all(&mut options.open(path).expect("create"), text.as_bytes())
        .expect("write");
}

fn open(path: &Path, key: &str) -> Engine {
    Engine::builder(MasterKey::from_base64(&SecretString::from(key)).expect("key"))
        .open(path)
        .expect("engine")
}

fn arg(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// `strongroom restore` of `from` into `data` with the key in `key`.
fn restore(data: &Path, from: &Path, key: &Path) -> common::binary::Exited {
    run(
        &[
            "restore",
            "--data-dir",
            arg(data),
            "--from",
            arg(from),
            "--master-key-file",
            arg(key),
        ],
        &[],
    )
}

fn one_line_error(stderr: &str, names: &Path) {
    let lines: Vec<_> = stderr.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(lines[0].contains(arg(names)), "{stderr}");
}

#[test]
fn verify_reports_in_text_and_json_and_opens_every_envelope_when_deep() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    populated(&data, 12);
    let text = run(&["verify", "--data-dir", arg(&data)], &[]);
    assert!(text.status.success(), "{}", text.stderr);
    assert!(text.stdout.contains("records: 12"), "{}", text.stdout);
    assert!(text.stdout.contains("ok: no problem found"));
    let json = run(
        &["verify", "--data-dir", arg(&data), "--deep", "--json"],
        &[],
    );
    assert!(json.status.success(), "{}", json.stderr);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(report["sound"], true);
    assert_eq!(report["envelopes_opened"], 12);
    assert_eq!(report["users"], 1);
}

#[test]
fn verify_exits_3_on_a_damaged_store_and_names_the_problem() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    populated(&data, 3);
    // Remove one expiry-index entry behind the engine's back.
    {
        let db = redb::Database::open(data.join("strongroom.redb")).expect("raw");
        let write = db.begin_write().expect("write");
        {
            let def: redb::TableDefinition<&[u8], &[u8]> =
                redb::TableDefinition::new("kv/record_expiry");
            let mut table = write.open_table(def).expect("table");
            let first = table
                .first()
                .expect("read")
                .map(|(k, _)| k.value().to_vec())
                .expect("an entry");
            table.remove(first.as_slice()).expect("remove");
        }
        write.commit().expect("commit");
    }
    let out = run(&["verify", "--data-dir", arg(&data)], &[]);
    assert_eq!(out.status.code(), Some(3), "{}", out.stdout);
    assert!(out.stdout.contains("has no expiry entry"), "{}", out.stdout);
}

#[test]
fn a_file_damaged_page_by_page_is_a_finding_of_verify_and_serve_refuses_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    populated(&data, 3);
    let file = data.join("strongroom.redb");
    let pristine = std::fs::read(&file).expect("read");
    // The first 16 bytes of every page after redb's header flipped: redb
    // panics on such pages, which used to end verify with that panic.
    let mut bytes = pristine.clone();
    for page in (4096..bytes.len()).step_by(4096) {
        for b in &mut bytes[page..page + 16] {
            *b ^= 0x5a;
        }
    }
    std::fs::write(&file, &bytes).expect("damage");
    for deep in [false, true] {
        let mut args = vec!["verify", "--data-dir", arg(&data)];
        if deep {
            args.push("--deep");
        }
        let out = run(&args, &[]);
        assert_eq!(out.status.code(), Some(3), "{}\n{}", out.stdout, out.stderr);
        assert!(
            out.stdout.contains("the database file is damaged"),
            "{}",
            out.stdout
        );
        // redb's panic is logged in one line, not with a backtrace.
        assert!(!out.stderr.contains("panicked at"), "{}", out.stderr);
        assert!(out.stderr.contains("redb panicked"), "{}", out.stderr);
    }
    let json = run(&["verify", "--data-dir", arg(&data), "--json"], &[]);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(report["sound"], false);
    let serve = common::binary::run_to_exit(&data, &[], &[]);
    assert_eq!(serve.status.code(), Some(1), "{}", serve.stderr);
    assert!(
        serve.stderr.contains("the database file is damaged"),
        "{}",
        serve.stderr
    );
    let to = tmp.path().join("backup.redb");
    let backup = run(&["backup", "--data-dir", arg(&data), "--to", arg(&to)], &[]);
    assert_eq!(backup.status.code(), Some(1), "{}", backup.stderr);
    // Refused at open here (every page is damaged): the store's file is
    // named, and nothing is written.
    let error = backup.stderr.lines().last().unwrap_or_default();
    assert!(error.starts_with("error: "), "{}", backup.stderr);
    assert!(error.contains(arg(&file)), "{}", backup.stderr);
    assert!(error.contains("the database file is damaged"), "{error}");
    assert!(!to.exists(), "a backup of a damaged file was left behind");
    // The pristine file verifies again.
    std::fs::write(&file, &pristine).expect("restore");
    let out = run(&["verify", "--data-dir", arg(&data)], &[]);
    assert!(out.status.success(), "{}", out.stdout);
}

#[test]
fn commands_on_a_missing_store_fail_in_one_line_and_create_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("nowhere");
    for args in [
        vec!["verify", "--data-dir", arg(&data)],
        vec!["compact", "--data-dir", arg(&data)],
        vec![
            "backup",
            "--data-dir",
            arg(&data),
            "--to",
            "/tmp/never.redb",
        ],
    ] {
        let out = run(&args, &[]);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        one_line_error(&out.stderr, &data.join("strongroom.redb"));
        assert!(!data.exists(), "{args:?} created the data dir");
    }
}

#[test]
fn a_backup_restores_into_an_empty_dir_with_every_record() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let (alice, ids) = populated(&data, 25);
    let file = tmp.path().join("backup.redb");
    let out = run(
        &["backup", "--data-dir", arg(&data), "--to", arg(&file)],
        &[],
    );
    assert!(out.status.success(), "{}", out.stderr);
    assert!(out.stdout.contains("25 records, 1 users"), "{}", out.stdout);
    assert_eq!(
        fs::metadata(&file).expect("file").permissions().mode() & 0o777,
        0o600
    );
    // Never overwritten.
    let again = run(
        &["backup", "--data-dir", arg(&data), "--to", arg(&file)],
        &[],
    );
    assert_eq!(again.status.code(), Some(1));
    one_line_error(&again.stderr, &file);

    // A backup that is not there is named as the backup.
    let fresh = tmp.path().join("fresh");
    let missing = tmp.path().join("missing.redb");
    let nothing = restore(&fresh, &missing, &tmp.path().join("any.key"));
    assert_eq!(nothing.status.code(), Some(1));
    one_line_error(&nothing.stderr, &missing);
    assert!(
        nothing
            .stderr
            .contains("no backup file here (is --from right?)"),
        "{}",
        nothing.stderr
    );
    assert!(!fresh.exists());

    // A wrong key is refused before anything lands, and nothing is left.
    let wrong: PathBuf = tmp.path().join("wrong.key");
    write_private(&wrong, OTHER_KEY);
    let refused = restore(&fresh, &file, &wrong);
    assert_eq!(refused.status.code(), Some(1), "{}", refused.stdout);
    assert!(refused.stderr.contains("master key"), "{}", refused.stderr);
    assert!(!fresh.exists(), "a refused restore left {fresh:?}");

    let key = tmp.path().join("right.key");
    write_private(&key, KEY);
    let restored = restore(&fresh, &file, &key);
    assert!(restored.status.success(), "{}", restored.stderr);
    assert!(
        restored.stdout.contains("restored 25 records"),
        "{}",
        restored.stdout
    );
    let engine = open(&fresh.join("strongroom.redb"), KEY);
    for id in &ids {
        assert!(engine.records().get(alice, *id).is_ok());
    }
    drop(engine);
    // Restoring over an existing database is refused.
    let over = restore(&fresh, &file, &key);
    assert_eq!(over.status.code(), Some(1));
    one_line_error(&over.stderr, &fresh.join("strongroom.redb"));
}

#[test]
fn offline_commands_refuse_a_store_a_server_holds() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    populated(&data, 1);
    let server = Binary::start(&data, &[], &[]);
    for args in [
        vec![
            "backup",
            "--data-dir",
            arg(&data),
            "--to",
            "/tmp/strongroom-never.redb",
        ],
        vec!["compact", "--data-dir", arg(&data)],
        vec!["verify", "--data-dir", arg(&data)],
        vec!["user", "add", "--data-dir", arg(&data), "bob"],
        vec!["audit", "checkpoint", "--data-dir", arg(&data)],
    ] {
        let out = common::binary::run_with_stdin(&args, &[], "correct horse battery\n");
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            out.stderr
                .contains("in use (a running server holds it); stop the server"),
            "{}",
            out.stderr
        );
        // What the server offers instead, for the commands it offers.
        let online = match args[0] {
            "backup" => Some("send it SIGUSR1 (or POST /v1/admin/backups) for an online backup"),
            "user" => Some("POST /v1/admin/users"),
            "audit" => Some("GET /v1/admin/audit/checkpoint"),
            _ => None,
        };
        match online {
            Some(online) => assert!(out.stderr.contains(online), "{}", out.stderr),
            None => assert!(!out.stderr.contains("SIGUSR1"), "{}", out.stderr),
        }
        assert_eq!(out.stderr.lines().count(), 1, "one line: {}", out.stderr);
    }
    assert!(!Path::new("/tmp/strongroom-never.redb").exists());
    server.stop();
}

#[test]
fn compact_prints_the_size_before_and_after() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    populated(&data, 5);
    let out = run(&["compact", "--data-dir", arg(&data)], &[]);
    assert!(out.status.success(), "{}", out.stderr);
    assert!(out.stdout.contains(" bytes -> "), "{}", out.stdout);
    let verify = run(&["verify", "--data-dir", arg(&data), "--deep"], &[]);
    assert!(verify.status.success(), "{}", verify.stdout);
}

#[test]
fn sigusr1_makes_the_running_server_write_a_backup_that_restores() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let (alice, ids) = populated(&data, 7);
    let backups = tmp.path().join("backups");
    let server = Binary::start(&data, &["--backup-dir", arg(&backups)], &[]);
    server.signal("USR1");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !server.stderr().contains("backup written") {
        assert!(std::time::Instant::now() < deadline, "{}", server.stderr());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let written: Vec<_> = fs::read_dir(&backups)
        .expect("backup dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(written.len(), 1, "{written:?}");
    assert!(server.stderr().contains("records=7"), "{}", server.stderr());
    assert_eq!(
        fs::metadata(&backups).expect("dir").permissions().mode() & 0o777,
        0o700
    );
    server.stop();

    let fresh = tmp.path().join("fresh");
    let key = tmp.path().join("key");
    write_private(&key, KEY);
    let restored = restore(&fresh, &written[0], &key);
    assert!(restored.status.success(), "{}", restored.stderr);
    let engine = open(&fresh.join("strongroom.redb"), KEY);
    for id in &ids {
        assert!(engine.records().get(alice, *id).is_ok());
    }
}

/// The data dir's new key file is written before the store is re-keyed:
/// when it cannot be (here its staging name runs past the kernel's 4 096
/// bytes of path; a full disk stops it the same way), the rotation is
/// refused and the store stays under the old key, which still opens it.
#[test]
fn a_key_file_that_cannot_be_written_leaves_the_store_under_the_old_key() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // The database's path (16 bytes past the dir's) fits; the key file's
    // staging name (29 bytes past it) does not.
    let mut data = tmp.path().to_path_buf();
    while data.as_os_str().len() + 201 < 4075 {
        data.push("d".repeat(200));
    }
    let last = 4075 - data.as_os_str().len() - 1;
    data.push("d".repeat(last));
    assert_eq!(data.as_os_str().len(), 4075);
    fs::create_dir_all(data.parent().expect("parent")).expect("dirs");
    let (alice, ids) = populated(&data, 3);
    let new = tmp.path().join("new.key");
    write_private(&new, OTHER_KEY);
    let out = run(
        &[
            "rotate-master-key",
            "--data-dir",
            arg(&data),
            "--new-key-file",
            arg(&new),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("master.key"), "{}", out.stderr);
    assert!(out.stderr.contains("nothing was changed"), "{}", out.stderr);
    assert_eq!(
        fs::read_to_string(data.join("master.key")).expect("key"),
        KEY
    );
    let engine = open(&data.join("strongroom.redb"), KEY);
    for id in &ids {
        assert!(engine.records().get(alice, *id).is_ok());
    }
}

#[test]
fn rotating_the_master_key_replaces_the_dir_key_and_retires_the_old_one() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let (alice, ids) = populated(&data, 4);
    let old = tmp.path().join("old.key");
    write_private(&old, KEY);
    let new = tmp.path().join("new.key");
    write_private(&new, OTHER_KEY);
    // To `key`, with the data dir's key file in use.
    let rotate = |key: &Path| {
        let args = [
            "rotate-master-key",
            "--data-dir",
            arg(&data),
            "--new-key-file",
            arg(key),
        ];
        run(&args, &[])
    };
    let out = rotate(&new);
    assert!(out.status.success(), "{}", out.stderr);
    // alice's data key and the broadcast scope's.
    assert!(
        out.stdout.contains("re-wrapped 2 data keys"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("now holds the new key"),
        "{}",
        out.stdout
    );
    assert_eq!(
        fs::read_to_string(data.join("master.key")).expect("key"),
        OTHER_KEY
    );
    // Rotating to the key in use is refused; nothing changes.
    let same = rotate(&new);
    assert_eq!(same.status.code(), Some(1), "{}", same.stdout);
    assert!(
        same.stderr.contains("the one the store is under already"),
        "{}",
        same.stderr
    );
    // The data dir's key (now the new one) opens it; the old one is refused.
    let ok = run(&["verify", "--data-dir", arg(&data), "--deep"], &[]);
    assert!(ok.status.success(), "{}{}", ok.stdout, ok.stderr);
    let refused = run(
        &[
            "verify",
            "--data-dir",
            arg(&data),
            "--master-key-file",
            arg(&old),
        ],
        &[],
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(refused.stderr.contains("master key"), "{}", refused.stderr);
    let engine = open(&data.join("strongroom.redb"), OTHER_KEY);
    for id in &ids {
        assert!(engine.records().get(alice, *id).is_ok());
    }
    drop(engine);
    // With the key supplied from outside, the operator is told to switch.
    let back = run(
        &[
            "rotate-master-key",
            "--data-dir",
            arg(&data),
            "--new-key-file",
            arg(&old),
        ],
        &[("STRONGROOM_MASTER_KEY", OTHER_KEY)],
    );
    assert!(back.status.success(), "{}", back.stderr);
    assert!(
        back.stdout.contains("supply the new key"),
        "{}",
        back.stdout
    );
}

#[test]
fn the_commands_that_only_read_work_on_a_read_only_mount_and_leave_it_as_it_was() {
    // Before, every check of a snapshot on read-only storage failed:
    // "I/O error: Read-only file system (os error 30)".
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let (_, ids) = populated(&data, 5);
    let database = data.join("strongroom.redb");
    let before = fs::read(&database).expect("read");
    // The data dir bound read-only over itself, in a mount namespace of
    // the command's own (with a user namespace: no privilege needed).
    let on_read_only_mount = |args: &[&str]| {
        let mount = r#"mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" || exit 97
            shift; exec "$@""#;
        std::process::Command::new("unshare")
            .args(["--map-root-user", "--mount", "--propagation", "private"])
            .args(["sh", "-c", mount, "sh", arg(&data)])
            .arg(common::binary::exe())
            .args(args)
            .env("NO_COLOR", "1")
            .output()
            .expect("run unshare (util-linux)")
    };
    let out = on_read_only_mount(&["verify", "--data-dir", arg(&data), "--deep", "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(97) {
        eprintln!(
            "\n**********\nSKIPPED verify on a read-only mount: this user may not make a \
             mount namespace ({}); .ci/run runs as root, which may\n**********\n",
            stderr.trim()
        );
        return;
    }
    assert!(out.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON report");
    assert_eq!(report["sound"], true, "{report}");
    assert_eq!(report["records"], ids.len());
    assert_eq!(report["envelopes_opened"], ids.len());
    // The audit trail's commands only read too, and so does a migration
    // out of the store.
    for command in ["verify", "checkpoint"] {
        let audit = on_read_only_mount(&["audit", command, "--data-dir", arg(&data)]);
        let stderr = String::from_utf8_lossy(&audit.stderr);
        assert!(audit.status.success(), "audit {command}: {stderr}");
    }
    let copy = tmp.path().join("copy");
    let migrated = on_read_only_mount(&[
        "migrate",
        "--from-data-dir",
        arg(&data),
        "--to-data-dir",
        arg(&copy),
    ]);
    let stderr = String::from_utf8_lossy(&migrated.stderr);
    assert!(migrated.status.success(), "migrate: {stderr}");
    let key = fs::read_to_string(data.join("master.key")).expect("key");
    let engine = open(&copy.join("strongroom.redb"), key.trim());
    let report = engine.maintenance().check_integrity_deep().expect("check");
    assert_eq!(report.envelopes_opened as usize, ids.len());
    assert!(
        fs::read(&database).expect("read") == before,
        "the file was written"
    );
}

#[test]
fn seed_writes_users_messages_and_private_credentials_and_refuses_a_full_store() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let args = [
        "seed",
        "--data-dir",
        arg(&data),
        "--users",
        "5",
        "--messages",
        "500",
        "--broadcasts",
        "2",
    ];
    let out = run(&args, &[]);
    assert!(out.status.success(), "{}", out.stderr);
    // Not a terminal: plain progress lines, then the summary.
    assert!(out.stdout.contains("messages: 500/500"), "{}", out.stdout);
    assert!(
        out.stdout.contains("seeded 5 users, 500 messages"),
        "{}",
        out.stdout
    );
    let credentials = data.join("seed-credentials.txt");
    assert_eq!(
        fs::metadata(&credentials)
            .expect("file")
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let text = fs::read_to_string(&credentials).expect("read");
    let password = text
        .lines()
        .find_map(|l| l.strip_prefix("password "))
        .expect("password line");
    let names: Vec<_> = text
        .lines()
        .filter_map(|l| l.strip_prefix("user "))
        .collect();
    assert_eq!(names.len(), 5);

    let verify = run(
        &["verify", "--data-dir", arg(&data), "--json", "--deep"],
        &[],
    );
    let report: serde_json::Value = serde_json::from_str(&verify.stdout).expect("json");
    assert_eq!(report["records"], 502, "500 messages and 2 broadcasts");
    assert_eq!(report["sound"], true);
    let key = fs::read_to_string(data.join("master.key")).expect("key");
    let engine = open(&data.join("strongroom.redb"), key.trim());
    for name in &names {
        engine
            .accounts()
            .verify_credentials(name, &SecretString::from(password))
            .expect("seeded credentials log in");
    }
    drop(engine);

    let again = run(&args, &[]);
    assert_eq!(again.status.code(), Some(1));
    one_line_error(&again.stderr, &data.join("strongroom.redb"));
    assert!(again.stderr.contains("--force"), "{}", again.stderr);
    // A credentials file left readable by others is replaced by a private
    // one, not written into.
    fs::set_permissions(&credentials, fs::Permissions::from_mode(0o644)).expect("chmod");
    let forced = run(&[&args[..], &["--force"]].concat(), &[]);
    assert!(forced.status.success(), "{}", forced.stderr);
    let mode = fs::metadata(&credentials)
        .expect("file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let text = fs::read_to_string(&credentials).expect("read");
    assert_eq!(text.lines().filter(|l| l.starts_with("user ")).count(), 5);
}

#[test]
fn seed_refuses_counts_past_its_caps_before_creating_anything() {
    // `--users 18446744073709551615` panicked reserving room for them all,
    // after the store had been created.
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let max = u64::MAX.to_string();
    for (flag, value, range) in [
        ("--users", max.as_str(), "0..=1000000"),
        ("--messages", "10000001", "0..=10000000"),
        ("--broadcasts", max.as_str(), "0..=100000"),
    ] {
        let out = run(&["seed", "--data-dir", arg(&data), flag, value], &[]);
        assert_eq!(out.status.code(), Some(2), "{flag}: {}", out.stderr);
        assert!(
            out.stderr.contains(&format!("{value} is not in {range}")),
            "{flag}: {}",
            out.stderr
        );
    }
    assert!(!data.exists(), "refused before anything was created");
}

#[test]
fn rotate_data_keys_reseals_with_plain_progress_lines() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let (alice, ids) = populated(&data, 40);
    // "Older than 0 days": everything created up to now.
    let out = run(
        &[
            "rotate-data-keys",
            "--data-dir",
            arg(&data),
            "--batch",
            "16",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", out.stderr);
    assert!(out.stdout.contains("records: 40/40"), "{}", out.stdout);
    // A batch of none was quietly taken as one.
    let zero = run(
        &["rotate-data-keys", "--data-dir", arg(&data), "--batch", "0"],
        &[],
    );
    assert_eq!(zero.status.code(), Some(2), "{}", zero.stderr);
    assert!(zero.stderr.contains("0 is not in 1.."), "{}", zero.stderr);
    assert!(
        out.stdout.contains("re-sealed 40 of 40 records"),
        "{}",
        out.stdout
    );
    let verify = run(
        &["verify", "--data-dir", arg(&data), "--deep", "--json"],
        &[],
    );
    let report: serde_json::Value = serde_json::from_str(&verify.stdout).expect("json");
    assert_eq!(report["sound"], true);
    assert_eq!(report["records_on_older_keys"], 0);
    let engine = open(&data.join("strongroom.redb"), KEY);
    for id in &ids {
        assert!(engine.records().get(alice, *id).is_ok());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_online_backup_under_sustained_writes_holds_everything_acknowledged_before_it() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    populated(&data, 0);
    let backups = tmp.path().join("backups");
    let server = Binary::start(&data, &["--backup-dir", arg(&backups)], &[]);
    let http = reqwest::Client::new();
    let token = server.api.account("writer").await.0;
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (http, url, token, acked, stop) = (
                http.clone(),
                server.url("/v1/messages"),
                token.clone(),
                acked.clone(),
                stop.clone(),
            );
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let reply: serde_json::Value = http
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&serde_json::json!({"message": format!("writer {w} #{n}")}))
                        .send()
                        .await
                        .expect("post")
                        .json()
                        .await
                        .expect("json");
                    acked
                        .lock()
                        .expect("lock")
                        .push(reply["id"].as_str().expect("id").to_owned());
                    n += 1;
                }
            })
        })
        .collect();
    while acked.lock().expect("lock").len() < 200 {
        tokio::task::yield_now().await;
    }
    let before: Vec<String> = acked.lock().expect("lock").clone();
    server.signal("USR1");
    while !server.stderr().contains("backup written") {
        tokio::task::yield_now().await;
    }
    let during = acked.lock().expect("lock").len();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.expect("writer");
    }
    assert!(
        during > before.len(),
        "writes kept going while the backup ran"
    );
    server.stop();

    let file = fs::read_dir(&backups)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .next()
        .expect("a backup");
    let verify_dir = tmp.path().join("restored");
    let key = tmp.path().join("key");
    write_private(&key, KEY);
    let restored = restore(&verify_dir, &file, &key);
    assert!(restored.status.success(), "{}", restored.stderr);
    let engine = open(&verify_dir.join("strongroom.redb"), KEY);
    let writer = engine
        .accounts()
        .find("writer")
        .expect("lookup")
        .expect("writer");
    for id in &before {
        let id: RecordId = id.parse().expect("id");
        assert!(
            engine.records().get(writer, id).is_ok(),
            "acknowledged before the backup, missing from it"
        );
    }
}

#[test]
fn the_first_admin_comes_from_the_command_line_with_the_password_on_stdin() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let out = common::binary::run_with_stdin(
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
        "a long admin password\n",
    );
    assert!(out.status.success(), "{}", out.stderr);
    assert!(
        out.stdout.contains("created root (admin)"),
        "{}",
        out.stdout
    );
    let key = fs::read_to_string(data.join("master.key")).expect("key");
    let engine = open(&data.join("strongroom.redb"), key.trim());
    let pair = engine
        .sessions()
        .login("root", &SecretString::from("a long admin password"))
        .expect("logs in");
    assert_eq!(
        engine
            .sessions()
            .authenticate(&pair.access_token)
            .expect("auth")
            .role,
        strongroom::engine::Role::Admin
    );
    drop(engine);
    let bad = run(
        &[
            "user",
            "add",
            "x1y",
            "--role",
            "king",
            "--data-dir",
            arg(&data),
        ],
        &[],
    );
    assert_eq!(bad.status.code(), Some(2), "{}", bad.stderr);
    let short = common::binary::run_with_stdin(
        &["user", "add", "eve", "--data-dir", arg(&data)],
        &[],
        "short\n",
    );
    assert_eq!(short.status.code(), Some(1));
    assert!(
        short.stderr.contains("password must be"),
        "{}",
        short.stderr
    );
}

#[test]
fn a_password_on_stdin_is_read_no_further_than_the_longest_one() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let mut child = Command::new(common::binary::exe())
        .args(["user", "add", "eve", "--data-dir", arg(&data)])
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run strongroom");
    // 64 MiB without a line end: before, all of it was read into memory
    // and only then refused.
    let mut stdin = child.stdin.take().expect("stdin");
    let chunk = vec![b'a'; 1 << 20];
    let written = (0..64)
        .take_while(|_| stdin.write_all(&chunk).is_ok())
        .count();
    drop(stdin);
    let out = child.wait_with_output().expect("exit");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("password must be 12-1024 characters"),
        "{stderr}"
    );
    assert!(written < 64, "the command read all 64 MiB");
    assert!(!data.exists(), "refused before the store was created");
}

#[test]
fn a_backup_whose_audit_chain_was_edited_restores_only_with_the_gap_recorded() {
    use strongroom::engine::audit::{AuditAction, AuditFilter, AuditOutcome};
    use strongroom_testkit::raw::{AuditTamper, RawStore, tamper_audit};
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    populated(&data, 3);
    let file = tmp.path().join("backup.redb");
    let out = run(
        &["backup", "--data-dir", arg(&data), "--to", arg(&file)],
        &[],
    );
    assert!(out.status.success(), "{}", out.stderr);
    // Someone with the file (not the key) edits an entry and re-chains
    // the rest the way an unkeyed chain would allow.
    tamper_audit(
        &RawStore::Redb(file.clone()),
        AuditTamper::ModifyAndRechain(2),
    );
    let key = tmp.path().join("right.key");
    write_private(&key, KEY);

    let fresh = tmp.path().join("fresh");
    let refused = restore(&fresh, &file, &key);
    assert_eq!(refused.status.code(), Some(1), "{}", refused.stdout);
    assert!(
        refused.stderr.contains("audit chain does not verify")
            && refused.stderr.contains("--accept-audit-gap"),
        "{}",
        refused.stderr
    );
    assert!(!fresh.exists(), "a refused restore left {fresh:?}");

    let accepted = run(
        &[
            "restore",
            "--data-dir",
            arg(&fresh),
            "--from",
            arg(&file),
            "--master-key-file",
            arg(&key),
            "--accept-audit-gap",
        ],
        &[],
    );
    assert!(accepted.status.success(), "{}", accepted.stderr);
    let engine = open(&fresh.join("strongroom.redb"), KEY);
    let gaps = engine
        .audit()
        .page(
            &AuditFilter {
                action: Some(AuditAction::AuditGap),
                ..AuditFilter::default()
            },
            0,
            10,
        )
        .expect("log")
        .entries;
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(gaps[0].outcome, AuditOutcome::Denied);
    // From the gap on, the restored log is trusted again: it verifies.
    let report = engine.audit().verify(None).expect("verify");
    assert!(report.is_ok(), "{:?}", report.problems);
}

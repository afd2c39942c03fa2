//! Guards the schema version: a database written by the first release
//! (schema 1, `tests/data/legacy-v1`) opens, migrates once and reads
//! correctly; a wrong master key changes nothing; a database from a newer
//! release is refused untouched.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use redb::ReadableDatabase;
use strongroom_engine::events::{EventKind, StreamCursor};
use strongroom_engine::maintenance::SCHEMA_VERSION;
use strongroom_engine::sessions::BearerToken;
use strongroom_engine::{Clock, Engine, OpenError};

fn legacy_copy(dir: &Path) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/legacy-v1/strongroom.redb");
    let path = dir.join("strongroom.redb");
    std::fs::copy(source, &path).expect("copy the legacy database");
    path
}

/// (owner, sender, text) of every record the legacy file holds.
fn legacy_records() -> Vec<(String, String, String)> {
    let text = include_str!("../data/legacy-v1/records.txt");
    text.lines()
        .map(|line| {
            let mut parts = line.splitn(4, ' ');
            let _old_id = parts.next();
            let field = |p: Option<&str>| p.expect("field").to_owned();
            (
                field(parts.next()),
                field(parts.next()),
                field(parts.next()),
            )
        })
        .collect()
}

#[test]
fn a_schema_1_database_migrates_and_reads() {
    if common::embedded_only("a_schema_1_database_migrates_and_reads") {
        return; // the first release's layout exists only in files
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = legacy_copy(dir.path());
    let clock = common::start();
    clock.advance(Duration::from_secs(1));
    let engine = common::open(&path, &clock);
    assert!(
        engine
            .maintenance()
            .check_integrity()
            .expect("check")
            .is_sound()
    );

    let alice = engine
        .accounts()
        .find("alice")
        .expect("lookup")
        .expect("alice kept");
    let bob = engine
        .accounts()
        .find("bob")
        .expect("lookup")
        .expect("bob kept");
    assert_eq!(engine.accounts().find("carol").expect("lookup"), None);
    assert!(
        engine
            .accounts()
            .verify_credentials("alice", &common::password(common::PASSWORD))
            .is_ok()
    );
    // Names compare without case now; a stored name was lowercase already
    // (schema 1 allowed nothing else), so old accounts answer to any case.
    assert_eq!(
        engine.accounts().find("ALICE").expect("lookup"),
        Some(alice)
    );
    assert!(
        engine
            .accounts()
            .verify_credentials("Alice", &common::password(common::PASSWORD))
            .is_ok()
    );

    let expected = legacy_records();
    for (name, id) in [("alice", alice), ("bob", bob)] {
        let page = engine.records().list(id, None, 100).expect("list");
        let got: Vec<(String, String)> = page
            .records
            .iter()
            .map(|r| {
                let sender = r.meta.sender_name.clone().unwrap_or_default();
                (
                    sender,
                    String::from_utf8(r.plaintext.to_vec()).expect("utf-8"),
                )
            })
            .collect();
        let want: Vec<(String, String)> = expected
            .iter()
            .rev()
            .filter(|(owner, _, _)| owner == name)
            .map(|(_, sender, text)| {
                (
                    sender.clone(),
                    text.trim_end_matches(" (ttl 60 s)").to_owned(),
                )
            })
            .collect();
        assert_eq!(got, want, "{name}'s records, newest first, senders named");
        for record in &page.records {
            assert_eq!(
                engine
                    .records()
                    .get(id, record.meta.id)
                    .expect("get")
                    .plaintext,
                record.plaintext
            );
        }
    }
    // The broadcast from a since-deleted sender: readable, sender unnamed.
    let events = engine
        .events()
        .after(alice, StreamCursor::start(), 100)
        .expect("replay");
    let broadcast = events
        .iter()
        .find(|e| e.kind() == EventKind::Broadcast)
        .expect("broadcast");
    assert_eq!(broadcast.plaintext.as_slice(), b"hello everyone");
    assert_eq!(broadcast.meta.sender_name, None);
    assert_eq!(events.len(), 7);

    // Sessions survive: bob's refresh token still works.
    let refresh = include_str!("../data/legacy-v1/refresh_token.txt")
        .trim()
        .to_owned();
    let pair = engine
        .sessions()
        .refresh(&BearerToken::from(refresh))
        .expect("legacy refresh token");
    assert_eq!(pair.session.user, bob);

    // New writes go after the old ones in every log.
    let mut cursor = StreamCursor::start();
    for e in &events {
        assert!(cursor.advance(e.position()));
    }
    engine
        .records()
        .put(alice, b"after the upgrade", None)
        .expect("put");
    let new = engine.events().after(alice, cursor, 100).expect("replay");
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].plaintext.as_slice(), b"after the upgrade");
    let newest = engine.records().list(alice, None, 1).expect("list");
    assert_eq!(newest.records[0].plaintext.as_slice(), b"after the upgrade");

    // The short-lived record expires and is purged like any other.
    clock.advance(Duration::from_secs(60));
    assert_eq!(
        engine
            .records()
            .purge_expired(clock.now(), 10)
            .expect("purge"),
        1
    );
    drop(engine);

    // Reopening finds the current schema: nothing left to migrate.
    assert_eq!(stored_version(&path), Some(SCHEMA_VERSION));
    let engine = common::open(&path, &clock);
    assert_eq!(
        engine
            .records()
            .list(alice, None, 100)
            .expect("list")
            .records
            .len(),
        7
    );
    assert!(
        engine
            .maintenance()
            .check_integrity()
            .expect("check")
            .is_sound()
    );
}

#[test]
fn a_wrong_key_leaves_a_schema_1_database_untouched() {
    if common::embedded_only("a_wrong_key_leaves_a_schema_1_database_untouched") {
        return; // the first release's layout exists only in files
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = legacy_copy(dir.path());
    let err = Engine::builder(common::master(common::KEY_B))
        .open(&path)
        .expect_err("wrong key");
    assert!(matches!(err, OpenError::WrongMasterKey), "{err}");
    assert_eq!(
        table_names(&path),
        LEGACY_TABLES,
        "still schema 1, nothing added"
    );
    let engine = common::open(&path, &common::start());
    assert!(engine.accounts().find("alice").expect("lookup").is_some());
}

#[test]
fn a_schema_2_database_gains_share_links_and_keeps_its_records() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db.redb");
    let clock = common::start();
    let engine = common::open(&path, &clock);
    let alice = common::user(&engine, "alice");
    let id = engine
        .records()
        .put(alice, b"from release 0.2", None)
        .expect("put")
        .meta
        .id;
    drop(engine);
    set_version(&path, 2);
    let engine = common::open(&path, &clock);
    assert_eq!(
        engine
            .records()
            .get(alice, id)
            .expect("read")
            .plaintext
            .as_slice(),
        b"from release 0.2"
    );
    let shared = engine
        .shares()
        .create(
            Some(alice),
            strongroom_engine::shares::NewShare {
                content: b"new in 3",
                ttl: None,
                max_views: None,
                passphrase: None,
                client_encrypted: false,
            },
        )
        .expect("share");
    assert!(engine.shares().open(&shared.token, None).is_ok());
    drop(engine);
    assert_eq!(stored_version(&path), Some(SCHEMA_VERSION));
}

/// Schema 4 had no audit key, no audit log and no usage counters: the
/// migration makes the key and counts every sender's stored messages.
#[test]
fn schema_4_gains_an_audit_key_and_counted_usage() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db.redb");
    let clock = common::start();
    let engine = common::open(&path, &clock);
    let alice = common::user(&engine, "alice");
    let bob = common::user(&engine, "bob");
    engine
        .records()
        .send(alice, bob, &[7; 100], None)
        .expect("send");
    engine.records().put(bob, &[7; 10], None).expect("put");
    drop(engine);
    // Back to what a schema 4 store held.
    common::raw_remove(&path, "usage", None);
    common::raw_remove(&path, "audit", None);
    common::raw_remove(&path, "meta", Some(b"audit_key"));
    set_version(&path, 4);
    let engine = common::open(&path, &clock);
    assert_eq!(
        engine.accounts().quota(alice).expect("alice").usage.bytes,
        133
    );
    assert_eq!(engine.accounts().quota(bob).expect("bob").usage.records, 1);
    let checkpoint = engine.audit().checkpoint().expect("checkpoint");
    assert!(checkpoint.signature_valid());
    engine.records().put(alice, b"after", None).expect("put");
    assert!(
        engine
            .audit()
            .verify(Some(&checkpoint))
            .expect("verify")
            .is_ok()
    );
    drop(engine);
    assert_eq!(stored_version(&path), Some(SCHEMA_VERSION));
}

#[test]
fn a_database_from_a_newer_release_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db.redb");
    drop(common::open(&path, &common::start()));
    set_version(&path, SCHEMA_VERSION + 1);
    let err = common::open_with(Engine::builder(common::master(common::KEY_A)), &path)
        .expect_err("newer schema");
    assert!(
        matches!(err, OpenError::SchemaTooNew { found, supported } if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION),
        "{err}"
    );
    assert!(err.to_string().contains("upgrade strongroom"), "{err}");
    assert_eq!(
        stored_version(&path),
        Some(SCHEMA_VERSION + 1),
        "left as it was"
    );
}

const LEGACY_TABLES: [&str; 11] = [
    "counters",
    "data_keys",
    "keyring",
    "meta",
    "record_expiry",
    "records",
    "sessions",
    "token_expiry",
    "tokens",
    "users",
    "users_by_name",
];

fn table_names(path: &Path) -> Vec<String> {
    use redb::TableHandle;
    let db = redb::Database::open(path).expect("open raw");
    let read = db.begin_read().expect("read");
    let mut names: Vec<String> = read
        .list_tables()
        .expect("list")
        .map(|t| t.name().to_owned())
        .collect();
    names.sort();
    names
}

fn stored_version(path: &Path) -> Option<u32> {
    let rows = common::raw_rows(path, "meta");
    let (_, value) = rows.iter().find(|(k, _)| k == b"schema_version")?;
    Some(u32::from_be_bytes(value[..].try_into().expect("4 bytes")))
}

fn set_version(path: &Path, version: u32) {
    common::raw_insert(path, "meta", b"schema_version", &version.to_be_bytes());
}

//! Operator operations through the engine's API: a backup taken while
//! writers run is consistent and holds everything acknowledged before it;
//! the deep integrity check opens every envelope; compaction shrinks a
//! churned file and keeps its data.

use crate::common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{engine, open, user};
use strongroom_engine::Clock;
use strongroom_engine::maintenance::compact;

#[test]
fn a_backup_under_concurrent_writes_is_consistent_and_complete() {
    let (dir, clock, engine) = engine();
    let users: Vec<_> = (0..4).map(|i| user(&engine, &format!("user{i}"))).collect();
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = users
        .iter()
        .map(|&owner| {
            let (engine, acknowledged, stop) = (engine.clone(), acknowledged.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    let receipt = engine
                        .records()
                        .put(owner, format!("record {n}").as_bytes(), None)
                        .expect("put");
                    acknowledged
                        .lock()
                        .expect("lock")
                        .push((owner, receipt.meta.id));
                    n += 1;
                }
            })
        })
        .collect();
    while acknowledged.lock().expect("lock").len() < 200 {
        std::thread::yield_now();
    }
    let before: Vec<_> = acknowledged.lock().expect("lock").clone();
    let path = dir.path().join("backup.redb");
    let report = engine.maintenance().backup_to(&path).expect("backup");
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().expect("writer");
    }
    assert!(report.records >= before.len() as u64, "{report:?}");
    assert_eq!(report.users, 4);

    // A backup is an embedded file, whatever the backend.
    let restored = common::builder(&clock).open(&path).expect("backup opens");
    let check = restored
        .maintenance()
        .check_integrity_deep()
        .expect("check");
    assert!(check.is_sound(), "{:?}", check.problems);
    assert_eq!(check.envelopes_opened, report.records);
    for (owner, id) in &before {
        assert!(
            restored.records().get(*owner, *id).is_ok(),
            "acknowledged record missing"
        );
    }
    let ids: HashSet<_> = before.iter().map(|(_, id)| *id).collect();
    assert_eq!(ids.len(), before.len());
}

#[test]
fn the_deep_check_opens_every_envelope() {
    let (_dir, _clock, engine) = engine();
    let alice = user(&engine, "alice");
    for i in 0..10u8 {
        engine.records().put(alice, &[i], None).expect("put");
    }
    engine
        .events()
        .broadcast(alice, b"all", None)
        .expect("broadcast");
    let shallow = engine.maintenance().check_integrity().expect("check");
    assert_eq!(shallow.envelopes_opened, 0);
    let deep = engine.maintenance().check_integrity_deep().expect("check");
    assert!(deep.is_sound());
    assert_eq!((deep.records, deep.envelopes_opened), (11, 11));
}

#[test]
fn compaction_shrinks_a_churned_file_and_keeps_its_data() {
    if common::embedded_only("compaction_shrinks_a_churned_file_and_keeps_its_data") {
        return;
    }
    let (dir, clock, engine) = engine();
    let alice = user(&engine, "alice");
    let keep = engine
        .records()
        .put(alice, b"keep me", Some(Duration::from_secs(3600)))
        .expect("put");
    let blob = vec![7u8; 16 * 1024];
    for _ in 0..20 {
        let batch: Vec<_> = (0..50).map(|_| (alice, blob.as_slice())).collect();
        engine
            .records()
            .put_batch(batch, Some(Duration::from_secs(1)))
            .expect("batch");
    }
    clock.advance(Duration::from_secs(2));
    while engine
        .records()
        .purge_expired(clock.now(), 1000)
        .expect("purge")
        > 0
    {}
    drop(engine);
    let path = dir.path().join("db.redb");
    let (before, after) = compact(&path).expect("compact");
    assert!(after < before, "{before} -> {after}");
    let engine = open(&path, &clock);
    assert_eq!(
        engine
            .records()
            .get(alice, keep.meta.id)
            .expect("kept")
            .plaintext
            .as_slice(),
        b"keep me"
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
fn master_key_rotation_rewraps_keys_and_keeps_every_id() {
    let (dir, clock, engine) = engine();
    let path = dir.path().join("db.redb");
    let alice = user(&engine, "alice");
    let id = engine
        .records()
        .put(alice, b"before rotation", None)
        .expect("put")
        .meta
        .id;
    engine
        .events()
        .broadcast(alice, b"to all", None)
        .expect("broadcast");
    let clone = engine.clone();
    let engine = match engine.rotate_master_key(common::master(common::KEY_B)) {
        Err(strongroom_engine::maintenance::RotateError::Shared) => clone,
        other => panic!("a shared engine must refuse: {other:?}"),
    };
    let keys = engine
        .rotate_master_key(common::master(common::KEY_B))
        .expect("rotate");
    assert_eq!(keys, 2, "alice's key and the broadcast key");
    let refused = common::open_with(common::builder(&clock), &path);
    assert!(matches!(
        refused,
        Err(strongroom_engine::OpenError::WrongMasterKey)
    ));
    let mut builder = strongroom_engine::Engine::builder(common::master(common::KEY_B));
    builder.clock(Arc::new(clock.clone()));
    let engine = common::open_with(builder, &path).expect("new key opens");
    assert_eq!(
        engine
            .records()
            .get(alice, id)
            .expect("same id")
            .plaintext
            .as_slice(),
        b"before rotation"
    );
    let bob = user(&engine, "bob");
    engine
        .records()
        .send(alice, bob, b"after", None)
        .expect("send");
    assert!(
        engine
            .maintenance()
            .check_integrity_deep()
            .expect("check")
            .is_sound()
    );
}

#[test]
fn a_crash_during_master_key_rotation_leaves_exactly_one_key_valid() {
    use strongroom_testkit::memory::MemoryBackend;
    let clock = common::start();
    let backend = MemoryBackend::new();
    let engine = common::builder(&clock)
        .open_with_backend(backend.clone())
        .expect("open");
    let users: Vec<_> = (0..40)
        .map(|i| user(&engine, &format!("user{i:02}")))
        .collect();
    let ids: Vec<_> = users
        .iter()
        .map(|&u| {
            (
                u,
                engine.records().put(u, b"kept", None).expect("put").meta.id,
            )
        })
        .collect();
    drop(engine);
    let image = backend.durable_image();
    let (mut rolled_back, mut rotated) = (0, 0);
    for budget in (0..120).step_by(3) {
        let backend = MemoryBackend::from_image(image.clone());
        let engine = common::builder(&clock)
            .open_with_backend(backend.clone())
            .expect("open");
        backend.fail_after(Some(budget));
        let result = engine.rotate_master_key(common::master(common::KEY_B));
        let survivor = backend.crash();
        let mut with_new = strongroom_engine::Engine::builder(common::master(common::KEY_B));
        with_new.clock(Arc::new(clock.clone()));
        let new_opens = with_new.open_with_backend(survivor.clone());
        let reopened = match (result, new_opens) {
            (Ok(_), Ok(engine)) => {
                rotated += 1;
                engine
            }
            (Err(_), Err(strongroom_engine::OpenError::WrongMasterKey)) => {
                rolled_back += 1;
                common::builder(&clock)
                    .open_with_backend(survivor)
                    .expect("old key still opens")
            }
            // A commit that reached the disk but failed to report: the new
            // key is the valid one, and the old must be refused.
            (Err(_), Ok(engine)) => {
                rotated += 1;
                engine
            }
            (Ok(_), Err(e)) => panic!("budget {budget}: rotation acknowledged but lost: {e}"),
            (Err(r), Err(e)) => panic!("budget {budget}: neither key works ({r}; {e})"),
        };
        for (owner, id) in &ids {
            assert_eq!(
                reopened
                    .records()
                    .get(*owner, *id)
                    .expect("readable")
                    .plaintext
                    .as_slice(),
                b"kept"
            );
        }
    }
    assert!(rolled_back > 0 && rotated > 0, "{rolled_back} / {rotated}");
}

#[test]
fn data_key_rotation_reseals_older_records_and_keeps_newer_ones() {
    let (_dir, clock, engine) = engine();
    let alice = user(&engine, "alice");
    let bob = user(&engine, "bob");
    let week = Duration::from_secs(7 * 86_400);
    let old: Vec<_> = (0..30)
        .map(|i| {
            engine.records().send(
                alice,
                if i % 2 == 0 { alice } else { bob },
                &[i],
                Some(week),
            )
        })
        .map(|r| r.expect("put").meta)
        .collect();
    clock.advance(Duration::from_secs(3 * 86_400));
    let recent = engine
        .records()
        .put(alice, b"recent", Some(week))
        .expect("put")
        .meta
        .id;
    let mut calls = 0;
    let done = engine
        .maintenance()
        .rotate_data_keys(Duration::from_secs(86_400), 7, |_| calls += 1)
        .expect("rotate");
    assert_eq!(done.total, 31);
    assert_eq!(done.scanned, 31);
    assert_eq!(done.resealed, 30, "the recent record keeps its key");
    assert!(!done.resumed);
    assert_eq!(done.scopes_rotated, 3, "alice, bob and the broadcast scope");
    assert_eq!(calls, 5, "31 records in batches of 7");
    let check = engine.maintenance().check_integrity_deep().expect("check");
    assert!(check.is_sound(), "{:?}", check.problems);
    assert_eq!(check.records_on_older_keys, 1);
    for (i, meta) in old.iter().enumerate() {
        let owner = if i % 2 == 0 { alice } else { bob };
        let record = engine.records().get(owner, meta.id).expect("same id");
        assert_eq!(record.plaintext.as_slice(), &[i as u8]);
        assert_eq!(record.meta.created_at, meta.created_at);
    }
    assert!(engine.records().get(alice, recent).is_ok());
    // New writes go under the new keys.
    engine.records().put(alice, b"after", None).expect("put");
    assert_eq!(
        engine
            .maintenance()
            .check_integrity()
            .expect("check")
            .records_on_older_keys,
        1
    );
}

#[test]
fn an_interrupted_data_key_rotation_resumes_where_it_stopped() {
    use strongroom_testkit::memory::MemoryBackend;
    let clock = common::start();
    let backend = MemoryBackend::new();
    let engine = common::builder(&clock)
        .open_with_backend(backend.clone())
        .expect("open");
    let alice = user(&engine, "alice");
    let ids: Vec<_> = (0..200u8)
        .map(|i| {
            engine
                .records()
                .put(alice, &[i], Some(Duration::from_secs(86_400)))
                .expect("put")
                .meta
                .id
        })
        .collect();
    drop(engine);
    let image = backend.durable_image();
    let mut resumed_runs = 0;
    for budget in (10..400).step_by(37) {
        let backend = MemoryBackend::from_image(image.clone());
        let engine = common::builder(&clock)
            .open_with_backend(backend.clone())
            .expect("open");
        backend.fail_after(Some(budget));
        let first = engine
            .maintenance()
            .rotate_data_keys(Duration::ZERO, 16, |_| {});
        let survivor = backend.crash();
        let engine = common::builder(&clock)
            .open_with_backend(survivor)
            .expect("reopen after the crash");
        if first.is_err() {
            let second = engine
                .maintenance()
                .rotate_data_keys(Duration::ZERO, 16, |_| {})
                .expect("the rerun completes");
            if second.resumed {
                resumed_runs += 1;
                assert_eq!(second.scopes_rotated, 0, "no second set of new keys");
            }
        }
        let check = engine.maintenance().check_integrity_deep().expect("check");
        assert!(check.is_sound(), "budget {budget}: {:?}", check.problems);
        assert_eq!(check.records_on_older_keys, 0, "budget {budget}");
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(
                engine
                    .records()
                    .get(alice, *id)
                    .expect("readable")
                    .plaintext
                    .as_slice(),
                &[i as u8]
            );
        }
    }
    assert!(resumed_runs > 0, "no run was interrupted mid-way");
}

#[test]
fn a_database_held_open_elsewhere_is_reported_as_in_use() {
    if common::embedded_only("a_database_held_open_elsewhere_is_reported_as_in_use") {
        return; // several engines on one PostgreSQL database is the point
    }
    let (dir, clock, engine) = engine();
    let path = dir.path().join("db.redb");
    let second = common::builder(&clock).open(&path);
    assert!(
        matches!(
            second,
            Err(strongroom_engine::OpenError::Storage(
                strongroom_engine::StorageError::InUse
            ))
        ),
        "{second:?}"
    );
    assert!(matches!(
        compact(&path),
        Err(strongroom_engine::StorageError::InUse)
    ));
    drop(engine);
    assert!(compact(&path).is_ok());
}

/// Every 4 KiB page of a small store damaged in turn (its first 16 bytes,
/// where redb keeps the page's kind and entry count), before the engine
/// opens the file and again while it has it open (with no page cache, so
/// that reads go to the file): opening it, the deep check, a read and a
/// write answer — the damage as an error or a problem, or nothing at all
/// for a page not in use — and never panic. redb meets many such pages
/// with a panic of its own.
#[test]
fn a_damaged_page_is_an_error_never_a_panic() {
    if common::embedded_only("a_damaged_page_is_an_error_never_a_panic") {
        return;
    }
    let (dir, clock, engine) = engine();
    let alice = user(&engine, "alice");
    let mut ids = Vec::new();
    for n in 0..40 {
        let text = format!("record {n} {}", "x".repeat(900));
        let receipt = engine.records().put(alice, text.as_bytes(), None);
        ids.push(receipt.expect("put").meta.id);
    }
    drop(engine);
    let pristine = std::fs::read(dir.path().join("db.redb")).expect("read the file");
    let path = dir.path().join("damaged.redb");
    let damage = |page: usize| {
        let mut bytes = std::fs::read(&path).expect("read the copy");
        for b in &mut bytes[page * 4096..page * 4096 + 16] {
            *b ^= 0xff;
        }
        std::fs::write(&path, &bytes).expect("write the copy");
    };
    let (mut refused, mut found, mut unseen) = (0, 0, 0);
    for page in 0..pristine.len() / 4096 {
        for while_open in [false, true] {
            std::fs::write(&path, &pristine).expect("a fresh copy");
            if !while_open {
                damage(page);
            }
            let outcome = std::panic::catch_unwind(|| {
                let mut builder = common::builder(&clock);
                let Ok(engine) = builder.cache_size(0).open(&path) else {
                    return "refused";
                };
                if while_open {
                    damage(page);
                }
                let report = engine.maintenance().check_integrity_deep();
                let read = engine.records().get(alice, ids[7]);
                let write = engine.records().put(alice, b"after", None);
                match (report, read, write) {
                    (Ok(report), Ok(_), Ok(_)) if report.is_sound() => "unseen",
                    _ => "found",
                }
            });
            match outcome {
                Ok("refused") => refused += 1,
                Ok("found") => found += 1,
                Ok(_) => unseen += 1,
                Err(_) => panic!("page {page} damaged (open: {while_open}): a panic escaped"),
            }
        }
    }
    // The damage was met, not only stepped around, at open and after.
    assert!(
        refused >= 4 && found >= 4,
        "{refused} refused, {found} found"
    );
    eprintln!("{refused} refused at open, {found} found after, {unseen} unseen");
}

#[test]
fn rotating_to_the_key_in_use_is_refused_and_changes_nothing() {
    let (dir, clock, engine) = engine();
    let alice = user(&engine, "alice");
    let id = engine
        .records()
        .put(alice, b"kept", None)
        .expect("put")
        .meta
        .id;
    let same = engine.rotate_master_key(common::master(common::KEY_A));
    assert!(
        matches!(
            same,
            Err(strongroom_engine::maintenance::RotateError::SameKey)
        ),
        "{same:?}"
    );
    let engine = open(&dir.path().join("db.redb"), &clock);
    let record = engine.records().get(alice, id).expect("still under key A");
    assert_eq!(record.plaintext.as_slice(), b"kept");
}

/// The bytes of the file at `path`.
fn bytes_of(path: &std::path::Path) -> Vec<u8> {
    std::fs::read(path).expect("read the database file")
}

#[test]
fn a_store_opened_read_only_reads_and_checks_and_never_writes() {
    use strongroom_engine::{Engine, OpenError, StorageError};
    if common::embedded_only("read-only open") {
        return;
    }
    let (dir, clock, engine) = engine();
    let path = dir.path().join("db.redb");
    let alice = user(&engine, "alice");
    let receipt = engine
        .records()
        .put(alice, b"kept as it was", None)
        .expect("put");
    // Held open for writing elsewhere: in use.
    let in_use = common::builder(&clock).open_read_only(&path);
    assert!(
        matches!(in_use, Err(OpenError::Storage(StorageError::InUse))),
        "{in_use:?}"
    );
    drop(engine);
    let before = bytes_of(&path);

    let wrong = Engine::builder(common::master(common::KEY_B)).open_read_only(&path);
    assert!(matches!(wrong, Err(OpenError::WrongMasterKey)), "{wrong:?}");
    let engine = common::builder(&clock)
        .open_read_only(&path)
        .expect("opens read-only");
    let record = engine.records().get(alice, receipt.meta.id).expect("get");
    assert_eq!(record.plaintext.as_slice(), b"kept as it was");
    let report = engine
        .maintenance()
        .check_integrity_deep()
        .expect("integrity");
    assert!(report.is_sound(), "{:?}", report.problems);
    assert_eq!(report.envelopes_opened, 1);
    assert!(engine.audit().verify(None).expect("audit").is_ok());
    // Every write is refused before it begins, a login's token included.
    let put = engine.records().put(alice, b"more", None).expect_err("put");
    assert!(
        matches!(put.storage_error(), Some(StorageError::ReadOnly)),
        "{put:?}"
    );
    let login = engine
        .sessions()
        .login("alice", &common::password(common::PASSWORD))
        .expect_err("login");
    assert!(
        matches!(login.storage_error(), Some(StorageError::ReadOnly)),
        "{login:?}"
    );
    let backup = engine
        .maintenance()
        .backup_to(&dir.path().join("backup.redb"))
        .expect_err("a backup is audited: a write");
    assert!(matches!(backup, StorageError::ReadOnly), "{backup:?}");
    drop(engine);
    assert!(bytes_of(&path) == before, "the file was written");
    // Opened writable again, it is the store it was.
    let engine = open(&path, &clock);
    assert!(engine.records().get(alice, receipt.meta.id).is_ok());
}

#[test]
fn a_store_that_needs_a_repair_or_an_upgrade_is_not_opened_read_only() {
    use strongroom_engine::OpenError;
    if common::embedded_only("read-only open") {
        return;
    }
    let (dir, clock, engine) = engine();
    let alice = user(&engine, "alice");
    engine.records().put(alice, b"x", None).expect("put");
    // A copy of a file still open: as a crash leaves it, not closed cleanly.
    let unclean = dir.path().join("unclean.redb");
    std::fs::copy(dir.path().join("db.redb"), &unclean).expect("copy");
    let before = bytes_of(&unclean);
    let refused = common::builder(&clock).open_read_only(&unclean);
    assert!(
        matches!(refused, Err(OpenError::NeedsWrite(why)) if why.contains("not closed cleanly")),
        "{refused:?}"
    );
    assert!(bytes_of(&unclean) == before, "the file was written");
    drop(engine);
    // The first release's layout: no schema version of its own.
    let legacy = dir.path().join("legacy.redb");
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/legacy-v1/strongroom.redb");
    std::fs::copy(fixture, &legacy).expect("copy the legacy database");
    let refused = common::builder(&clock).open_read_only(&legacy);
    assert!(
        matches!(&refused, Err(OpenError::NeedsWrite(_))),
        "{refused:?}"
    );
    let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains("a writable open would do that first"),
        "{message}"
    );
}

//! Files through the engine's API: streamed uploads in batches, range
//! reads, owners, expiry, quotas, abandoned and aborted uploads, account
//! deletion, tampering, backups and key rotation. Every test ends with a
//! sound integrity check: no orphan segment survives anything.

use std::time::Duration;

use crate::common::{self, engine, user};
use strongroom_engine::files::{BATCH_SEGMENTS, FileLabel, SEGMENT_BYTES, UPLOAD_LEASE};
use strongroom_engine::{Clock, Engine, FileId, RecordError, UserId};

fn content(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(151).wrapping_add(seed) ^ (i >> 13) as u8)
        .collect()
}

fn label(name: &str) -> FileLabel {
    FileLabel::new(name, Some("application/pdf"))
}

/// Uploads `bytes` in chunks of `chunk`.
fn upload(engine: &Engine, sender: UserId, owner: UserId, bytes: &[u8], chunk: usize) -> FileId {
    let mut up = engine
        .files()
        .begin(sender, owner, label("a.pdf"), None)
        .expect("begin");
    for piece in bytes.chunks(chunk.max(1)) {
        up.write(piece).expect("write");
    }
    up.finish().expect("finish").id
}

fn read_all(engine: &Engine, owner: UserId, id: FileId) -> Result<Vec<u8>, RecordError> {
    let reader = engine.files().open(owner, id)?;
    let mut out = Vec::new();
    reader.read(0, u64::MAX, &mut |b| out.extend_from_slice(b))?;
    Ok(out)
}

fn assert_sound(engine: &Engine) {
    let report = engine
        .maintenance()
        .check_integrity_deep()
        .expect("integrity check");
    assert!(report.is_sound(), "{:?}", report.problems);
}

fn usage(engine: &Engine, user: UserId) -> (u64, u64) {
    let status = engine.accounts().quota(user).expect("quota");
    (status.usage.records, status.usage.bytes)
}

#[test]
fn files_of_every_shape_round_trip_and_list_newest_first() {
    let (_dir, _clock, engine) = engine();
    let alice = user(&engine, "alice");
    let sizes = [
        0,
        1,
        SEGMENT_BYTES - 1,
        SEGMENT_BYTES,
        SEGMENT_BYTES + 1,
        (BATCH_SEGMENTS + 3) * SEGMENT_BYTES + 5,
    ];
    let mut ids = Vec::new();
    for (i, &size) in sizes.iter().enumerate() {
        let bytes = content(size, i as u8);
        let id = upload(&engine, alice, alice, &bytes, 10_000 + i * 7_777);
        assert_eq!(
            read_all(&engine, alice, id).expect("read"),
            bytes,
            "size {size}"
        );
        let info = engine.files().open(alice, id).expect("open").info().clone();
        assert_eq!(
            (info.size, info.label.name.as_str()),
            (size as u64, "a.pdf")
        );
        assert_eq!(info.label.media_type, "application/pdf");
        ids.push(id);
    }
    let page = engine.files().list(alice, None, 4).expect("list");
    let listed: Vec<FileId> = page.files.iter().map(|f| f.id).collect();
    let newest: Vec<FileId> = ids.iter().rev().take(4).copied().collect();
    assert_eq!(listed, newest);
    let rest = engine
        .files()
        .list(alice, page.next_cursor, 4)
        .expect("next page");
    assert_eq!(rest.files.len(), 2);
    assert_eq!(rest.next_cursor, None);
    assert_sound(&engine);
}

#[test]
fn a_range_read_returns_exactly_its_bytes() {
    let (_dir, _clock, engine) = engine();
    let alice = user(&engine, "alice");
    let bytes = content(5 * SEGMENT_BYTES + 123, 9);
    let id = upload(&engine, alice, alice, &bytes, 65_000);
    let reader = engine.files().open(alice, id).expect("open");
    let n = bytes.len() as u64;
    let seg = SEGMENT_BYTES as u64;
    for (start, end) in [
        (0, 20),
        (seg - 10, seg + 10),
        (seg, 2 * seg),
        (n - 20, n),
        (n - 1, n + 100),
        (3, 3),
        (2 * seg + 7, 5 * seg + 100),
    ] {
        let mut got = Vec::new();
        reader
            .read(start, end, &mut |b| got.extend_from_slice(b))
            .expect("range");
        let end = end.min(n) as usize;
        assert_eq!(
            got,
            bytes[start as usize..end.max(start as usize)],
            "{start}..{end}"
        );
    }
}

#[test]
fn a_file_is_its_owners_alone_and_sending_makes_the_recipient_the_owner() {
    let (_dir, _clock, engine) = engine();
    let (alice, bob) = (user(&engine, "alice"), user(&engine, "bob"));
    let mine = upload(&engine, alice, alice, b"alice's", 3);
    assert!(matches!(
        engine.files().open(bob, mine),
        Err(RecordError::NotFound)
    ));
    assert!(matches!(
        engine.files().delete(bob, mine),
        Err(RecordError::NotFound)
    ));
    let sent = upload(&engine, alice, bob, b"for bob", 100);
    assert_eq!(read_all(&engine, bob, sent).expect("bob reads"), b"for bob");
    let info = engine.files().open(bob, sent).expect("open").info().clone();
    assert_eq!(
        (info.sender, info.sender_name.as_deref()),
        (alice, Some("alice"))
    );
    assert!(matches!(
        engine.files().open(alice, sent),
        Err(RecordError::NotFound)
    ));
    assert_eq!(
        engine
            .files()
            .list(alice, None, 10)
            .expect("list")
            .files
            .len(),
        1
    );
    // The sender pays for what they sent: her file, the one she sent,
    // and its notice in bob's log.
    assert_eq!(usage(&engine, alice).0, 3);
    assert_eq!(usage(&engine, bob).0, 0);
    assert!(matches!(
        engine
            .files()
            .begin(alice, UserId::from_u128(7), label("x"), None),
        Err(RecordError::UnknownUser)
    ));
    assert_sound(&engine);
}

#[test]
fn expired_files_vanish_and_the_reaper_removes_every_segment() {
    let (dir, clock, engine) = engine();
    let alice = user(&engine, "alice");
    let bytes = content(3 * SEGMENT_BYTES, 1);
    let mut up = engine
        .files()
        .begin(alice, alice, label("t"), Some(Duration::from_secs(60)))
        .expect("begin");
    up.write(&bytes).expect("write");
    let id = up.finish().expect("finish").id;
    clock.advance(Duration::from_secs(59));
    assert!(read_all(&engine, alice, id).is_ok());
    clock.advance(Duration::from_secs(1));
    assert!(matches!(
        read_all(&engine, alice, id),
        Err(RecordError::NotFound)
    ));
    assert!(
        engine
            .files()
            .list(alice, None, 10)
            .expect("list")
            .files
            .is_empty()
    );
    assert_eq!(
        engine
            .files()
            .purge_expired(clock.now(), 10)
            .expect("purge"),
        1
    );
    assert_eq!(usage(&engine, alice), (0, 0));
    assert_sound(&engine);
    drop(engine);
    assert!(common::raw_rows(&dir.path().join("db.redb"), "file_segments").is_empty());
    assert!(common::raw_rows(&dir.path().join("db.redb"), "files").is_empty());
}

#[test]
fn an_abandoned_upload_is_invisible_and_reaped_when_its_lease_passes() {
    let (dir, clock, engine) = engine();
    let alice = user(&engine, "alice");
    let mut up = engine
        .files()
        .begin(alice, alice, label("big"), None)
        .expect("begin");
    // Two batches land, then the uploader goes away.
    up.write(&content((2 * BATCH_SEGMENTS + 1) * SEGMENT_BYTES, 3))
        .expect("write");
    let id = up.id();
    drop(up);
    assert!(matches!(
        engine.files().open(alice, id),
        Err(RecordError::NotFound)
    ));
    assert!(
        engine
            .files()
            .list(alice, None, 10)
            .expect("list")
            .files
            .is_empty()
    );
    assert!(
        usage(&engine, alice).1 > 0,
        "what landed is charged until reaped"
    );
    assert_sound(&engine);
    clock.advance(UPLOAD_LEASE - Duration::from_secs(1));
    assert_eq!(
        engine
            .files()
            .purge_expired(clock.now(), 10)
            .expect("purge"),
        0
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        engine
            .files()
            .purge_expired(clock.now(), 10)
            .expect("purge"),
        1
    );
    assert_eq!(usage(&engine, alice), (0, 0));
    assert_sound(&engine);
    drop(engine);
    assert!(common::raw_rows(&dir.path().join("db.redb"), "file_segments").is_empty());
}

#[test]
fn an_aborted_upload_leaves_nothing_and_a_finished_file_survives_a_late_abort() {
    let (_dir, _clock, engine) = engine();
    let alice = user(&engine, "alice");
    let mut up = engine
        .files()
        .begin(alice, alice, label("x"), None)
        .expect("begin");
    up.write(&content((BATCH_SEGMENTS + 2) * SEGMENT_BYTES, 5))
        .expect("write");
    up.abort().expect("abort");
    assert_eq!(usage(&engine, alice), (0, 0));
    assert_eq!(
        engine.maintenance().check_integrity().expect("check").files,
        0
    );

    let up = engine
        .files()
        .begin(alice, alice, label("y"), None)
        .expect("begin");
    let aborter = up.aborter();
    let info = up.finish().expect("finish");
    aborter.abort().expect("late abort");
    assert!(read_all(&engine, alice, info.id).is_ok());
    assert_sound(&engine);
}

#[test]
fn quotas_and_the_size_limit_refuse_a_file_and_keep_nothing() {
    let (_dir, _clock, engine) = engine();
    let alice = user(&engine, "alice");
    let quota = strongroom_engine::accounts::Quota {
        max_records: 10,
        max_bytes: (BATCH_SEGMENTS as u64 + 10) * SEGMENT_BYTES as u64,
        writes_per_minute: 100,
    };
    engine.admin().set_quota(alice, Some(quota)).expect("quota");
    let mut up = engine
        .files()
        .begin(alice, alice, label("big"), None)
        .expect("begin");
    let err = up
        .write(&content(3 * BATCH_SEGMENTS * SEGMENT_BYTES, 1))
        .expect_err("over quota");
    assert!(
        matches!(err, RecordError::QuotaExceeded { what: "bytes", .. }),
        "{err:?}"
    );
    up.abort().expect("abort");
    assert_eq!(usage(&engine, alice), (0, 0));
    // A file that fits is fine.
    upload(&engine, alice, alice, &content(SEGMENT_BYTES, 2), 4096);
    assert_sound(&engine);

    let dir = tempfile::tempdir().expect("tempdir");
    let clock = common::start();
    let mut builder = common::builder(&clock);
    builder.max_file_len(1000);
    let small = common::open_with(builder, &dir.path().join("db.redb")).expect("open");
    let bob = user(&small, "bob");
    let mut up = small
        .files()
        .begin(bob, bob, label("x"), None)
        .expect("begin");
    up.write(&[0; 1000]).expect("exactly the limit");
    assert!(matches!(
        up.write(&[0]),
        Err(RecordError::TooLarge { max: 1000 })
    ));
    up.abort().expect("abort");
    assert_eq!(
        small
            .files()
            .put(bob, bob, label("x"), &[1; 1000], None)
            .map(|f| f.size)
            .ok(),
        Some(1000)
    );
}

#[test]
fn deleting_a_file_or_its_owner_removes_every_segment() {
    let (dir, _clock, engine) = engine();
    let (alice, bob) = (user(&engine, "alice"), user(&engine, "bob"));
    let a = upload(
        &engine,
        alice,
        alice,
        &content(2 * SEGMENT_BYTES, 1),
        50_000,
    );
    engine.files().delete(alice, a).expect("delete");
    assert!(matches!(
        engine.files().delete(alice, a),
        Err(RecordError::NotFound)
    ));
    assert_eq!(usage(&engine, alice), (0, 0));
    // Bob's files go with his account, and alice is refunded for hers to him.
    upload(&engine, bob, bob, &content(SEGMENT_BYTES + 1, 2), 50_000);
    upload(&engine, alice, bob, b"sent", 2);
    let pending = engine
        .files()
        .begin(bob, bob, label("p"), None)
        .expect("begin");
    drop(pending);
    engine.admin().delete_user(bob).expect("delete bob");
    assert_eq!(usage(&engine, alice), (0, 0));
    assert_sound(&engine);
    drop(engine);
    assert!(common::raw_rows(&dir.path().join("db.redb"), "file_segments").is_empty());
    assert!(common::raw_rows(&dir.path().join("db.redb"), "files").is_empty());
}

#[test]
fn a_tampered_segment_never_reads_and_verify_deep_names_the_file() {
    let (dir, clock, engine) = engine();
    let alice = user(&engine, "alice");
    let bytes = content(3 * SEGMENT_BYTES, 4);
    let id = upload(&engine, alice, alice, &bytes, 100_000);
    drop(engine);
    let path = dir.path().join("db.redb");
    let rows = common::raw_rows(&path, "file_segments");
    assert_eq!(rows.len(), 3);
    // Swap segments 0 and 1 behind the engine's back.
    common::raw_insert(&path, "file_segments", &rows[0].0, &rows[1].1);
    common::raw_insert(&path, "file_segments", &rows[1].0, &rows[0].1);
    let engine = common::open(&path, &clock);
    assert!(matches!(
        read_all(&engine, alice, id),
        Err(RecordError::Decryption(_))
    ));
    // The last segment alone still opens: only the touched ones fail.
    let reader = engine.files().open(alice, id).expect("open");
    let mut tail = Vec::new();
    let n = bytes.len() as u64;
    reader
        .read(n - 10, n, &mut |b| tail.extend_from_slice(b))
        .expect("tail");
    assert_eq!(tail, bytes[bytes.len() - 10..]);
    let report = engine.maintenance().check_integrity_deep().expect("check");
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(report.problems[0].to_string().contains(&id.to_string()));
}

#[test]
fn files_survive_backups_and_both_key_rotations() {
    let (dir, clock, engine) = engine();
    let alice = user(&engine, "alice");
    let bytes = content(2 * SEGMENT_BYTES + 9, 6);
    let id = upload(&engine, alice, alice, &bytes, 30_000);
    engine
        .maintenance()
        .rotate_data_keys(Duration::ZERO, 100, |_| {})
        .expect("rotate data keys");
    assert_eq!(
        read_all(&engine, alice, id).expect("after data-key rotation"),
        bytes
    );
    let later = upload(&engine, alice, alice, b"after", 5);
    if common::backend() == common::Backend::Redb {
        let backup = dir.path().join("backup.redb");
        engine.maintenance().backup_to(&backup).expect("backup");
        let restored = common::open(&backup, &clock);
        assert_eq!(
            read_all(&restored, alice, id).expect("from the backup"),
            bytes
        );
        assert_sound(&restored);
    }
    engine
        .rotate_master_key(common::master(common::KEY_B))
        .expect("rotate master key");
    let mut builder = strongroom_engine::Engine::builder(common::master(common::KEY_B));
    builder.clock(std::sync::Arc::new(clock.clone()));
    let engine = common::open_with(builder, &dir.path().join("db.redb")).expect("reopen");
    assert_eq!(
        read_all(&engine, alice, id).expect("after master rotation"),
        bytes
    );
    assert_eq!(read_all(&engine, alice, later).expect("later"), b"after");
    assert_sound(&engine);
}

/// Every stored segment, as a backup (a redb file on either backend)
/// holds it.
fn stored_segments(engine: &Engine, dir: &std::path::Path, name: &str) -> Vec<Vec<u8>> {
    let copy = dir.join(name);
    engine.maintenance().backup_to(&copy).expect("backup");
    let db = redb::Database::open(&copy).expect("open backup");
    let read = redb::ReadableDatabase::begin_read(&db).expect("read");
    let table: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("kv/file_segments");
    let table = read.open_table(table).expect("table");
    redb::ReadableTable::iter(&table)
        .expect("iter")
        .map(|r| r.expect("row").1.value().to_vec())
        .collect()
}

#[test]
fn data_key_rotation_seals_every_segment_again_under_the_newest_key() {
    let (dir, clock, engine) = engine();
    let alice = user(&engine, "alice");
    let bytes = content(2 * SEGMENT_BYTES + 9, 8);
    let id = upload(&engine, alice, alice, &bytes, 30_000);
    let before = stored_segments(&engine, dir.path(), "before.redb");
    clock.advance(Duration::from_secs(10));
    let done = engine
        .maintenance()
        .rotate_data_keys(Duration::ZERO, 100, |_| {})
        .expect("rotate");
    assert_eq!(done.files_resealed, 1);
    let after = stored_segments(&engine, dir.path(), "after.redb");
    assert_eq!(before.len(), after.len());
    for (old, new) in before.iter().zip(&after) {
        assert_eq!(old.len(), new.len());
        assert_ne!(old, new, "a segment kept its old ciphertext");
    }
    assert_eq!(read_all(&engine, alice, id).expect("read"), bytes);
    assert_sound(&engine);
    // A file newer than the cutoff is left for the next rotation.
    let newer = upload(&engine, alice, alice, b"new", 3);
    let again = engine
        .maintenance()
        .rotate_data_keys(Duration::from_secs(3600), 100, |_| {})
        .expect("rotate again");
    assert_eq!(again.files_resealed, 0);
    assert_eq!(read_all(&engine, alice, newer).expect("read"), b"new");
    assert_sound(&engine);
}

mod shared {
    //! Share links of files: a copy under the share's own key, opened once,
    //! gone with the share.

    use super::*;
    use strongroom_engine::ShareError;
    use strongroom_engine::shares::NewFileShare;

    fn share(engine: &Engine, owner: UserId, file: FileId, passphrase: Option<&str>) -> String {
        let passphrase = passphrase.map(strongroom_engine::SecretString::from);
        let created = engine
            .shares()
            .create_file(
                owner,
                NewFileShare {
                    file,
                    ttl: Some(Duration::from_secs(3600)),
                    max_views: Some(1),
                    passphrase: passphrase.as_ref(),
                    client_label: None,
                },
            )
            .expect("share created");
        strongroom_engine::secrecy::ExposeSecret::expose_secret(&created.token).to_owned()
    }

    fn token(text: &str) -> strongroom_engine::SecretString {
        strongroom_engine::SecretString::from(text)
    }

    fn read(reader: &strongroom_engine::files::FileReader) -> Vec<u8> {
        let mut out = Vec::new();
        reader
            .read(0, u64::MAX, &mut |b| out.extend_from_slice(b))
            .expect("read");
        out
    }

    #[test]
    fn a_file_share_opens_once_from_its_own_copy_and_is_gone_after() {
        let (_dir, clock, engine) = engine();
        let alice = user(&engine, "alice");
        let bytes = content(3 * SEGMENT_BYTES + 77, 2);
        let id = upload(&engine, alice, alice, &bytes, 40_000);
        let used_by_file = usage(&engine, alice);
        let link = share(&engine, alice, id, None);
        // The preview names the file without spending the view.
        let status = engine.shares().status(&token(&link)).expect("status");
        assert!(status.file);
        let (label, size) = status.file_facts.expect("facts without a passphrase");
        assert_eq!((label.name.as_str(), size), ("a.pdf", bytes.len() as u64));
        assert_eq!(status.views_left, 1);
        // The share is independent of the file: deleting it changes nothing.
        engine
            .files()
            .delete(alice, id)
            .expect("delete the original");
        assert_sound(&engine);
        // Opened as a message: refused, nothing consumed.
        assert!(matches!(
            engine.shares().open(&token(&link), None),
            Err(ShareError::WrongKind { file: true })
        ));
        let opened = engine
            .shares()
            .open_file(&token(&link), None)
            .expect("open");
        assert_eq!(opened.views_left, 0);
        assert_eq!(opened.reader.info().label.name, "a.pdf");
        assert_eq!(read(&opened.reader), bytes);
        assert!(matches!(
            engine.shares().open_file(&token(&link), None),
            Err(ShareError::Gone)
        ));
        // The download that took the last view may finish; then it goes.
        clock.advance(Duration::from_secs(3599));
        assert_eq!(read(&opened.reader), bytes, "within the grace");
        clock.advance(Duration::from_secs(2));
        assert!(opened.reader.read(0, 10, &mut |_| {}).is_err());
        engine
            .files()
            .purge_expired(clock.now(), 10)
            .expect("purge files");
        engine
            .shares()
            .purge_expired(clock.now(), 10)
            .expect("purge shares");
        assert_eq!(usage(&engine, alice), (0, 0));
        assert!(used_by_file.1 > 0);
        assert_sound(&engine);
        assert_eq!(
            engine.maintenance().check_integrity().expect("check").files,
            0
        );
    }

    #[test]
    fn a_file_or_account_deleted_while_its_share_copies_it_is_not_found_and_nothing_is_kept() {
        // The account, also before the copy's first write: while the
        // passphrase is hashed.
        for (account, passphrase) in [(false, None), (true, None), (true, Some("open sesame"))] {
            let passphrase = passphrase.map(strongroom_engine::SecretString::from);
            let (_dir, _clock, engine) = engine();
            let alice = user(&engine, "alice");
            // Three batches of copying: the deletion lands between two.
            let bytes = content(3 * BATCH_SEGMENTS * SEGMENT_BYTES, 9);
            let id = upload(&engine, alice, alice, &bytes, 1 << 20);
            let used_by_file = usage(&engine, alice);
            let sharing = std::thread::scope(|scope| {
                let sharing = scope.spawn(|| {
                    engine.shares().create_file(
                        alice,
                        NewFileShare {
                            file: id,
                            ttl: None,
                            max_views: None,
                            passphrase: passphrase.as_ref(),
                            client_label: None,
                        },
                    )
                });
                // Once the copy's first batch is stored, the original goes.
                while passphrase.is_none()
                    && usage(&engine, alice).1 <= used_by_file.1
                    && !sharing.is_finished()
                {
                    std::thread::yield_now();
                }
                if account {
                    engine
                        .admin()
                        .delete_user(alice)
                        .expect("delete the account");
                } else {
                    engine
                        .files()
                        .delete(alice, id)
                        .expect("delete the original");
                }
                sharing.join().expect("thread")
            });
            match sharing {
                // The copy may have read every segment before the deletion
                // (and a share made before its account's deletion goes
                // with it).
                Ok(_) => {
                    let kept = usize::from(!account);
                    assert_eq!(engine.shares().list(alice).expect("list").len(), kept);
                }
                Err(e) => {
                    assert!(matches!(e, ShareError::FileNotFound), "{e:?}");
                    assert!(engine.shares().list(alice).expect("list").is_empty());
                    if !account {
                        assert_eq!(usage(&engine, alice), (0, 0), "nothing of the copy is kept");
                    }
                }
            }
            assert_sound(&engine);
        }
    }

    #[test]
    fn of_many_concurrent_opens_of_a_one_view_file_share_exactly_one_gets_the_file() {
        let (_dir, _clock, engine) = engine();
        let alice = user(&engine, "alice");
        let bytes = content(2 * SEGMENT_BYTES, 7);
        let id = upload(&engine, alice, alice, &bytes, 65_536);
        let link = share(&engine, alice, id, None);
        let winners: Vec<Vec<u8>> = std::thread::scope(|scope| {
            let tries: Vec<_> = (0..16)
                .map(|_| {
                    let (engine, link) = (&engine, &link);
                    scope.spawn(move || {
                        engine
                            .shares()
                            .open_file(&token(link), None)
                            .ok()
                            .map(|opened| read(&opened.reader))
                    })
                })
                .collect();
            tries
                .into_iter()
                .filter_map(|t| t.join().expect("thread"))
                .collect()
        });
        assert_eq!(winners.len(), 1, "exactly one open gets the file");
        assert_eq!(winners[0], bytes);
        assert_sound(&engine);
    }

    #[test]
    fn revoking_or_expiry_deletes_the_copy_and_passphrases_guard_the_facts() {
        let (_dir, clock, engine) = engine();
        let alice = user(&engine, "alice");
        let id = upload(&engine, alice, alice, &content(SEGMENT_BYTES + 1, 3), 9_999);
        let link = share(&engine, alice, id, Some("open sesame"));
        let status = engine.shares().status(&token(&link)).expect("status");
        assert!(status.file && status.passphrase_required);
        assert_eq!(status.file_facts, None, "sealed until the passphrase");
        assert!(matches!(
            engine
                .shares()
                .open_file(&token(&link), Some(&token("wrong"))),
            Err(ShareError::WrongPassphrase)
        ));
        let shares = engine.shares().list(alice).expect("list");
        assert!(shares[0].file);
        engine.shares().revoke(alice, shares[0].id).expect("revoke");
        assert_eq!(
            engine.maintenance().check_integrity().expect("check").files,
            1
        );
        assert_sound(&engine);

        let link = share(&engine, alice, id, None);
        clock.advance(Duration::from_secs(3601));
        assert!(matches!(
            engine.shares().open_file(&token(&link), None),
            Err(ShareError::Gone)
        ));
        engine
            .shares()
            .purge_expired(clock.now(), 10)
            .expect("purge shares");
        engine
            .files()
            .purge_expired(clock.now(), 10)
            .expect("purge files");
        assert_eq!(
            engine.maintenance().check_integrity().expect("check").files,
            0
        );
        assert_eq!(usage(&engine, alice), (0, 0));
        assert_sound(&engine);
    }

    #[test]
    fn sharing_needs_ones_own_file_and_room_in_the_quota() {
        let (_dir, _clock, engine) = engine();
        let (alice, bob) = (user(&engine, "alice"), user(&engine, "bob"));
        let id = upload(
            &engine,
            alice,
            alice,
            &content(4 * SEGMENT_BYTES, 4),
            65_536,
        );
        let attempt = |owner| {
            engine.shares().create_file(
                owner,
                NewFileShare {
                    file: id,
                    ttl: None,
                    max_views: None,
                    passphrase: None,
                    client_label: None,
                },
            )
        };
        assert!(matches!(attempt(bob), Err(ShareError::FileNotFound)));
        let quota = strongroom_engine::accounts::Quota {
            max_records: 10,
            max_bytes: usage(&engine, alice).1 + SEGMENT_BYTES as u64,
            writes_per_minute: 100,
        };
        engine.admin().set_quota(alice, Some(quota)).expect("quota");
        let before = usage(&engine, alice);
        assert!(matches!(
            attempt(alice),
            Err(ShareError::QuotaExceeded { what: "bytes", .. })
        ));
        assert_eq!(
            usage(&engine, alice),
            before,
            "nothing kept, nothing charged"
        );
        assert!(engine.shares().list(alice).expect("list").is_empty());
        assert_sound(&engine);
        // A message share cannot be opened as a file.
        let message = engine
            .shares()
            .create(
                Some(alice),
                strongroom_engine::shares::NewShare {
                    content: b"text",
                    ttl: None,
                    max_views: None,
                    passphrase: None,
                    client_encrypted: false,
                },
            )
            .expect("message share");
        let link =
            strongroom_engine::secrecy::ExposeSecret::expose_secret(&message.token).to_owned();
        assert!(matches!(
            engine.shares().open_file(&token(&link), None),
            Err(ShareError::WrongKind { file: false })
        ));
        assert_eq!(
            engine
                .shares()
                .open(&token(&link), None)
                .expect("open")
                .content
                .as_slice(),
            b"text"
        );
    }
}

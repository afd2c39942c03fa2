//! Guards the record API: TTL bounds, ownership, listing with cursors,
//! purge, crypto-shredding and data key rotation.

use crate::common;

use std::time::Duration;

use common::{engine, start, user};
use strongroom_engine::{Clock, Engine, RecordError, RecordId};

#[test]
fn ttl_defaults_to_ten_minutes_and_is_bounded() {
    let (_dir, clock, engine) = engine();
    let alice = user(&engine, "alice");
    let receipt = engine.records().put(alice, b"x", None).expect("put");
    assert_eq!(
        receipt
            .meta
            .expires_at
            .saturating_duration_since(receipt.meta.created_at),
        Duration::from_secs(600)
    );
    let max = Duration::from_secs(7 * 24 * 3600);
    assert!(engine.records().put(alice, b"x", Some(max)).is_ok());
    for bad in [
        Duration::ZERO,
        Duration::from_millis(999),
        max + Duration::from_secs(1),
    ] {
        let err = engine
            .records()
            .put(alice, b"x", Some(bad))
            .expect_err("out of range");
        assert!(
            matches!(err, RecordError::TtlOutOfRange { max_secs: 604_800 }),
            "{err}"
        );
    }
    clock.advance(Duration::from_secs(599));
    assert!(engine.records().get(alice, receipt.meta.id).is_ok());
    clock.advance(Duration::from_secs(1));
    assert!(matches!(
        engine.records().get(alice, receipt.meta.id),
        Err(RecordError::NotFound)
    ));
}

#[test]
fn oversized_records_and_unknown_users_are_refused() {
    let (_dir, _clock, engine) = engine();
    let alice = user(&engine, "alice");
    let big = vec![0u8; 64 * 1024 + 1];
    assert!(matches!(
        engine.records().put(alice, &big, None),
        Err(RecordError::TooLarge { max: 65_536 })
    ));
    assert!(engine.records().put(alice, &big[1..], None).is_ok());
    let ghost = strongroom_engine::UserId::from_u128(42);
    assert!(matches!(
        engine.records().put(ghost, b"x", None),
        Err(RecordError::UnknownUser)
    ));
    assert!(matches!(
        engine.records().send(alice, ghost, b"x", None),
        Err(RecordError::UnknownUser)
    ));
}

#[test]
fn only_the_owner_reads_or_deletes_a_record() {
    let (_dir, _clock, engine) = engine();
    let (alice, bob) = (user(&engine, "alice"), user(&engine, "bob"));
    let id = engine
        .records()
        .send(bob, alice, b"for alice", None)
        .expect("send")
        .meta
        .id;
    let record = engine.records().get(alice, id).expect("alice reads");
    assert_eq!(record.meta.sender, bob);
    assert_eq!(record.plaintext.as_slice(), b"for alice");
    assert!(matches!(
        engine.records().get(bob, id),
        Err(RecordError::NotFound)
    ));
    assert!(matches!(
        engine.records().delete(bob, id),
        Err(RecordError::NotFound)
    ));
    assert!(
        engine
            .records()
            .list(bob, None, 10)
            .expect("list")
            .records
            .is_empty()
    );
    engine.records().delete(alice, id).expect("alice deletes");
    assert!(matches!(
        engine.records().get(alice, id),
        Err(RecordError::NotFound)
    ));
    assert!(matches!(
        engine.records().delete(alice, id),
        Err(RecordError::NotFound)
    ));
}

#[test]
fn list_pages_newest_first_with_a_cursor_and_skips_expired() {
    let (_dir, clock, engine) = engine();
    let alice = user(&engine, "alice");
    let mut ids = Vec::new();
    for i in 0..7u8 {
        let ttl = if i == 3 { 1 } else { 60 };
        ids.push(
            engine
                .records()
                .put(alice, &[i], Some(Duration::from_secs(ttl)))
                .expect("put")
                .meta
                .id,
        );
        clock.advance(Duration::from_millis(2));
    }
    clock.advance(Duration::from_secs(1));
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = engine.records().list(alice, cursor, 2).expect("list");
        assert!(page.records.len() <= 2);
        seen.extend(page.records.iter().map(|r| r.meta.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let expected: Vec<RecordId> = ids
        .iter()
        .rev()
        .copied()
        .filter(|id| *id != ids[3])
        .collect();
    assert_eq!(seen, expected);
    assert!(matches!(
        engine.records().list(alice, None, 0),
        Err(RecordError::InvalidLimit { .. })
    ));
    assert!(matches!(
        engine.records().list(alice, None, 101),
        Err(RecordError::InvalidLimit { .. })
    ));
}

#[test]
fn purge_removes_only_what_expired_in_bounded_batches() {
    let (_dir, clock, engine) = engine();
    let alice = user(&engine, "alice");
    for _ in 0..5 {
        engine
            .records()
            .put(alice, b"short", Some(Duration::from_secs(1)))
            .expect("put");
    }
    let keep = engine
        .records()
        .put(alice, b"long", Some(Duration::from_secs(100)))
        .expect("put");
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        engine
            .records()
            .purge_expired(clock.now(), 3)
            .expect("purge"),
        3
    );
    assert_eq!(
        engine
            .records()
            .purge_expired(clock.now(), 3)
            .expect("purge"),
        2
    );
    assert_eq!(
        engine
            .records()
            .purge_expired(clock.now(), 3)
            .expect("purge"),
        0
    );
    assert!(engine.records().get(alice, keep.meta.id).is_ok());
}

#[test]
fn deleting_a_user_shreds_keys_records_and_tokens() {
    let (_dir, _clock, engine) = engine();
    let (alice, bob) = (user(&engine, "alice"), user(&engine, "bob"));
    let id = engine
        .records()
        .put(alice, b"gone", None)
        .expect("put")
        .meta
        .id;
    let bobs = engine
        .records()
        .put(bob, b"stays", None)
        .expect("put")
        .meta
        .id;
    let pair = engine
        .sessions()
        .login("alice", &common::password("correct horse battery"))
        .expect("login");
    engine.admin().delete_user(alice).expect("delete");
    assert!(matches!(
        engine.records().get(alice, id),
        Err(RecordError::NotFound)
    ));
    assert!(engine.sessions().authenticate(&pair.access_token).is_err());
    assert!(engine.sessions().refresh(&pair.refresh_token).is_err());
    assert!(matches!(
        engine.records().put(alice, b"x", None),
        Err(RecordError::UnknownUser)
    ));
    assert_eq!(engine.accounts().find("alice").expect("lookup"), None);
    assert_eq!(
        engine
            .records()
            .get(bob, bobs)
            .expect("bob unaffected")
            .plaintext
            .as_slice(),
        b"stays"
    );
    // The name is free again, for a new account with a new id and new keys.
    assert_ne!(user(&engine, "alice"), alice);
}

#[test]
fn data_keys_rotate_and_old_records_stay_readable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = start();
    let engine = common::builder(&clock)
        .dek_rotation_after(2)
        .open(dir.path().join("db.redb"))
        .expect("open");
    let alice = user(&engine, "alice");
    let receipts: Vec<_> = (0..5u8)
        .map(|i| engine.records().put(alice, &[i], None).expect("put"))
        .collect();
    let versions: Vec<u32> = receipts
        .iter()
        .map(|r| u32::from_be_bytes(r.envelope[1..5].try_into().expect("4 bytes")))
        .collect();
    assert_eq!(versions, [1, 1, 2, 2, 3]);
    for (i, r) in receipts.iter().enumerate() {
        assert_eq!(
            engine
                .records()
                .get(alice, r.meta.id)
                .expect("get")
                .plaintext
                .as_slice(),
            &[i as u8]
        );
    }
    // A page spans key versions (each looked up as it changes) and carries
    // the same ids and contents as the receipts, newest first, whole or in
    // pages of two.
    let newest_first: Vec<_> = receipts
        .iter()
        .enumerate()
        .rev()
        .map(|(i, r)| (r.meta.id, vec![i as u8]))
        .collect();
    let whole = engine.records().list(alice, None, 10).expect("list");
    assert!(whole.next_cursor.is_none());
    let listed: Vec<_> = whole
        .records
        .iter()
        .map(|r| (r.meta.id, r.plaintext.to_vec()))
        .collect();
    assert_eq!(listed, newest_first);
    let (mut paged, mut cursor) = (Vec::new(), None);
    loop {
        let page = engine.records().list(alice, cursor, 2).expect("page");
        paged.extend(
            page.records
                .iter()
                .map(|r| (r.meta.id, r.plaintext.to_vec())),
        );
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(paged, newest_first);
}

#[test]
fn builder_rejects_bad_settings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db.redb");
    let err = Engine::builder(common::master(common::KEY_A))
        .default_ttl(Duration::from_secs(10))
        .max_ttl(Duration::from_secs(5))
        .open(&path)
        .expect_err("default above max");
    assert!(err.to_string().contains("default_ttl"), "{err}");
    let err = Engine::builder(common::master(common::KEY_A))
        .password_cost(strongroom_engine::accounts::PasswordCost {
            memory_kib: 1024,
            iterations: 2,
            parallelism: 1,
        })
        .open(&path)
        .expect_err("too cheap");
    assert!(err.to_string().contains("19456"), "{err}");
    let err = Engine::builder(common::master(common::KEY_A))
        .max_page(0)
        .open(&path)
        .expect_err("empty pages");
    assert!(err.to_string().contains("max_page"), "{err}");
    let mut builder = Engine::builder(common::master(common::KEY_A));
    builder.open(&path).expect("opens once");
    let err = builder
        .open(&path)
        .expect_err("the key went to the first engine");
    assert!(err.to_string().contains("already opened"), "{err}");
}

#[test]
fn record_ids_are_opaque_and_tampered_ids_find_nothing() {
    let (_dir, _clock, engine) = engine();
    let (alice, bob) = (user(&engine, "alice"), user(&engine, "bob"));
    let ids: Vec<RecordId> = (0..64u8)
        .map(|i| {
            engine
                .records()
                .put(alice, &[i], None)
                .expect("put")
                .meta
                .id
        })
        .collect();
    // Consecutive ids share no prefix and no order: on average half their
    // bits differ, and they do not sort in write order.
    for pair in ids.windows(2) {
        let differing = (pair[0].as_u128() ^ pair[1].as_u128()).count_ones();
        assert!((24..=104).contains(&differing), "{differing} bits differ");
    }
    let mut sorted = ids.clone();
    sorted.sort();
    assert_ne!(sorted, ids);
    // A flipped bit anywhere yields an id nobody has.
    for bit in 0..128 {
        let tampered = RecordId::from_u128(ids[0].as_u128() ^ (1 << bit));
        assert!(matches!(
            engine.records().get(alice, tampered),
            Err(RecordError::NotFound)
        ));
        assert!(matches!(
            engine.records().delete(alice, tampered),
            Err(RecordError::NotFound)
        ));
        assert!(matches!(
            engine.records().list(alice, Some(tampered), 10),
            Err(RecordError::InvalidCursor) | Ok(_)
        ));
    }
    assert!(matches!(
        engine.records().get(bob, ids[0]),
        Err(RecordError::NotFound)
    ));
}

#[test]
fn ids_reveal_nothing_about_other_users_writes() {
    // Alice writes twice; between her writes Bob writes either nothing or a
    // hundred records. Nothing in Alice's ids can tell the two apart: they
    // are uniformly spread either way (a structural leak would show up as
    // a systematic difference in the xor of her consecutive ids).
    let quiet = xor_of_alices_pair(0);
    let busy = xor_of_alices_pair(100);
    for xor in [quiet, busy] {
        assert!((24..=104).contains(&xor.count_ones()), "{xor:032x}");
    }
    assert_ne!(quiet >> 64, busy >> 64);
}

fn xor_of_alices_pair(bob_writes: usize) -> u128 {
    let (_dir, _clock, engine) = engine();
    let (alice, bob) = (user(&engine, "alice"), user(&engine, "bob"));
    let first = engine
        .records()
        .put(alice, b"1", None)
        .expect("put")
        .meta
        .id;
    for _ in 0..bob_writes {
        engine.records().put(bob, b"b", None).expect("put");
    }
    let second = engine
        .records()
        .put(alice, b"2", None)
        .expect("put")
        .meta
        .id;
    first.as_u128() ^ second.as_u128()
}

#[test]
fn a_send_batch_stores_each_message_for_its_recipient() {
    let (_dir, _clock, engine) = engine();
    let alice = user(&engine, "alice");
    let bob = user(&engine, "bob");
    let results = engine
        .records()
        .send_batch(
            [(alice, bob, &b"to bob"[..]), (bob, alice, &b"to alice"[..])],
            None,
        )
        .expect("batch");
    assert!(results.iter().all(Result::is_ok));
    let bobs = engine.records().list(bob, None, 10).expect("list");
    assert_eq!(bobs.records[0].plaintext.as_slice(), b"to bob");
    assert_eq!(bobs.records[0].meta.sender, alice);
    assert_eq!(
        engine
            .records()
            .list(alice, None, 10)
            .expect("list")
            .records
            .len(),
        1
    );
}

#[test]
fn an_id_is_bound_to_its_owner_and_is_no_cursor_for_anyone_else() {
    let (_dir, _clock, engine) = engine();
    let (alice, bob) = (user(&engine, "alice"), user(&engine, "bob"));
    for i in 0..3u8 {
        engine.records().put(alice, &[i], None).expect("put");
    }
    // The id Alice gets back for a message she sent Bob is Bob's.
    let sent = engine
        .records()
        .send(alice, bob, b"for bob", None)
        .expect("send")
        .meta
        .id;
    assert!(matches!(
        engine.records().list(alice, Some(sent), 10),
        Err(RecordError::InvalidCursor)
    ));
    assert!(matches!(
        engine.records().get(alice, sent),
        Err(RecordError::NotFound)
    ));
    let page = engine
        .records()
        .list(bob, Some(sent), 10)
        .expect("his cursor");
    assert!(
        page.records.is_empty(),
        "nothing older than his only message"
    );
    assert_eq!(
        engine
            .records()
            .get(bob, sent)
            .expect("his")
            .plaintext
            .as_slice(),
        b"for bob"
    );
}

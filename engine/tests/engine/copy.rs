//! A whole store copied into another — a new file, or an empty PostgreSQL
//! database — without decrypting anything: every record reads back with
//! the same key, accounts still sign in, the deep check passes, a target
//! that holds data is refused with nothing written, and a builder with
//! another master key is refused before anything is copied. The source
//! runs on the suite's backend; the PostgreSQL target needs PostgreSQL
//! installed (skipped loudly otherwise).

use crate::common;

use std::sync::OnceLock;

use strongroom_engine::{Engine, OpenError, RecordId, UserId};
use strongroom_testkit::postgres::PgCluster;

/// Records a test keeps: owner, id, content.
type Kept = Vec<(UserId, RecordId, Vec<u8>)>;

/// A source store with two accounts and 40 records.
fn source() -> (
    tempfile::TempDir,
    strongroom_engine::ManualClock,
    Engine,
    Kept,
) {
    let dir = tempfile::tempdir().expect("dir");
    let clock = common::start();
    let engine = common::open(&dir.path().join("source.redb"), &clock);
    let alice = common::user(&engine, "alice");
    let bob = common::user(&engine, "bob");
    let mut kept = Vec::new();
    for i in 0..40u8 {
        let owner = if i % 2 == 0 { alice } else { bob };
        let text = vec![i; 100 + usize::from(i)];
        let id = engine
            .records()
            .put(owner, &text, None)
            .expect("put")
            .meta
            .id;
        kept.push((owner, id, text));
    }
    (dir, clock, engine, kept)
}

/// The copy holds what the source held, and it opens, reads and signs in.
fn same(copy: &Engine, kept: &[(UserId, RecordId, Vec<u8>)]) {
    for (owner, id, text) in kept {
        let record = copy.records().get(*owner, *id).expect("copied record");
        assert_eq!(record.plaintext.as_slice(), text.as_slice());
    }
    let check = copy.maintenance().check_integrity_deep().expect("check");
    assert!(check.is_sound(), "{:?}", check.problems);
    assert_eq!(check.records, kept.len() as u64);
    assert_eq!(check.users, 2);
    copy.sessions()
        .login("alice", &common::password(common::PASSWORD))
        .expect("alice signs in on the copy");
}

#[test]
fn a_store_copies_into_a_new_file_whole_and_sealed() {
    let (dir, clock, source, kept) = source();
    let path = dir.path().join("copy.redb");
    let (copy, report) = common::builder(&clock)
        .open_copy_in_file(&source, &path)
        .expect("copy");
    assert!(report.entries > kept.len() as u64, "{report:?}");
    same(&copy, &kept);
    drop(copy);
    // The file now exists: a second copy is refused and changes nothing.
    let refused = common::builder(&clock).open_copy_in_file(&source, &path);
    assert!(
        matches!(refused, Err(OpenError::TargetNotEmpty)),
        "{refused:?}"
    );
    let other = dir.path().join("other.redb");
    let mut wrong = strongroom_engine::Engine::builder(common::master(common::KEY_B));
    let refused = wrong.open_copy_in_file(&source, &other);
    assert!(
        matches!(refused, Err(OpenError::WrongMasterKey)),
        "{refused:?}"
    );
    assert!(!other.exists(), "nothing is written under another key");
}

#[test]
fn a_store_copies_into_an_empty_postgres_database_and_never_into_a_full_one() {
    static CLUSTER: OnceLock<Option<PgCluster>> = OnceLock::new();
    let Some(cluster) = CLUSTER.get_or_init(|| PgCluster::start("copy into postgres")) else {
        return;
    };
    let (_dir, clock, source, kept) = source();
    let url = cluster.database(&format!("copy_{:08x}", rand::random::<u32>()));
    let mut wrong = strongroom_engine::Engine::builder(common::master(common::KEY_B));
    let refused = wrong.open_copy_in_postgres(&source, &url, 2);
    assert!(
        matches!(refused, Err(OpenError::WrongMasterKey)),
        "{refused:?}"
    );
    let (copy, report) = common::builder(&clock)
        .open_copy_in_postgres(&source, &url, 2)
        .expect("copy");
    assert!(report.entries > kept.len() as u64, "{report:?}");
    same(&copy, &kept);
    // Written through the copy, then refused: the target keeps its data.
    let alice = kept[0].0;
    let later = copy
        .records()
        .put(alice, b"after", None)
        .expect("put")
        .meta
        .id;
    drop(copy);
    let refused = common::builder(&clock).open_copy_in_postgres(&source, &url, 2);
    assert!(
        matches!(refused, Err(OpenError::TargetNotEmpty)),
        "{refused:?}"
    );
    let reopened = common::builder(&clock)
        .open_postgres(&url, 2)
        .expect("reopen");
    assert_eq!(
        reopened
            .records()
            .get(alice, later)
            .expect("kept")
            .plaintext
            .as_slice(),
        b"after"
    );
}

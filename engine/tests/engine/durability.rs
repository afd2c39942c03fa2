//! Guards durability across reopen and the master key check: committed
//! records survive the engine being dropped, and a different master key is
//! refused with a clear error instead of yielding garbage.

use crate::common;

use std::time::Duration;

use common::{KEY_B, master, open, start, user};
use strongroom_engine::{Engine, OpenError};

#[test]
fn committed_records_survive_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db.redb");
    let clock = start();
    let (alice, ids) = {
        let engine = open(&path, &clock);
        let alice = user(&engine, "alice");
        let ids: Vec<_> = (0..50u32)
            .map(|i| {
                engine
                    .records()
                    .put(alice, &i.to_be_bytes(), Some(Duration::from_secs(3600)))
                    .expect("put")
                    .meta
                    .id
            })
            .collect();
        (alice, ids)
    };
    let engine = open(&path, &clock);
    for (i, id) in ids.iter().enumerate() {
        let record = engine
            .records()
            .get(alice, *id)
            .expect("present after reopen");
        assert_eq!(record.plaintext.as_slice(), &(i as u32).to_be_bytes());
    }
    assert!(
        engine
            .accounts()
            .verify_credentials("alice", &common::password("correct horse battery"))
            .is_ok()
    );
}

#[test]
fn a_different_master_key_is_refused_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db.redb");
    let clock = start();
    {
        let engine = open(&path, &clock);
        let alice = user(&engine, "alice");
        engine.records().put(alice, b"secret", None).expect("put");
    }
    let err =
        common::open_with(Engine::builder(master(KEY_B)), &path).expect_err("wrong key refused");
    assert!(matches!(err, OpenError::WrongMasterKey));
    assert!(
        err.to_string().contains("master key does not match"),
        "{err}"
    );
}

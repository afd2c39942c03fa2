//! Stores, lists and expires a record with the engine linked in directly.
//!
//! Run: `cargo run --example quickstart`

use std::sync::Arc;
use std::time::Duration;

use strongroom::engine::{Clock, Engine, ManualClock, SecretString, Timestamp};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let key_path = dir.path().join("master.key");
    let (master, created) = strongroom::datadir::keyfile::load_or_create(&key_path)?;
    println!(
        "master key file {} (created: {created})",
        key_path.display()
    );

    // A manual clock, so the example can move time instead of sleeping.
    let clock = ManualClock::new(Timestamp::from_unix_millis(1_700_000_000_000));
    let engine = Engine::builder(master)
        .clock(Arc::new(clock.clone()))
        .open(dir.path().join("strongroom.redb"))?;

    let alice = engine
        .accounts()
        .create("alice", &SecretString::from("correct horse battery"))?;
    println!("created user {} ({})", alice.username, alice.id);

    let receipt = engine.records().put(
        alice.id,
        b"the vault code is 7-3-1",
        Some(Duration::from_secs(60)),
    )?;
    println!(
        "stored record {} ({} byte envelope, expires in 60 s)",
        receipt.meta.id,
        receipt.envelope.len()
    );

    let page = engine.records().list(alice.id, None, 10)?;
    for record in &page.records {
        println!(
            "listed {}: {:?}",
            record.meta.id,
            String::from_utf8_lossy(&record.plaintext)
        );
    }

    clock.advance(Duration::from_secs(61));
    println!("advanced the clock 61 s");
    match engine.records().get(alice.id, receipt.meta.id) {
        Ok(_) => return Err("expired record was returned".into()),
        Err(e) => println!("get after expiry: {e}"),
    }
    println!(
        "listed after expiry: {} records",
        engine.records().list(alice.id, None, 10)?.records.len()
    );
    println!(
        "purged {} expired record(s)",
        engine.records().purge_expired(clock.now(), 1000)?
    );
    Ok(())
}

//! How a database file grows under put-and-expire churn and what
//! compaction gives back: 100 000 records of 1 KiB put in batches of 1 000,
//! each batch expired and purged before the next, then `compact`.
//!
//! Run: `cargo run --release --example churn [CYCLES]`

use std::sync::Arc;
use std::time::Duration;

use strongroom::engine::maintenance::compact;
use strongroom::engine::{Clock, Engine, ManualClock, MasterKey, SecretString, Timestamp};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cycles: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(100_000);
    let dir = std::env::temp_dir().join(format!("strongroom-churn-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("churn.redb");
    let clock = ManualClock::new(Timestamp::from_unix_millis(1_700_000_000_000));
    let engine = Engine::builder(MasterKey::generate().0)
        .clock(Arc::new(clock.clone()))
        .open(&path)?;
    let user = engine
        .accounts()
        .create("churn", &SecretString::from("correct horse battery"))?
        .id;
    let size = || std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let start = size();
    let payload = vec![b'x'; 1024];
    let mut done = 0;
    while done < cycles {
        let n = (cycles - done).min(1_000);
        engine.records().put_batch(
            (0..n).map(|_| (user, payload.as_slice())),
            Some(Duration::from_secs(1)),
        )?;
        clock.advance(Duration::from_secs(2));
        while engine.records().purge_expired(clock.now(), 10_000)? > 0 {}
        done += n;
    }
    drop(engine);
    let (before, after) = compact(&path)?;
    println!("{cycles} put-and-expire cycles of 1 KiB records (batches of 1 000)");
    println!("empty store:        {start} bytes");
    println!("after the churn:    {before} bytes");
    println!("after compaction:   {after} bytes");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

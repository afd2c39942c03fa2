//! A measurement loop, not a usage example: opens a store in a temporary
//! directory, puts one 1 KiB record and reads it back N times. Run under
//! valgrind to count the instructions a read takes, which this shared,
//! noisy machine cannot time to a few percent (docs/performance.md):
//!
//! ```text
//! cargo build --release -p strongroom-engine --example get_loop
//! for n in 20000 120000; do
//!   valgrind --tool=lackey --basic-counts=yes target/release/examples/get_loop $n 2>&1 |
//!     grep 'guest instrs:'
//! done   # (second - first) / 100000 = instructions per read
//! ```
//!
//! `get_loop N raw` reads the same way what the `get_1k` benchmark
//! compares the engine against: a sealed 1 KiB envelope from a bare redb
//! table, opened (a read transaction, the table, the row, AES-GCM).
//! `get_loop N list` reads a page of 50 × 1 KiB records N times, as the
//! `list_page_50` benchmark does.

use redb::{ReadableDatabase, TableDefinition};
use strongroom_engine::hazmat::{self as envelope, Binding, DataKey};
use strongroom_engine::secrecy::SecretBox;
use strongroom_engine::{KeyScope, UserId};

mod common;

const RAW: TableDefinition<(u128, u128), &[u8]> = TableDefinition::new("raw");

fn main() {
    let mut args = std::env::args().skip(1);
    let reads: u64 = args
        .next()
        .and_then(|n| n.parse().ok())
        .expect("usage: get_loop READS [raw]");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mode = args.next();
    if mode.as_deref() == Some("raw") {
        return raw_loop(reads, &dir.path().join("raw.redb"));
    }
    let (engine, user) = common::engine_with_account(dir.path());
    if mode.as_deref() == Some("list") {
        for _ in 0..50 {
            engine
                .records()
                .put(user, &[0x5a; 1024], None)
                .expect("put");
        }
        let mut records = 0;
        for _ in 0..reads {
            let page = engine.records().list(user, None, std::hint::black_box(50));
            records += page.expect("list").records.len();
        }
        return println!("{reads} pages, {records} records");
    }
    let id = engine
        .records()
        .put(user, &[0x5a; 1024], None)
        .expect("put")
        .meta
        .id;
    let mut bytes = 0;
    for _ in 0..reads {
        let record = engine.records().get(user, std::hint::black_box(id));
        bytes += record.expect("get").plaintext.len();
    }
    println!("{reads} reads, {bytes} bytes");
}

/// The baseline: bare redb read and envelope open, `reads` times.
fn raw_loop(reads: u64, path: &std::path::Path) {
    let db = redb::Database::create(path).expect("create");
    let key = DataKey::from_secret(&SecretBox::new(Box::new([9; 32])));
    let binding = Binding {
        scope: KeyScope::User(UserId::from_u128(2)),
        record: 1,
    };
    let txn = db.begin_write().expect("txn");
    {
        let mut table = txn.open_table(RAW).expect("table");
        let sealed = envelope::seal(&key, 1, binding, &[0x5a; 1024]);
        table.insert((2, 1), sealed.as_slice()).expect("insert");
    }
    txn.commit().expect("commit");
    let mut bytes = 0;
    for _ in 0..reads {
        let txn = db.begin_read().expect("txn");
        let table = txn.open_table(RAW).expect("table");
        let row = table
            .get(std::hint::black_box((2, 1)))
            .expect("get")
            .expect("present");
        bytes += envelope::open(row.value(), binding, |_| Some(&key))
            .expect("opens")
            .len();
    }
    println!("{reads} raw reads, {bytes} bytes");
}

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

use strongroom_engine::{Engine, MasterKey, SecretString};

fn main() {
    let reads: u64 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("usage: get_loop READS");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let engine = Engine::builder(MasterKey::generate().0)
        .open(dir.path().join("engine.redb"))
        .expect("open");
    let user = engine
        .accounts()
        .create("bench", &SecretString::from("correct horse battery"))
        .expect("account")
        .id;
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

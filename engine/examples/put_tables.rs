//! A measurement, not a usage example: what each row a durable put writes
//! beside its record costs a redb commit, with bare redb and the engine's
//! own layout (byte tables, the record, its expiry entry, the sender's
//! usage row, an audit entry). Five stores, pre-filled alike, take one
//! commit each in turn, so the disk's noise falls on all of them; prints
//! each layout's median commit against the first (docs/performance.md):
//!
//! ```text
//! cargo run --release -p strongroom-engine --example put_tables [ROUNDS [PREFILL]]
//! ```

use std::time::Instant;

use redb::{Database, TableDefinition};

type Bytes = TableDefinition<'static, &'static [u8], &'static [u8]>;

const RECORDS: Bytes = TableDefinition::new("kv/records");
const EXPIRY: Bytes = TableDefinition::new("kv/record_expiry");
const USAGE: Bytes = TableDefinition::new("kv/usage");
const AUDIT: Bytes = TableDefinition::new("kv/audit");
const LEDGER: Bytes = TableDefinition::new("kv/ledger");

/// About the engine's rows: a sealed 1 KiB record with its facts, and an
/// audit entry (two hashes, the actor, the target, time and address).
const RECORD_LEN: usize = 1100;
const AUDIT_LEN: usize = 160;

/// What a put writes beside its record and expiry entry.
#[derive(Clone, Copy)]
enum Layout {
    /// Nothing: bare redb with an index, the benchmark's baseline.
    Bare,
    /// The sender's usage row.
    Usage,
    /// The usage row and an audit entry, each in its table: the engine.
    UsageAudit,
    /// Both in one table, under two prefixes.
    OneLedger,
    /// The usage row; the audit entry in the records table, sorting last.
    AuditInRecords,
}

const LAYOUTS: [(Layout, &str); 5] = [
    (Layout::Bare, "record + expiry entry"),
    (Layout::Usage, "+ usage row"),
    (Layout::UsageAudit, "+ usage row + audit entry"),
    (Layout::OneLedger, "+ both in one table"),
    (Layout::AuditInRecords, "+ usage, audit in records"),
];

fn record_key(n: u64) -> [u8; 32] {
    let mut key = [0u8; 32];
    key[..16].copy_from_slice(&7u128.to_be_bytes());
    key[16..24].copy_from_slice(&n.to_be_bytes());
    key
}

fn audit_key(prefix: Option<u8>, n: u64) -> Vec<u8> {
    prefix.into_iter().chain(n.to_be_bytes()).collect()
}

/// Writes put `n` of `layout` in `txn`.
fn write(txn: &redb::WriteTransaction, layout: Layout, n: u64) {
    let key = record_key(n);
    let mut expiry = [0u8; 40];
    expiry[..8].copy_from_slice(&(1_000_000 + n).to_be_bytes());
    expiry[8..].copy_from_slice(&key);
    let table = |t| txn.open_table(t).expect("table");
    table(RECORDS)
        .insert(&key[..], &[0x5a; RECORD_LEN][..])
        .expect("record");
    table(EXPIRY).insert(&expiry[..], &[][..]).expect("expiry");
    let usage = (7u128.to_be_bytes(), n.to_be_bytes());
    let entry = [0xab; AUDIT_LEN];
    match layout {
        Layout::Bare => {}
        Layout::Usage => {
            table(USAGE)
                .insert(&usage.0[..], &usage.1[..])
                .expect("usage");
        }
        Layout::UsageAudit => {
            table(USAGE)
                .insert(&usage.0[..], &usage.1[..])
                .expect("usage");
            let seq = audit_key(None, n);
            table(AUDIT).insert(&seq[..], &entry[..]).expect("audit");
        }
        Layout::OneLedger => {
            let mut ledger = table(LEDGER);
            let user: Vec<u8> = [0].into_iter().chain(usage.0).collect();
            ledger.insert(&user[..], &usage.1[..]).expect("usage");
            let seq = audit_key(Some(1), n);
            ledger.insert(&seq[..], &entry[..]).expect("audit");
        }
        Layout::AuditInRecords => {
            table(USAGE)
                .insert(&usage.0[..], &usage.1[..])
                .expect("usage");
            let seq = audit_key(Some(0xff), n);
            table(RECORDS).insert(&seq[..], &entry[..]).expect("audit");
        }
    }
}

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .map(|a| a.parse::<u64>().expect("a number"));
    let rounds = args.next().unwrap_or(400);
    let prefill = args.next().unwrap_or(20_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let stores: Vec<Database> = (0..LAYOUTS.len())
        .map(|i| Database::create(dir.path().join(format!("{i}.redb"))).expect("store"))
        .collect();
    // Trees of some depth first, as a store in use has: a thousand puts
    // per commit.
    for (store, (layout, _)) in stores.iter().zip(LAYOUTS) {
        for batch in 0..prefill.div_ceil(1000) {
            let txn = store.begin_write().expect("txn");
            for n in batch * 1000..(batch + 1) * 1000 {
                write(&txn, layout, n);
            }
            txn.commit().expect("commit");
        }
    }
    let mut times = vec![Vec::with_capacity(rounds as usize); LAYOUTS.len()];
    for n in prefill..prefill + rounds {
        for ((store, (layout, _)), times) in stores.iter().zip(LAYOUTS).zip(&mut times) {
            let started = Instant::now();
            let txn = store.begin_write().expect("txn");
            write(&txn, layout, n);
            txn.commit().expect("commit");
            times.push(started.elapsed().as_secs_f64() * 1e6);
        }
    }
    let medians: Vec<f64> = times
        .iter_mut()
        .map(|t| {
            t.sort_by(f64::total_cmp);
            t[t.len() / 2]
        })
        .collect();
    println!("durable commits, {rounds} per layout, {prefill} puts in each store first");
    for ((_, name), median) in LAYOUTS.iter().zip(&medians) {
        println!(
            "{name:28} median {median:7.1} µs  {:.3} ×",
            median / medians[0]
        );
    }
}

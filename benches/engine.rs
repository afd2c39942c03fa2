//! Criterion benchmarks of the engine, one group per question so every
//! ratio comes from one run:
//!
//! - `seal_open/*`: envelope seal and open at several sizes.
//! - `put_durable_1k`: engine put vs raw redb insert of the same bytes, both
//!   with redb's default (immediate) durability.
//! - `get_1k`: engine get (decrypting) vs raw redb point read.
//!
//! Run: `cargo bench --bench engine`

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use redb::{ReadableDatabase, TableDefinition};
use strongroom::engine::envelope::{self, Scope};
use strongroom::engine::{
    DataKey, Engine, MasterKey, RecordId, SecretString, SystemClock, UserId, secrecy::SecretBox,
};

const RAW: TableDefinition<(u128, u128), &[u8]> = TableDefinition::new("raw");
const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn seal_open(c: &mut Criterion) {
    let key = DataKey::from_secret(&SecretBox::new(Box::new([7; 32])));
    let scope = Scope {
        owner: UserId::from_u128(1),
        record: RecordId::from_u128(2),
    };
    let mut group = c.benchmark_group("seal_open");
    for size in [64usize, 1024, 16 * 1024, 64 * 1024] {
        let plaintext = vec![0xa5; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("seal", size), &plaintext, |b, p| {
            b.iter(|| envelope::seal(&key, 1, scope, black_box(p)))
        });
        let sealed = envelope::seal(&key, 1, scope, &plaintext);
        group.bench_with_input(BenchmarkId::new("open", size), &sealed, |b, s| {
            b.iter(|| envelope::open(black_box(s), scope, |_| Some(&key)).expect("opens"))
        });
    }
    group.finish();
}

fn engine(dir: &std::path::Path) -> (Engine, UserId) {
    let master = MasterKey::from_base64(&SecretString::from(KEY)).expect("key");
    let engine = Engine::builder()
        .master_key(master)
        .clock(Arc::new(SystemClock))
        .max_ttl(Duration::from_secs(7 * 86_400))
        .open(dir.join("engine.redb"))
        .expect("open");
    let user = engine
        .create_user("bench", &SecretString::from("benchmark password"))
        .expect("user");
    (engine, user.id)
}

fn raw_db(dir: &std::path::Path) -> redb::Database {
    let db = redb::Database::create(dir.join("raw.redb")).expect("raw db");
    let txn = db.begin_write().expect("txn");
    txn.open_table(RAW).expect("table");
    txn.commit().expect("commit");
    db
}

fn put_get(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (engine, user) = engine(dir.path());
    let raw = raw_db(dir.path());
    let payload = vec![0x5a; 1024];
    let ttl = Some(Duration::from_secs(86_400));

    let mut group = c.benchmark_group("put_durable_1k");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(8));
    group.bench_function("engine", |b| {
        b.iter(|| engine.put(user, &payload, ttl).expect("put"))
    });
    let mut n = 0u128;
    group.bench_function("raw_redb", |b| {
        b.iter(|| {
            n += 1;
            let txn = raw.begin_write().expect("txn");
            txn.open_table(RAW)
                .expect("table")
                .insert((1, n), payload.as_slice())
                .expect("insert");
            txn.commit().expect("commit");
        })
    });
    group.finish();

    let id = engine.put(user, &payload, ttl).expect("put").meta.id;
    let mut group = c.benchmark_group("get_1k");
    group.bench_function("engine", |b| {
        b.iter(|| engine.get(user, black_box(id)).expect("get"))
    });
    group.bench_function("raw_redb", |b| {
        b.iter(|| {
            let txn = raw.begin_read().expect("txn");
            let table = txn.open_table(RAW).expect("table");
            let value = table.get(black_box((1, 1))).expect("get").expect("present");
            black_box(value.value().to_vec())
        })
    });
    group.finish();
}

criterion_group!(benches, seal_open, put_get);
criterion_main!(benches);

//! Criterion benchmarks of the engine, one group per question so every
//! ratio comes from one run:
//!
//! - `seal_open`: envelope seal and open at 64 B, 1 KiB, 16 KiB, 64 KiB,
//!   on each AES-GCM backend (`rustcrypto`, `aws-lc`: the server's, feature
//!   `fast-aead`), beside bare `aes-gcm` and bare aws-lc opens of the same
//!   bytes into a buffer at each size, and into a fresh erased allocation
//!   (`…_owned`: what an envelope open must return).
//! - `put_durable_1k`: engine put vs raw redb insert of the same bytes,
//!   unencrypted, both with redb's default (immediate) durability; raw
//!   redb also with an index insert, and with the engine's four tables.
//! - `get_1k`: engine get (decrypting) vs raw redb point read.
//! - `list_page_50`: one page of 50 records of 1 KiB, decrypted.
//! - `token_check`: authenticating a bearer token, what every
//!   authenticated HTTP request does first: remembered, and the first
//!   check after a write to the auth tables (a read transaction).
//! - `purge_expired`: purging 1 000, 10 000 and 100 000 expired records
//!   from a store that also holds 10 000 live ones.
//! - `concurrent_put_1k`: durable put throughput, 1 writer vs 64 writers
//!   (group commit).
//! - `file_stream`: the file format alone (sealing and opening 4 MiB of
//!   64 KiB segments, the AES-GCM ceiling of every file path) beside the
//!   engine's durable upload and read of 64 MiB files, and a 20-byte range
//!   read of a 1 GiB file (opening it included).
//!
//! Run: `cargo bench --bench engine`

mod common;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Tag};
use common::DAY;
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use strongroom::engine::hazmat::{
    self as envelope, AeadBackend, Binding as Scope, DataKey, HEADER_LEN,
};
use strongroom::engine::{
    Clock, Engine, KeyScope, ManualClock, Role, SecretBytes, SecretString, Timestamp, UserId,
    secrecy::SecretBox,
};

const RAW: TableDefinition<(u128, u128), &[u8]> = TableDefinition::new("raw");
const RAW_INDEX: TableDefinition<(u64, u128, u128), ()> = TableDefinition::new("raw_index");
const RAW_USAGE: TableDefinition<u128, (u64, u64)> = TableDefinition::new("raw_usage");
const RAW_AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("raw_audit");

/// The name a backend goes by in benchmark ids.
fn backend_name(backend: AeadBackend) -> &'static str {
    match backend {
        AeadBackend::RustCrypto => "rustcrypto",
        AeadBackend::AwsLc => "aws-lc",
    }
}

fn seal_open(c: &mut Criterion) {
    let secret = SecretBox::new(Box::new([7; 32]));
    let bare = Aes256Gcm::new_from_slice(&[7; 32]).expect("32-byte key");
    let bare_aws = aws_lc_rs::aead::LessSafeKey::new(
        aws_lc_rs::aead::UnboundKey::new(&aws_lc_rs::aead::AES_256_GCM, &[7; 32])
            .expect("32-byte key"),
    );
    let scope = Scope {
        scope: KeyScope::User(UserId::from_u128(1)),
        record: 2,
    };
    let mut group = c.benchmark_group("seal_open");
    for size in [64usize, 1024, 16 * 1024, 64 * 1024] {
        let plaintext = vec![0xa5; size];
        group.throughput(Throughput::Bytes(size as u64));
        // The envelope on each AES-GCM backend (the server uses aws-lc).
        for &backend in AeadBackend::ALL {
            let key = DataKey::from_secret_with(&secret, backend);
            let name = backend_name(backend);
            group.bench_with_input(
                BenchmarkId::new(format!("seal/{name}"), size),
                &plaintext,
                |b, p| b.iter(|| envelope::seal(&key, 1, scope, black_box(p))),
            );
            let sealed = envelope::seal(&key, 1, scope, &plaintext);
            group.bench_with_input(
                BenchmarkId::new(format!("open/{name}"), size),
                &sealed,
                |b, s| {
                    b.iter(|| envelope::open(black_box(s), scope, |_| Some(&key)).expect("opens"))
                },
            );
        }
        let key = DataKey::from_secret_with(&secret, AeadBackend::RustCrypto);
        let sealed = envelope::seal(&key, 1, scope, &plaintext);
        // The same bytes through aes-gcm alone: nonce from the header, the
        // envelope's associated data, ciphertext copied into a buffer and
        // decrypted in place (what the envelope does, minus parsing, the
        // allocation and zeroizing the plaintext).
        let nonce: [u8; 12] = sealed[5..HEADER_LEN].try_into().expect("12 bytes");
        let mut aad = sealed[..HEADER_LEN].to_vec();
        aad.extend_from_slice(&1u128.to_be_bytes());
        aad.extend_from_slice(&2u128.to_be_bytes());
        let (ciphertext, tag) = sealed[HEADER_LEN..].split_at(size);
        let tag = Tag::try_from(tag).expect("16 bytes");
        let mut buffer = vec![0u8; size];
        group.bench_function(BenchmarkId::new("bare_aes_gcm_open", size), |b| {
            b.iter(|| {
                buffer.copy_from_slice(black_box(ciphertext));
                bare.decrypt_inout_detached(
                    &nonce.into(),
                    &aad,
                    buffer.as_mut_slice().into(),
                    &tag,
                )
                .expect("opens");
            })
        });
        // The same, into what an envelope open must return: a fresh
        // allocation of exactly the plaintext, erased when dropped. The
        // envelope's own work (parsing, the key lookup, the associated
        // data) is the difference between `open/rustcrypto` and this.
        group.bench_function(BenchmarkId::new("bare_aes_gcm_open_owned", size), |b| {
            b.iter(|| {
                let mut owned = SecretBytes::copy(black_box(ciphertext));
                bare.decrypt_inout_detached(&nonce.into(), &aad, (&mut *owned).into(), &tag)
                    .expect("opens");
                owned
            })
        });
        // And through aws-lc alone (ciphertext and tag copied, opened in
        // place), then into a fresh erased allocation as above (the tag
        // apart, as the envelope opens it).
        let mut with_tag = vec![0u8; size + 16];
        let sealed_body = &sealed[HEADER_LEN..];
        group.bench_function(BenchmarkId::new("bare_aws_lc_open", size), |b| {
            b.iter(|| {
                with_tag.copy_from_slice(black_box(sealed_body));
                bare_aws
                    .open_in_place(
                        aws_lc_rs::aead::Nonce::assume_unique_for_key(nonce),
                        aws_lc_rs::aead::Aad::from(&aad[..]),
                        &mut with_tag,
                    )
                    .expect("opens");
            })
        });
        group.bench_function(BenchmarkId::new("bare_aws_lc_open_owned", size), |b| {
            b.iter(|| {
                let mut owned = SecretBytes::copy(black_box(ciphertext));
                bare_aws
                    .open_in_place_separate_tag(
                        aws_lc_rs::aead::Nonce::assume_unique_for_key(nonce),
                        aws_lc_rs::aead::Aad::from(&aad[..]),
                        tag.as_slice(),
                        &mut owned,
                    )
                    .expect("opens");
                owned
            })
        });
    }
    group.finish();
}

fn engine_at(dir: &std::path::Path, clock: Arc<dyn Clock>) -> (Engine, UserId) {
    let engine = Engine::builder(common::master_key())
        .clock(clock)
        .open(dir.join("engine.redb"))
        .expect("open");
    let user = common::bench_user(&engine);
    (engine, user)
}

fn raw_db(dir: &std::path::Path) -> redb::Database {
    let db = redb::Database::create(dir.join("raw.redb")).expect("raw db");
    let txn = db.begin_write().expect("txn");
    txn.open_table(RAW).expect("table");
    txn.commit().expect("commit");
    db
}

/// What a raw redb commit in `put_durable_1k` writes.
#[derive(Clone, Copy, PartialEq, PartialOrd)]
enum RawRows {
    /// The record alone.
    Record,
    /// The record and an index entry.
    PlusIndex,
    /// The rows of the engine's four tables.
    EngineLayout,
}

/// Commits record `n` (`payload`) with `rows`, durably.
fn raw_put(db: &redb::Database, n: u128, payload: &[u8], rows: RawRows, audit_entry: &[u8]) {
    let txn = db.begin_write().expect("txn");
    txn.open_table(RAW)
        .expect("table")
        .insert((1, n), payload)
        .expect("insert");
    if rows >= RawRows::PlusIndex {
        txn.open_table(RAW_INDEX)
            .expect("index")
            .insert((n as u64, 1, n), ())
            .expect("insert");
    }
    if rows == RawRows::EngineLayout {
        let mut usage = txn.open_table(RAW_USAGE).expect("usage");
        let (bytes, records) = usage
            .get(1)
            .expect("get")
            .map_or((0, 0), |used| used.value());
        usage
            .insert(1, (bytes + payload.len() as u64, records + 1))
            .expect("insert");
        drop(usage);
        txn.open_table(RAW_AUDIT)
            .expect("audit")
            .insert(n as u64, audit_entry)
            .expect("insert");
    }
    txn.commit().expect("commit");
}

fn put_get(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (engine, user) = engine_at(dir.path(), Arc::new(strongroom::engine::SystemClock));
    let raw = raw_db(dir.path());
    let payload = vec![0x5a; 1024];

    let mut group = c.benchmark_group("put_durable_1k");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(10));
    // Raw redb commits of the same record: alone; with an index entry (what
    // the engine's expiry index adds); and with the engine's four B-trees
    // (the record, its expiry entry, the sender's usage counter read and
    // written back, and an audit entry of about 160 bytes): what the
    // engine's layout costs a commit, without the engine.
    let audit_entry = vec![0xa7; 160];
    let mut n = 0u128;
    for (name, rows) in [
        ("raw_redb", RawRows::Record),
        ("raw_redb_plus_index", RawRows::PlusIndex),
        ("raw_redb_four_tables", RawRows::EngineLayout),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                n += 1;
                raw_put(&raw, n, &payload, rows, &audit_entry);
            })
        });
    }
    group.bench_function("engine", |b| {
        b.iter(|| engine.records().put(user, &payload, DAY).expect("put"))
    });
    group.finish();

    let id = engine
        .records()
        .put(user, &payload, DAY)
        .expect("put")
        .meta
        .id;
    // Raw read of a sealed 1 KiB envelope plus opening it: the engine's get
    // minus its own bookkeeping.
    let key = DataKey::from_secret(&SecretBox::new(Box::new([9; 32])));
    let scope = Scope {
        scope: KeyScope::User(UserId::from_u128(2)),
        record: 1,
    };
    {
        // Written here, not left to the put group: a filter such as
        // `-- get_1k` skips that group.
        let txn = raw.begin_write().expect("txn");
        let sealed = envelope::seal(&key, 1, scope, &payload);
        let mut table = txn.open_table(RAW).expect("table");
        table.insert((1, 1), payload.as_slice()).expect("insert");
        table.insert((2, 1), sealed.as_slice()).expect("insert");
        drop(table);
        txn.commit().expect("commit");
    }
    let mut group = c.benchmark_group("get_1k");
    group.bench_function("raw_redb", |b| {
        b.iter(|| {
            let txn = raw.begin_read().expect("txn");
            let table = txn.open_table(RAW).expect("table");
            let value = table.get(black_box((1, 1))).expect("get").expect("present");
            black_box(value.value().to_vec())
        })
    });
    group.bench_function("engine", |b| {
        b.iter(|| engine.records().get(user, black_box(id)).expect("get"))
    });
    group.bench_function("raw_redb_plus_open", |b| {
        b.iter(|| {
            let txn = raw.begin_read().expect("txn");
            let table = txn.open_table(RAW).expect("table");
            let value = table.get(black_box((2, 1))).expect("get").expect("present");
            envelope::open(value.value(), scope, |_| Some(&key)).expect("opens")
        })
    });
    // The engine's readers share a read transaction until a write commits
    // (`engine/src/store/redb.rs`), which `engine` above never does: the
    // first read after a commit begins a new one. Only that read is timed,
    // one per durable put: keep the counts small.
    group
        .warm_up_time(Duration::from_millis(20))
        .measurement_time(Duration::from_millis(100));
    group.bench_function("engine_first_after_a_put", |b| {
        b.iter_custom(|iters| {
            reads_after_writes(
                iters,
                || engine.records().put(user, &payload, DAY).expect("put"),
                || engine.records().get(user, black_box(id)).expect("get"),
            )
        })
    });
    group.finish();
}

fn list_page(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (engine, user) = engine_at(dir.path(), Arc::new(strongroom::engine::SystemClock));
    let payload = vec![0x33; 1024];
    engine
        .records()
        .put_batch((0..200).map(|_| (user, payload.as_slice())), DAY)
        .expect("load");
    let mut group = c.benchmark_group("list_page_50");
    group.throughput(Throughput::Elements(50));
    group.bench_function("engine", |b| {
        b.iter(|| engine.records().list(user, None, 50).expect("list"))
    });
    group.finish();
}

/// What every authenticated request pays before its handler: the bearer
/// token's check. `remembered`: the same token again, answered from the
/// engine's session cache; `after_a_write`: the first check after a write
/// to the accounts table (here a role set to what it was), a read
/// transaction of its own (token row, account row). Only the check is
/// timed, one per write.
fn token_check(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (engine, _) = engine_at(dir.path(), Arc::new(strongroom::engine::SystemClock));
    let pair = engine
        .sessions()
        .login(
            common::BENCH_USER,
            &SecretString::from(common::BENCH_PASSWORD),
        )
        .expect("login");
    let user = pair.session.user;
    let mut group = c.benchmark_group("token_check");
    group.bench_function("remembered", |b| {
        b.iter(|| {
            engine
                .sessions()
                .authenticate(&pair.access_token)
                .expect("valid")
        })
    });
    // Each timed check follows a durable write: keep the counts small.
    group
        .warm_up_time(Duration::from_millis(20))
        .measurement_time(Duration::from_millis(50));
    group.bench_function("after_a_write", |b| {
        b.iter_custom(|iters| {
            reads_after_writes(
                iters,
                || engine.admin().set_role(user, Role::User).expect("set role"),
                || {
                    engine
                        .sessions()
                        .authenticate(&pair.access_token)
                        .expect("valid")
                },
            )
        })
    });
    group.finish();
}

/// For `iter_custom`: `iters` rounds of `write` then `read`, timing the
/// reads alone.
fn reads_after_writes<W, T>(
    iters: u64,
    mut write: impl FnMut() -> W,
    mut read: impl FnMut() -> T,
) -> Duration {
    let mut reading = Duration::ZERO;
    for _ in 0..iters {
        drop(write());
        let start = Instant::now();
        black_box(read());
        reading += start.elapsed();
    }
    reading
}

fn purge(c: &mut Criterion) {
    let mut group = c.benchmark_group("purge_expired");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    let payload = vec![0x44; 64];
    for expired in [1_000usize, 10_000, 100_000] {
        group.throughput(Throughput::Elements(expired as u64));
        group.bench_function(BenchmarkId::from_parameter(expired), |b| {
            b.iter_batched(
                || {
                    let dir = tempfile::tempdir().expect("tempdir");
                    let clock = ManualClock::new(Timestamp::from_unix_millis(1_700_000_000_000));
                    let (engine, user) = engine_at(dir.path(), Arc::new(clock.clone()));
                    engine
                        .records()
                        .put_batch((0..10_000).map(|_| (user, payload.as_slice())), DAY)
                        .expect("live");
                    for chunk in 0..expired.div_ceil(10_000) {
                        let n = (expired - chunk * 10_000).min(10_000);
                        engine
                            .records()
                            .put_batch(
                                (0..n).map(|_| (user, payload.as_slice())),
                                Some(Duration::from_secs(60)),
                            )
                            .expect("expiring");
                    }
                    clock.advance(Duration::from_secs(60));
                    (dir, engine, clock)
                },
                |(_dir, engine, clock)| {
                    let purged = engine
                        .records()
                        .purge_expired(clock.now(), expired)
                        .expect("purge");
                    assert_eq!(purged, expired);
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

fn concurrent_put(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (engine, user) = engine_at(dir.path(), Arc::new(strongroom::engine::SystemClock));
    let payload = Arc::new(vec![0x77u8; 1024]);
    let mut group = c.benchmark_group("concurrent_put_1k");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(15));
    group.throughput(Throughput::Elements(1));
    for writers in [1usize, 64] {
        group.bench_function(
            BenchmarkId::from_parameter(format!("{writers}_writers")),
            |b| {
                b.iter_custom(|iters| {
                    common::concurrent_puts(&engine, user, &payload, writers, iters)
                })
            },
        );
    }
    group.finish();
}

fn file_stream(c: &mut Criterion) {
    use strongroom::engine::files::FileLabel;
    use strongroom::engine::hazmat::{FileKeys, SegmentSealer, StreamHeader};

    let dek = DataKey::from_secret(&SecretBox::new(Box::new([9; 32])));
    let header = StreamHeader::random(1);
    let plain = vec![0x5a; 4 << 20];
    let mut group = c.benchmark_group("file_stream");
    group.throughput(Throughput::Bytes(plain.len() as u64));
    group.bench_function("seal_4mib", |b| {
        b.iter(|| {
            let mut sealer = SegmentSealer::new(FileKeys::derive(&dek, &header, 1, 2));
            let mut n = 0;
            sealer
                .push(black_box(&plain), &mut |_, s| n += s.len())
                .expect("fits");
            let (_, last, _) = sealer.finish();
            black_box(n + last.len())
        });
    });
    let keys = FileKeys::derive(&dek, &header, 1, 2);
    let mut segments = Vec::new();
    let mut sealer = SegmentSealer::new(FileKeys::derive(&dek, &header, 1, 2));
    sealer
        .push(&plain, &mut |_, s| segments.push(s))
        .expect("fits");
    segments.push(sealer.finish().1);
    group.bench_function("open_4mib", |b| {
        b.iter(|| {
            let last = segments.len() - 1;
            for (i, s) in segments.iter().enumerate() {
                black_box(keys.open_segment(i as u32, i == last, s).expect("opens"));
            }
        });
    });

    let dir = tempfile::tempdir().expect("tempdir");
    let engine = Engine::builder(common::master_key())
        .clock(Arc::new(strongroom::engine::SystemClock))
        .max_file_len(2 << 30)
        .open(dir.path().join("files.redb"))
        .expect("open");
    let user = common::bench_user(&engine);
    let big = vec![0xa5; 64 << 20];
    group.throughput(Throughput::Bytes(big.len() as u64));
    group.sample_size(10);
    group.bench_function("engine_upload_64mib", |b| {
        b.iter(|| {
            let mut upload = engine
                .files()
                .begin(user, user, FileLabel::new("b", None), DAY)
                .expect("begin");
            for chunk in big.chunks(256 * 1024) {
                upload.write(chunk).expect("write");
            }
            let info = upload.finish().expect("finish");
            engine.files().delete(user, info.id).expect("delete");
        });
    });
    let stored = engine
        .files()
        .put(user, user, FileLabel::new("b", None), &big, DAY)
        .expect("put");
    group.bench_function("engine_read_64mib", |b| {
        let reader = engine.files().open(user, stored.id).expect("open");
        b.iter(|| {
            let mut n = 0;
            reader
                .read(0, u64::MAX, &mut |bytes| n += bytes.len())
                .expect("read");
            black_box(n)
        });
    });
    let mut upload = engine
        .files()
        .begin(user, user, FileLabel::new("c", None), DAY)
        .expect("begin");
    for _ in 0..16 {
        upload.write(&big).expect("write");
    }
    let huge = upload.finish().expect("finish");
    group.throughput(Throughput::Bytes(20));
    group.sample_size(100);
    group.bench_function("range_20b_of_1gib", |b| {
        let mut at = 0u64;
        b.iter(|| {
            at = (at + 7_919 * 65_537) % (huge.size - 20);
            let reader = engine.files().open(user, huge.id).expect("open");
            let mut got = 0;
            reader
                .read(at, at + 20, &mut |bytes| got += bytes.len())
                .expect("range");
            black_box(got)
        });
    });
    group.finish();
}

criterion_group!(
    benches,
    file_stream,
    seal_open,
    put_get,
    list_page,
    token_check,
    purge,
    concurrent_put
);
criterion_main!(benches);

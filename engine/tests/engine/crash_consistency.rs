//! Guards crash consistency with injected I/O failures: the engine runs on a
//! backend that fails every write and sync after N operations (for every N
//! in a range), then "crashes" (only synced bytes survive) and reopens.
//! Every record whose put returned Ok must be present and readable; a put
//! that returned Err must not be half-visible; the indexes must agree.

use crate::common;

use std::collections::HashMap;
use std::time::Duration;

use strongroom_engine::{Clock, Engine, ManualClock, RecordId, UserId};
use strongroom_testkit::memory::MemoryBackend;

fn open(
    backend: MemoryBackend,
    clock: &ManualClock,
) -> Result<Engine, strongroom_engine::OpenError> {
    common::builder(clock).open_with_backend(backend)
}

/// A database with two users, as synced bytes.
fn template(clock: &ManualClock) -> (Vec<u8>, [UserId; 2]) {
    let backend = MemoryBackend::new();
    let engine = open(backend.clone(), clock).expect("open");
    let users = [common::user(&engine, "alice"), common::user(&engine, "bob")];
    drop(engine);
    (backend.durable_image(), users)
}

#[test]
fn acknowledged_puts_survive_any_injected_failure() {
    let clock = common::start();
    let (image, users) = template(&clock);
    let mut ambiguous = 0;
    let mut failures_seen = 0;
    for budget in (0..300).step_by(2) {
        let backend = MemoryBackend::from_image(image.clone());
        let engine = open(backend.clone(), &clock).expect("open before failures");
        backend.fail_after(Some(budget));
        let mut acked: HashMap<RecordId, Vec<u8>> = HashMap::new();
        let mut refused: Vec<Vec<u8>> = Vec::new();
        for i in 0..30u32 {
            let payload = format!("budget {budget} record {i}").into_bytes();
            let user = users[i as usize % 2];
            match engine
                .records()
                .put(user, &payload, Some(Duration::from_secs(3600)))
            {
                Ok(receipt) => {
                    acked.insert(receipt.meta.id, payload);
                }
                Err(_) => refused.push(payload),
            }
            if i == 10 && !acked.is_empty() {
                // A delete in the mix: an acknowledged delete stays deleted.
                let id = *acked.keys().next().expect("one");
                let owner = engine
                    .records()
                    .get(users[0], id)
                    .map(|_| users[0])
                    .unwrap_or(users[1]);
                if engine.records().delete(owner, id).is_ok() {
                    acked.remove(&id);
                }
            }
        }
        failures_seen += usize::from(backend.has_failed());
        drop(engine);

        let survivor = backend.crash();
        let engine = open(survivor, &clock).expect("reopens after a crash");
        let report = engine
            .maintenance()
            .check_integrity()
            .expect("integrity check runs");
        assert!(report.is_sound(), "budget {budget}: {:?}", report.problems);
        let mut stored: HashMap<Vec<u8>, RecordId> = HashMap::new();
        for user in users {
            let page = engine.records().list(user, None, 100).expect("list");
            for record in page.records {
                stored.insert(record.plaintext.to_vec(), record.meta.id);
            }
        }
        for (id, payload) in &acked {
            let owner_record = users
                .iter()
                .find_map(|u| engine.records().get(*u, *id).ok());
            let record = owner_record
                .unwrap_or_else(|| panic!("budget {budget}: acknowledged record {id} lost"));
            assert_eq!(record.plaintext.as_slice(), payload.as_slice());
        }
        for payload in &refused {
            // A failed commit may still have reached the disk (an ambiguous
            // outcome); if so it must be whole and readable, never partial.
            if stored.contains_key(payload) {
                ambiguous += 1;
            }
        }
        assert_eq!(
            report.records as usize,
            stored.len(),
            "budget {budget}: every stored record lists and decrypts"
        );
    }
    assert!(
        failures_seen >= 100,
        "failures were injected ({failures_seen})"
    );
    println!(
        "injected failures: {failures_seen}, refused puts found whole after crash: {ambiguous}"
    );
}

/// A full disk refuses writes as [`StorageError::Full`] (nothing of them
/// written) while reads go on; once space is freed, writes resume on the
/// same engine, with every acknowledged record kept.
/// A store that cannot even be created, for want of space, says so.
#[test]
fn a_store_created_on_a_full_disk_says_the_disk_is_full() {
    let clock = common::start();
    let backend = MemoryBackend::new();
    backend.set_capacity(Some(1024));
    let refused = open(backend.clone(), &clock).map(drop);
    assert!(
        matches!(
            refused,
            Err(strongroom_engine::OpenError::Storage(
                strongroom_engine::StorageError::Full
            ))
        ),
        "{refused:?}"
    );
    backend.set_capacity(None);
    let engine = open(backend, &clock).expect("opens once space is freed");
    common::user(&engine, "alice");
}

#[test]
fn a_full_disk_refuses_writes_until_space_is_freed_without_a_restart() {
    let clock = common::start();
    let backend = MemoryBackend::new();
    let engine = open(backend.clone(), &clock).expect("open");
    let alice = common::user(&engine, "alice");
    let ttl = Some(Duration::from_secs(3600));

    backend.set_capacity(Some(backend.durable_image().len() as u64 + 1024 * 1024));
    let mut acked = Vec::new();
    let refused = loop {
        match engine.records().put(alice, &payload(acked.len()), ttl) {
            Ok(receipt) => acked.push((receipt.meta.id, acked.len())),
            Err(e) => break e,
        }
        assert!(acked.len() < 1_000, "the disk never filled");
    };
    assert!(refused.is_full(), "refused as a full disk: {refused}");
    assert!(!acked.is_empty(), "some fit before it filled");
    assert_eq!(
        refused.to_string(),
        "storage error: the disk is full; nothing was written"
    );

    // While it stays full, writes are refused the same way, also the ones
    // that meet the failure latched, before the store may open it again.
    for _ in 0..3 {
        let again = engine.records().put(alice, b"small", ttl);
        assert!(matches!(&again, Err(e) if e.is_full()), "{again:?}");
    }
    let stored = |engine: &Engine| {
        let report = engine.maintenance().check_integrity().expect("check");
        assert!(report.is_sound(), "{:?}", report.problems);
        report.records as usize
    };
    assert_eq!(stored(&engine), acked.len(), "reads go on");

    backend.set_capacity(None);
    clock.advance(Duration::from_secs(1));
    let after = engine
        .records()
        .put(alice, b"after space was freed", ttl)
        .expect("writes resume once space is freed");
    assert_eq!(
        engine
            .records()
            .get(alice, after.meta.id)
            .expect("get")
            .plaintext
            .as_slice(),
        b"after space was freed"
    );
    for (id, i) in &acked {
        let record = engine
            .records()
            .get(alice, *id)
            .expect("acknowledged, kept");
        assert_eq!(record.plaintext.as_slice(), payload(*i).as_slice());
    }
    assert_eq!(stored(&engine), acked.len() + 1);
}

/// What redb's page cache does not hold is read from the disk, which
/// redb refuses to read once a write to it failed: the store opens the
/// database again right after a full disk, so readers never meet the
/// failed one (a real disk, filled, showed every read failing after the
/// first write that tried once the pause was over).
#[test]
fn reads_past_the_page_cache_go_on_after_a_full_disk() {
    let clock = common::start();
    let backend = MemoryBackend::new();
    let engine = small_cache(&clock, &backend);
    let alice = common::user(&engine, "alice");
    let ttl = Some(Duration::from_secs(3600));
    backend.set_sparse_capacity(Some(backend.durable_image().len() as u64 + 1024 * 1024));
    let mut acked = Vec::new();
    loop {
        match engine.records().put(alice, &payload(acked.len()), ttl) {
            Ok(receipt) => acked.push(receipt.meta.id),
            Err(e) if e.is_full() => break,
            Err(e) => panic!("refused otherwise: {e}"),
        }
        assert!(acked.len() < 1_000, "the disk never filled");
    }
    let read_all = |engine: &Engine, when: &str| {
        read_back(engine, alice, &acked, 0, when);
        let report = engine.maintenance().check_integrity().expect(when);
        assert!(report.is_sound(), "{when}: {:?}", report.problems);
    };
    read_all(&engine, "right after the disk filled");
    // Each second one write tries again, and fails while the disk is full.
    for round in 0..3 {
        clock.advance(Duration::from_secs(1));
        let again = engine.records().put(alice, b"small", ttl);
        assert!(matches!(&again, Err(e) if e.is_full()), "{again:?}");
        read_all(&engine, &format!("after write {round} tried again"));
    }
    backend.set_sparse_capacity(None);
    clock.advance(Duration::from_secs(1));
    engine
        .records()
        .put(alice, b"after space was freed", ttl)
        .expect("writes resume once space is freed");
    read_all(&engine, "after space was freed");
}

/// A store on `backend` whose page cache holds a fraction of what the
/// tests put: reads past it go to the disk.
fn small_cache(clock: &ManualClock, backend: &MemoryBackend) -> Engine {
    common::builder(clock)
        .cache_size(64 * 1024)
        .open_with_backend(backend.clone())
        .expect("open")
}

/// [`small_cache`] with alice's 100 records of 8 KiB (`payload(i)` each).
fn past_the_cache(clock: &ManualClock, backend: &MemoryBackend) -> (Engine, UserId, Vec<RecordId>) {
    let engine = small_cache(clock, backend);
    let alice = common::user(&engine, "alice");
    let acked = (0..100)
        .map(|i| {
            engine
                .records()
                .put(alice, &payload(i), None)
                .expect("put")
                .meta
                .id
        })
        .collect();
    (engine, alice, acked)
}

fn payload(i: usize) -> Vec<u8> {
    format!("record {i} {}", "x".repeat(8 * 1024)).into_bytes()
}

/// Every record of `acked` from the `from`th on reads back as put.
fn read_back(engine: &Engine, alice: UserId, acked: &[RecordId], from: usize, when: &str) {
    for (i, id) in acked.iter().enumerate().skip(from) {
        let record = engine
            .records()
            .get(alice, *id)
            .unwrap_or_else(|e| panic!("{when}: record {i} unreadable: {e}"));
        assert_eq!(record.plaintext.as_slice(), payload(i).as_slice());
    }
}

/// The same after a write that failed otherwise (an I/O error): once the
/// disk works again, so does every read, without a write first.
#[test]
fn reads_past_the_page_cache_go_on_after_a_failed_write() {
    let clock = common::start();
    let backend = MemoryBackend::new();
    let (engine, alice, acked) = past_the_cache(&clock, &backend);
    // Wherever in the commit the failure falls.
    for budget in 0..12 {
        backend.fail_after(Some(budget));
        let failed = engine.records().put(alice, &payload(100), None);
        backend.fail_after(None);
        assert!(failed.is_err(), "budget {budget}: the write fails");
        // A reopening the failing disk refused is tried again a second on.
        clock.advance(Duration::from_secs(1));
        read_back(&engine, alice, &acked, 0, &format!("budget {budget}"));
    }
}

/// A read that fails for I/O latches the database as a failed write does:
/// the next read, once the disk reads again, goes on.
#[test]
fn a_read_that_failed_does_not_fail_the_next() {
    let clock = common::start();
    let backend = MemoryBackend::new();
    let (engine, alice, acked) = past_the_cache(&clock, &backend);
    backend.fail_reads(true);
    let failed = acked
        .iter()
        .position(|id| engine.records().get(alice, *id).is_err())
        .expect("a record the page cache lacks is read from the disk, and fails");
    backend.fail_reads(false);
    // A reopening the unreadable disk refused is tried again a second on.
    clock.advance(Duration::from_secs(1));
    read_back(&engine, alice, &acked, failed, "after the disk reads again");
}

/// A message, a share link and an account can be deleted while writes
/// are paused after a full disk: deleting is what makes room (a file's
/// deletion already could).
#[test]
fn a_full_disk_still_lets_messages_shares_and_accounts_be_deleted() {
    let clock = common::start();
    let backend = MemoryBackend::new();
    let engine = open(backend.clone(), &clock).expect("open");
    let alice = common::user(&engine, "alice");
    let bob = common::user(&engine, "bob");
    // Carol signs in with a second factor.
    let carol = common::user(&engine, "carol");
    let setup = engine.two_factor().begin(carol).expect("totp begin");
    let code = |at: strongroom_engine::Timestamp| {
        use strongroom_engine::secrecy::ExposeSecret;
        let unix = at.as_unix_millis() / 1000;
        strongroom_engine::SecretString::from(strongroom_testkit::totp_code(
            setup.secret.expose_secret(),
            unix,
        ))
    };
    engine
        .two_factor()
        .confirm(carol, &code(clock.now()))
        .expect("totp on");
    // The next period's code: the one just used is spent.
    let next = code(clock.now().saturating_add(Duration::from_secs(30)));
    let share = engine
        .shares()
        .create(
            Some(alice),
            strongroom_engine::shares::NewShare {
                content: b"shared",
                ttl: None,
                max_views: None,
                passphrase: None,
                client_encrypted: false,
            },
        )
        .expect("share");
    backend.set_capacity(Some(backend.durable_image().len() as u64 + 1024 * 1024));
    let payload = vec![b'x'; 8 * 1024];
    let mut acked = Vec::new();
    let refused = loop {
        match engine.records().put(alice, &payload, None) {
            Ok(receipt) => acked.push(receipt.meta.id),
            Err(e) => break e,
        }
        assert!(acked.len() < 1_000, "the disk never filled");
    };
    assert!(refused.is_full(), "{refused}");
    // Room is made elsewhere; writes stay paused a moment (the clock
    // does not move), deletions go at once.
    backend.set_capacity(None);
    let put = engine.records().put(alice, b"meanwhile", None);
    assert!(matches!(&put, Err(e) if e.is_full()), "paused: {put:?}");

    for id in &acked[..4] {
        engine
            .records()
            .delete(alice, *id)
            .expect("a message is deleted while writes are paused");
    }
    engine
        .shares()
        .revoke(alice, share.id)
        .expect("a share link is revoked while writes are paused");
    engine
        .admin()
        .delete_user(bob)
        .expect("an account is deleted while writes are paused");
    // By its owner too, with the second factor: the code is used up in the
    // deletion's own transaction.
    engine
        .accounts()
        .delete_self(
            carol,
            &strongroom_engine::SecretString::from(common::PASSWORD),
            Some(&strongroom_engine::two_factor::SecondFactor::Totp(next)),
        )
        .expect("an account with two-factor sign-in deletes itself while writes are paused");
    let report = engine.maintenance().check_integrity().expect("check");
    assert!(report.is_sound(), "{:?}", report.problems);
    assert_eq!(report.records as usize, acked.len() - 4);
    assert_eq!(report.users, 1);
    let shares = engine.shares().list(alice).expect("list");
    assert!(
        matches!(&shares[..], [info] if info.life == strongroom_engine::shares::ShareLife::Revoked),
        "{shares:?}"
    );
}

/// What a full disk leaves of an upload can be removed while writes are
/// refused: removing is what makes room.
#[test]
fn a_full_disk_still_lets_an_upload_that_filled_it_be_removed() {
    use strongroom_engine::files::FileLabel;

    let clock = common::start();
    let backend = MemoryBackend::new();
    let engine = open(backend.clone(), &clock).expect("open");
    let alice = common::user(&engine, "alice");
    backend.set_capacity(Some(backend.durable_image().len() as u64 + 4 * 1024 * 1024));

    let mut upload = engine
        .files()
        .begin(alice, alice, FileLabel::new("big.bin", None), None)
        .expect("begin");
    let chunk = vec![0x5a; 256 * 1024];
    let refused = loop {
        if let Err(e) = upload.write(&chunk) {
            break e;
        }
        assert!(upload.size() < 64 * 1024 * 1024, "the disk never filled");
    };
    assert!(refused.is_full(), "{refused}");
    let put = engine.records().put(alice, b"meanwhile", None);
    assert!(
        matches!(&put, Err(e) if e.is_full()),
        "writes are refused: {put:?}"
    );

    upload
        .abort()
        .expect("an upload is removed while writes are refused");
    let report = engine.maintenance().check_integrity().expect("check");
    assert!(report.is_sound(), "{:?}", report.problems);
    assert_eq!(report.files, 0, "nothing of it is left");
    assert_eq!(
        engine
            .files()
            .list(alice, None, 10)
            .expect("list")
            .files
            .len(),
        0
    );
}

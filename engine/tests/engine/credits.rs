//! Credits through the engine's API, on either backend: grants, the
//! engine's own charges paid in the action's transaction, refusals that
//! leave nothing behind, concurrent spending, the low-balance notice, the
//! ledger chained into the audit log, purchases once per event, and a
//! property test of the ledger's arithmetic under random interleavings.

use std::thread;

use proptest::prelude::*;
use strongroom_engine::audit::{AuditFilter, AuditTarget};
use strongroom_engine::credits::{Chargeable, CreditsConfig, InsufficientCredits, Movement};
use strongroom_engine::events::{EventKind, StreamCursor};
use strongroom_engine::files::FileLabel;
use strongroom_engine::shares::NewShare;
use strongroom_engine::{
    CreditsError, Engine, MasterKey, RecordError, SecretString, ShareError, UserId,
};

use strongroom_testkit::threads::together;

use crate::common::{self, user};

fn metered(config: CreditsConfig) -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = common::start();
    let mut builder = common::builder(&clock);
    builder.credits(config);
    let engine = common::open_with(builder, &dir.path().join("db.redb")).expect("open");
    (dir, engine)
}

fn balance(engine: &Engine, user: UserId) -> u64 {
    engine.credits().status(user).expect("status").balance
}

fn share(engine: &Engine, owner: UserId) -> Result<(), ShareError> {
    let new = NewShare {
        content: b"the code is 1234",
        ttl: None,
        max_views: None,
        passphrase: None,
        client_encrypted: false,
    };
    engine.shares().create(Some(owner), new).map(drop)
}

/// Every entry of `account`'s ledger.
fn ledger(engine: &Engine, account: UserId) -> Vec<strongroom_engine::credits::LedgerEntry> {
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = engine
            .credits()
            .ledger(account, after, 100)
            .expect("ledger");
        all.extend(page.entries);
        match page.next {
            Some(next) => after = next,
            None => return all,
        }
    }
}

/// The ledger adds up: each balance is the one before plus the amount,
/// the sum is the balance, nothing is negative.
fn assert_adds_up(engine: &Engine, account: UserId) {
    let mut running: i128 = 0;
    for entry in ledger(engine, account) {
        running += i128::from(entry.amount);
        assert!(running >= 0, "negative balance at {entry:?}");
        assert_eq!(running, i128::from(entry.balance), "{entry:?}");
    }
    assert_eq!(running, i128::from(balance(engine, account)));
}

#[test]
fn accounts_start_with_the_initial_credits_and_actions_pay_their_price() {
    let (_dir, engine) = metered(CreditsConfig::enabled());
    let alice = user(&engine, "alice");
    assert_eq!(balance(&engine, alice), 50);
    let grant = ledger(&engine, alice);
    assert_eq!(grant.len(), 1);
    assert_eq!((grant[0].movement, grant[0].amount), (Movement::Grant, 50));

    share(&engine, alice).expect("share");
    assert_eq!(balance(&engine, alice), 45);
    let label = FileLabel::new("a.txt", Some("text/plain"));
    let file = engine
        .files()
        .put(alice, alice, label, b"file bytes", None)
        .expect("upload");
    assert_eq!(balance(&engine, alice), 35);
    let reader = engine.files().download(alice, file.id).expect("download");
    assert_eq!(reader.info().size, 10);
    assert_eq!(balance(&engine, alice), 33);
    // Reads, lists and (by default) messages are free.
    engine.files().open(alice, file.id).expect("open");
    engine.files().list(alice, None, 10).expect("list");
    engine.records().put(alice, b"note", None).expect("put");
    assert_eq!(balance(&engine, alice), 33);

    let kinds: Vec<Movement> = ledger(&engine, alice).iter().map(|e| e.movement).collect();
    assert_eq!(
        kinds,
        [
            Movement::Grant,
            Movement::Charge(Chargeable::Share),
            Movement::Charge(Chargeable::FileUpload),
            Movement::Charge(Chargeable::FileDownload),
        ]
    );
    assert_adds_up(&engine, alice);
}

#[test]
fn every_movement_is_an_audit_entry_whose_hash_is_its_tx_hash() {
    let (_dir, engine) = metered(CreditsConfig::enabled());
    let alice = user(&engine, "alice");
    share(&engine, alice).expect("share");
    let admin = engine.acting(strongroom_engine::audit::Origin {
        actor: Some(strongroom_engine::audit::Actor::Operator),
        address: None,
    });
    admin
        .credits()
        .adjust(alice, 20, Some("welcome bonus"))
        .expect("top up");
    admin.credits().adjust(alice, -3, None).expect("take");
    let entries = ledger(&engine, alice);
    assert_eq!(entries.len(), 4);
    assert_eq!(entries[2].reason.as_deref(), Some("welcome bonus"));
    assert_eq!(entries[2].movement, Movement::TopUp);
    assert_eq!(entries[3].movement, Movement::Adjustment);
    let log = engine
        .audit()
        .page(&AuditFilter::default(), 0, 1000)
        .expect("audit");
    for entry in &entries {
        let audited = log
            .entries
            .iter()
            .find(|a| a.seq == entry.seq)
            .expect("an audit entry per movement");
        assert_eq!(audited.hash, entry.tx_hash);
        assert_eq!(audited.action.as_str(), entry.movement.audit_name());
        assert_eq!(
            audited.target,
            AuditTarget::Credits {
                account: alice,
                amount: entry.amount,
                balance: entry.balance,
            }
        );
    }
    assert!(engine.audit().verify(None).expect("verify").is_ok());
}

#[test]
fn a_charge_the_balance_cannot_cover_leaves_nothing_behind() {
    let mut config = CreditsConfig::enabled();
    config.initial = 12;
    let (_dir, engine) = metered(config);
    let alice = user(&engine, "alice");
    share(&engine, alice).expect("first share");
    share(&engine, alice).expect("second share");
    let before = ledger(&engine, alice);
    assert!(matches!(
        share(&engine, alice),
        Err(ShareError::Credits(InsufficientCredits {
            balance: 2,
            cost: 5
        }))
    ));
    assert_eq!(engine.shares().list(alice).expect("shares").len(), 2);
    assert_eq!(ledger(&engine, alice), before);

    // An upload is refused before it starts, and nothing of it is kept.
    let label = FileLabel::new("a.txt", None);
    let refused = engine.files().begin(alice, alice, label, None);
    assert!(matches!(
        refused,
        Err(RecordError::Credits(InsufficientCredits {
            balance: 2,
            cost: 10
        }))
    ));
    assert!(
        engine
            .files()
            .list(alice, None, 10)
            .expect("files")
            .files
            .is_empty()
    );
    assert_adds_up(&engine, alice);
    let report = engine.maintenance().check_integrity_deep().expect("check");
    assert!(report.is_sound(), "{:?}", report.problems);
}

#[test]
fn an_upload_whose_balance_went_elsewhere_meanwhile_is_refused_at_finish() {
    let mut config = CreditsConfig::enabled();
    config.initial = 14;
    let (_dir, engine) = metered(config);
    let alice = user(&engine, "alice");
    let mut upload = engine
        .files()
        .begin(alice, alice, FileLabel::new("a.bin", None), None)
        .expect("affordable at the start");
    upload.write(&[7; 1000]).expect("write");
    share(&engine, alice).expect("spends 5 meanwhile");
    let aborter = upload.aborter();
    assert!(matches!(
        upload.finish(),
        Err(RecordError::Credits(InsufficientCredits {
            balance: 9,
            cost: 10
        }))
    ));
    aborter.abort().expect("abort");
    assert!(
        engine
            .files()
            .list(alice, None, 10)
            .expect("files")
            .files
            .is_empty()
    );
    assert_eq!(balance(&engine, alice), 9);
    let report = engine.maintenance().check_integrity_deep().expect("check");
    assert!(report.is_sound(), "{:?}", report.problems);
}

#[test]
fn sixty_four_concurrent_writers_against_fifty_credits_store_exactly_fifty() {
    let mut config = CreditsConfig::enabled();
    config.prices.set(Chargeable::Store, 1);
    let (_dir, engine) = metered(config);
    let alice = user(&engine, "alice");
    let outcomes: Vec<Result<(), RecordError>> = together(64, |i| {
        let text = format!("message {i}");
        engine.records().put(alice, text.as_bytes(), None).map(drop)
    });
    let stored = outcomes.iter().filter(|r| r.is_ok()).count();
    assert_eq!(stored, 50);
    for refused in outcomes.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            matches!(
                refused,
                RecordError::Credits(InsufficientCredits {
                    balance: 0,
                    cost: 1
                })
            ),
            "{refused:?}"
        );
    }
    assert_eq!(balance(&engine, alice), 0);
    let listed = engine.records().list(alice, None, 100).expect("list");
    assert_eq!(listed.records.len(), 50);
    assert_adds_up(&engine, alice);
}

#[test]
fn crossing_the_low_threshold_tells_the_stream_once_per_crossing() {
    let mut config = CreditsConfig::enabled();
    config.initial = 20;
    config.low = 12;
    let (_dir, engine) = metered(config);
    let alice = user(&engine, "alice");
    let notices = |engine: &Engine| -> Vec<u64> {
        let events = engine
            .events()
            .after(alice, StreamCursor::start(), 100)
            .expect("replay");
        events
            .iter()
            .filter(|e| e.kind() == EventKind::Credits)
            .map(|e| e.credits().expect("a credits notice").balance)
            .collect()
    };
    share(&engine, alice).expect("20 → 15");
    assert!(notices(&engine).is_empty());
    share(&engine, alice).expect("15 → 10: crosses");
    share(&engine, alice).expect("10 → 5: still low");
    assert_eq!(notices(&engine), [10]);
    engine
        .credits()
        .adjust(alice, 30, None)
        .expect("35: lifted");
    share(&engine, alice).expect("35 → 30");
    share(&engine, alice).expect("30 → 25");
    share(&engine, alice).expect("25 → 20");
    share(&engine, alice).expect("20 → 15");
    share(&engine, alice).expect("15 → 10: crosses again");
    assert_eq!(notices(&engine), [10, 10]);
    // Notices are never listed as messages.
    assert!(
        engine
            .records()
            .list(alice, None, 10)
            .expect("list")
            .records
            .is_empty()
    );
}

#[test]
fn accounts_made_before_metering_get_their_credits_once_when_it_starts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db.redb");
    let clock = common::start();
    let alice = {
        let engine = common::open_with(common::builder(&clock), &path).expect("open");
        let alice = user(&engine, "alice");
        let status = engine.credits().status(alice).expect("status");
        assert!(!status.enabled);
        // What each action costs now: nothing, whatever prices are set.
        assert!(status.prices.iter().all(|(_, price)| price == 0));
        share(&engine, alice).expect("free while metering is off");
        alice
    };
    for _ in 0..2 {
        let mut builder = common::builder(&clock);
        builder.credits(CreditsConfig::enabled());
        let engine = common::open_with(builder, &path).expect("reopen");
        assert_eq!(ledger(&engine, alice).len(), 1, "granted once");
        assert_eq!(balance(&engine, alice), 50);
    }
}

#[test]
fn purchases_count_once_per_event_and_adjustments_never_go_below_zero() {
    let (_dir, engine) = metered(CreditsConfig::enabled());
    let alice = user(&engine, "alice");
    let credits = engine.credits();
    let bought = credits.purchase(alice, 100, "evt_1").expect("purchase");
    assert_eq!(bought.map(|e| e.balance), Some(150));
    assert_eq!(credits.purchase(alice, 100, "evt_1").expect("replay"), None);
    assert_eq!(balance(&engine, alice), 150);
    assert!(matches!(
        credits.adjust(alice, -151, None),
        Err(CreditsError::Insufficient(InsufficientCredits {
            balance: 150,
            cost: 151
        }))
    ));
    assert!(matches!(
        credits.adjust(alice, 0, None),
        Err(CreditsError::InvalidAmount)
    ));
    assert!(matches!(
        credits.adjust(UserId::from_u128(7), 5, None),
        Err(CreditsError::UnknownUser)
    ));
    credits
        .adjust(alice, -150, Some("refund"))
        .expect("to zero");
    assert_eq!(balance(&engine, alice), 0);
    assert_adds_up(&engine, alice);

    engine.admin().delete_user(alice).expect("delete");
    assert_eq!(ledger(&engine, alice).len(), 3, "the ledger outlives it");
}

#[test]
fn metering_off_charges_nothing_and_refuses_adjustments() {
    let (_dir, _clock, engine) = common::engine();
    let alice = user(&engine, "alice");
    for _ in 0..20 {
        share(&engine, alice).expect("free");
    }
    assert_eq!(balance(&engine, alice), 0);
    assert!(ledger(&engine, alice).is_empty());
    assert!(matches!(
        engine.credits().adjust(alice, 5, None),
        Err(CreditsError::Disabled)
    ));
}

#[derive(Clone, Debug)]
enum Op {
    Charge(usize),
    Adjust(i64),
    Buy(u64, u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..Chargeable::ALL.len()).prop_map(Op::Charge),
        2 => (-40i64..40).prop_filter("non-zero", |a| *a != 0).prop_map(Op::Adjust),
        1 => (1u64..30, 0u8..4).prop_map(|(n, e)| Op::Buy(n, e)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Two threads move credits of two accounts in random orders (so
    /// commits interleave at random): every refusal leaves the ledger as
    /// it was, and each account's ledger always sums to its balance,
    /// step by step, never below zero.
    #[test]
    fn the_ledger_always_sums_to_the_balance_and_never_goes_negative(
        ops in proptest::collection::vec((0usize..2, op()), 1..40),
        prices in proptest::collection::vec(0u64..12, 7),
        initial in 0u64..40,
    ) {
        let mut config = CreditsConfig::enabled();
        config.initial = initial;
        for (action, price) in Chargeable::ALL.into_iter().zip(&prices) {
            config.prices.set(action, *price);
        }
        let engine = Engine::builder(MasterKey::generate().0)
            .credits(config)
            .open_in_memory()
            .expect("engine");
        let password = SecretString::from("correct horse battery");
        let accounts = [
            engine.accounts().create("alice", &password).expect("alice").id,
            engine.accounts().create("bob", &password).expect("bob").id,
        ];
        let halves: Vec<Vec<(usize, Op)>> = (0..2)
            .map(|half| ops.iter().skip(half).step_by(2).cloned().collect())
            .collect();
        let threads: Vec<_> = halves
            .into_iter()
            .map(|ops| {
                let engine = engine.clone();
                thread::spawn(move || {
                    for (who, op) in ops {
                        let account = accounts[who];
                        let credits = engine.credits();
                        let _ = match op {
                            Op::Charge(i) => credits.charge(account, Chargeable::ALL[i]).map(drop),
                            Op::Adjust(n) => credits.adjust(account, n, None).map(drop),
                            Op::Buy(n, e) => credits.purchase(account, n, &format!("evt_{e}")).map(drop),
                        };
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        for account in accounts {
            assert_adds_up(&engine, account);
        }
        prop_assert!(engine.audit().verify(None).expect("verify").is_ok());
    }
}

/// Two engines on one PostgreSQL database — two server instances — spend
/// one account's 50 credits from 64 threads at once: exactly 50 charges
/// land, and the balance ends at zero.
#[test]
fn two_postgres_instances_spending_at_once_end_with_exactly_the_right_balance() {
    use strongroom_testkit::postgres::PgCluster;
    // Without PostgreSQL, the start says loudly that this test is skipped.
    let Some(cluster) = PgCluster::start("credits on two PostgreSQL instances") else {
        return;
    };
    let url = cluster.database("credits");
    let clock = common::start();
    let open = || {
        let mut builder = common::builder(&clock);
        let mut config = CreditsConfig::enabled();
        config.prices.set(Chargeable::ServiceCall, 1);
        builder.credits(config);
        builder.open_postgres(&url, 8).expect("instance")
    };
    let (a, b) = (open(), open());
    let alice = user(&a, "alice");
    let paid: usize = together(64, |i| {
        let engine = if i % 2 == 0 { &a } else { &b };
        match engine.credits().charge(alice, Chargeable::ServiceCall) {
            Ok(Some(_)) => 1,
            Err(CreditsError::Insufficient(InsufficientCredits { cost: 1, .. })) => 0,
            other => panic!("unexpected {other:?}"),
        }
    })
    .into_iter()
    .sum();
    assert_eq!(paid, 50);
    assert_eq!(balance(&a, alice), 0);
    assert_eq!(balance(&b, alice), 0);
    assert_adds_up(&b, alice);
    assert!(a.audit().verify(None).expect("verify").is_ok());
}

/// Behind the engine's back: a balance raised, a ledger amount changed.
/// The integrity check (`strongroom verify`) finds both.
#[test]
fn an_edited_balance_or_ledger_entry_is_found_by_the_integrity_check() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db.redb");
    let clock = common::start();
    let open = || {
        let mut builder = common::builder(&clock);
        builder.credits(CreditsConfig::enabled());
        common::open_with(builder, &path).expect("open")
    };
    {
        let engine = open();
        let alice = user(&engine, "alice");
        share(&engine, alice).expect("share");
        let report = engine.maintenance().check_integrity().expect("check");
        assert!(report.is_sound(), "{:?}", report.problems);
    }
    let (key, mut row) = common::raw_rows(&path, "credits")
        .into_iter()
        .next()
        .expect("a balance");
    row[..8].copy_from_slice(&1000u64.to_be_bytes());
    common::raw_insert(&path, "credits", &key, &row);
    let check = |engine: &Engine| {
        engine
            .maintenance()
            .check_integrity()
            .expect("check")
            .problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    };
    let problems = check(&open());
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("balance of 1000 credits but a ledger summing to 45"));

    row[..8].copy_from_slice(&45u64.to_be_bytes());
    common::raw_insert(&path, "credits", &key, &row);
    let (seq, mut entry) = common::raw_rows(&path, "ledger")
        .into_iter()
        .last()
        .expect("the charge");
    let name = u32::from_be_bytes(entry[16..20].try_into().expect("len")) as usize;
    let at = 20 + name;
    entry[at..at + 8].copy_from_slice(&(-1i64).to_be_bytes());
    common::raw_insert(&path, "ledger", &seq, &entry);
    let problems = check(&open());
    assert!(
        problems
            .iter()
            .any(|p| p.contains("is not what audit entry")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("ledger summing to 49")),
        "{problems:?}"
    );
}

/// A request past its credential check when its account is deleted (or
/// an embedder holding a stale id) must not bring the account's credits
/// back: no charge, no share, nothing written for an account that is gone,
/// and the store still checks sound.
#[test]
fn nothing_is_charged_or_shared_for_a_deleted_account() {
    let (_dir, engine) = metered(CreditsConfig::enabled());
    let alice = user(&engine, "alice");
    share(&engine, alice).expect("a share while the account is there");
    engine.admin().delete_user(alice).expect("delete");
    assert!(matches!(
        engine.credits().charge(alice, Chargeable::ServiceCall),
        Err(CreditsError::UnknownUser)
    ));
    assert!(matches!(
        share(&engine, alice),
        Err(ShareError::UnknownUser)
    ));
    assert!(engine.shares().list(alice).expect("list").is_empty());
    let report = engine.maintenance().check_integrity().expect("check");
    assert!(report.is_sound(), "{:?}", report.problems);
    // Without credits, too: no share is kept for an account that is gone.
    let (_dir, engine) = metered(CreditsConfig::default());
    let bob = user(&engine, "bob");
    engine.admin().delete_user(bob).expect("delete");
    assert!(matches!(share(&engine, bob), Err(ShareError::UnknownUser)));
    assert!(engine.shares().list(bob).expect("list").is_empty());
    let report = engine.maintenance().check_integrity().expect("check");
    assert!(report.is_sound(), "{:?}", report.problems);
}

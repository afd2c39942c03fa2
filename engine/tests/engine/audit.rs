//! The audit log through the engine's API: actions write their entries in
//! their own transaction, entries never hold secrets or content, the chain
//! catches every kind of tampering, and pruning keeps it verifiable.

use crate::common;

use std::net::IpAddr;
use std::time::Duration;

use common::{PASSWORD, engine, password, user};
use std::path::Path;
use strongroom_engine::accounts::Quota;
use strongroom_engine::audit::{
    Actor, AuditAction, AuditFilter, AuditOutcome, AuditProblem, AuditTarget, Origin,
};
use strongroom_engine::{Clock, Engine, ManualClock, Role, Scope};

use strongroom_testkit::raw::{AuditTamper, tamper_audit};

fn actions(engine: &Engine) -> Vec<&'static str> {
    let page = engine
        .audit()
        .page(&AuditFilter::default(), 0, 1000)
        .expect("audit log");
    page.entries.iter().map(|e| e.action.as_str()).collect()
}

/// A store with one of most kinds of entry.
fn busy(engine: &Engine) -> (strongroom_engine::UserId, strongroom_engine::UserId) {
    let alice = user(engine, "alice");
    let bob = user(engine, "bob");
    let pair = engine
        .sessions()
        .login("alice", &password(PASSWORD))
        .expect("login");
    assert!(
        engine
            .sessions()
            .login("alice", &password("wrong password!"))
            .is_err()
    );
    let receipt = engine
        .records()
        .send(alice, bob, b"the secret plan", None)
        .expect("send");
    engine
        .records()
        .delete(bob, receipt.meta.id)
        .expect("delete");
    engine
        .sessions()
        .revoke(&pair.access_token)
        .expect("logout");
    engine.admin().set_role(bob, Role::Service).expect("role");
    (alice, bob)
}

#[test]
fn actions_are_recorded_in_order_with_actor_target_and_outcome() {
    let (_dir, _clock, engine) = engine();
    let (alice, bob) = busy(&engine);
    assert_eq!(
        actions(&engine),
        [
            "user.create",
            "user.create",
            "login",
            "login",
            "message.send",
            "message.delete",
            "logout",
            "user.role.service"
        ]
    );
    let log = engine
        .audit()
        .page(&AuditFilter::default(), 0, 100)
        .expect("log")
        .entries;
    assert_eq!(log[2].actor, Actor::User(alice));
    assert_eq!(log[3].outcome, AuditOutcome::Denied);
    assert_eq!(log[3].target, AuditTarget::User(alice));
    assert_eq!(log[4].actor, Actor::User(alice));
    assert!(matches!(log[4].target, AuditTarget::Message { owner, .. } if owner == bob));
    assert_eq!(log[7].actor, Actor::Operator);
    for (i, entry) in log.iter().enumerate() {
        assert_eq!(entry.seq, i as u64 + 1);
        if i > 0 {
            assert_eq!(entry.prev_hash, log[i - 1].hash);
        }
    }
    // Filters: by actor, by action, by time.
    let by_alice = AuditFilter {
        actor: Some(alice),
        ..AuditFilter::default()
    };
    let page = engine.audit().page(&by_alice, 0, 100).expect("log");
    assert_eq!(page.entries.len(), 3);
    let logins = AuditFilter {
        action: Some(AuditAction::Login),
        ..AuditFilter::default()
    };
    let first = engine.audit().page(&logins, 0, 1).expect("log");
    assert_eq!(first.entries.len(), 1);
    let rest = engine
        .audit()
        .page(&logins, first.next.expect("more"), 10)
        .expect("log");
    assert_eq!((rest.entries.len(), rest.next), (1, None));
    assert!(engine.audit().verify(None).expect("verify").is_ok());
}

#[test]
fn an_origin_names_the_actor_and_address() {
    let (_dir, _clock, engine) = engine();
    let alice = user(&engine, "alice");
    let admin = user(&engine, "root");
    let address: IpAddr = "203.0.113.9".parse().expect("ip");
    let key = strongroom_engine::SessionId::from_u128(7);
    let acting = engine.acting(Origin {
        actor: Some(Actor::ApiKey { owner: admin, key }),
        address: Some(address),
    });
    acting.admin().set_disabled(alice, true).expect("disable");
    let registering = engine.acting(Origin {
        actor: Some(Actor::Anonymous),
        address: Some(address),
    });
    let carol = registering
        .accounts()
        .create("carol", &password(PASSWORD))
        .expect("register");
    let log = engine
        .audit()
        .page(&AuditFilter::default(), 2, 10)
        .expect("log")
        .entries;
    assert_eq!(log[0].action, AuditAction::DisableUser);
    assert_eq!(log[0].actor, Actor::ApiKey { owner: admin, key });
    assert_eq!(log[0].address, Some(address));
    assert_eq!(log[1].action, AuditAction::Register);
    assert_eq!(log[1].actor, Actor::User(carol.id));
}

#[test]
fn refused_writes_leave_no_entry_and_operator_actions_are_recorded() {
    let (dir, _clock, engine) = engine();
    let alice = user(&engine, "alice");
    let ghost = strongroom_engine::UserId::from_u128(42);
    assert!(engine.records().send(alice, ghost, b"x", None).is_err());
    let tight = Quota {
        max_bytes: 1 << 20,
        max_records: 1,
        writes_per_minute: 60,
    };
    engine.admin().set_quota(alice, Some(tight)).expect("quota");
    engine.records().put(alice, b"one", None).expect("fits");
    assert!(engine.records().put(alice, b"two", None).is_err());
    engine
        .maintenance()
        .backup_to(&dir.path().join("backup.redb"))
        .expect("backup");
    assert_eq!(
        actions(&engine),
        ["user.create", "quota.set", "message.send", "backup"]
    );
}

#[test]
fn entries_never_hold_passwords_tokens_keys_or_content() {
    let (dir, _clock, engine) = engine();
    let (alice, _) = busy(&engine);
    let pair = engine
        .sessions()
        .login("alice", &password(PASSWORD))
        .expect("login");
    let refreshed = engine
        .sessions()
        .refresh(&pair.refresh_token)
        .expect("refresh");
    assert!(engine.sessions().refresh(&pair.refresh_token).is_err()); // reuse
    let scopes = [Scope::MessagesRead].into_iter().collect();
    let key = engine
        .api_keys()
        .create(alice, "reader", scopes, None)
        .expect("key");
    engine
        .api_keys()
        .revoke(alice, key.info.id)
        .expect("revoke");
    assert!(actions(&engine).contains(&"refresh.reuse"));
    drop(engine);

    let mut stored = Vec::new();
    for (_, value) in common::raw_rows(&dir.path().join("db.redb"), "audit") {
        stored.extend_from_slice(&value);
    }
    assert!(stored.len() > 500, "the log holds entries");
    let secrets: [&[u8]; 7] = [
        PASSWORD.as_bytes(),
        b"wrong password!",
        b"the secret plan",
        b"alice",
        pair.access_token.expose_secret().as_bytes(),
        refreshed.refresh_token.expose_secret().as_bytes(),
        key.secret.expose_secret().as_bytes(),
    ];
    for secret in secrets {
        assert!(
            !stored.windows(secret.len()).any(|w| w == secret),
            "the audit log holds a secret or content"
        );
    }
}

/// Changes the stored audit log behind the engine's back, as someone who
/// can write the database would: the engine is closed (redb locks its
/// file), the table edited, and the store reopened.
fn tamper(engine: Engine, dir: &Path, clock: &ManualClock, how: AuditTamper) -> Engine {
    drop(engine);
    let path = dir.join("db.redb");
    tamper_audit(&strongroom_testkit::store::raw(&path), how);
    common::open(&path, clock)
}

fn tampered(how: AuditTamper, checkpoint_first: bool) -> Vec<AuditProblem> {
    let (dir, clock, engine) = engine();
    busy(&engine);
    let checkpoint = engine.audit().checkpoint().expect("checkpoint");
    assert!(checkpoint.signature_valid());
    assert_eq!(checkpoint.public_key, engine.audit().public_key());
    assert!(
        engine
            .audit()
            .verify(Some(&checkpoint))
            .expect("verify")
            .is_ok()
    );
    let engine = tamper(engine, dir.path(), &clock, how);
    let used = checkpoint_first.then_some(&checkpoint);
    engine.audit().verify(used).expect("verify").problems
}

#[test]
fn a_modified_entry_is_detected() {
    let problems = tampered(AuditTamper::Modify(4), false);
    assert_eq!(problems, [AuditProblem::Modified { seq: 4 }]);
}

#[test]
fn a_deleted_entry_is_detected() {
    let problems = tampered(AuditTamper::Delete(3), false);
    assert_eq!(problems, [AuditProblem::BrokenLink { seq: 4 }]);
}

#[test]
fn reordered_entries_are_detected() {
    let problems = tampered(AuditTamper::Swap(2, 5), false);
    assert!(problems.contains(&AuditProblem::BrokenLink { seq: 2 }));
    assert!(problems.contains(&AuditProblem::BrokenLink { seq: 5 }));
}

#[test]
fn a_truncated_log_is_detected_against_a_checkpoint() {
    // A truncated tail leaves a chain that is internally sound: only a
    // checkpoint kept elsewhere shows the loss.
    assert!(tampered(AuditTamper::Truncate(6), false).is_empty());
    let problems = tampered(AuditTamper::Truncate(6), true);
    assert_eq!(
        problems,
        [AuditProblem::Truncated {
            checkpoint: 8,
            head: 5
        }]
    );
}

#[test]
fn a_forged_or_foreign_checkpoint_is_refused() {
    let (_dir, _clock, engine) = engine();
    busy(&engine);
    let mut checkpoint = engine.audit().checkpoint().expect("checkpoint");
    checkpoint.seq -= 1;
    let report = engine.audit().verify(Some(&checkpoint)).expect("verify");
    assert_eq!(report.problems, [AuditProblem::BadCheckpoint]);
    let (_dir2, _clock2, other) = common::engine();
    busy(&other);
    let foreign = other.audit().checkpoint().expect("checkpoint");
    let report = engine.audit().verify(Some(&foreign)).expect("verify");
    assert_eq!(report.problems, [AuditProblem::BadCheckpoint]);
}

#[test]
fn pruning_keeps_a_signed_anchor_and_the_rest_verifies() {
    let (dir, clock, engine) = engine();
    busy(&engine);
    let old_checkpoint = engine.audit().checkpoint().expect("checkpoint");
    clock.advance(Duration::from_secs(400 * 24 * 3600));
    let alice = engine
        .accounts()
        .find("alice")
        .expect("lookup")
        .expect("alice");
    engine.records().put(alice, b"recent", None).expect("put");
    assert_eq!(engine.audit().prune(clock.now(), 1000).expect("prune"), 8);
    let report = engine
        .audit()
        .verify(Some(&old_checkpoint))
        .expect("verify");
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!((report.pruned_through, report.entries), (8, 1));
    assert_eq!(actions(&engine), ["message.send"]);
    // The anchor is signed: forging the entry after it is still caught.
    let engine = tamper(engine, dir.path(), &clock, AuditTamper::Modify(9));
    let report = engine.audit().verify(None).expect("verify");
    assert_eq!(report.problems, [AuditProblem::Modified { seq: 9 }]);
}

#[test]
fn a_retention_too_long_to_count_in_milliseconds_prunes_nothing() {
    // 2^61 s and two days: its milliseconds overflow 64 bits, and cut to
    // 64 bits they are the two days.
    let retention = Duration::from_secs((1 << 61) + 2 * 24 * 3600);
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = common::start();
    let mut builder = common::builder(&clock);
    builder.audit_retention(retention);
    let engine = common::open_with(builder, &dir.path().join("db.redb")).expect("open");
    busy(&engine);
    let before = actions(&engine);
    clock.advance(Duration::from_secs(3 * 24 * 3600));
    assert_eq!(engine.audit().prune(clock.now(), 1000).expect("prune"), 0);
    assert_eq!(actions(&engine), before);
}

#[test]
fn an_edit_rechained_without_the_key_is_detected() {
    // Plain SHA-256 links would verify again after this; keyed ones do not.
    let problems = tampered(AuditTamper::ModifyAndRechain(4), false);
    assert!(
        problems.contains(&AuditProblem::Modified { seq: 4 }),
        "{problems:?}"
    );
}

#[test]
fn a_denied_request_is_recorded_with_its_actor() {
    let (_dir, _clock, engine) = engine();
    let alice = user(&engine, "alice");
    let address: IpAddr = "198.51.100.7".parse().expect("ip");
    engine
        .acting(Origin {
            actor: Some(Actor::User(alice)),
            address: Some(address),
        })
        .audit()
        .record_denied(AuditAction::AdminRequest, AuditTarget::None)
        .expect("recorded");
    let log = engine
        .audit()
        .page(&AuditFilter::default(), 0, 10)
        .expect("log")
        .entries;
    let last = log.last().expect("entry");
    assert_eq!(last.action, AuditAction::AdminRequest);
    assert_eq!(last.action.as_str(), "admin.request");
    assert_eq!(last.outcome, AuditOutcome::Denied);
    assert_eq!(last.actor, Actor::User(alice));
    assert_eq!(last.address, Some(address));
}

//! API keys and quotas through the engine's API.

use crate::common;

use std::time::Duration;

use common::{PASSWORD, engine, password, user};
use strongroom_engine::accounts::{Quota, Usage};
use strongroom_engine::sessions::BearerToken;
use strongroom_engine::sessions::Credential;
use strongroom_engine::{ApiKeyError, AuthError, Clock, RecordError, Role, Scope, Scopes};

fn scopes(list: &[Scope]) -> Scopes {
    list.iter().copied().collect()
}

#[test]
fn a_key_authenticates_with_its_scopes_within_the_role() {
    let (_dir, _clock, engine) = engine();
    let svc = engine
        .accounts()
        .create_with_role("svc", &password(PASSWORD), Role::Service)
        .expect("service")
        .id;
    let wanted = scopes(&[Scope::MessagesRead, Scope::Broadcast]);
    let key = engine
        .api_keys()
        .create(svc, "announcer", wanted, None)
        .expect("key");
    let session = engine
        .sessions()
        .authenticate(&key.secret)
        .expect("authenticates");
    assert_eq!(
        (session.user, session.id, session.credential),
        (svc, key.info.id, Credential::ApiKey)
    );
    assert_eq!(session.scopes, wanted);
    // A role change narrows what the key may do at once.
    engine.admin().set_role(svc, Role::User).expect("role");
    let session = engine
        .sessions()
        .authenticate(&key.secret)
        .expect("authenticates");
    assert_eq!(session.scopes, scopes(&[Scope::MessagesRead]));
    // Disabling the owner stops the key.
    engine.admin().set_disabled(svc, true).expect("disable");
    assert!(matches!(
        engine.sessions().authenticate(&key.secret),
        Err(AuthError::Disabled)
    ));
}

#[test]
fn a_key_cannot_exceed_its_owners_role_and_names_are_checked() {
    let (_dir, _clock, engine) = engine();
    let alice = user(&engine, "alice");
    let err = engine
        .api_keys()
        .create(alice, "k", scopes(&[Scope::Broadcast]), None)
        .expect_err("beyond the role");
    assert!(matches!(err, ApiKeyError::ExceedsRole(Scope::Broadcast)));
    let err = engine
        .api_keys()
        .create(alice, "k", Scopes::NONE, None)
        .expect_err("no scope");
    assert!(matches!(err, ApiKeyError::NoScopes));
    let err = engine
        .api_keys()
        .create(alice, "bad\u{7}name", scopes(&[Scope::MessagesRead]), None)
        .expect_err("control character");
    assert!(matches!(err, ApiKeyError::InvalidName));
    let err = engine
        .api_keys()
        .create(
            alice,
            "k",
            scopes(&[Scope::MessagesRead]),
            Some(Duration::from_secs(10)),
        )
        .expect_err("too short");
    assert!(matches!(err, ApiKeyError::InvalidExpiry));
}

#[test]
fn keys_are_listed_without_secrets_revoked_and_expire() {
    let (_dir, clock, engine) = engine();
    let alice = user(&engine, "alice");
    let read = scopes(&[Scope::MessagesRead]);
    let forever = engine
        .api_keys()
        .create(alice, "forever", read, None)
        .expect("key");
    clock.advance(Duration::from_millis(1));
    let hour = Some(Duration::from_secs(3600));
    let brief = engine
        .api_keys()
        .create(alice, "brief", read, hour)
        .expect("key");
    engine
        .sessions()
        .authenticate(&forever.secret)
        .expect("used");
    let listed = engine.api_keys().list(alice).expect("list");
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].name, "forever");
    assert_eq!(listed[0].expires_at, None);
    assert!(listed[0].last_used.is_some());
    assert_eq!(listed[1].last_used, None);
    assert!(!format!("{listed:?}").contains(forever.secret.expose_secret()));
    // Last use survives being written down.
    assert_eq!(engine.api_keys().flush_usage().expect("flush"), 1);
    assert!(
        engine.api_keys().list(alice).expect("list")[0]
            .last_used
            .is_some()
    );

    clock.advance(Duration::from_secs(3600));
    assert!(engine.sessions().authenticate(&brief.secret).is_err());
    assert_eq!(engine.api_keys().list(alice).expect("list").len(), 1);

    engine
        .api_keys()
        .revoke(alice, forever.info.id)
        .expect("revoke");
    assert!(engine.sessions().authenticate(&forever.secret).is_err());
    assert!(matches!(
        engine.api_keys().revoke(alice, forever.info.id),
        Err(ApiKeyError::NotFound)
    ));
    // Someone else's key id is not found either.
    let bob = user(&engine, "bob");
    let bobs = engine.api_keys().create(bob, "b", read, None).expect("key");
    assert!(engine.api_keys().revoke(alice, bobs.info.id).is_err());
    // Ending every session of a user ends their keys too.
    engine.admin().end_sessions(bob).expect("end");
    assert!(engine.sessions().authenticate(&bobs.secret).is_err());
    assert!(engine.api_keys().list(bob).expect("list").is_empty());
}

#[test]
fn a_mistyped_key_is_refused_without_a_lookup() {
    let (_dir, _clock, engine) = engine();
    let alice = user(&engine, "alice");
    let key = engine
        .api_keys()
        .create(alice, "k", scopes(&[Scope::MessagesRead]), None)
        .expect("key");
    let text = key.secret.expose_secret();
    let mut typo = text.to_owned();
    let last = typo.pop().expect("char");
    typo.push(if last == '0' { '1' } else { '0' });
    assert!(
        engine
            .sessions()
            .authenticate(&BearerToken::from(typo))
            .is_err()
    );
}

#[test]
fn quotas_count_sent_messages_and_refuse_past_the_limit() {
    let (_dir, clock, engine) = engine();
    let alice = user(&engine, "alice");
    let bob = user(&engine, "bob");
    let quota = Quota {
        max_bytes: 200,
        max_records: 3,
        writes_per_minute: 60,
    };
    engine.admin().set_quota(alice, Some(quota)).expect("quota");
    let first = engine
        .records()
        .send(alice, bob, &[0; 50], Some(Duration::from_secs(60)))
        .expect("fits");
    engine
        .records()
        .send(alice, bob, &[0; 50], None)
        .expect("fits");
    let status = engine.accounts().quota(alice).expect("status");
    assert!(status.custom);
    assert_eq!(
        status.usage,
        Usage {
            bytes: 2 * (50 + 33),
            records: 2
        }
    );
    // Bytes: 166 + 83 > 200.
    let err = engine
        .records()
        .send(alice, bob, &[0; 50], None)
        .expect_err("over");
    assert!(matches!(
        err,
        RecordError::QuotaExceeded {
            what: "bytes",
            used: 166,
            limit: 200
        }
    ));
    // The recipient deleting a message refunds its sender.
    engine.records().delete(bob, first.meta.id).expect("delete");
    assert_eq!(
        engine
            .accounts()
            .quota(alice)
            .expect("status")
            .usage
            .records,
        1
    );
    // So does expiry, once purged.
    engine
        .records()
        .send(alice, bob, &[0; 10], Some(Duration::from_secs(1)))
        .expect("fits");
    clock.advance(Duration::from_secs(2));
    engine
        .records()
        .purge_expired(clock.now(), 100)
        .expect("purge");
    assert_eq!(
        engine
            .accounts()
            .quota(alice)
            .expect("status")
            .usage
            .records,
        1
    );
    // Back to the defaults: none on this engine, so unlimited.
    let status = engine.admin().set_quota(alice, None).expect("clear");
    assert!(!status.custom);
    assert_eq!(status.quota.max_records, u64::MAX);
    // Bob's storage is not charged for what he received.
    assert_eq!(
        engine.accounts().quota(bob).expect("status").usage,
        Usage::default()
    );
}

#[test]
fn a_default_quota_applies_to_accounts_without_their_own() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = common::start();
    let engine = common::builder(&clock)
        .default_quota(Some(Quota {
            max_bytes: 1 << 20,
            max_records: 2,
            writes_per_minute: 600,
        }))
        .open(dir.path().join("db.redb"))
        .expect("open");
    let alice = user(&engine, "alice");
    let results = engine
        .records()
        .put_batch([(alice, &b"a"[..]), (alice, b"b"), (alice, b"c")], None)
        .expect("batch");
    assert!(results[0].is_ok() && results[1].is_ok());
    assert!(matches!(
        results[2],
        Err(RecordError::QuotaExceeded {
            what: "messages",
            used: 2,
            limit: 2
        })
    ));
    assert_eq!(
        engine
            .accounts()
            .quota(alice)
            .expect("status")
            .quota
            .max_records,
        2
    );
}

#[test]
fn the_integrity_check_recounts_usage() {
    let (dir, clock, engine) = engine();
    let alice = user(&engine, "alice");
    engine.records().put(alice, b"counted", None).expect("put");
    assert!(
        engine
            .maintenance()
            .check_integrity()
            .expect("check")
            .is_sound()
    );
    drop(engine);
    let path = dir.path().join("db.redb");
    let mut wrong = 999u64.to_be_bytes().to_vec();
    wrong.extend_from_slice(&1u64.to_be_bytes());
    common::raw_insert(&path, "usage", &alice.as_u128().to_be_bytes(), &wrong);
    let engine = common::open(&path, &clock);
    let report = engine.maintenance().check_integrity().expect("check");
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(
        report.problems[0]
            .to_string()
            .contains("usage says 1 messages / 999 bytes, the records 1 / 40"),
        "{}",
        report.problems[0]
    );
}

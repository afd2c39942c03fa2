//! Guards the event log: sequence numbers in commit order, replay after a
//! sequence number with per-user isolation, broadcasts in their own key
//! scope, listeners hearing commits and revocations, and stream tickets.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{open, password, start, user};
use strongroom_engine::{
    AuthError, BROADCAST_SCOPE, Clock, EventKind, Notice, RecordError, TICKET_TTL,
};

#[test]
fn replay_returns_own_messages_and_broadcasts_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = start();
    let engine = open(&dir.path().join("db.redb"), &clock);
    let (alice, bob) = (user(&engine, "alice"), user(&engine, "bob"));
    engine.put(alice, b"a1", None).expect("put");
    engine.put(bob, b"b1", None).expect("put");
    engine.broadcast(bob, b"all1", None).expect("broadcast");
    engine.send(bob, alice, b"a2", None).expect("send");
    engine
        .broadcast(alice, b"all2", Some(Duration::from_secs(1)))
        .expect("broadcast");

    let events = engine.events_after(alice, 0, 100).expect("replay");
    let seen: Vec<(u64, &[u8], EventKind)> = events
        .iter()
        .map(|e| (e.seq, e.plaintext.as_slice(), e.kind))
        .collect();
    assert_eq!(
        seen,
        [
            (1, &b"a1"[..], EventKind::Message),
            (3, b"all1", EventKind::Broadcast),
            (4, b"a2", EventKind::Message),
            (5, b"all2", EventKind::Broadcast),
        ]
    );
    assert_eq!(events[1].meta.owner, BROADCAST_SCOPE);
    assert_eq!(events[1].meta.sender, bob);
    let after_three: Vec<u64> = engine
        .events_after(alice, 3, 100)
        .expect("replay")
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(after_three, [4, 5]);
    assert_eq!(engine.events_after(alice, 0, 2).expect("replay").len(), 2);
    clock.advance(Duration::from_secs(1));
    let after_expiry: Vec<u64> = engine
        .events_after(alice, 0, 100)
        .expect("replay")
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(after_expiry, [1, 3, 4], "expired broadcast is not replayed");
    // Broadcasts are not anyone's messages.
    assert!(
        engine
            .list(alice, None, 100)
            .expect("list")
            .records
            .iter()
            .all(|r| r.meta.owner == alice)
    );
    assert!(matches!(
        engine.send(alice, BROADCAST_SCOPE, b"x", None),
        Err(RecordError::UnknownUser)
    ));
    assert!(engine.check_integrity().expect("check").is_sound());
}

#[test]
fn deleted_and_purged_records_leave_the_event_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = start();
    let engine = open(&dir.path().join("db.redb"), &clock);
    let alice = user(&engine, "alice");
    let a = engine.put(alice, b"a", None).expect("put");
    engine
        .put(alice, b"b", Some(Duration::from_secs(1)))
        .expect("put");
    engine.delete(alice, a.meta.id).expect("delete");
    clock.advance(Duration::from_secs(1));
    assert_eq!(engine.purge_expired(clock.now(), 10).expect("purge"), 1);
    assert!(
        engine
            .events_after(alice, 0, 10)
            .expect("replay")
            .is_empty()
    );
    assert!(engine.check_integrity().expect("check").is_sound());
}

#[test]
fn listeners_hear_commits_in_order_and_revocations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = start();
    let engine = open(&dir.path().join("db.redb"), &clock);
    let heard = Arc::new(Mutex::new(Vec::new()));
    let sink = heard.clone();
    engine.add_listener(move |_, notice| {
        let line = match notice {
            Notice::Events(events) => events
                .iter()
                .map(|e| format!("event {} {:?}", e.seq, e.kind))
                .collect(),
            Notice::SessionEnded(_) => "session ended".to_owned(),
            Notice::UserDeleted(_) => "user deleted".to_owned(),
            _ => "other".to_owned(),
        };
        sink.lock().expect("lock").push(line);
    });
    let alice = user(&engine, "alice");
    engine.put(alice, b"x", None).expect("put");
    engine.broadcast(alice, b"y", None).expect("broadcast");
    let pair = engine
        .login("alice", &password("correct horse battery"))
        .expect("login");
    engine.revoke(&pair.access_token).expect("revoke");
    let reuse = engine
        .login("alice", &password("correct horse battery"))
        .expect("login");
    engine.refresh(&reuse.refresh_token).expect("refresh");
    assert!(engine.refresh(&reuse.refresh_token).is_err());
    engine.delete_user(alice).expect("delete");
    assert_eq!(
        *heard.lock().expect("lock"),
        [
            "event 1 Message",
            "event 2 Broadcast",
            "session ended",
            "session ended",
            "user deleted"
        ]
    );
}

#[test]
fn tickets_are_single_use_and_expire_after_30_seconds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = start();
    let engine = open(&dir.path().join("db.redb"), &clock);
    user(&engine, "alice");
    let pair = engine
        .login("alice", &password("correct horse battery"))
        .expect("login");
    let (ticket, ttl) = engine.issue_ticket(pair.session).expect("ticket");
    assert_eq!(ttl, TICKET_TTL);
    assert!(
        engine.authenticate(&ticket).is_err(),
        "a ticket is not an access token"
    );
    assert_eq!(
        engine.redeem_ticket(&ticket).expect("first use"),
        pair.session
    );
    assert!(matches!(
        engine.redeem_ticket(&ticket),
        Err(AuthError::InvalidToken)
    ));
    assert!(
        engine.redeem_ticket(&pair.access_token).is_err(),
        "an access token is not a ticket"
    );

    let (late, _) = engine.issue_ticket(pair.session).expect("ticket");
    clock.advance(TICKET_TTL);
    assert!(matches!(
        engine.redeem_ticket(&late),
        Err(AuthError::InvalidToken)
    ));

    let (voided, _) = engine.issue_ticket(pair.session).expect("ticket");
    engine.revoke(&pair.access_token).expect("logout");
    assert!(
        engine.redeem_ticket(&voided).is_err(),
        "logout voids unused tickets"
    );
    assert!(engine.check_integrity().expect("check").is_sound());
}

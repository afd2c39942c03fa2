//! Guards the event log: positions in commit order per log, replay after a
//! stream cursor with per-user isolation, broadcasts in their own key scope,
//! opaque event ids, listeners hearing commits and revocations, and stream
//! tickets.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{engine, password, user};
use strongroom_engine::events::{Event, EventKind, Notice, StreamCursor};
use strongroom_engine::sessions::TICKET_TTL;
use strongroom_engine::{AuthError, Clock, Engine, EventId, KeyScope, UserId};

fn texts(events: &[Event]) -> Vec<(&[u8], EventKind)> {
    events
        .iter()
        .map(|e| (e.plaintext.as_slice(), e.kind()))
        .collect()
}

/// Replays everything after `cursor`, advancing it.
fn drain(engine: &Engine, user: UserId, cursor: &mut StreamCursor) -> Vec<Event> {
    let events = engine.events().after(user, *cursor, 100).expect("replay");
    for e in &events {
        assert!(
            cursor.advance(e.position()),
            "replay returns only fresh events"
        );
    }
    events
}

#[test]
fn replay_returns_own_messages_and_broadcasts_in_order() {
    let (_dir, clock, engine) = engine();
    let (alice, bob) = (user(&engine, "alice"), user(&engine, "bob"));
    engine.records().put(alice, b"a1", None).expect("put");
    clock.advance(Duration::from_millis(1));
    engine.records().put(bob, b"b1", None).expect("put");
    clock.advance(Duration::from_millis(1));
    engine
        .events()
        .broadcast(bob, b"all1", None)
        .expect("broadcast");
    clock.advance(Duration::from_millis(1));
    engine
        .records()
        .send(bob, alice, b"a2", None)
        .expect("send");
    clock.advance(Duration::from_millis(1));
    engine
        .events()
        .broadcast(alice, b"all2", Some(Duration::from_secs(1)))
        .expect("broadcast");

    let mut cursor = StreamCursor::start();
    let events = drain(&engine, alice, &mut cursor);
    assert_eq!(
        texts(&events),
        [
            (&b"a1"[..], EventKind::Message),
            (b"all1", EventKind::Broadcast),
            (b"a2", EventKind::Message),
            (b"all2", EventKind::Broadcast),
        ]
    );
    assert_eq!(events[1].scope, KeyScope::Broadcast);
    assert_eq!(events[1].meta.sender, bob);
    assert_eq!(events[1].meta.sender_name.as_deref(), Some("bob"));
    assert_eq!(events[2].scope, KeyScope::User(alice));
    assert!(
        drain(&engine, alice, &mut cursor).is_empty(),
        "nothing after the end"
    );

    // Resuming after the second event replays the last two.
    let mut after_two = StreamCursor::start();
    for e in &events[..2] {
        after_two.advance(e.position());
    }
    assert_eq!(
        texts(
            &engine
                .events()
                .after(alice, after_two, 100)
                .expect("replay")
        ),
        [
            (&b"a2"[..], EventKind::Message),
            (b"all2", EventKind::Broadcast)
        ]
    );
    assert_eq!(
        engine
            .events()
            .after(alice, StreamCursor::start(), 2)
            .expect("replay")
            .len(),
        2
    );
    clock.advance(Duration::from_secs(1));
    let after_expiry = engine
        .events()
        .after(alice, StreamCursor::start(), 100)
        .expect("replay");
    assert_eq!(after_expiry.len(), 3, "expired broadcast is not replayed");
    // Bob sees his own and the broadcasts, never Alice's.
    let bobs = engine
        .events()
        .after(bob, StreamCursor::start(), 100)
        .expect("replay");
    assert_eq!(
        texts(&bobs),
        [
            (&b"b1"[..], EventKind::Message),
            (b"all1", EventKind::Broadcast)
        ]
    );
    // Broadcasts are not anyone's messages.
    assert_eq!(
        engine
            .records()
            .list(alice, None, 100)
            .expect("list")
            .records
            .len(),
        2
    );
    assert!(
        engine
            .maintenance()
            .check_integrity()
            .expect("check")
            .is_sound()
    );
}

#[test]
fn a_page_limit_never_skips_an_event() {
    let (_dir, clock, engine) = engine();
    let alice = user(&engine, "alice");
    let mut written = Vec::new();
    for i in 0..20u8 {
        clock.advance(Duration::from_millis(1));
        if i % 3 == 0 {
            engine
                .events()
                .broadcast(alice, &[i], None)
                .expect("broadcast");
        } else {
            engine.records().put(alice, &[i], None).expect("put");
        }
        written.push(i);
    }
    let mut cursor = StreamCursor::start();
    let mut seen = Vec::new();
    loop {
        let page = engine.events().after(alice, cursor, 3).expect("replay");
        if page.is_empty() {
            break;
        }
        for e in &page {
            assert!(cursor.advance(e.position()));
            seen.push(e.plaintext[0]);
        }
    }
    assert_eq!(seen, written);
}

#[test]
fn event_ids_round_trip_only_for_their_user() {
    let (_dir, _clock, engine) = engine();
    let (alice, bob) = (user(&engine, "alice"), user(&engine, "bob"));
    engine.records().put(alice, b"a", None).expect("put");
    engine
        .events()
        .broadcast(bob, b"all", None)
        .expect("broadcast");
    let mut cursor = StreamCursor::start();
    let mut ids = vec![engine.events().event_id(alice, cursor)];
    for e in drain(&engine, alice, &mut StreamCursor::start()) {
        cursor.advance(e.position());
        ids.push(engine.events().event_id(alice, cursor));
    }
    let text = ids[2].to_string();
    let parsed: EventId = text.parse().expect("parses");
    assert_eq!(engine.events().cursor(alice, parsed), Some(cursor));
    assert_eq!(
        engine.events().cursor(bob, parsed),
        None,
        "another user's id"
    );
    // Consecutive ids share no visible structure.
    assert_ne!(ids[0].to_string()[..8], ids[1].to_string()[..8]);
    let mut bytes = text.into_bytes();
    bytes[3] = if bytes[3] == b'A' { b'B' } else { b'A' };
    let tampered: EventId = String::from_utf8(bytes)
        .expect("ascii")
        .parse()
        .expect("parses");
    assert_eq!(engine.events().cursor(alice, tampered), None);
}

#[test]
fn deleted_and_purged_records_leave_the_event_log() {
    let (_dir, clock, engine) = engine();
    let alice = user(&engine, "alice");
    let a = engine.records().put(alice, b"a", None).expect("put");
    engine
        .records()
        .put(alice, b"b", Some(Duration::from_secs(1)))
        .expect("put");
    engine.records().delete(alice, a.meta.id).expect("delete");
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        engine
            .records()
            .purge_expired(clock.now(), 10)
            .expect("purge"),
        1
    );
    assert!(
        engine
            .events()
            .after(alice, StreamCursor::start(), 10)
            .expect("replay")
            .is_empty()
    );
    assert!(
        engine
            .maintenance()
            .check_integrity()
            .expect("check")
            .is_sound()
    );
}

#[test]
fn listeners_hear_commits_in_order_and_revocations() {
    let (_dir, _clock, engine) = engine();
    let heard = Arc::new(Mutex::new(Vec::new()));
    let sink = heard.clone();
    engine.events().add_listener(move |notice| {
        let line = match notice {
            Notice::Events(events) => events
                .iter()
                .map(|e| {
                    format!(
                        "event {:?} {}",
                        e.kind(),
                        e.meta.sender_name.as_deref().unwrap_or("?")
                    )
                })
                .collect(),
            Notice::SessionEnded(_) => "session ended".to_owned(),
            Notice::UserDeleted(_) => "user deleted".to_owned(),
            _ => "other".to_owned(),
        };
        sink.lock().expect("lock").push(line);
    });
    let alice = user(&engine, "alice");
    engine.records().put(alice, b"x", None).expect("put");
    engine
        .events()
        .broadcast(alice, b"y", None)
        .expect("broadcast");
    let pair = engine
        .sessions()
        .login("alice", &password("correct horse battery"))
        .expect("login");
    engine
        .sessions()
        .revoke(&pair.access_token)
        .expect("revoke");
    let reuse = engine
        .sessions()
        .login("alice", &password("correct horse battery"))
        .expect("login");
    engine
        .sessions()
        .refresh(&reuse.refresh_token)
        .expect("refresh");
    assert!(engine.sessions().refresh(&reuse.refresh_token).is_err());
    engine.admin().delete_user(alice).expect("delete");
    assert_eq!(
        *heard.lock().expect("lock"),
        [
            "event Message alice",
            "event Broadcast alice",
            "session ended",
            "session ended",
            "user deleted"
        ]
    );
}

#[test]
fn tickets_are_single_use_and_expire_after_30_seconds() {
    let (_dir, clock, engine) = engine();
    user(&engine, "alice");
    let pair = engine
        .sessions()
        .login("alice", &password("correct horse battery"))
        .expect("login");
    let issued = engine
        .sessions()
        .issue_ticket(pair.session)
        .expect("ticket");
    let ticket = issued.token;
    assert_eq!(issued.expires_in, TICKET_TTL);
    assert!(
        engine.sessions().authenticate(&ticket).is_err(),
        "a ticket is not an access token"
    );
    assert_eq!(
        engine.sessions().redeem_ticket(&ticket).expect("first use"),
        pair.session
    );
    assert!(matches!(
        engine.sessions().redeem_ticket(&ticket),
        Err(AuthError::InvalidToken)
    ));
    assert!(
        engine.sessions().redeem_ticket(&pair.access_token).is_err(),
        "an access token is not a ticket"
    );

    let late = engine
        .sessions()
        .issue_ticket(pair.session)
        .expect("ticket")
        .token;
    clock.advance(TICKET_TTL);
    assert!(matches!(
        engine.sessions().redeem_ticket(&late),
        Err(AuthError::InvalidToken)
    ));

    let voided = engine
        .sessions()
        .issue_ticket(pair.session)
        .expect("ticket")
        .token;
    engine
        .sessions()
        .revoke(&pair.access_token)
        .expect("logout");
    assert!(
        engine.sessions().redeem_ticket(&voided).is_err(),
        "logout voids unused tickets"
    );
    assert!(
        engine
            .maintenance()
            .check_integrity()
            .expect("check")
            .is_sound()
    );
}

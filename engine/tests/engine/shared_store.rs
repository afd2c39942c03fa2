//! Two engines on one PostgreSQL database, as two `strongroom serve`
//! instances run: writers on both send to one user while a reader resumes
//! from its cursor again and again. The reader must see every message
//! exactly once — no event may commit later with a position below one a
//! reader already passed (the outbox pitfall of sequences handed out before
//! commit). Needs PostgreSQL installed; skipped loudly otherwise.

use crate::common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread;

use strongroom_engine::events::StreamCursor;
use strongroom_engine::{Engine, ManualClock, UserId};
use strongroom_testkit::postgres::PgCluster;

const PER_WRITER: usize = 60;

/// This process's PostgreSQL server (one for every test here); `None`,
/// said loudly, without PostgreSQL.
fn cluster(name: &str) -> Option<&'static PgCluster> {
    static CLUSTER: OnceLock<Option<PgCluster>> = OnceLock::new();
    let cluster = CLUSTER
        .get_or_init(|| PgCluster::start("shared_store"))
        .as_ref();
    if cluster.is_none() {
        eprintln!(
            "\n**********\nSKIPPED shared_store ({name}): PostgreSQL is not installed\n**********\n"
        );
    }
    cluster
}

/// Two engines, on one clock, each with `connections`, on the fresh
/// database `name`; `None`, said loudly, without PostgreSQL.
fn two_engines(name: &str, connections: u32) -> Option<(ManualClock, Engine, Engine)> {
    let cluster = cluster(name)?;
    let url = cluster.database(name);
    let clock = common::start();
    let a = common::builder(&clock)
        .open_postgres(&url, connections)
        .expect("a");
    let b = common::builder(&clock)
        .open_postgres(&url, connections)
        .expect("b");
    Some((clock, a, b))
}

#[test]
fn writers_on_two_engines_leave_no_gap_and_no_duplicate_for_a_resuming_reader() {
    let Some((_clock, a, b)) = two_engines("shared_order", 8) else {
        return;
    };
    let alice = common::user(&a, "alice");
    let senders: Vec<UserId> = (0..4)
        .map(|i| common::user(if i % 2 == 0 { &a } else { &b }, &format!("sender{i}")))
        .collect();

    let done = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = senders
        .iter()
        .enumerate()
        .map(|(i, &sender)| {
            let engine: Engine = if i % 2 == 0 { a.clone() } else { b.clone() };
            thread::spawn(move || {
                for n in 0..PER_WRITER {
                    let text = format!("{i}/{n}");
                    if n % 10 == 9 {
                        engine
                            .events()
                            .broadcast(sender, text.as_bytes(), None)
                            .expect("broadcast");
                    } else {
                        engine
                            .records()
                            .send(sender, alice, text.as_bytes(), None)
                            .expect("send");
                    }
                }
            })
        })
        .collect();

    // The reader resumes on engine B from its cursor while A and B write.
    let reader = {
        let (engine, done) = (b.clone(), done.clone());
        thread::spawn(move || {
            let mut cursor = StreamCursor::start();
            let mut seen = Vec::new();
            loop {
                let finished = done.load(Ordering::SeqCst);
                loop {
                    let events = engine.events().after(alice, cursor, 50).expect("replay");
                    if events.is_empty() {
                        break;
                    }
                    for e in events {
                        assert!(cursor.advance(e.position()), "only fresh events");
                        seen.push(String::from_utf8(e.plaintext.to_vec()).expect("utf-8"));
                    }
                }
                if finished {
                    return seen;
                }
            }
        })
    };
    for w in writers {
        w.join().expect("writer");
    }
    done.store(true, Ordering::SeqCst);
    let seen = reader.join().expect("reader");

    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a duplicate");
    let expected: BTreeSet<String> = (0..senders.len())
        .flat_map(|i| (0..PER_WRITER).map(move |n| format!("{i}/{n}")))
        .collect();
    let missing: Vec<_> = expected.iter().filter(|t| !unique.contains(t)).collect();
    assert!(missing.is_empty(), "the resuming reader missed {missing:?}");
    assert_eq!(seen.len(), expected.len());
}

#[test]
fn one_engine_at_a_time_holds_the_maintenance_lease() {
    let Some((clock, a, b)) = two_engines("shared_lease", 2) else {
        return;
    };
    let ttl = std::time::Duration::from_secs(90);
    assert!(
        a.maintenance().claim_lease(1, ttl).expect("claim"),
        "free: A takes it"
    );
    assert!(
        !b.maintenance().claim_lease(2, ttl).expect("claim"),
        "A holds it"
    );
    clock.advance(std::time::Duration::from_secs(60));
    assert!(
        a.maintenance().claim_lease(1, ttl).expect("claim"),
        "A renews"
    );
    clock.advance(std::time::Duration::from_secs(60));
    assert!(
        !b.maintenance().claim_lease(2, ttl).expect("claim"),
        "renewed: still A's"
    );
    clock.advance(std::time::Duration::from_secs(31));
    assert!(
        b.maintenance().claim_lease(2, ttl).expect("claim"),
        "A stopped: B takes over"
    );
    assert!(
        !a.maintenance().claim_lease(1, ttl).expect("claim"),
        "now B's"
    );
    // An embedded store has no other writer: always held, nothing written.
    let (_dir, _clock, embedded) = common::engine();
    if common::backend() == common::Backend::Redb {
        assert!(embedded.maintenance().claim_lease(1, ttl).expect("claim"));
        assert!(embedded.maintenance().claim_lease(2, ttl).expect("claim"));
    }
}

/// After PostgreSQL ends the pool's connections (a restart, a failover, an
/// idle timeout), every one of them fails at its next use; the store takes
/// another and nothing reaches the caller, a bearer token's check included
/// (it must never read as an invalid token).
#[test]
fn connections_the_server_ended_are_replaced_without_an_error() {
    let Some(cluster) = cluster("ended_connections") else {
        return;
    };
    let url = cluster.database("ended_connections");
    let clock = common::start();
    let engine = common::builder(&clock)
        .open_postgres(&url, 4)
        .expect("engine");
    let alice = common::user(&engine, "alice");
    let token = engine
        .sessions()
        .login(
            "alice",
            &strongroom_engine::SecretString::from(common::PASSWORD),
        )
        .expect("login")
        .access_token;
    // Every connection of the pool in use once, then idle in it.
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..20 {
                    engine.records().list(alice, None, 10).expect("list");
                }
            });
        }
    });
    for round in 0..3 {
        assert!(cluster.end_connections("ended_connections") > 0);
        let session = engine.sessions().authenticate(&token);
        assert!(session.is_ok(), "round {round}: {session:?}");
        engine.records().list(alice, None, 10).expect("a read");
        let put = engine.records().put(alice, b"still here", None);
        assert!(put.is_ok(), "round {round}: {put:?}");
    }
}

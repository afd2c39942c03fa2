//! A sequence of engine operations (put, get, list, delete, clock moves,
//! purge, reopen, crash after injected I/O failure) checked against a
//! `HashMap` model, like redb's `fuzz_redb` target.
#![no_main]

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use secrecy::SecretBox;
use strongroom_engine::{
    Clock, Engine, ManualClock, MasterKey, RecordError, RecordId, SecretString, Timestamp, UserId,
};
use strongroom_testkit::memory::MemoryBackend;

#[derive(Arbitrary, Debug)]
enum Op {
    Put {
        user: bool,
        len: u8,
        ttl_secs: u8,
    },
    Get {
        pick: u8,
        as_other: bool,
    },
    List {
        user: bool,
        limit: u8,
    },
    Delete {
        pick: u8,
    },
    Advance {
        secs: u8,
    },
    Purge {
        limit: u8,
    },
    Reopen,
    /// Fail I/O after `after` operations, run a put, then crash and reopen.
    Crash {
        after: u8,
    },
}

struct Live {
    owner: UserId,
    expires: Timestamp,
    plaintext: Vec<u8>,
}

fn master() -> MasterKey {
    MasterKey::from_secret(&SecretBox::new(Box::new([0x11; 32])))
}

fn open(backend: MemoryBackend, clock: &ManualClock) -> Engine {
    Engine::builder(master())
        .clock(Arc::new(clock.clone()))
        .open_with_backend(backend)
        .expect("engine opens")
}

/// A database with two users, made once (Argon2 is slow by design).
fn template() -> &'static (Vec<u8>, [UserId; 2]) {
    static TEMPLATE: OnceLock<(Vec<u8>, [UserId; 2])> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let backend = MemoryBackend::new();
        let clock = ManualClock::new(Timestamp::from_unix_millis(1_700_000_000_000));
        let engine = open(backend.clone(), &clock);
        let password = SecretString::from("fuzzing password");
        let a = engine
            .accounts()
            .create("alice", &password)
            .expect("alice")
            .id;
        let b = engine.accounts().create("bob", &password).expect("bob").id;
        drop(engine);
        (backend.durable_image(), [a, b])
    })
}

fuzz_target!(|ops: Vec<Op>| {
    let (image, users) = template();
    let clock = ManualClock::new(Timestamp::from_unix_millis(1_700_000_000_000));
    let mut backend = MemoryBackend::from_image(image.clone());
    let mut engine = open(backend.clone(), &clock);
    let mut model: HashMap<RecordId, Live> = HashMap::new();
    let mut known: Vec<RecordId> = Vec::new();
    let user = |b: bool| users[usize::from(b)];
    for op in ops.into_iter().take(64) {
        let now = clock.now();
        match op {
            Op::Put {
                user: u,
                len,
                ttl_secs,
            } => {
                let plaintext = vec![len; usize::from(len)];
                let ttl = Duration::from_secs(u64::from(ttl_secs));
                match engine.records().put(user(u), &plaintext, Some(ttl)) {
                    Ok(r) => {
                        known.push(r.meta.id);
                        model.insert(
                            r.meta.id,
                            Live {
                                owner: user(u),
                                expires: r.meta.expires_at,
                                plaintext,
                            },
                        );
                    }
                    Err(RecordError::TtlOutOfRange { .. }) => assert_eq!(ttl_secs, 0),
                    Err(e) => panic!("put failed: {e}"),
                }
            }
            Op::Get { pick, as_other } if !known.is_empty() => {
                let id = known[usize::from(pick) % known.len()];
                let live = model.get(&id).filter(|m| now < m.expires);
                let asker = match live {
                    Some(m) if as_other => users
                        .iter()
                        .copied()
                        .find(|u| *u != m.owner)
                        .expect("other"),
                    Some(m) => m.owner,
                    None => users[0],
                };
                match (engine.records().get(asker, id), live) {
                    (Ok(r), Some(m)) if asker == m.owner => {
                        assert_eq!(r.plaintext.as_slice(), m.plaintext.as_slice())
                    }
                    (Err(RecordError::NotFound), _) if live.is_none_or(|m| asker != m.owner) => {}
                    (result, live) => panic!(
                        "get {id}: {result:?} but model has {:?}",
                        live.map(|m| m.expires)
                    ),
                }
            }
            Op::List { user: u, limit } => {
                let limit = usize::from(limit % 8) + 1;
                let mut got = Vec::new();
                let mut cursor = None;
                loop {
                    let page = engine.records().list(user(u), cursor, limit).expect("list");
                    got.extend(page.records.iter().map(|r| r.meta.id));
                    match page.next_cursor {
                        Some(c) => cursor = Some(c),
                        None => break,
                    }
                }
                // Newest first; ids are opaque, so by write order.
                let expected: Vec<RecordId> = known
                    .iter()
                    .rev()
                    .filter(|id| {
                        model
                            .get(id)
                            .is_some_and(|m| m.owner == user(u) && now < m.expires)
                    })
                    .copied()
                    .collect();
                assert_eq!(got, expected);
            }
            Op::Delete { pick } if !known.is_empty() => {
                let id = known[usize::from(pick) % known.len()];
                let live = model.get(&id).map(|m| (m.owner, now < m.expires));
                let result = engine
                    .records()
                    .delete(live.map_or(users[0], |(o, _)| o), id);
                assert_eq!(
                    result.is_ok(),
                    matches!(live, Some((_, true))),
                    "delete {id}"
                );
                model.remove(&id);
            }
            Op::Advance { secs } => clock.advance(Duration::from_secs(u64::from(secs))),
            Op::Purge { limit } => {
                let limit = usize::from(limit);
                let expired = model.values().filter(|m| m.expires <= now).count();
                let purged = engine.records().purge_expired(now, limit).expect("purge");
                assert_eq!(purged, expired.min(limit));
                if purged == expired {
                    model.retain(|_, m| m.expires > now);
                } else {
                    // The index's order: expiry, owner, write order.
                    let mut due: Vec<(Timestamp, u128, usize, RecordId)> = known
                        .iter()
                        .enumerate()
                        .filter_map(|(n, id)| model.get(id).map(|m| (m, n, *id)))
                        .filter(|(m, _, _)| m.expires <= now)
                        .map(|(m, n, id)| (m.expires, m.owner.as_u128(), n, id))
                        .collect();
                    due.sort_unstable();
                    for (_, _, _, id) in due.into_iter().take(purged) {
                        model.remove(&id);
                    }
                }
            }
            Op::Reopen => {
                drop(engine);
                engine = open(backend.clone(), &clock);
            }
            Op::Crash { after } => {
                backend.fail_after(Some(u64::from(after)));
                let attempt =
                    engine
                        .records()
                        .put(users[0], b"at the crash", Some(Duration::from_secs(60)));
                drop(engine);
                backend = backend.crash();
                engine = open(backend.clone(), &clock);
                if let Ok(r) = attempt {
                    known.push(r.meta.id);
                    model.insert(
                        r.meta.id,
                        Live {
                            owner: users[0],
                            expires: r.meta.expires_at,
                            plaintext: b"at the crash".to_vec(),
                        },
                    );
                } else {
                    // A refused put may still have committed before the
                    // failure (an ambiguous outcome): then it must be whole.
                    let page = engine.records().list(users[0], None, 100).expect("list");
                    let unknown: Vec<_> = page
                        .records
                        .into_iter()
                        .filter(|r| !model.contains_key(&r.meta.id))
                        .collect();
                    for r in unknown {
                        assert_eq!(r.plaintext.as_slice(), b"at the crash");
                        known.push(r.meta.id);
                        model.insert(
                            r.meta.id,
                            Live {
                                owner: users[0],
                                expires: r.meta.expires_at,
                                plaintext: r.plaintext.to_vec(),
                            },
                        );
                    }
                }
            }
            _ => {}
        }
        let report = engine
            .maintenance()
            .check_integrity()
            .expect("integrity check");
        assert!(report.is_sound(), "{:?}", report.problems);
        assert_eq!(report.records as usize, model.len());
    }
});

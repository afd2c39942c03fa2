//! Guards the TTL and index invariants against a `HashMap` model: for random
//! sequences of puts, clock moves, deletes and purges, get and list never
//! return an expired record, purge removes exactly the expired ones, and the
//! record table and expiry index stay consistent.

use crate::common;

use std::collections::HashMap;
use std::time::Duration;

use proptest::prelude::*;
use strongroom_engine::{Clock, RecordError, RecordId, Timestamp, UserId};

#[derive(Debug, Clone)]
enum Op {
    Put {
        user: usize,
        ttl_secs: u64,
        len: usize,
    },
    Advance {
        millis: u64,
    },
    Delete {
        pick: prop::sample::Index,
    },
    Get {
        pick: prop::sample::Index,
    },
    List {
        user: usize,
        limit: usize,
    },
    Purge {
        limit: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..2usize, 1..30u64, 0..64usize).prop_map(|(user, ttl_secs, len)| Op::Put { user, ttl_secs, len }),
        // Whole seconds mostly, so the clock lands exactly on expiry instants.
        2 => (0..15u64).prop_map(|secs| Op::Advance { millis: secs * 1000 }),
        1 => (0..15_000u64).prop_map(|millis| Op::Advance { millis }),
        1 => any::<prop::sample::Index>().prop_map(|pick| Op::Delete { pick }),
        2 => any::<prop::sample::Index>().prop_map(|pick| Op::Get { pick }),
        1 => (0..2usize, 1..5usize).prop_map(|(user, limit)| Op::List { user, limit }),
        1 => (1..6usize).prop_map(|limit| Op::Purge { limit }),
    ]
}

struct Model {
    owner: UserId,
    expires: Timestamp,
    plaintext: Vec<u8>,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn engine_matches_model(ops in prop::collection::vec(op(), 1..60)) {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = common::start();
        let engine = common::open(&dir.path().join("db.redb"), &clock);
        let users = [common::user(&engine, "alice"), common::user(&engine, "bob")];
        let mut model: HashMap<RecordId, Model> = HashMap::new();
        let mut known: Vec<RecordId> = Vec::new();
        for op in ops {
            let now = clock.now();
            match op {
                Op::Put { user, ttl_secs, len } => {
                    let plaintext = vec![len as u8; len];
                    let r = engine.records().put(users[user], &plaintext, Some(Duration::from_secs(ttl_secs))).expect("put");
                    known.push(r.meta.id);
                    model.insert(r.meta.id, Model { owner: users[user], expires: r.meta.expires_at, plaintext });
                }
                Op::Advance { millis } => clock.advance(Duration::from_millis(millis)),
                Op::Delete { pick } if !known.is_empty() => {
                    let id = known[pick.index(known.len())];
                    let live = model.get(&id).map(|m| (m.owner, now < m.expires));
                    let owner = live.map_or(users[0], |(o, _)| o);
                    let result = engine.records().delete(owner, id);
                    match live {
                        Some((_, true)) => prop_assert!(result.is_ok()),
                        _ => prop_assert!(matches!(result, Err(RecordError::NotFound))),
                    }
                    model.remove(&id);
                }
                Op::Get { pick } if !known.is_empty() => {
                    let id = known[pick.index(known.len())];
                    for user in users {
                        let result = engine.records().get(user, id);
                        match model.get(&id) {
                            Some(m) if m.owner == user && now < m.expires => {
                                let record = result.expect("live record readable");
                                prop_assert_eq!(record.plaintext.as_slice(), m.plaintext.as_slice());
                            }
                            _ => prop_assert!(matches!(result, Err(RecordError::NotFound))),
                        }
                    }
                }
                Op::List { user, limit } => {
                    let mut got = Vec::new();
                    let mut cursor = None;
                    loop {
                        let page = engine.records().list(users[user], cursor, limit).expect("list");
                        got.extend(page.records.iter().map(|r| r.meta.id));
                        match page.next_cursor { Some(c) => cursor = Some(c), None => break }
                    }
                    // Newest first: ids are opaque, so order by write order.
                    let expected: Vec<RecordId> = known.iter().rev()
                        .filter(|id| model.get(id).is_some_and(|m| m.owner == users[user] && now < m.expires))
                        .copied().collect();
                    prop_assert_eq!(got, expected);
                }
                Op::Purge { limit } => {
                    let expired = model.values().filter(|m| m.expires <= now).count();
                    let purged = engine.records().purge_expired(now, limit).expect("purge");
                    prop_assert_eq!(purged, expired.min(limit));
                    if purged == expired {
                        model.retain(|_, m| m.expires > now);
                    } else {
                        // Purge goes oldest first: drop the `purged` earliest expiries.
                        // (expiry, owner, write order) is the index's order.
                        let mut due: Vec<(Timestamp, u128, usize, RecordId)> = known.iter().enumerate()
                            .filter_map(|(n, id)| model.get(id).map(|m| (m, n, id)))
                            .filter(|(m, _, _)| m.expires <= now)
                            .map(|(m, n, id)| (m.expires, m.owner.as_u128(), n, *id)).collect();
                        due.sort_unstable();
                        for (_, _, _, id) in due.into_iter().take(purged) { model.remove(&id); }
                    }
                }
                _ => {}
            }
            let report = engine.maintenance().check_integrity().expect("integrity check");
            prop_assert!(report.is_sound(), "{:?}", report.problems);
            prop_assert_eq!(report.records, model.len() as u64);
        }
    }
}

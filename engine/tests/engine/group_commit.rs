//! Guards group commit: concurrent writers share transactions, every caller
//! gets its own result after a durable commit, listeners hear each log's
//! events in strictly increasing position order, one bad record does not
//! fail its batch, and positions keep rising across a reopen.

use crate::common;

use std::sync::{Arc, Mutex};
use std::thread;

use std::collections::HashMap;

use common::{open, start, user};
use strongroom_engine::events::{Notice, StreamCursor};
use strongroom_engine::{KeyScope, RecordError, UserId};
use strongroom_testkit::threads::together;

#[test]
fn concurrent_writers_are_all_acknowledged_in_sequence_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = start();
    let engine = open(&dir.path().join("db.redb"), &clock);
    // One stream cursor per log: it accepts an event only if it comes
    // after everything heard so far in that log.
    let heard = Arc::new(Mutex::new((0usize, 0usize)));
    let cursors: Mutex<HashMap<KeyScope, StreamCursor>> = Mutex::default();
    let sink = heard.clone();
    engine.events().add_listener(move |notice| {
        if let Notice::Events(events) = notice {
            let mut cursors = cursors.lock().expect("lock");
            let mut heard = sink.lock().expect("lock");
            for e in events.iter() {
                heard.0 += 1;
                if cursors.entry(e.scope).or_default().advance(e.position()) {
                    heard.1 += 1;
                }
            }
        }
    });
    let users = [user(&engine, "alice"), user(&engine, "bob")];
    let ghost = UserId::from_u128(12345);
    let (threads, per_thread) = (32, 20);
    let all: Vec<_> = together(threads, |t| {
        let mut ids = Vec::new();
        for i in 0..per_thread {
            let payload = format!("{t}/{i}");
            let owner = users[t % 2];
            ids.push((
                owner,
                engine
                    .records()
                    .put(owner, payload.as_bytes(), None)
                    .expect("put"),
                payload,
            ));
            // A record for no one, in the middle of everyone's batches.
            assert!(matches!(
                engine.records().put(ghost, b"x", None),
                Err(RecordError::UnknownUser)
            ));
        }
        ids
    })
    .into_iter()
    .flatten()
    .collect();
    assert_eq!(all.len(), threads * per_thread);
    for (owner, receipt, payload) in &all {
        assert_eq!(
            engine
                .records()
                .get(*owner, receipt.meta.id)
                .expect("durable")
                .plaintext
                .as_slice(),
            payload.as_bytes()
        );
    }
    let (heard, in_order) = *heard.lock().expect("lock");
    assert_eq!(heard, all.len());
    assert_eq!(in_order, heard, "listeners hear each log in order");
    assert!(
        engine
            .maintenance()
            .check_integrity()
            .expect("check")
            .is_sound()
    );
}

#[test]
fn positions_keep_rising_across_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db.redb");
    let clock = start();
    let (alice, before) = {
        let engine = open(&path, &clock);
        let alice = user(&engine, "alice");
        for _ in 0..3 {
            engine.records().put(alice, b"x", None).expect("put");
        }
        let mut cursor = StreamCursor::start();
        for e in engine.events().after(alice, cursor, 100).expect("events") {
            cursor.advance(e.position());
        }
        (alice, cursor)
    };
    let engine = open(&path, &clock);
    let id = engine
        .records()
        .put(alice, b"after reopen", None)
        .expect("put")
        .meta
        .id;
    let events = engine.events().after(alice, before, 100).expect("events");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].meta.id, id);
    let mut cursor = before;
    assert!(
        cursor.advance(events[0].position()),
        "after everything before the reopen"
    );
}

#[test]
fn put_batch_writes_many_records_in_one_transaction() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = start();
    let engine = open(&dir.path().join("db.redb"), &clock);
    let alice = user(&engine, "alice");
    let ghost = UserId::from_u128(99);
    let payloads: Vec<Vec<u8>> = (0..100u32).map(|i| i.to_be_bytes().to_vec()).collect();
    let mut records: Vec<(UserId, &[u8])> =
        payloads.iter().map(|p| (alice, p.as_slice())).collect();
    records.insert(50, (ghost, b"nobody"));
    let results = engine.records().put_batch(records, None).expect("batch");
    assert_eq!(results.len(), 101);
    assert!(matches!(results[50], Err(RecordError::UnknownUser)));
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 100);
    assert_eq!(
        engine
            .records()
            .list(alice, None, 100)
            .expect("list")
            .records
            .len(),
        100
    );
    let too_big = vec![0u8; 70_000];
    assert!(matches!(
        engine
            .records()
            .put_batch([(alice, &b"ok"[..]), (alice, too_big.as_slice())], None),
        Err(RecordError::TooLarge { .. })
    ));
    assert_eq!(
        engine
            .records()
            .list(alice, None, 100)
            .expect("list")
            .records
            .len(),
        100,
        "nothing of a rejected batch"
    );
}

/// How a driven write leads when its turn comes.
#[derive(Clone, Copy, Debug)]
enum Leads {
    /// `QueuedWrite::lead` on the waiting thread.
    Here,
    /// `QueuedWrite::lead_on` on a thread of its own, the outcome sent back
    /// (what the server does: the committing thread goes on committing).
    OnAnotherThread,
}

/// Drives a queued write to its end the way an async server does: wait
/// (here: park the thread) until the turn comes; lead when told to.
fn drive(
    mut queued: strongroom_engine::records::QueuedWrite,
    leads: Leads,
) -> strongroom_engine::records::Receipt {
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        assert!(std::time::Instant::now() < deadline, "the queue stalled");
        match queued.poll_turn(&mut Context::from_waker(&waker)) {
            Poll::Ready(strongroom_engine::records::Turn::Done(result)) => {
                return result.expect("stored");
            }
            Poll::Ready(strongroom_engine::records::Turn::Lead) => match leads {
                Leads::Here => return queued.lead().expect("stored"),
                Leads::OnAnotherThread => {
                    let (tell, told) = std::sync::mpsc::channel();
                    thread::spawn(move || {
                        queued.lead_on(|result| tell.send(result).expect("listening"))
                    });
                    return told.recv().expect("delivered").expect("stored");
                }
            },
            Poll::Pending => thread::park_timeout(std::time::Duration::from_millis(50)),
        }
    }
}

#[test]
fn queued_writers_waiting_as_futures_are_all_committed() {
    for leads in [Leads::Here, Leads::OnAnotherThread] {
        let (_dir, _clock, engine) = common::engine();
        let alice = user(&engine, "alice");
        let writers = 32;
        let ids: Vec<_> = together(writers, |i| {
            // Three rounds each: later writes queue while a leader
            // commits, and are committed by it or handed on.
            (0..3)
                .map(|round| {
                    let text = format!("queued {i}.{round}");
                    let queued = engine
                        .records()
                        .send_queued(alice, alice, text.as_bytes(), None)
                        .expect("valid");
                    (drive(queued, leads).meta.id, text)
                })
                .collect::<Vec<_>>()
        })
        .into_iter()
        .flatten()
        .collect();
        assert_eq!(ids.len(), writers * 3, "{leads:?}");
        for (id, text) in ids {
            assert_eq!(
                engine
                    .records()
                    .get(alice, id)
                    .expect("durable")
                    .plaintext
                    .as_slice(),
                text.as_bytes(),
                "{leads:?}"
            );
        }
    }
    let (_dir, _clock, engine) = common::engine();
    let alice = user(&engine, "alice");
    // Refused before queueing: nothing to drive.
    let too_big = vec![0u8; engine.limits().max_record_len + 1];
    assert!(
        engine
            .records()
            .send_queued(alice, alice, &too_big, None)
            .is_err()
    );
}

#[test]
fn dropped_queued_writes_are_still_committed_and_never_stall_the_queue() {
    let (_dir, _clock, engine) = common::engine();
    let alice = user(&engine, "alice");
    // The first holds the lead, the others wait behind it: all dropped
    // unpolled, as when clients disconnect.
    let queued: Vec<_> = (0..5)
        .map(|i| {
            engine
                .records()
                .send_queued(alice, alice, format!("gone {i}").as_bytes(), None)
                .expect("valid")
        })
        .collect();
    drop(queued);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while engine
        .records()
        .list(alice, None, 10)
        .expect("list")
        .records
        .len()
        < 5
    {
        assert!(
            std::time::Instant::now() < deadline,
            "dropped writes were lost"
        );
        thread::sleep(std::time::Duration::from_millis(10));
    }
    // The queue moves on: a plain write and a queued one complete.
    engine
        .records()
        .put(alice, b"after", None)
        .expect("not stalled");
    let later = engine
        .records()
        .send_queued(alice, alice, b"later", None)
        .expect("valid");
    drive(later, Leads::OnAnotherThread);
    assert_eq!(
        engine
            .records()
            .list(alice, None, 10)
            .expect("list")
            .records
            .len(),
        7
    );
}

#[test]
fn a_listener_that_panics_fails_no_write_and_stalls_no_queue() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = start();
    let engine = open(&dir.path().join("db.redb"), &clock);
    engine
        .events()
        .add_listener(|_| panic!("a listener's bug (expected in this test)"));
    let alice = user(&engine, "alice");
    // Many writers at once, so that batches hold several callers: each is
    // told its write stands, and the queue goes on committing.
    let (threads, per_thread) = (8, 5);
    let written = together(threads, |t| {
        (0..per_thread)
            .map(|i| {
                let payload = format!("{t}/{i}");
                let receipt = engine
                    .records()
                    .put(alice, payload.as_bytes(), None)
                    .expect("put");
                (receipt.meta.id, payload)
            })
            .collect::<Vec<_>>()
    });
    for (id, payload) in written.into_iter().flatten() {
        let record = engine.records().get(alice, id).expect("stored");
        assert_eq!(&record.plaintext[..], payload.as_bytes());
    }
}

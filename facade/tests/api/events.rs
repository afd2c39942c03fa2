//! End-to-end over a real TCP port: live delivery over Server-Sent Events,
//! broadcasts, per-user isolation, Last-Event-ID resume (including events
//! published while a stream replays), tickets, slow consumers and logout.

use crate::common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::sse::{Next, SseStream};
use common::{TestServer, assert_problem, start, start_with};
use serde_json::json;
use strongroom_facade::{ApiConfig, BroadcastCaps};

const WAIT: Duration = Duration::from_secs(10);

fn streaming_client() -> reqwest::Client {
    reqwest::Client::builder().build().expect("client")
}

async fn open(s: &TestServer, token: &str, last_event_id: Option<&str>) -> SseStream {
    SseStream::open(&s.url("/v1/events"), token, last_event_id).await
}

#[tokio::test]
async fn a_broadcast_reaches_every_connected_client() {
    let s = start().await;
    let mut streams = Vec::new();
    let mut tokens = Vec::new();
    for name in ["alice", "bob", "carol", "dave"] {
        let (token, _) = s.account(name).await;
        if name == "alice" {
            s.promote(name);
        }
        streams.push(open(&s, &token, None).await);
        tokens.push(token);
    }
    let r = s
        .post(
            "/v1/broadcasts",
            json!({"message": "fire drill at noon"}),
            Some(&tokens[0]),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body["ciphertext"].as_str().expect("ciphertext").len() > 40);
    for stream in &mut streams {
        let event = stream.expect(WAIT).await;
        assert_eq!(event.event, "broadcast");
        assert_eq!(event.json()["message"], "fire drill at noon");
        assert_eq!(event.json()["sender"], "alice");
        assert_eq!(event.json()["kind"], "broadcast");
    }
}

#[tokio::test]
async fn message_events_reach_only_their_recipient() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    s.promote("alice");
    let (bob, _) = s.account("bob").await;
    let (carol, _) = s.account("carol").await;
    let mut bob_stream = open(&s, &bob, None).await;
    let mut carol_stream = open(&s, &carol, None).await;
    let mut alice_stream = open(&s, &alice, None).await;
    s.post(
        "/v1/users/bob/messages",
        json!({"message": "for bob only"}),
        Some(&alice),
    )
    .await;
    s.post(
        "/v1/messages",
        json!({"message": "note to self"}),
        Some(&alice),
    )
    .await;
    s.post("/v1/broadcasts", json!({"message": "marker"}), Some(&alice))
        .await;

    let got = bob_stream.expect(WAIT).await;
    assert_eq!(
        (got.event.as_str(), got.json()["message"].as_str()),
        ("message", Some("for bob only"))
    );
    assert_eq!(got.json()["sender"], "alice");
    assert_eq!(bob_stream.expect(WAIT).await.json()["message"], "marker");
    // Carol's first event is the broadcast: she never saw Bob's or Alice's messages.
    assert_eq!(carol_stream.expect(WAIT).await.json()["message"], "marker");
    let own = alice_stream.expect(WAIT).await;
    assert_eq!(
        (own.event.as_str(), own.json()["message"].as_str()),
        ("message", Some("note to self"))
    );
    assert_eq!(alice_stream.expect(WAIT).await.json()["message"], "marker");
}

/// Whether `id` matches the pattern the document gives event ids,
/// `^([A-Za-z0-9_-]{21}[AQgw])?$` (16 bytes of unpadded base64url).
fn documented_event_id(id: &str) -> bool {
    let spec: serde_json::Value =
        serde_json::from_str(&strongroom_facade::openapi_json()).expect("json");
    let parameters = spec["paths"]["/v1/events"]["get"]["parameters"]
        .as_array()
        .expect("parameters");
    assert!(parameters.iter().any(|p| p["name"] == "Last-Event-ID"
        && p["schema"]["pattern"] == "^([A-Za-z0-9_-]{21}[AQgw])?$"));
    let chars: Vec<char> = id.chars().collect();
    chars.len() == 22
        && chars[..21]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        && "AQgw".contains(chars[21])
}

#[tokio::test]
async fn reconnecting_with_last_event_id_replays_what_was_missed_then_goes_live() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    let (bob, _) = s.account("bob").await;
    s.promote("bob");
    let mut stream = open(&s, &alice, None).await;
    s.post("/v1/messages", json!({"message": "one"}), Some(&alice))
        .await;
    let first = stream.expect(WAIT).await;
    assert!(documented_event_id(&first.id()), "{}", first.id());
    drop(stream);
    s.post(
        "/v1/users/alice/messages",
        json!({"message": "two"}),
        Some(&bob),
    )
    .await;
    s.post("/v1/broadcasts", json!({"message": "three"}), Some(&bob))
        .await;
    s.post(
        "/v1/users/bob/messages",
        json!({"message": "not alice's"}),
        Some(&alice),
    )
    .await;
    s.post(
        "/v1/messages",
        json!({"message": "expires", "ttl_seconds": 1}),
        Some(&alice),
    )
    .await;
    s.advance(Duration::from_secs(1));

    let mut resumed = open(&s, &alice, Some(&first.id())).await;
    let two = resumed.expect(WAIT).await;
    let three = resumed.expect(WAIT).await;
    assert_eq!(two.json()["message"], "two");
    assert_eq!(three.json()["message"], "three");
    let ids = BTreeSet::from([first.id(), two.id(), three.id()]);
    assert_eq!(ids.len(), 3, "every position has its own id");
    s.post("/v1/messages", json!({"message": "four"}), Some(&alice))
        .await;
    let four = resumed.expect(WAIT).await;
    assert_eq!(
        four.json()["message"],
        "four",
        "expired and foreign events are skipped"
    );

    let bad = streaming_client()
        .get(s.url("/v1/events"))
        .bearer_auth(&alice)
        .header("Last-Event-ID", "abc");
    assert_problem(&s.send(bad).await, 400);
    // 22 characters, but not canonical base64url of 16 bytes.
    let bad = streaming_client()
        .get(s.url("/v1/events"))
        .bearer_auth(&alice)
        .header("Last-Event-ID", "0000JM05dQhSRuz0AmqqEU");
    assert_problem(&s.send(bad).await, 400);
    // Not ASCII at all: not absent, malformed.
    let bad = streaming_client()
        .get(s.url("/v1/events"))
        .bearer_auth(&alice)
        .header(
            "Last-Event-ID",
            reqwest::header::HeaderValue::from_bytes(b"\xc2\x84").expect("bytes"),
        );
    assert_problem(&s.send(bad).await, 400);
    // Another user's event id is not a position in Alice's stream.
    let mut bobs = open(&s, &bob, None).await;
    s.post(
        "/v1/users/bob/messages",
        json!({"message": "hi"}),
        Some(&alice),
    )
    .await;
    let foreign = bobs.expect(WAIT).await.id();
    let stolen = streaming_client()
        .get(s.url("/v1/events"))
        .bearer_auth(&alice)
        .header("Last-Event-ID", foreign);
    assert_problem(&s.send(stolen).await, 404);
}

#[tokio::test]
async fn events_published_during_replay_arrive_once_and_in_order() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    let total = 150u64;
    let writer = {
        let http = s.http.clone();
        let url = s.url("/v1/messages");
        let token = alice.clone();
        tokio::spawn(async move {
            for i in 0..total {
                let r = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({"message": format!("m{i}")}))
                    .send()
                    .await
                    .expect("post");
                assert_eq!(r.status(), 201);
            }
        })
    };
    // Reconnect over and over while the writer publishes: every reconnect
    // replays from storage while new events are being committed.
    let mut seen: Vec<String> = Vec::new();
    let mut last: Option<String> = None;
    while seen.len() < total as usize {
        let mut stream = open(&s, &alice, last.as_deref()).await;
        for _ in 0..7 {
            match stream.next(WAIT).await {
                Next::Event(e) => {
                    seen.push(e.json()["message"].as_str().expect("text").to_owned());
                    last = Some(e.id());
                }
                Next::End | Next::Timeout => break,
            }
            if seen.len() == total as usize {
                break;
            }
        }
    }
    writer.await.expect("writer");
    let expected: Vec<String> = (0..total).map(|i| format!("m{i}")).collect();
    assert_eq!(seen, expected, "no gap, no duplicate, in order");
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), seen.len());
}

#[tokio::test]
async fn tickets_open_a_stream_once_and_expire() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    let ticket = |s: &TestServer| {
        let http = s.http.clone();
        let url = s.url("/v1/events/tickets");
        let alice = alice.clone();
        async move {
            let r = http
                .post(url)
                .bearer_auth(alice)
                .send()
                .await
                .expect("ticket");
            assert_eq!(r.status(), 201);
            let body: serde_json::Value = r.json().await.expect("json");
            assert_eq!(body["expires_in"], 30);
            body["ticket"].as_str().expect("ticket").to_owned()
        }
    };
    let t = ticket(&s).await;
    let res = streaming_client()
        .get(s.url(&format!("/v1/events?ticket={t}")))
        .send()
        .await
        .expect("connect");
    assert_eq!(res.status(), 200);
    let mut stream = SseStream::new(res);
    s.post(
        "/v1/messages",
        json!({"message": "via ticket"}),
        Some(&alice),
    )
    .await;
    assert_eq!(stream.expect(WAIT).await.json()["message"], "via ticket");
    // Used once: refused.
    assert_problem(
        &s.send(streaming_client().get(s.url(&format!("/v1/events?ticket={t}"))))
            .await,
        401,
    );
    // Expired: refused.
    let late = ticket(&s).await;
    s.advance(Duration::from_secs(30));
    assert_problem(
        &s.send(streaming_client().get(s.url(&format!("/v1/events?ticket={late}"))))
            .await,
        401,
    );
    // An access token in the query string is never accepted.
    let (fresh, _) = s.account("bob").await;
    assert_problem(
        &s.send(streaming_client().get(s.url(&format!("/v1/events?ticket={fresh}"))))
            .await,
        401,
    );
    assert_problem(
        &s.send(streaming_client().get(s.url("/v1/events"))).await,
        401,
    );
    // A ticket that does not redeem is refused, whatever else came with
    // it: a valid bearer token does not stand in for it.
    let spent = streaming_client()
        .get(s.url(&format!("/v1/events?ticket={t}")))
        .bearer_auth(&fresh);
    assert_problem(&s.send(spent).await, 401);
}

#[tokio::test]
async fn a_slow_consumer_is_disconnected_without_holding_up_others() {
    // Large, fast broadcasts: the broadcast caps are lifted.
    let config = ApiConfig {
        stream_queue: 4,
        broadcast: BroadcastCaps {
            max_len: 64 * 1024,
            per_minute: u32::MAX,
            ..BroadcastCaps::default()
        },
        ..ApiConfig::default()
    };
    let s = start_with(config, "").await;
    let (alice, _) = s.account("alice").await;
    s.promote("alice");
    let (bob, _) = s.account("bob").await;
    // Bob connects but never reads; Alice reads everything.
    let slow = streaming_client()
        .get(s.url("/v1/events"))
        .bearer_auth(&bob)
        .send()
        .await
        .expect("connect");
    let mut fast = open(&s, &alice, None).await;
    let payload = "x".repeat(60 * 1024);
    let total = 120;
    let reader = tokio::spawn(async move {
        let mut got = 0;
        while got < total {
            fast.expect(WAIT).await;
            got += 1;
        }
        got
    });
    for _ in 0..total {
        let r = s
            .post("/v1/broadcasts", json!({"message": payload}), Some(&alice))
            .await;
        assert_eq!(r.status, 201);
    }
    assert_eq!(
        reader.await.expect("reader"),
        total,
        "the fast client got every event"
    );
    // The slow stream was closed: reading it now ends before all events.
    let mut slow = SseStream::new(slow);
    let mut received = 0;
    loop {
        match slow.next(WAIT).await {
            Next::Event(_) => received += 1,
            Next::End => break,
            Next::Timeout => panic!("slow stream still open after {received} events"),
        }
    }
    assert!(
        received < total,
        "slow stream got {received} of {total} before being closed"
    );
}

#[tokio::test]
async fn revoking_an_api_key_closes_its_stream() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    let made = s
        .post(
            "/v1/api-keys",
            json!({"name": "listener", "scopes": ["events:read"]}),
            Some(&alice),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let key = made.body["secret"].as_str().expect("secret").to_owned();
    let id = made.body["key"]["id"].as_str().expect("id").to_owned();
    let mut stream = open(&s, &key, None).await;
    // Logging out of alice's session leaves the key's stream alone.
    assert_eq!(s.delete("/v1/sessions/current", &alice).await.status, 204);
    let login = json!({"username": "alice", "password": common::PASSWORD});
    let again = s.post("/v1/sessions", login, None).await;
    let alice = again.body["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    s.post(
        "/v1/messages",
        json!({"message": "still here"}),
        Some(&alice),
    )
    .await;
    assert_eq!(stream.expect(WAIT).await.json()["message"], "still here");
    assert_eq!(
        s.delete(&format!("/v1/api-keys/{id}"), &alice).await.status,
        204
    );
    let end = stream.expect(WAIT).await;
    assert_eq!(end.event, "end");
    assert_eq!(end.json()["reason"], "session_revoked");
}

#[tokio::test]
async fn logging_out_closes_the_stream() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    let mut stream = open(&s, &alice, None).await;
    assert_eq!(s.delete("/v1/sessions/current", &alice).await.status, 204);
    let end = stream.expect(WAIT).await;
    assert_eq!(end.event, "end");
    assert_eq!(end.json()["reason"], "session_revoked");
    assert!(
        matches!(stream.next(WAIT).await, Next::End),
        "stream closed on logout"
    );
}

#[tokio::test]
async fn a_role_change_ends_the_users_streams() {
    let s = start().await;
    let (alice, _) = s.account("alice").await;
    let mut stream = open(&s, &alice, None).await;
    s.promote("alice");
    let end = stream.expect(WAIT).await;
    assert_eq!(end.event, "end");
    assert_eq!(end.json()["reason"], "account_changed");
    assert!(matches!(stream.next(WAIT).await, Next::End));
    // The same token still works, now with the new role.
    let r = s
        .post(
            "/v1/broadcasts",
            json!({"message": "now allowed"}),
            Some(&alice),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
}

#[tokio::test]
async fn keep_alive_comments_flow_on_idle_streams() {
    let config = ApiConfig {
        keep_alive: Duration::from_millis(100),
        ..ApiConfig::default()
    };
    let s = start_with(config, "").await;
    let (alice, _) = s.account("alice").await;
    let mut stream = open(&s, &alice, None).await;
    assert!(matches!(
        stream.next(Duration::from_millis(450)).await,
        Next::Timeout
    ));
    assert!(
        stream.comments >= 2,
        "{} keep-alive comments",
        stream.comments
    );
}

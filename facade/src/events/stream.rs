//! Assembles one SSE stream: replay from storage after the client's cursor,
//! page by page, then the live events the hub queued. The stream registers
//! with the hub *before* it reads storage, so nothing committed meanwhile
//! is missed, and a [`StreamCursor`] lets each event through once, in log
//! order, whichever way it arrived: no gap, no duplicate.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{ToJSON, Type};
use strongroom_engine::events::StreamCursor;
use strongroom_engine::sessions::Session;
use strongroom_engine::{Engine, EventId, Timestamp, UserId};
use tokio::task::JoinHandle;
use tokio::time::Sleep;

use crate::events::wire::{StreamEvent, prepare};
use crate::fanout::{EndReason, Item, Prepared, Subscription};
use crate::wire::zeroized;

/// Events replayed per storage read while catching up.
const REPLAY_PAGE: usize = 256;

/// What one stream sends: an event (shared, serialised once) with the
/// stream's opaque position after it (the SSE `id`), or its final `end`.
pub(crate) enum Delivered {
    Event { event: Arc<Prepared>, id: EventId },
    End(EndReason),
}

impl Delivered {
    /// The event as the stream sends it: `id`, `event` (unless it is
    /// `message`, the default) and `data` lines and a blank line, as
    /// poem's SSE writes them. Written into one allocation of its exact
    /// length, erased when the connection drops it: an event's data holds
    /// message text.
    pub(crate) fn frame(&self) -> Bytes {
        match self {
            Self::Event { event, id } => {
                // The data is one JSON line: JSON escapes line breaks.
                debug_assert!(!event.json.contains(['\n', '\r']));
                let id = id.to_string();
                let kind = (event.kind != "message").then_some(event.kind);
                let len = "id: \n".len()
                    + id.len()
                    + kind.map_or(0, |k| "event: \n".len() + k.len())
                    + "data: \n\n".len()
                    + event.json.len();
                let mut frame = Vec::with_capacity(len);
                frame.extend_from_slice(b"id: ");
                frame.extend_from_slice(id.as_bytes());
                if let Some(kind) = kind {
                    frame.extend_from_slice(b"\nevent: ");
                    frame.extend_from_slice(kind.as_bytes());
                }
                frame.extend_from_slice(b"\ndata: ");
                frame.extend_from_slice(event.json.as_bytes());
                frame.extend_from_slice(b"\n\n");
                debug_assert_eq!(frame.len(), len);
                zeroized::bytes(frame)
            }
            Self::End(reason) => Bytes::from(format!(
                "event: end\ndata: {{\"reason\":\"{}\"}}\n\n",
                reason.as_str()
            )),
        }
    }
}

// Documented as the event's data, which is what the stream carries.
impl Type for Delivered {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        StreamEvent::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        StreamEvent::schema_ref()
    }

    fn register(registry: &mut Registry) {
        StreamEvent::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ToJSON for Delivered {
    fn to_json(&self) -> Option<serde_json::Value> {
        match self {
            Self::Event { event, .. } => serde_json::from_str(&event.json).ok(),
            Self::End(reason) => Some(serde_json::json!({ "reason": reason.as_str() })),
        }
    }
}

/// How a stream runs.
#[derive(Clone, Copy)]
pub(crate) struct StreamSettings {
    /// The user and session it serves, with the credential's expiry.
    pub(crate) session: Session,
    /// Where to start.
    pub(crate) start: StreamCursor,
    /// How often an idle stream checks whether its credential expired.
    pub(crate) check_every: Duration,
}

/// A page of events read from the store, and the cursor after it.
type Page = (Vec<Arc<Prepared>>, StreamCursor);

/// One open stream: replays from storage after the start cursor, then
/// forwards live events, each exactly once; ends (with an `end` event)
/// when the credential expires, the hub says so, or the engine's clock
/// passes the expiry, and without one when the hub drops it.
///
/// Written out as one state machine rather than a chain of stream
/// combinators: a delivery is then one poll of the queue and no
/// allocation, where the chain boxed a future and a `Vec` for every
/// event and polled the expiry timer beside each.
pub(crate) struct EventStream {
    engine: Engine,
    user: UserId,
    expires_at: Timestamp,
    check_every: Duration,
    sub: Subscription,
    /// The last event delivered: a live event passes only if it comes
    /// after it, and a wake-up reads the store after it.
    cursor: StreamCursor,
    /// Events read from the store and not yet delivered.
    pending: std::vec::IntoIter<Arc<Prepared>>,
    /// A store read under way.
    reading: Option<JoinHandle<Page>>,
    /// The store holds more after this cursor: read it before the queue
    /// (at the start, and after a full page or a wake-up).
    read_after: Option<StreamCursor>,
    /// When to look at the credential's expiry while idle: at the expiry
    /// by the engine's clock, and at least every `check_every` (so a clock
    /// moved by hand, in tests, is seen).
    check: Pin<Box<Sleep>>,
    ended: bool,
}

/// The stream for `settings.session`, registered with the hub as `sub`
/// (before anything is read from the store, so nothing committed
/// meanwhile is missed).
pub(crate) fn event_stream(
    engine: Engine,
    settings: StreamSettings,
    sub: Subscription,
) -> EventStream {
    let StreamSettings {
        session,
        start,
        check_every,
    } = settings;
    let mut stream = EventStream {
        engine,
        user: session.user,
        expires_at: session.expires_at,
        check_every,
        sub,
        cursor: start,
        pending: Vec::new().into_iter(),
        reading: None,
        read_after: Some(start),
        check: Box::pin(tokio::time::sleep(Duration::ZERO)),
        ended: false,
    };
    let first = tokio::time::Instant::now() + stream.until_check();
    stream.check.as_mut().reset(first);
    stream
}

impl EventStream {
    fn expired(&self) -> bool {
        self.engine.clock().now() >= self.expires_at
    }

    /// How long until the next look at the expiry.
    fn until_check(&self) -> Duration {
        let left = self
            .expires_at
            .saturating_duration_since(self.engine.clock().now());
        left.min(self.check_every).max(Duration::from_millis(10))
    }

    /// What the client gets for `event`: nothing if it was delivered
    /// already (it came both from the store and live), an `end` once the
    /// credential has expired.
    fn deliver(&mut self, event: Arc<Prepared>) -> Option<Delivered> {
        if self.expired() {
            return Some(self.end(EndReason::TokenExpired));
        }
        self.cursor
            .advance(event.position)
            .then(|| Delivered::Event {
                id: self.engine.events().event_id(self.user, self.cursor),
                event,
            })
    }

    /// The stream's last event: `reason`, or `token_expired` once the
    /// credential has expired, whatever else ended it.
    fn end(&mut self, reason: EndReason) -> Delivered {
        self.ended = true;
        Delivered::End(if self.expired() {
            EndReason::TokenExpired
        } else {
            reason
        })
    }

    /// Nothing to deliver now: ends the stream if the credential expired
    /// while it was idle, else waits (for the queue, a store read or the
    /// next look at the expiry).
    fn idle(&mut self, cx: &mut Context<'_>) -> Poll<Option<Delivered>> {
        while self.check.as_mut().poll(cx).is_ready() {
            if self.expired() {
                return Poll::Ready(Some(self.end(EndReason::TokenExpired)));
            }
            let next = tokio::time::Instant::now() + self.until_check();
            self.check.as_mut().reset(next);
        }
        Poll::Pending
    }
}

impl Stream for EventStream {
    type Item = Delivered;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Delivered>> {
        let this = self.get_mut();
        loop {
            if this.ended {
                return Poll::Ready(None);
            }
            // What the store gave comes first, page by page, then the queue.
            if let Some(event) = this.pending.next() {
                match this.deliver(event) {
                    Some(out) => return Poll::Ready(Some(out)),
                    None => continue,
                }
            }
            if let Some(read) = &mut this.reading {
                let Poll::Ready(done) = Pin::new(read).poll(cx) else {
                    return this.idle(cx);
                };
                // A read that panicked gave nothing: go on live.
                let (page, next) = done.unwrap_or_else(|_| (Vec::new(), this.cursor));
                this.reading = None;
                this.read_after = (page.len() == REPLAY_PAGE).then_some(next);
                this.pending = page.into_iter();
                continue;
            }
            if let Some(after) = this.read_after.take() {
                this.reading = Some(read_page(this.engine.clone(), this.user, after));
                continue;
            }
            match this.sub.rx.poll_recv(cx) {
                Poll::Ready(Some(Item::Event(event))) => {
                    if let Some(out) = this.deliver(event) {
                        return Poll::Ready(Some(out));
                    }
                }
                Poll::Ready(Some(Item::End(reason))) => {
                    return Poll::Ready(Some(this.end(reason)));
                }
                Poll::Ready(Some(Item::Wake)) => {
                    // Taken before reading: a commit after this read wakes
                    // the stream again.
                    this.sub.woken.store(false, Ordering::Release);
                    this.read_after = Some(this.cursor);
                }
                // The hub dropped the stream.
                Poll::Ready(None) => {
                    this.ended = true;
                    return Poll::Ready(None);
                }
                Poll::Pending => return this.idle(cx),
            }
        }
    }
}

/// One page of events after `cursor`, read from the store off the async
/// workers (the store may block), and the cursor after them.
fn read_page(engine: Engine, user: UserId, cursor: StreamCursor) -> JoinHandle<Page> {
    tokio::task::spawn_blocking(move || {
        let mut cursor = cursor;
        let events = engine
            .events()
            .after(user, cursor, REPLAY_PAGE)
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "reading the event log failed; going on live");
                Vec::new()
            });
        for e in &events {
            cursor.advance(e.position());
        }
        let page = events.iter().map(|e| Arc::new(prepare(e))).collect();
        (page, cursor)
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use futures_util::StreamExt;
    use poem_openapi::types::ToJSON;
    use strongroom_engine::events::StreamCursor;
    use strongroom_engine::sessions::Session;
    use strongroom_engine::{Engine, ManualClock, MasterKey, SessionId, Timestamp, UserId};

    use super::{Delivered, StreamSettings, event_stream};
    use crate::fanout::{EndReason, Hub};
    use crate::wire::secret_text::SecretText;

    /// Where the hand-moved clock starts (Unix milliseconds).
    const START: u64 = 1_700_000_000_000;

    /// An in-memory engine on a clock moved by hand, its events going to
    /// a hub, and one account.
    fn setup() -> (Engine, ManualClock, Arc<Hub>, UserId) {
        let (key, _) = MasterKey::generate();
        let clock = ManualClock::new(Timestamp::from_unix_millis(START));
        let engine = Engine::builder(key)
            .clock(Arc::new(clock.clone()))
            .open_in_memory()
            .expect("engine");
        let hub = Hub::new(64, 8, crate::events::wire::prepare);
        let listener_hub = hub.clone();
        engine
            .events()
            .add_listener(move |n| listener_hub.on_notice(n));
        let password = strongroom_engine::SecretString::from("correct horse battery");
        let alice = engine
            .accounts()
            .create("alice", &password)
            .expect("user")
            .id;
        (engine, clock, hub, alice)
    }

    fn session(user: UserId, expires_at: Timestamp) -> Session {
        Session {
            user,
            id: SessionId::from_u128(1),
            role: strongroom_engine::Role::User,
            expires_at,
            scopes: strongroom_engine::Role::User.scopes(),
            credential: strongroom_engine::sessions::Credential::Login,
        }
    }

    /// A frame is what poem's SSE writer makes of the same event, for
    /// each kind of event and for the end.
    #[test]
    fn frames_are_the_bytes_poem_writes() {
        use poem::web::sse::Event as SseEvent;

        use crate::fanout::Prepared;

        let (engine, _, _, alice) = setup();
        engine.records().put(alice, b"hello", None).expect("put");
        let events = engine
            .events()
            .after(alice, StreamCursor::start(), 10)
            .expect("events");
        let position = events[0].position();
        let mut cursor = StreamCursor::start();
        cursor.advance(position);
        let id = engine.events().event_id(alice, cursor);
        let stored = crate::events::wire::prepare(&events[0]);
        assert_eq!(stored.kind, "message");
        for kind in ["message", "broadcast", "file", "credits"] {
            let json: &str = &stored.json;
            let delivered = Delivered::Event {
                event: Arc::new(Prepared {
                    position,
                    kind,
                    json: SecretText::copy(json.as_bytes()),
                }),
                id,
            };
            let poem = SseEvent::message(json).event_type(kind).id(id.to_string());
            assert_eq!(delivered.frame(), poem.to_string().as_bytes(), "{kind}");
        }
        for reason in [EndReason::TokenExpired, EndReason::ShuttingDown] {
            let poem = SseEvent::message(format!(r#"{{"reason":"{}"}}"#, reason.as_str()))
                .event_type("end");
            assert_eq!(Delivered::End(reason).frame(), poem.to_string().as_bytes());
        }
    }

    /// The race, made deterministic: events committed after the stream
    /// registered but before its replay read storage are both replayed and
    /// queued live; the stream must yield each exactly once, in order.
    #[tokio::test]
    async fn events_committed_between_subscribe_and_replay_arrive_once() {
        let (engine, clock, hub, alice) = setup();
        engine.records().put(alice, b"before", None).expect("put");
        let mut start = StreamCursor::start();
        for e in engine.events().after(alice, start, 10).expect("replay") {
            start.advance(e.position());
        }
        let session = session(alice, Timestamp::from_unix_millis(u64::MAX));
        let sub = hub.subscribe(alice, session.id).expect("subscribed");
        // Published during the replay window: in storage and in the queue.
        clock.advance(Duration::from_millis(1));
        engine.records().put(alice, b"during-1", None).expect("put");
        clock.advance(Duration::from_millis(1));
        engine
            .events()
            .broadcast(alice, b"during-2", None)
            .expect("broadcast");
        let settings = StreamSettings {
            session,
            start,
            check_every: Duration::from_secs(60),
        };
        let mut stream = event_stream(engine.clone(), settings, sub);
        // And one more after the replay has started.
        let first = stream.next().await.expect("event");
        clock.advance(Duration::from_millis(1));
        engine.records().put(alice, b"after", None).expect("put");
        let mut texts = vec![first.to_json().expect("json")["message"].clone()];
        while texts.len() < 3 {
            let next = tokio::time::timeout(Duration::from_secs(5), stream.next())
                .await
                .expect("in time")
                .expect("event");
            texts.push(next.to_json().expect("json")["message"].clone());
        }
        assert_eq!(texts, ["during-1", "during-2", "after"]);
        assert!(
            tokio::time::timeout(Duration::from_millis(100), stream.next())
                .await
                .is_err(),
            "no duplicate follows"
        );
    }

    /// An idle stream ends when its token expires, not at its next
    /// periodic check (an hour here): it sleeps until the expiry.
    #[tokio::test(start_paused = true)]
    async fn an_idle_stream_ends_when_its_token_expires() {
        let (engine, clock, hub, alice) = setup();
        let expires_at = Timestamp::from_unix_millis(START + 15 * 60 * 1000);
        let session = session(alice, expires_at);
        let sub = hub.subscribe(alice, session.id).expect("subscribed");
        let settings = StreamSettings {
            session,
            start: StreamCursor::start(),
            check_every: Duration::from_secs(3600),
        };
        let mut stream = event_stream(engine.clone(), settings, sub);
        assert!(
            tokio::time::timeout(Duration::from_secs(60), stream.next())
                .await
                .is_err(),
            "nothing in the first minute"
        );
        clock.advance(Duration::from_secs(15 * 60));
        let waited = tokio::time::Instant::now();
        let end = stream.next().await.expect("an end");
        assert!(
            matches!(end, Delivered::End(EndReason::TokenExpired)),
            "{:?}",
            end.to_json()
        );
        assert_eq!(waited.elapsed(), Duration::from_secs(14 * 60));
        assert!(stream.next().await.is_none(), "nothing after the end");
    }
}

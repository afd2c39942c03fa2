//! Assembles one SSE stream: replay from storage after the client's cursor,
//! page by page, then the live events the hub queued. The stream registers
//! with the hub *before* it reads storage, so nothing committed meanwhile
//! is missed, and a [`StreamCursor`] lets each event through once, in log
//! order, whichever way it arrived: no gap, no duplicate.

use std::borrow::Cow;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::stream::{self, BoxStream, StreamExt};
use poem::web::sse::Event as SseEvent;
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{ToJSON, Type};
use strongroom_engine::events::StreamCursor;
use strongroom_engine::sessions::Session;
use strongroom_engine::{Engine, EventId, UserId};

use crate::events::wire::{StreamEvent, prepare};
use crate::fanout::{EndReason, Item, Prepared, Subscription};

/// Events replayed per storage read while catching up.
const REPLAY_PAGE: usize = 256;

/// What one stream sends: an event (shared, serialised once) with the
/// stream's opaque position after it (the SSE `id`), or its final `end`.
pub(crate) enum Delivered {
    Event { event: Arc<Prepared>, id: EventId },
    End(EndReason),
}

impl Delivered {
    pub(crate) fn to_sse(&self) -> SseEvent {
        match self {
            Self::Event { event, id } => SseEvent::message(event.json.as_str())
                .event_type(event.kind)
                .id(id.to_string()),
            Self::End(reason) => {
                SseEvent::message(format!(r#"{{"reason":"{}"}}"#, reason.as_str()))
                    .event_type("end")
            }
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

/// What drives a stream.
enum Input {
    Event(Arc<Prepared>),
    End(EndReason),
    /// Time to check the credential's expiry.
    Tick,
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

/// Replays from storage after the start cursor, then forwards live events,
/// each exactly once; ends (with an `end` event) when the credential
/// expires, the hub says so, or the engine's clock passes the expiry.
pub(crate) fn event_stream(
    engine: Engine,
    settings: StreamSettings,
    mut sub: Subscription,
) -> BoxStream<'static, Delivered> {
    let StreamSettings {
        session,
        start,
        check_every,
    } = settings;
    let user = session.user;
    // How far this stream got: replay and wake-ups read after it.
    let reached = Arc::new(Mutex::new(start));
    let replay_engine = engine.clone();
    // The page reads below are boxed: inline, the stream (boxed once, for
    // as long as it is open) would keep room for them while idle: 1 360
    // bytes inline, 736 boxed.
    let replay = stream::unfold(Some(start), move |cursor| {
        let engine = replay_engine.clone();
        async move {
            let (page, cursor) = read_page(engine, user, cursor?).await;
            let next = (page.len() == REPLAY_PAGE).then_some(cursor);
            (!page.is_empty()).then(|| (stream::iter(page), next))
        }
        .boxed()
    })
    .flatten();
    let woken = sub.woken.clone();
    let (wake_engine, wake_reached) = (engine.clone(), reached.clone());
    let live = stream::poll_fn(move |cx| sub.rx.poll_recv(cx))
        .then(move |item| {
            let (engine, reached, woken) =
                (wake_engine.clone(), wake_reached.clone(), woken.clone());
            async move {
                match item {
                    Item::Event(event) => vec![Input::Event(event)],
                    Item::End(reason) => vec![Input::End(reason)],
                    Item::Wake => {
                        // Taken before reading: a commit after this read
                        // wakes the stream again.
                        woken.store(false, Ordering::Release);
                        let mut cursor = *reached.lock().unwrap_or_else(|e| e.into_inner());
                        let mut all = Vec::new();
                        loop {
                            let (page, next) = read_page(engine.clone(), user, cursor).await;
                            let full = page.len() == REPLAY_PAGE;
                            all.extend(page);
                            cursor = next;
                            if !full {
                                break all;
                            }
                        }
                    }
                }
            }
            .boxed()
        })
        .flat_map(stream::iter);
    // A tick when the token expires by the engine's clock, and at least
    // every `check_every` (so a clock moved by hand, in tests, is seen):
    // an idle stream does not wake up more often than that.
    let (tick_engine, expires_at) = (engine.clone(), session.expires_at);
    let until_check = move || {
        let left = expires_at.saturating_duration_since(tick_engine.clock().now());
        left.min(check_every).max(Duration::from_millis(10))
    };
    let mut check = Box::pin(tokio::time::sleep(until_check()));
    let ticks = stream::poll_fn(move |cx| {
        std::task::ready!(check.as_mut().poll(cx));
        check
            .as_mut()
            .reset(tokio::time::Instant::now() + until_check());
        std::task::Poll::Ready(Some(Input::Tick))
    });
    // The stream ends when its source does (the hub dropped it): a `None`
    // after the source stops the ticks too.
    let source = replay
        .chain(live)
        .map(Some)
        .chain(stream::once(std::future::ready(None)));
    let inputs = stream::select(source, ticks.map(Some))
        .take_while(|i| std::future::ready(i.is_some()))
        .filter_map(std::future::ready);
    let mut cursor = start;
    let mut ended = false;
    inputs
        .scan((), move |(), input| {
            if ended {
                return std::future::ready(None);
            }
            let expired = engine.clock().now() >= session.expires_at;
            let out = match input {
                _ if expired => Some(Delivered::End(EndReason::TokenExpired)),
                Input::End(reason) => Some(Delivered::End(reason)),
                Input::Tick => None,
                Input::Event(event) => cursor.advance(event.position).then(|| {
                    *reached.lock().unwrap_or_else(|e| e.into_inner()) = cursor;
                    Delivered::Event {
                        id: engine.events().event_id(user, cursor),
                        event,
                    }
                }),
            };
            ended = matches!(out, Some(Delivered::End(_)));
            std::future::ready(Some(out))
        })
        .filter_map(std::future::ready)
        .boxed()
}

/// One page of events after `cursor`, read from the store (off the async
/// workers when the store may block), and the cursor after them.
async fn read_page(
    engine: Engine,
    user: UserId,
    cursor: StreamCursor,
) -> (Vec<Input>, StreamCursor) {
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
        let page = events
            .iter()
            .map(|e| Input::Event(Arc::new(prepare(e))))
            .collect();
        (page, cursor)
    })
    .await
    .unwrap_or_else(|_| (Vec::new(), cursor))
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

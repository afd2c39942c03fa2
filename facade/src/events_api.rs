//! Live delivery over Server-Sent Events, stream tickets, and broadcasts.
//!
//! A stream first registers with the hub, then replays from storage every
//! unexpired event after `Last-Event-ID`, then forwards live events,
//! skipping any the replay already sent: no gap (anything committed after
//! the replay's snapshot arrives live) and no duplicate (the filter).

use std::borrow::Cow;
use std::sync::Arc;

use futures_util::stream::{self, BoxStream, StreamExt};
use poem::Request;
use poem::http::StatusCode;
use poem::web::Data;
use poem::web::sse::Event as SseEvent;
use poem_openapi::auth::ApiKey;
use poem_openapi::param::Header;
use poem_openapi::payload::{EventStream, Json};
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{ToJSON, Type};
use poem_openapi::{ApiResponse, Object, OpenApi, SecurityScheme};
use strongroom_engine::{BearerToken, Engine, Event, EventKind, SecretString, Session, UserId};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::Caller;
use crate::convert::{datetime, record_uuid, user_uuid};
use crate::hub::{Prepared, Subscription};
use crate::messages_api::{NewMessage, StoredMessage};
use crate::problem::Problem;
use crate::responses::{answer, auth_problem, problem_variants, record_problem};
use crate::state::State;
use crate::tags::ApiTags;

/// Events replayed per storage read while catching up.
const REPLAY_PAGE: usize = 256;

/// The data of a `message` or `broadcast` event. The SSE `id` is the
/// event's sequence number, to send back as `Last-Event-ID`.
#[derive(Object)]
pub(crate) struct StreamEvent {
    /// `message` (stored for you) or `broadcast` (to everyone).
    kind: String,
    /// The message's id.
    id: Uuid,
    /// Username of the sender; absent if that account no longer exists.
    #[oai(skip_serializing_if_is_none)]
    sender: Option<String>,
    /// Id of the sender.
    sender_id: Uuid,
    /// The text.
    message: String,
    /// When it was stored (RFC 3339, UTC).
    created_at: OffsetDateTime,
    /// When it disappears (RFC 3339, UTC).
    expires_at: OffsetDateTime,
}

/// The SSE event type (and `kind` field) of an event.
pub(crate) fn kind_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Broadcast => "broadcast",
        _ => "message",
    }
}

impl StreamEvent {
    pub(crate) fn new(engine: &Engine, event: &Event) -> Self {
        Self {
            kind: kind_name(event.kind).to_owned(),
            id: record_uuid(event.meta.id),
            sender: engine.user(event.meta.sender).ok().map(|u| u.username),
            sender_id: user_uuid(event.meta.sender),
            message: String::from_utf8_lossy(&event.plaintext).into_owned(),
            created_at: datetime(event.meta.created_at),
            expires_at: datetime(event.meta.expires_at),
        }
    }
}

/// An event on its way to one stream (shared, serialised once).
pub(crate) struct Delivered(Arc<Prepared>);

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
        serde_json::from_str(&self.0.json).ok()
    }
}

/// A single-use stream ticket from `POST /v1/events/tickets`, for clients
/// that cannot send headers (a browser's `EventSource`). Access tokens are
/// never accepted here.
#[derive(SecurityScheme)]
#[oai(
    ty = "api_key",
    key_name = "ticket",
    key_in = "query",
    checker = "check_ticket",
    rename = "ticket"
)]
pub(crate) struct TicketAuth(Session);

async fn check_ticket(req: &Request, key: ApiKey) -> Option<Session> {
    let ticket = BearerToken::new(SecretString::from(key.key));
    let state = req.data::<State>()?.clone();
    state
        .blocking(move |e| e.redeem_ticket(&ticket))
        .await
        .ok()?
        .ok()
}

/// A bearer access token, or a stream ticket.
#[derive(SecurityScheme)]
pub(crate) enum StreamAuth {
    Bearer(Caller),
    Ticket(TicketAuth),
}

impl StreamAuth {
    fn session(&self) -> Session {
        match self {
            Self::Bearer(caller) => caller.0.session,
            Self::Ticket(ticket) => ticket.0,
        }
    }
}

/// A stream ticket.
#[derive(Object)]
pub(crate) struct Ticket {
    /// Pass as `GET /v1/events?ticket=…`; works once.
    ticket: String,
    /// Seconds until it expires (30).
    expires_in: u64,
}

#[derive(ApiResponse)]
pub(crate) enum EventsResponse {
    /// `text/event-stream` of `message` and `broadcast` events (SSE `id` =
    /// sequence number), with keep-alive comments.
    #[oai(status = 200)]
    Stream(EventStream<BoxStream<'static, Delivered>>),
    /// `Last-Event-ID` is not a sequence number.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// Missing, invalid or expired token, or a used or expired ticket.
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>),
}
problem_variants!(EventsResponse { 400 => BadRequest, 401 => Unauthorized });

#[derive(ApiResponse)]
pub(crate) enum TicketResponse {
    /// A ticket valid once, for 30 seconds.
    #[oai(status = 201)]
    Created(Json<Ticket>),
    /// Missing, invalid or expired bearer token.
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>),
}
problem_variants!(TicketResponse { 401 => Unauthorized });

#[derive(ApiResponse)]
pub(crate) enum BroadcastResponse {
    /// Stored durably (encrypted, with its ttl) and fanned out.
    #[oai(status = 201)]
    Created(Json<StoredMessage>),
    /// Message too long, or ttl out of range.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// Missing, invalid or expired bearer token.
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>),
}
problem_variants!(BroadcastResponse { 400 => BadRequest, 401 => Unauthorized });

/// Replays from storage after `after`, page by page, then forwards live
/// events newer than the last one replayed.
fn event_stream(
    engine: Engine,
    user: UserId,
    after: Option<u64>,
    sub: Subscription,
) -> BoxStream<'static, Delivered> {
    let replay = stream::unfold((engine, after), move |(engine, after)| async move {
        let from = after?;
        let page_engine = engine.clone();
        let page = tokio::task::spawn_blocking(move || {
            let events = page_engine
                .events_after(user, from, REPLAY_PAGE)
                .unwrap_or_default();
            let prepared: Vec<Arc<Prepared>> = events
                .iter()
                .map(|e| Arc::new(Prepared::new(&page_engine, e)))
                .collect();
            prepared
        })
        .await
        .unwrap_or_default();
        let next = match page.last() {
            Some(last) if page.len() == REPLAY_PAGE => Some(last.seq),
            _ => None,
        };
        (!page.is_empty()).then(|| (stream::iter(page), (engine, next)))
    })
    .flatten();
    let mut last_sent = after.unwrap_or(0);
    let mut sub = Some(sub);
    let live = stream::poll_fn(move |cx| match sub.as_mut() {
        Some(s) => s.rx.poll_recv(cx),
        None => std::task::Poll::Ready(None),
    });
    replay
        .chain(live)
        .filter_map(move |event| {
            let fresh = event.seq > last_sent;
            if fresh {
                last_sent = event.seq;
            }
            std::future::ready(fresh.then_some(Delivered(event)))
        })
        .boxed()
}

fn to_sse(event: Delivered) -> SseEvent {
    SseEvent::message(event.0.json.clone())
        .event_type(event.0.kind)
        .id(event.0.seq.to_string())
}

pub(crate) struct EventsApi;

#[OpenApi(tag = "ApiTags::Events")]
impl EventsApi {
    /// Open a live event stream.
    ///
    /// Authenticate with `Authorization: Bearer <access_token>` or, where
    /// headers cannot be sent, `?ticket=` from `POST /v1/events/tickets`.
    /// Reconnect with `Last-Event-ID` to receive, first, every unexpired
    /// event after it. A stream that falls too far behind is closed (resume
    /// with `Last-Event-ID`); logging out closes it.
    #[oai(path = "/v1/events", method = "get", operation_id = "events")]
    async fn events(
        &self,
        state: Data<&State>,
        auth: StreamAuth,
        /// The `id` of the last event received, to resume after it.
        #[oai(name = "Last-Event-ID")]
        last_event_id: Header<Option<String>>,
    ) -> poem::Result<EventsResponse> {
        let after = match last_event_id.0.as_deref().map(|v| v.trim().parse::<u64>()) {
            None => None,
            Some(Ok(seq)) => Some(seq),
            Some(Err(_)) => {
                return answer(Problem::new(
                    StatusCode::BAD_REQUEST,
                    "Last-Event-ID must be an event id from this stream",
                ));
            }
        };
        let session = auth.session();
        // Register before reading storage, so nothing committed meanwhile is missed.
        let sub = state.hub.subscribe(session.user, session.id);
        tracing::info!(user = %session.user, resume_after = ?after, streams = state.hub.len(), "stream opened");
        let stream = event_stream(state.engine.clone(), session.user, after, sub);
        Ok(EventsResponse::Stream(
            EventStream::new(stream)
                .keep_alive(state.config.keep_alive)
                .to_event(to_sse),
        ))
    }

    /// Get a stream ticket.
    ///
    /// A single-use ticket, valid for 30 seconds, for `GET /v1/events?ticket=…`.
    #[oai(
        path = "/v1/events/tickets",
        method = "post",
        operation_id = "create_ticket"
    )]
    async fn ticket(&self, state: Data<&State>, caller: Caller) -> poem::Result<TicketResponse> {
        let session = caller.0.session;
        match state.blocking(move |e| e.issue_ticket(session)).await? {
            Ok((ticket, ttl)) => Ok(TicketResponse::Created(Json(Ticket {
                ticket: ticket.expose_secret().to_owned(),
                expires_in: ttl.as_secs(),
            }))),
            Err(e) => answer(auth_problem(e)),
        }
    }

    /// Broadcast a message to everyone.
    ///
    /// Stored encrypted (under the broadcast scope's own key) with its ttl,
    /// and delivered to every connected stream as a `broadcast` event.
    #[oai(path = "/v1/broadcasts", method = "post", operation_id = "broadcast")]
    async fn broadcast(
        &self,
        state: Data<&State>,
        caller: Caller,
        body: Json<NewMessage>,
    ) -> poem::Result<BroadcastResponse> {
        let sender = caller.0.session.user;
        let (text, ttl) = body.0.into_parts();
        let len = text.len();
        match state
            .blocking(move |e| e.broadcast(sender, text.as_bytes(), ttl))
            .await?
        {
            Ok(receipt) => {
                tracing::info!(id = %receipt.meta.id, sender = %sender, bytes = len, "broadcast stored");
                Ok(BroadcastResponse::Created(Json(receipt.into())))
            }
            Err(e) => answer(record_problem(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use futures_util::StreamExt;
    use strongroom_engine::{Engine, ManualClock, MasterKey, SecretString, Timestamp};

    use super::event_stream;
    use crate::hub::Hub;

    fn engine(dir: &std::path::Path) -> Engine {
        let key = MasterKey::from_base64(&SecretString::from(
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        ))
        .expect("key");
        Engine::builder()
            .master_key(key)
            .clock(Arc::new(ManualClock::new(Timestamp::from_unix_millis(
                1_700_000_000_000,
            ))))
            .open(dir.join("db.redb"))
            .expect("engine")
    }

    /// The race, made deterministic: events committed after the stream
    /// registered but before its replay read storage are both replayed and
    /// queued live; the stream must yield each exactly once, in order.
    #[tokio::test]
    async fn events_committed_between_subscribe_and_replay_arrive_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = engine(dir.path());
        let hub = Hub::new(64);
        let listener_hub = hub.clone();
        engine.add_listener(move |e, n| listener_hub.on_notice(e, n));
        let alice = engine
            .create_user("alice", &SecretString::from("correct horse battery"))
            .expect("user")
            .id;
        let session = strongroom_engine::SessionId::from_u128(1);
        engine.put(alice, b"before", None).expect("put");
        let sub = hub.subscribe(alice, session);
        // Published during the replay window: in storage and in the queue.
        engine.put(alice, b"during-1", None).expect("put");
        engine
            .broadcast(alice, b"during-2", None)
            .expect("broadcast");
        let mut stream = event_stream(engine.clone(), alice, Some(1), sub);
        // And one more after the replay has started.
        let first = stream.next().await.expect("event");
        engine.put(alice, b"after", None).expect("put");
        let mut seqs = vec![first.0.seq];
        while seqs.len() < 3 {
            let next = tokio::time::timeout(Duration::from_secs(5), stream.next())
                .await
                .expect("in time")
                .expect("event");
            seqs.push(next.0.seq);
        }
        assert_eq!(seqs, [2, 3, 4]);
        assert!(
            tokio::time::timeout(Duration::from_millis(100), stream.next())
                .await
                .is_err(),
            "no duplicate follows"
        );
    }
}

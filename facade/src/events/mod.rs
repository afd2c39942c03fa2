//! Live delivery over Server-Sent Events, stream tickets, and broadcasts.

mod body;
pub(crate) mod stream;
pub(crate) mod wire;

use poem::Request;
use poem::RequestBody;
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::auth::ApiKey;
use poem_openapi::error::AuthorizationError;
use poem_openapi::param::{Header, Query};
use poem_openapi::payload::Json;
use poem_openapi::registry::Registry;
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ApiResponse, ExtractParamOptions, OpenApi, SecurityScheme,
};
use strongroom_engine::events::StreamCursor;
use strongroom_engine::sessions::{BearerToken, Session};
use strongroom_engine::{AuthError, EventId, Scope, SecretString};

use crate::events::body::EventStreamBody;
use crate::events::stream::{StreamSettings, event_stream};
use crate::events::wire::{NewBroadcast, Ticket};
use crate::fanout::Refused;
use crate::http::auth::Caller;
use crate::http::guard;
use crate::http::problem::{
    Answer, ApiError, Problem, answer, auth_problem, errors, or_answer, record_problem, says,
    server_error,
};
use crate::http::state::State;
use crate::http::write_limit::Kind;
use crate::messages::wire::{NewMessage, StoredMessage};
use crate::tags::ApiTags;
use crate::wire::json_body::JsonBody;
use crate::wire::secret_json::SecretJson;
use crate::wire::secret_text::SecretText;

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

/// The session of a ticket that redeems; else 401. One that could not be
/// redeemed because the database failed is that server error instead.
async fn check_ticket(req: &Request, key: ApiKey) -> poem::Result<Session> {
    let ticket = BearerToken::new(SecretString::from(key.key));
    let state = req.data::<State>().ok_or(AuthorizationError)?.clone();
    match state
        .blocking(move |e| e.sessions().redeem_ticket(&ticket))
        .await?
    {
        Ok(session) => Ok(session),
        Err(e @ AuthError::Storage(_)) => Err(ApiError(server_error("a stream ticket", &e)).into()),
        Err(_) => Err(AuthorizationError.into()),
    }
}

/// A bearer access token, or a stream ticket. A request that sends a
/// ticket is decided by it (one that does not redeem is refused, whatever
/// else came with it); else by its bearer token, whose refusal is its own
/// (a token the database could not check answers that server error, not
/// the 401 of a ticket never sent).
pub(crate) enum StreamAuth {
    Bearer(Caller),
    Ticket(TicketAuth),
}

impl<'a> ApiExtractor<'a> for StreamAuth {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        <Caller as ApiExtractor>::register(registry);
        <TicketAuth as ApiExtractor>::register(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        let mut schemes = <Caller as ApiExtractor>::security_schemes();
        schemes.extend(<TicketAuth as ApiExtractor>::security_schemes());
        schemes
    }

    async fn from_request(
        req: &'a Request,
        body: &mut RequestBody,
        options: ExtractParamOptions<()>,
    ) -> poem::Result<Self> {
        if sends_ticket(req) {
            TicketAuth::from_request(req, body, options)
                .await
                .map(Self::Ticket)
        } else {
            Caller::from_request(req, body, options)
                .await
                .map(Self::Bearer)
        }
    }
}

/// Whether `req`'s query names a `ticket` (its value is not read here).
fn sends_ticket(req: &Request) -> bool {
    req.uri().query().is_some_and(|query| {
        query.split('&').any(|pair| {
            let name = pair.split('=').next().unwrap_or_default();
            percent_encoding::percent_decode_str(name).eq(*b"ticket")
        })
    })
}

impl StreamAuth {
    fn session(&self) -> Session {
        match self {
            Self::Bearer(caller) => caller.0.session,
            Self::Ticket(ticket) => ticket.0,
        }
    }
}

#[derive(ApiResponse)]
pub(crate) enum EventsResponse {
    /// `text/event-stream` of `message` and `broadcast` events (SSE `id` =
    /// your stream's opaque position), with keep-alive comments.
    #[oai(status = 200)]
    Stream(EventStreamBody),
}
errors! {
    EventsErrors {
        400 => "`Last-Event-ID` is not an event id (22 characters of base64url).",
        401 => "Missing, invalid or expired token, or a used or expired ticket.",
        403 => says::LACKS_EVENTS,
        404 => "`Last-Event-ID` is an event id, but not one of your stream.",
        429 => "You hold the most streams a user may (8 by default); close one.",
        503 => "The server is shutting down; reconnect shortly.",
    }
}

#[derive(ApiResponse)]
pub(crate) enum TicketResponse {
    /// A ticket valid once, for 30 seconds.
    #[oai(status = 201)]
    Created(SecretJson<Ticket>),
}
errors! {
    TicketErrors {
        401 => says::UNAUTHORIZED,
        403 => says::LACKS_EVENTS,
        429 retry => says::WRITES_THROTTLED,
    }
}

#[derive(ApiResponse)]
pub(crate) enum BroadcastResponse {
    /// Stored durably (encrypted, with its ttl) and fanned out.
    #[oai(status = 201)]
    Created(Json<StoredMessage>),
}
errors! {
    BroadcastErrors {
        400 => "Message longer than the broadcast size cap, or ttl out of the\nbroadcast range.",
        401 => says::UNAUTHORIZED,
        403 => "The credential lacks the `broadcast` scope, or the sender is over\ntheir storage quota.",
        429 retry => "Over the broadcast rate or the caller's writes per minute; retry\nafter `Retry-After` seconds.",
    }
}

pub(crate) struct EventsApi;

#[OpenApi(tag = "ApiTags::Events")]
impl EventsApi {
    /// Open a live event stream.
    ///
    /// Authenticate with `Authorization: Bearer <access_token>` or, where
    /// headers cannot be sent, `?ticket=` from `POST /v1/events/tickets`.
    /// Reconnect with `Last-Event-ID` (or, from a browser's `EventSource`,
    /// which cannot set headers, `?last_event_id=` beside a fresh ticket)
    /// to receive, first, every unexpired event after it. A stream that
    /// falls too far behind is closed (resume the same way). A stream ends
    /// with a final `end` event (`{"reason": …}`: `token_expired`,
    /// `session_revoked`, `user_deleted`, `account_changed`, `shutting_down`) when its access
    /// token expires, its session is revoked or the server stops.
    ///
    /// Scope: `events:read`.
    #[oai(path = "/v1/events", method = "get", operation_id = "events")]
    async fn events(
        &self,
        state: Data<&State>,
        auth: StreamAuth,
        /// The `id` of the last event received, to resume after it.
        #[oai(name = "Last-Event-ID")]
        last_event_id: Header<Option<String>>,
        /// The same as `Last-Event-ID`, for clients that cannot send headers;
        /// the header wins when both are present.
        #[oai(name = "last_event_id")]
        last_event_id_query: Query<Option<String>>,
        req: &poem::Request,
    ) -> Answer<EventsResponse, EventsErrors> {
        let session = auth.session();
        if !session.scopes.contains(Scope::EventsRead) {
            return answer(Problem::new(
                StatusCode::FORBIDDEN,
                "this operation needs the `events:read` scope",
            ));
        }
        // Empty means no position to resume from (what `EventSource` sends
        // before its first event). Malformed — a header that is not even
        // visible ASCII included, which reaches us as absent — is a bad
        // request; well-formed but not a position in this user's stream
        // (another user's, or made up) is not found, as with a message
        // list's cursor.
        let unreadable = req
            .headers()
            .get("last-event-id")
            .is_some_and(|v| v.to_str().is_err());
        let given = |v: Option<String>| v.filter(|t| !t.is_empty());
        let resume = given(last_event_id.0).or_else(|| given(last_event_id_query.0));
        let malformed = || {
            answer(Problem::new(
                StatusCode::BAD_REQUEST,
                "Last-Event-ID must be an event id (22 characters of base64url)",
            ))
        };
        let start = match resume.as_deref() {
            _ if unreadable => return malformed(),
            None => StreamCursor::start(),
            Some(text) => {
                let Ok(id) = text.parse::<EventId>() else {
                    return malformed();
                };
                let Some(cursor) = state.engine.events().cursor(session.user, id) else {
                    return answer(Problem::new(
                        StatusCode::NOT_FOUND,
                        "Last-Event-ID is not an event id from your stream",
                    ));
                };
                cursor
            }
        };
        // Register before reading storage, so nothing committed meanwhile is missed.
        let sub = match state.hub.subscribe(session.user, session.id) {
            Ok(sub) => sub,
            Err(Refused::TooMany(max)) => {
                return answer(Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("at most {max} open streams per user; close one first"),
                ));
            }
            Err(Refused::Closed) => {
                return answer(Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the server is shutting down",
                ));
            }
        };
        tracing::info!(user = %session.user, resumed = resume.is_some(), streams = state.hub.len(), "stream opened");
        let settings = StreamSettings {
            session,
            start,
            check_every: state.config.stream_check,
        };
        let stream = event_stream(state.engine.clone(), settings, sub);
        Ok(EventsResponse::Stream(EventStreamBody::new(
            stream,
            state.config.keep_alive,
        )))
    }

    /// Get a stream ticket.
    ///
    /// A single-use ticket, valid for 30 seconds, for `GET /v1/events?ticket=…`.
    /// Scope: `events:read`; counts against your writes per minute (the
    /// ticket is stored, so that any instance of a cluster takes it).
    #[oai(
        path = "/v1/events/tickets",
        method = "post",
        operation_id = "create_ticket"
    )]
    async fn ticket(
        &self,
        state: Data<&State>,
        caller: Caller,
    ) -> Answer<TicketResponse, TicketErrors> {
        // A ticket is a stored row: a write, counted like any other.
        or_answer!(guard::writer(&state, &caller, Scope::EventsRead).await?);
        let session = caller.0.session;
        match state
            .blocking(move |e| e.sessions().issue_ticket(session))
            .await?
        {
            Ok(ticket) => Ok(TicketResponse::Created(SecretJson(Ticket {
                ticket: SecretText::from(&ticket.token),
                expires_in: ticket.expires_in.as_secs(),
            }))),
            Err(e) => answer(auth_problem(e)),
        }
    }

    /// Broadcast a message to everyone.
    ///
    /// Stored encrypted (under the broadcast scope's own key) with its ttl,
    /// and delivered to every connected stream as a `broadcast` event.
    /// Scope: `broadcast` (admins and services hold it). Broadcasts have
    /// their own caps: size (16 KiB), ttl (1 day) and rate (10 a minute per
    /// sender) by default, besides the sender's quota.
    #[oai(path = "/v1/broadcasts", method = "post", operation_id = "broadcast")]
    async fn broadcast(
        &self,
        state: Data<&State>,
        caller: Caller,
        body: JsonBody<NewBroadcast>,
    ) -> Answer<BroadcastResponse, BroadcastErrors> {
        let body = NewMessage::from(body.0);
        let caps = &state.config.broadcast;
        let (len, ttl) = body.shape();
        if len > caps.max_len {
            let detail = format!("a broadcast must be at most {} bytes", caps.max_len);
            return answer(Problem::new(StatusCode::BAD_REQUEST, detail));
        }
        if ttl.is_some_and(|t| t > caps.max_ttl) {
            let detail = format!(
                "a broadcast's ttl_seconds must be at most {}",
                caps.max_ttl.as_secs()
            );
            return answer(Problem::new(StatusCode::BAD_REQUEST, detail));
        }
        or_answer!(caller.require(Scope::Broadcast));
        let per_minute = caps.per_minute;
        or_answer!(guard::take(
            &state,
            caller.user(),
            Kind::Broadcast,
            per_minute
        ));
        let (sender, acting) = or_answer!(guard::writer(&state, &caller, Scope::Broadcast).await?);
        let (text, ttl) = body.into_parts();
        match acting
            .blocking(move |e| e.events().broadcast(sender, &text, ttl))
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

//! The `text/event-stream` response body: each event serialised once into
//! its own frame and handed to the connection as it is.
//!
//! poem-openapi's `EventStream` goes through poem's `SSE`, which turns the
//! events into an `AsyncRead` and back into frames through `ReaderStream`:
//! a 4 KiB buffer per open stream (an eighth of an idle HTTP/1 stream's
//! memory) and one more copy of every event. This documents the same way
//! (an `event-stream` array of the event type) and sends the same bytes,
//! without that buffer.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use poem::{Body, IntoResponse, Response};
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use tokio::time::{Interval, MissedTickBehavior};

use crate::events::stream::{Delivered, EventStream};

/// What a keep-alive sends: an SSE comment line.
const KEEP_ALIVE: &[u8] = b":\n\n";

/// An open event stream, with a keep-alive comment every `keep_alive`.
pub(crate) struct EventStreamBody {
    events: EventStream,
    keep_alive: Duration,
}

impl EventStreamBody {
    pub(crate) fn new(events: EventStream, keep_alive: Duration) -> Self {
        Self { events, keep_alive }
    }
}

impl Payload for EventStreamBody {
    const CONTENT_TYPE: &'static str = "text/event-stream";

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            items: Some(Box::new(Delivered::schema_ref())),
            ..MetaSchema::new_with_format("array", "event-stream")
        }))
    }

    fn register(registry: &mut Registry) {
        Delivered::register(registry);
    }
}

impl IntoResponse for EventStreamBody {
    fn into_response(self) -> Response {
        let start = tokio::time::Instant::now() + self.keep_alive;
        let mut ticks = tokio::time::interval_at(start, self.keep_alive);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let frames = Frames {
            events: self.events,
            ticks,
        };
        Response::builder()
            .content_type(Self::CONTENT_TYPE)
            .header("X-Accel-Buffering", "no")
            .header("Cache-Control", "no-cache")
            .body(Body::from_bytes_stream(frames))
    }
}

/// The events as frames, and a keep-alive comment whenever the interval
/// ticks while no event is ready; ends with the events.
struct Frames {
    events: EventStream,
    ticks: Interval,
}

impl Stream for Frames {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Poll::Ready(next) = Pin::new(&mut self.events).poll_next(cx) {
            return Poll::Ready(next.map(|d| Ok(d.frame())));
        }
        self.ticks
            .poll_tick(cx)
            .map(|_| Some(Ok(Bytes::from_static(KEEP_ALIVE))))
    }
}

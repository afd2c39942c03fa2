//! The wire types of live delivery: broadcasts, stream tickets, and the
//! data of each stream event (a message with its `kind`), written once
//! per event for every stream.

use poem_openapi::Object;
use strongroom_engine::events::{Event, EventKind};
use zeroize::Zeroizing;

use crate::fanout::Prepared;
use crate::messages::wire::{Message, NewMessage};
use crate::wire::fast_json::{self, WriteJson};
use crate::wire::plain_text::PlainText;
use crate::wire::text::Text;

/// A broadcast to store: a message every stream receives, under the
/// broadcast caps.
#[derive(Object)]
#[oai(example)]
pub(crate) struct NewBroadcast {
    /// The text, UTF-8, at most the server's broadcast size (16 KiB by
    /// default).
    message: Text,
    /// Seconds until the broadcast disappears: 1 to the server's broadcast
    /// maximum (1 day by default). Default: the server's default (600).
    ttl_seconds: Option<u64>,
}

impl From<NewBroadcast> for NewMessage {
    fn from(b: NewBroadcast) -> Self {
        Self {
            message: b.message,
            ttl_seconds: b.ttl_seconds,
        }
    }
}

impl poem_openapi::types::Example for NewBroadcast {
    fn example() -> Self {
        Self {
            message: Text("maintenance at 22:00 UTC".into()),
            ttl_seconds: Some(3600),
        }
    }
}

/// The data of a `message` or `broadcast` event. The SSE `id` is an opaque
/// position in your stream, to send back as `Last-Event-ID`.
#[derive(Object)]
pub(crate) struct StreamEvent {
    /// `message` (stored for you) or `broadcast` (to everyone).
    kind: String,
    #[oai(flatten)]
    message: Message,
}

/// An event serialised once for every stream that receives it.
pub(crate) fn prepare(event: &Event) -> Prepared {
    Prepared {
        position: event.position(),
        kind: kind_name(event.kind()),
        json: Zeroizing::new(fast_json::to_string(&StreamEvent::from(event))),
    }
}

impl From<&Event> for StreamEvent {
    fn from(e: &Event) -> Self {
        Self {
            kind: kind_name(e.kind()).to_owned(),
            message: Message::new(e.meta.clone(), PlainText::copy(&e.plaintext)),
        }
    }
}

impl WriteJson for StreamEvent {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        fast_json::key(out, "kind");
        fast_json::string(out, &self.kind);
        out.push(b',');
        self.message.write_fields(out);
        out.push(b'}');
    }

    fn size_hint(&self) -> usize {
        self.message.size_hint() + 24
    }
}

/// The SSE event type (and `kind` field) of an event.
pub(crate) fn kind_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Broadcast => "broadcast",
        EventKind::Message => "message",
    }
}

/// A stream ticket.
#[derive(Object)]
pub(crate) struct Ticket {
    /// Pass as `GET /v1/events?ticket=…`; works once.
    pub(crate) ticket: String,
    /// Seconds until it expires (30).
    pub(crate) expires_in: u64,
}

#[cfg(test)]
mod tests {
    use poem_openapi::types::ToJSON;
    use strongroom_engine::{RecordId, Timestamp, UserId};

    use super::*;
    use crate::wire::plain_text::PlainText;

    #[test]
    fn direct_serialisation_matches_the_documented_one() {
        for name in [Some("alice"), None] {
            let meta = strongroom_engine::records::RecordMeta {
                id: RecordId::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
                sender: UserId::from_u128(42),
                sender_name: name.map(str::to_owned),
                created_at: Timestamp::from_unix_millis(1_700_000_000_123),
                expires_at: Timestamp::from_unix_millis(1_700_000_600_000),
            };
            let event = StreamEvent {
                kind: "message".to_owned(),
                message: Message::new(meta, PlainText::copy(b"x")),
            };
            let mut out = Vec::new();
            event.write_json(&mut out);
            let written: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
            assert_eq!(Some(written), event.to_json());
        }
    }
}

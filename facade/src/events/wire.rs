//! The wire types of live delivery: broadcasts, stream tickets, and the
//! data of each stream event (a message with its `kind`), written once
//! per event for every stream.

use poem_openapi::Object;
use strongroom_engine::SecretBytes;
use strongroom_engine::events::{Event, EventKind};

use crate::fanout::Prepared;
use crate::messages::wire::{Message, NewMessage};
use crate::wire::fast_json::{self, WriteJson};
use crate::wire::secret_text::SecretText;
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

/// The data of a `message`, `broadcast`, `file` or `credits` event. The
/// SSE `id` is an opaque position in your stream, to send back as
/// `Last-Event-ID`.
#[derive(Object)]
pub(crate) struct StreamEvent {
    /// `message` (stored for you), `broadcast` (to everyone), `file` (a
    /// file sent to you: `file` says which; `message` says it in words) or
    /// `credits` (your balance fell below the low threshold: `credits`
    /// says how low; `message` says it in words).
    kind: String,
    #[oai(flatten)]
    message: Message,
    /// For a `file` event: the file, to fetch with `GET /v1/files/{id}`.
    file: Option<AnnouncedFile>,
    /// For a `credits` event: the balance and the threshold it fell below.
    credits: Option<LowCredits>,
}

/// A low balance announced on the account's stream.
#[derive(Object)]
pub(crate) struct LowCredits {
    /// The balance after the charge that crossed.
    balance: u64,
    /// The threshold crossed (`--credits-low`).
    low: u64,
}

/// A file announced on its recipient's stream.
#[derive(Object)]
pub(crate) struct AnnouncedFile {
    /// The file's id.
    id: uuid::Uuid,
    /// Its name.
    name: String,
    /// Its size in bytes.
    size: u64,
    /// Its media type.
    media_type: String,
}

/// An event serialised once for every stream that receives it.
pub(crate) fn prepare(event: &Event) -> Prepared {
    Prepared {
        position: event.position(),
        kind: kind_name(event.kind()),
        json: SecretText::take(fast_json::body(&StreamEvent::from(event))),
    }
}

impl From<&Event> for StreamEvent {
    fn from(e: &Event) -> Self {
        if let Some(low) = e.credits() {
            let words = format!(
                "Your credits are running low: {} left (below {}).",
                low.balance, low.low
            );
            return Self {
                kind: kind_name(e.kind()).to_owned(),
                message: Message::new(e.meta.clone(), SecretText::copy(words.as_bytes())),
                file: None,
                credits: Some(LowCredits {
                    balance: low.balance,
                    low: low.low,
                }),
            };
        }
        let Some(file) = e.file() else {
            return Self {
                kind: kind_name(e.kind()).to_owned(),
                message: Message::new(e.meta.clone(), SecretText::copy(&e.plaintext)),
                file: None,
                credits: None,
            };
        };
        let sender = e.meta.sender_name.as_deref().unwrap_or("someone");
        let words = format!(
            "{sender} sent you a file: {} ({} bytes)",
            file.label.name, file.size
        );
        Self {
            kind: kind_name(e.kind()).to_owned(),
            message: Message::new(e.meta.clone(), SecretText::copy(words.as_bytes())),
            file: Some(AnnouncedFile {
                id: uuid::Uuid::from_u128(file.id.as_u128()),
                name: file.label.name,
                size: file.size,
                media_type: file.label.media_type,
            }),
            credits: None,
        }
    }
}

impl WriteJson for StreamEvent {
    fn write_json(&self, out: &mut SecretBytes) {
        out.push(b'{');
        fast_json::key(out, "kind");
        fast_json::string(out, &self.kind);
        out.push(b',');
        self.message.write_fields(out);
        if let Some(file) = &self.file {
            out.push(b',');
            fast_json::key(out, "file");
            out.push(b'{');
            fast_json::key(out, "id");
            fast_json::uuid(out, &file.id);
            out.push(b',');
            fast_json::key(out, "name");
            fast_json::string(out, &file.name);
            out.push(b',');
            fast_json::key(out, "size");
            out.extend_from_slice(file.size.to_string().as_bytes());
            out.push(b',');
            fast_json::key(out, "media_type");
            fast_json::string(out, &file.media_type);
            out.push(b'}');
        }
        if let Some(credits) = &self.credits {
            out.push(b',');
            fast_json::key(out, "credits");
            out.push(b'{');
            fast_json::key(out, "balance");
            out.extend_from_slice(credits.balance.to_string().as_bytes());
            out.push(b',');
            fast_json::key(out, "low");
            out.extend_from_slice(credits.low.to_string().as_bytes());
            out.push(b'}');
        }
        out.push(b'}');
    }

    fn size_hint(&self) -> usize {
        self.message.size_hint()
            + 24
            + self.file.as_ref().map_or(0, |f| f.name.len() + 128)
            + self.credits.as_ref().map_or(0, |_| 64)
    }
}

/// The SSE event type (and `kind` field) of an event.
pub(crate) fn kind_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Broadcast => "broadcast",
        EventKind::Message => "message",
        EventKind::File => "file",
        EventKind::Credits => "credits",
    }
}

/// A stream ticket.
#[derive(Object)]
pub(crate) struct Ticket {
    /// Pass as `GET /v1/events?ticket=…`; works once.
    pub(crate) ticket: SecretText,
    /// Seconds until it expires (30).
    pub(crate) expires_in: u64,
}

#[cfg(test)]
mod tests {
    use poem_openapi::types::ToJSON;
    use strongroom_engine::{RecordId, Timestamp, UserId};

    use super::*;
    use crate::wire::secret_text::SecretText;

    #[test]
    fn direct_serialisation_matches_the_documented_one() {
        for name in [Some("alice"), None] {
            let meta = strongroom_engine::records::RecordMeta {
                id: RecordId::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
                sender: UserId::from_u128(42),
                sender_name: name.map(str::to_owned),
                created_at: Timestamp::from_unix_millis(1_700_000_000_123),
                expires_at: Timestamp::from_unix_millis(1_700_000_600_000),
                kind: strongroom_engine::records::RecordKind::Message,
            };
            for (file, credits) in [(false, false), (true, false), (false, true)] {
                let event = StreamEvent {
                    kind: "message".to_owned(),
                    message: Message::new(meta.clone(), SecretText::copy(b"x")),
                    file: file.then(|| AnnouncedFile {
                        id: uuid::Uuid::from_u128(7),
                        name: "a \"b\".pdf".to_owned(),
                        size: 12,
                        media_type: "application/pdf".to_owned(),
                    }),
                    credits: credits.then_some(LowCredits {
                        balance: 9,
                        low: 10,
                    }),
                };
                let written: serde_json::Value =
                    serde_json::from_slice(&fast_json::body(&event)).expect("valid JSON");
                let mut documented = event.to_json().expect("json");
                // poem-openapi writes an absent optional field as null.
                if !file {
                    documented.as_object_mut().map(|o| o.remove("file"));
                }
                if !credits {
                    documented.as_object_mut().map(|o| o.remove("credits"));
                }
                assert_eq!(written, documented);
            }
        }
    }
}

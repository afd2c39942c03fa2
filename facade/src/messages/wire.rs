//! The wire types of messages: what is stored and what is read back, and
//! their direct JSON writers (a page of messages is the hottest answer).

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use poem_openapi::Object;
use strongroom_engine::SecretBytes;
use strongroom_engine::records::{Receipt, Record, RecordMeta};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::wire::datetime;
use crate::wire::fast_json::{self, WriteJson};
use crate::wire::secret_text::SecretText;
use crate::wire::text::Text;

/// A message to store.
#[derive(Object)]
#[oai(example)]
pub(crate) struct NewMessage {
    /// The text, UTF-8, at most the server's record size (64 KiB by
    /// default).
    pub(crate) message: Text,
    /// Seconds until the message disappears: 1 to the server's maximum
    /// (7 days by default). Default: the server's default (600).
    pub(crate) ttl_seconds: Option<u64>,
}

impl NewMessage {
    /// The text's length in bytes and the requested ttl.
    pub(crate) fn shape(&self) -> (usize, Option<Duration>) {
        (
            self.message.0.len(),
            self.ttl_seconds.map(Duration::from_secs),
        )
    }

    /// The text's bytes (erased when dropped) and the requested ttl.
    pub(crate) fn into_parts(mut self) -> (SecretBytes, Option<Duration>) {
        (
            self.message.take(),
            self.ttl_seconds.map(Duration::from_secs),
        )
    }
}

impl poem_openapi::types::Example for NewMessage {
    fn example() -> Self {
        Self {
            message: Text("the vault code is 7-3-1".into()),
            ttl_seconds: Some(600),
        }
    }
}

/// A stored message, as sealed.
#[derive(Object)]
pub(crate) struct StoredMessage {
    /// The message's id.
    id: Uuid,
    /// The stored envelope, standard base64: version (1) ‖ key version (4)
    /// ‖ nonce (12) ‖ ciphertext ‖ tag (16).
    ciphertext: String,
    /// When it was stored (RFC 3339, UTC).
    created_at: OffsetDateTime,
    /// When it disappears (RFC 3339, UTC).
    expires_at: OffsetDateTime,
}

impl From<Receipt> for StoredMessage {
    fn from(r: Receipt) -> Self {
        Self {
            id: Uuid::from_u128(r.meta.id.as_u128()),
            ciphertext: STANDARD.encode(&r.envelope),
            created_at: datetime(r.meta.created_at),
            expires_at: datetime(r.meta.expires_at),
        }
    }
}

impl WriteJson for StoredMessage {
    fn write_json(&self, out: &mut SecretBytes) {
        out.push(b'{');
        fast_json::key(out, "id");
        fast_json::uuid(out, &self.id);
        out.push(b',');
        fast_json::key(out, "ciphertext");
        fast_json::string(out, &self.ciphertext);
        out.push(b',');
        fast_json::key(out, "created_at");
        fast_json::datetime(out, &self.created_at);
        out.push(b',');
        fast_json::key(out, "expires_at");
        fast_json::datetime(out, &self.expires_at);
        out.push(b'}');
    }

    fn size_hint(&self) -> usize {
        self.ciphertext.len() + 160
    }
}

/// A decrypted message.
#[derive(Object)]
pub(crate) struct Message {
    /// The message's id.
    id: Uuid,
    /// Username of who stored it, as it was then; absent only for messages
    /// migrated from an older database whose sender had been deleted.
    #[oai(skip_serializing_if_is_none)]
    sender: Option<String>,
    /// Id of who stored it.
    sender_id: Uuid,
    /// The text.
    message: SecretText,
    /// When it was stored (RFC 3339, UTC).
    created_at: OffsetDateTime,
    /// When it disappears (RFC 3339, UTC).
    expires_at: OffsetDateTime,
}

impl Message {
    pub(crate) fn new(meta: RecordMeta, message: SecretText) -> Self {
        Self {
            id: Uuid::from_u128(meta.id.as_u128()),
            sender: meta.sender_name,
            sender_id: Uuid::from_u128(meta.sender.as_u128()),
            message,
            created_at: datetime(meta.created_at),
            expires_at: datetime(meta.expires_at),
        }
    }
}

/// The record's plaintext moves into the message, uncopied.
impl From<Record> for Message {
    fn from(r: Record) -> Self {
        Self::new(r.meta, SecretText::take(r.plaintext))
    }
}

impl Message {
    /// The fields, without braces (a stream event adds its `kind`).
    pub(crate) fn write_fields(&self, out: &mut SecretBytes) {
        fast_json::key(out, "id");
        fast_json::uuid(out, &self.id);
        if let Some(sender) = &self.sender {
            out.push(b',');
            fast_json::key(out, "sender");
            fast_json::string(out, sender);
        }
        out.push(b',');
        fast_json::key(out, "sender_id");
        fast_json::uuid(out, &self.sender_id);
        out.push(b',');
        fast_json::key(out, "message");
        fast_json::string(out, &self.message);
        out.push(b',');
        fast_json::key(out, "created_at");
        fast_json::datetime(out, &self.created_at);
        out.push(b',');
        fast_json::key(out, "expires_at");
        fast_json::datetime(out, &self.expires_at);
    }
}

impl WriteJson for Message {
    fn write_json(&self, out: &mut SecretBytes) {
        out.push(b'{');
        self.write_fields(out);
        out.push(b'}');
    }

    fn size_hint(&self) -> usize {
        self.message.len() + 256
    }
}

/// One page of messages, newest first.
#[derive(Object)]
pub(crate) struct MessagePage {
    /// The messages on this page.
    pub(crate) messages: Vec<Message>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub(crate) next_cursor: Option<String>,
}

impl WriteJson for MessagePage {
    fn write_json(&self, out: &mut SecretBytes) {
        out.push(b'{');
        fast_json::key(out, "messages");
        out.push(b'[');
        for (n, message) in self.messages.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            message.write_json(out);
        }
        out.push(b']');
        if let Some(cursor) = &self.next_cursor {
            out.push(b',');
            fast_json::key(out, "next_cursor");
            fast_json::string(out, cursor);
        }
        out.push(b'}');
    }

    fn size_hint(&self) -> usize {
        self.messages
            .iter()
            .map(WriteJson::size_hint)
            .sum::<usize>()
            + 96
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::types::ToJSON;
    use strongroom_engine::{RecordId, Timestamp, UserId};

    use super::*;

    pub(crate) fn meta(sender_name: Option<&str>) -> RecordMeta {
        RecordMeta {
            id: RecordId::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
            sender: UserId::from_u128(42),
            sender_name: sender_name.map(str::to_owned),
            created_at: Timestamp::from_unix_millis(1_700_000_000_123),
            expires_at: Timestamp::from_unix_millis(1_700_000_600_000),
            kind: strongroom_engine::records::RecordKind::Message,
        }
    }

    pub(crate) fn written(value: &impl WriteJson) -> serde_json::Value {
        serde_json::from_slice(&fast_json::body(value)).expect("valid JSON")
    }

    /// The direct path (`FastJson`) writes exactly what poem-openapi's
    /// `Json` would, so the schema describes it.
    #[test]
    fn direct_serialisation_matches_the_documented_one() {
        for name in [Some("alice"), None] {
            let page = MessagePage {
                messages: vec![
                    Message::new(
                        meta(name),
                        SecretText::copy("h\"i\n é \\ \u{7f} \u{2028}".as_bytes()),
                    ),
                    Message::new(meta(name), SecretText::copy(b"plain")),
                ],
                next_cursor: name.map(|_| "cursor".to_owned()),
            };
            assert_eq!(Some(written(&page)), page.to_json());
        }
        let stored = StoredMessage {
            id: Uuid::from_u128(7),
            ciphertext: "AQ==".to_owned(),
            created_at: datetime(Timestamp::from_unix_millis(1)),
            expires_at: datetime(Timestamp::from_unix_millis(1_000_000)),
        };
        assert_eq!(Some(written(&stored)), stored.to_json());
    }
}

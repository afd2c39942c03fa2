//! The audit log and its checkpoints as JSON. The checkpoint format is
//! shared with `strongroom audit checkpoint` and `audit verify
//! --checkpoint`, so one fetched over HTTP verifies offline:
//!
//! ```json
//! {"seq": 8, "tx_hash": "<64 hex>", "time_ms": 1700000000000,
//!  "public_key": "<64 hex>", "signature": "<128 hex>"}
//! ```

use poem_openapi::Object;
use serde::{Deserialize, Serialize};
use strongroom_engine::Timestamp;
use strongroom_engine::audit::{AuditEntry, AuditPage, Checkpoint};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::wire::datetime;

/// One audit entry. It never holds a secret or message content.
#[derive(Object)]
pub(crate) struct AuditEntryView {
    /// Position in the log (1, 2, 3, … without gaps).
    seq: u64,
    /// When it was written.
    time: OffsetDateTime,
    /// `user:<id>`, `key:<id>`, `operator` or `anonymous`.
    actor: String,
    /// The account acting (the user, or the key's owner), if any.
    actor_user: Option<Uuid>,
    /// What was done (`login`, `message.send`, `key.create`, …).
    action: String,
    /// What it was done to (`user:<id>`, `message:<id>`, `session:<id>`,
    /// `key:<id>`, `broadcast:<id>`, `share:<id>`, or `-`).
    target: String,
    /// `success` or `denied`.
    outcome: String,
    /// The client's address, when the action came over the network.
    address: Option<String>,
    /// The previous entry's hash (hex).
    prev_hash: String,
    /// This entry's hash, `SHA-256(prev_hash || canonical entry)` (hex):
    /// its transaction hash, to cite.
    tx_hash: String,
}

impl From<&AuditEntry> for AuditEntryView {
    fn from(e: &AuditEntry) -> Self {
        Self {
            seq: e.seq,
            time: datetime(e.time),
            actor: e.actor.to_string(),
            actor_user: e.actor.user().map(|u| Uuid::from_u128(u.as_u128())),
            action: e.action.as_str().to_owned(),
            target: e.target.to_string(),
            outcome: e.outcome.as_str().to_owned(),
            address: e.address.map(|a| a.to_string()),
            prev_hash: hex::encode(e.prev_hash),
            tx_hash: hex::encode(e.hash),
        }
    }
}

/// A page of the audit log, oldest first.
#[derive(Object)]
pub(crate) struct AuditPageView {
    /// The entries.
    entries: Vec<AuditEntryView>,
    /// Pass as `after` for the next page; absent on the last.
    next: Option<u64>,
}

impl From<&AuditPage> for AuditPageView {
    fn from(page: &AuditPage) -> Self {
        Self {
            entries: page.entries.iter().map(AuditEntryView::from).collect(),
            next: page.next,
        }
    }
}

/// The audit chain head signed with the server's Ed25519 audit key.
#[derive(Object, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct CheckpointJson {
    /// Sequence number of the entry signed.
    pub seq: u64,
    /// That entry's hash (hex).
    pub tx_hash: String,
    /// When the checkpoint was made (unix milliseconds; signed).
    pub time_ms: u64,
    /// The server's audit verifying key (hex, Ed25519).
    pub public_key: String,
    /// Ed25519 signature (hex) of `"strongroom audit checkpoint v1\0" ||
    /// seq (u64 BE) || tx_hash || time_ms (u64 BE)`.
    pub signature: String,
}

impl From<&Checkpoint> for CheckpointJson {
    fn from(c: &Checkpoint) -> Self {
        Self {
            seq: c.seq,
            tx_hash: hex::encode(c.hash),
            time_ms: c.time.as_unix_millis(),
            public_key: hex::encode(c.public_key),
            signature: hex::encode(c.signature),
        }
    }
}

impl CheckpointJson {
    /// The checkpoint, if every field is well formed (the signature is not
    /// checked here).
    pub fn to_checkpoint(&self) -> Result<Checkpoint, String> {
        fn bytes<const N: usize>(field: &str, text: &str) -> Result<[u8; N], String> {
            let mut out = [0; N];
            hex::decode_to_slice(text, &mut out)
                .map_err(|_| format!("{field} must be {} hex digits", 2 * N))?;
            Ok(out)
        }
        Ok(Checkpoint {
            seq: self.seq,
            hash: bytes("tx_hash", &self.tx_hash)?,
            time: Timestamp::from_unix_millis(self.time_ms),
            public_key: bytes("public_key", &self.public_key)?,
            signature: bytes("signature", &self.signature)?,
        })
    }
}

/// `actor` as a filter can name only accounts.
pub(crate) fn actor_filter(actor: Option<Uuid>) -> Option<strongroom_engine::UserId> {
    actor.map(|u| strongroom_engine::UserId::from_u128(u.as_u128()))
}

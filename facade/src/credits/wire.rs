//! The wire types of credits: the balance with the price list, ledger
//! entries and pages, an admin's adjustment, and the webhook's answer.

use poem_openapi::Object;
use strongroom_engine::credits::{CreditStatus, LedgerEntry, LedgerPage};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::wire::datetime;
use crate::wire::text::CreditReason;

/// An account's credits.
#[derive(Object)]
pub(crate) struct CreditsView {
    /// Credits left (while metering is off: 0).
    balance: u64,
    /// Whether actions cost credits on this server.
    enabled: bool,
    /// What each action costs, by name (`file-upload`, `share`,
    /// `file-download`, `service-call`, `store`, `send`, `broadcast`):
    /// every one 0 while metering is off. Reads and lists are free.
    price_list: std::collections::BTreeMap<String, u64>,
    /// A charge taking the balance below this sends a `credits` event on
    /// your stream.
    low: u64,
}

impl From<CreditStatus> for CreditsView {
    fn from(s: CreditStatus) -> Self {
        Self {
            balance: s.balance,
            enabled: s.enabled,
            price_list: s
                .prices
                .iter()
                .map(|(action, price)| (action.as_str().to_owned(), price))
                .collect(),
            low: s.low,
        }
    }
}

/// One movement of credits.
#[derive(Object)]
pub(crate) struct LedgerEntryView {
    /// The entry's number: the audit log's sequence number of the entry
    /// that records it (pass as `after` to page on).
    seq: u64,
    /// Whose credits.
    account: Uuid,
    /// `grant`, `charge`, `top-up`, `purchase`, `refund` or `adjustment`.
    kind: String,
    /// The action paid for or refunded (`file-upload`, `share`, …), if
    /// any.
    action: Option<String>,
    /// Credits in (positive) or out (negative).
    amount: i64,
    /// The balance after it.
    balance_after: u64,
    /// When.
    time: OffsetDateTime,
    /// An admin's reason, or a purchase's payment event id.
    reason: Option<String>,
    /// The hash linking this movement into the audit log's chain (hex):
    /// `strongroom audit verify` and signed checkpoints cover it.
    tx_hash: String,
}

impl From<LedgerEntry> for LedgerEntryView {
    fn from(e: LedgerEntry) -> Self {
        Self {
            seq: e.seq,
            account: Uuid::from_u128(e.account.as_u128()),
            kind: e.movement.kind().to_owned(),
            action: e.movement.action().map(|a| a.as_str().to_owned()),
            amount: e.amount,
            balance_after: e.balance,
            time: datetime(e.time),
            reason: e.reason,
            tx_hash: hex::encode(e.tx_hash),
        }
    }
}

/// A page of ledger entries, oldest first.
#[derive(Object)]
pub(crate) struct LedgerPageView {
    /// The entries.
    entries: Vec<LedgerEntryView>,
    /// Pass as `after` for the next page; absent on the last.
    next: Option<u64>,
}

impl From<LedgerPage> for LedgerPageView {
    fn from(p: LedgerPage) -> Self {
        Self {
            entries: p.entries.into_iter().map(LedgerEntryView::from).collect(),
            next: p.next,
        }
    }
}

/// An admin's top-up (positive) or adjustment (negative).
#[derive(Object)]
#[oai(example)]
pub(crate) struct NewAdjustment {
    /// Credits to add (positive) or take (negative): a non-zero whole
    /// number between −1,000,000,000 and 1,000,000,000. Taking more than
    /// the balance is refused.
    #[oai(validator(minimum(value = "-1000000000"), maximum(value = "1000000000")))]
    pub(crate) amount: i64,
    /// Why, for the ledger (at most 200 characters).
    pub(crate) reason: Option<CreditReason>,
}

impl poem_openapi::types::Example for NewAdjustment {
    fn example() -> Self {
        Self {
            amount: 100,
            reason: Some(CreditReason("annual plan".to_owned())),
        }
    }
}

/// What the webhook did with an event.
#[derive(Object)]
pub(crate) struct WebhookReceipt {
    /// The event's id.
    pub(crate) event_id: String,
    /// Credits added by this delivery (0: nothing to credit, or credited
    /// before).
    pub(crate) credited: u64,
    /// Whether this event was credited by an earlier delivery.
    pub(crate) duplicate: bool,
}

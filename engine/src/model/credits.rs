//! Public values of credits: the actions that cost credits and their
//! prices, how metering is configured, and the ledger's entries.

use std::fmt;

use crate::clock::Timestamp;
use crate::ids::UserId;

pub use crate::error::InsufficientCredits;

/// An action that may cost credits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Chargeable {
    /// A file stored (uploaded, or sent to another user).
    FileUpload,
    /// A share link created.
    Share,
    /// A file downloaded by its owner (each request, ranges included).
    FileDownload,
    /// Any request made with an API key of a service account.
    ServiceCall,
    /// A message stored for oneself.
    Store,
    /// A message sent to another user.
    Send,
    /// A broadcast to everyone.
    Broadcast,
}

impl Chargeable {
    /// Every chargeable action, in price-list order.
    pub const ALL: [Self; 7] = [
        Self::FileUpload,
        Self::Share,
        Self::FileDownload,
        Self::ServiceCall,
        Self::Store,
        Self::Send,
        Self::Broadcast,
    ];

    /// The action's name, as `--credit-cost` and the API spell it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::FileUpload => "file-upload",
            Self::Share => "share",
            Self::FileDownload => "file-download",
            Self::ServiceCall => "service-call",
            Self::Store => "store",
            Self::Send => "send",
            Self::Broadcast => "broadcast",
        }
    }

    /// The action named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }

    const fn index(self) -> usize {
        self as usize
    }

    /// What it costs unless configured otherwise.
    pub const fn default_price(self) -> u64 {
        match self {
            Self::FileUpload => 10,
            Self::Share => 5,
            Self::FileDownload => 2,
            Self::ServiceCall => 3,
            Self::Store | Self::Send | Self::Broadcast => 0,
        }
    }
}

impl fmt::Display for Chargeable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What each chargeable action costs, in credits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PriceList([u64; 7]);

impl PriceList {
    /// What `action` costs.
    pub const fn get(&self, action: Chargeable) -> u64 {
        self.0[action.index()]
    }

    /// Sets what `action` costs.
    pub fn set(&mut self, action: Chargeable, price: u64) {
        self.0[action.index()] = price;
    }

    /// Every action with its price, in [`Chargeable::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Chargeable, u64)> + '_ {
        Chargeable::ALL.into_iter().map(|a| (a, self.get(a)))
    }
}

impl Default for PriceList {
    /// `file-upload=10`, `share=5`, `file-download=2`, `service-call=3`,
    /// `store=0`, `send=0`, `broadcast=0`.
    fn default() -> Self {
        let mut prices = Self([0; 7]);
        for action in Chargeable::ALL {
            prices.set(action, action.default_price());
        }
        prices
    }
}

/// Credits granted to a new account unless configured otherwise.
pub const DEFAULT_INITIAL_CREDITS: u64 = 50;
/// The balance below which an account is told it runs low, unless
/// configured otherwise.
pub const DEFAULT_LOW_CREDITS: u64 = 10;

/// How an engine meters (see
/// [`EngineBuilder::credits`](crate::EngineBuilder::credits)). Off by
/// default: nothing is charged and no balance is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreditsConfig {
    /// Whether actions cost credits.
    pub enabled: bool,
    /// Granted to each account once: when it is created, or when metering
    /// is first turned on for an account that existed before.
    pub initial: u64,
    /// What each action costs.
    pub prices: PriceList,
    /// A charge that takes the balance below this tells the account
    /// (a `credits` event), once per crossing.
    pub low: u64,
}

impl Default for CreditsConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            initial: DEFAULT_INITIAL_CREDITS,
            prices: PriceList::default(),
            low: DEFAULT_LOW_CREDITS,
        }
    }
}

impl CreditsConfig {
    /// Metering on, with the defaults.
    pub fn enabled() -> Self {
        Self {
            enabled: true,
            ..Self::default()
        }
    }

    /// What `action` costs now: nothing while metering is off.
    pub fn price(&self, action: Chargeable) -> u64 {
        if self.enabled {
            self.prices.get(action)
        } else {
            0
        }
    }
}

/// Why credits moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Movement {
    /// The initial credits of an account.
    Grant,
    /// An action paid for.
    Charge(Chargeable),
    /// Credits added by an admin.
    TopUp,
    /// Credits bought through the payment provider.
    Purchase,
    /// A charge given back (the call it paid for was refused).
    Refund(Chargeable),
    /// Credits taken away by an admin.
    Adjustment,
}

impl Movement {
    /// Every movement, for names and filters.
    pub const ALL: [Self; 18] = [
        Self::Grant,
        Self::TopUp,
        Self::Purchase,
        Self::Adjustment,
        Self::Charge(Chargeable::FileUpload),
        Self::Charge(Chargeable::Share),
        Self::Charge(Chargeable::FileDownload),
        Self::Charge(Chargeable::ServiceCall),
        Self::Charge(Chargeable::Store),
        Self::Charge(Chargeable::Send),
        Self::Charge(Chargeable::Broadcast),
        Self::Refund(Chargeable::FileUpload),
        Self::Refund(Chargeable::Share),
        Self::Refund(Chargeable::FileDownload),
        Self::Refund(Chargeable::ServiceCall),
        Self::Refund(Chargeable::Store),
        Self::Refund(Chargeable::Send),
        Self::Refund(Chargeable::Broadcast),
    ];

    /// The kind of movement: `grant`, `charge`, `top-up`, `purchase`,
    /// `refund` or `adjustment`.
    pub const fn kind(self) -> &'static str {
        match self {
            Self::Grant => "grant",
            Self::Charge(_) => "charge",
            Self::TopUp => "top-up",
            Self::Purchase => "purchase",
            Self::Refund(_) => "refund",
            Self::Adjustment => "adjustment",
        }
    }

    /// The action paid for or refunded, if any.
    pub const fn action(self) -> Option<Chargeable> {
        match self {
            Self::Charge(a) | Self::Refund(a) => Some(a),
            _ => None,
        }
    }

    /// The audit log's name for it: `credits.grant`,
    /// `credits.charge.file-upload`, `credits.refund.service-call`, …
    pub const fn audit_name(self) -> &'static str {
        match self {
            Self::Grant => "credits.grant",
            Self::TopUp => "credits.top-up",
            Self::Purchase => "credits.purchase",
            Self::Adjustment => "credits.adjustment",
            Self::Charge(a) => match a {
                Chargeable::FileUpload => "credits.charge.file-upload",
                Chargeable::Share => "credits.charge.share",
                Chargeable::FileDownload => "credits.charge.file-download",
                Chargeable::ServiceCall => "credits.charge.service-call",
                Chargeable::Store => "credits.charge.store",
                Chargeable::Send => "credits.charge.send",
                Chargeable::Broadcast => "credits.charge.broadcast",
            },
            Self::Refund(a) => match a {
                Chargeable::FileUpload => "credits.refund.file-upload",
                Chargeable::Share => "credits.refund.share",
                Chargeable::FileDownload => "credits.refund.file-download",
                Chargeable::ServiceCall => "credits.refund.service-call",
                Chargeable::Store => "credits.refund.store",
                Chargeable::Send => "credits.refund.send",
                Chargeable::Broadcast => "credits.refund.broadcast",
            },
        }
    }

    /// The movement the audit log names `name`.
    pub fn from_audit_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.audit_name() == name)
    }
}

/// One movement of an account's credits, as the ledger holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerEntry {
    /// The audit entry that records this movement: its sequence number,
    /// which orders the ledger too.
    pub seq: u64,
    /// Whose credits moved.
    pub account: UserId,
    /// Why.
    pub movement: Movement,
    /// How many: positive in, negative out.
    pub amount: i64,
    /// The balance after it.
    pub balance: u64,
    /// When.
    pub time: Timestamp,
    /// An admin's reason, or a purchase's payment event id.
    pub reason: Option<String>,
    /// The audit entry's hash: the link that chains this movement into the
    /// audit log (so `audit verify` and signed checkpoints cover it).
    pub tx_hash: [u8; 32],
}

/// A page of ledger entries, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LedgerPage {
    /// The entries.
    pub entries: Vec<LedgerEntry>,
    /// Pass as `after` for the next page; `None` when the ledger ends here.
    pub next: Option<u64>,
}

/// Which ledger entries a page holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LedgerFilter {
    /// Only this account's.
    pub account: Option<UserId>,
    /// Only movements of this kind (`charge`, `grant`, …; see
    /// [`Movement::kind`]).
    pub kind: Option<&'static str>,
    /// Only entries written at or after this time.
    pub from: Option<Timestamp>,
    /// Only entries written before this time.
    pub until: Option<Timestamp>,
}

/// An account's credits as the account sees them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreditStatus {
    /// The balance (0 while metering is off and nothing was granted).
    pub balance: u64,
    /// Whether actions cost credits.
    pub enabled: bool,
    /// What each action costs now (every price 0 while metering is off).
    pub prices: PriceList,
    /// The low-balance threshold.
    pub low: u64,
}

/// What a charge did, for the caller to tell the account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Charged {
    /// Whose credits.
    pub account: UserId,
    /// What was paid.
    pub cost: u64,
    /// The balance after it.
    pub balance: u64,
    /// Whether this charge took the balance below the low threshold.
    pub crossed_low: bool,
}

/// What a `credits` event says: the balance fell below the low
/// threshold. Stored as `balance (u64 BE) || low (u64 BE)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreditsNotice {
    /// The balance after the charge that crossed.
    pub balance: u64,
    /// The threshold crossed.
    pub low: u64,
}

impl CreditsNotice {
    /// The stored form.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.balance.to_be_bytes().to_vec();
        out.extend_from_slice(&self.low.to_be_bytes());
        out
    }

    /// Reads the stored form; `None` for anything else.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let (balance, low) = bytes.split_first_chunk::<8>()?;
        Some(Self {
            balance: u64::from_be_bytes(*balance),
            low: u64::from_be_bytes(low.try_into().ok()?),
        })
    }
}

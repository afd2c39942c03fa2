//! [`Credits`]: each account's balance, the ledger of every movement, an
//! admin's adjustments, purchases from a payment provider, and the charges
//! an embedding application makes for its own actions. The engine charges
//! its own chargeable actions (file uploads and downloads, share links,
//! messages when priced) in the transaction that does them.

use crate::domain;
use crate::domain::credits::Meter;
use crate::domain::records::{self, Announced};
use crate::error::{CreditsError, StorageError};
use crate::handle::{Engine, handle};
use crate::ids::UserId;
use crate::model::audit::{Actor, AuditAction, AuditTarget};
use crate::model::{Event, Notice};
use crate::store::WriteTx;

pub use crate::model::credits::{
    Chargeable, Charged, CreditStatus, CreditsConfig, CreditsNotice, DEFAULT_INITIAL_CREDITS,
    DEFAULT_LOW_CREDITS, InsufficientCredits, LedgerEntry, LedgerFilter, LedgerPage, Movement,
    PriceList,
};

/// Largest amount one adjustment or purchase moves.
pub const MAX_ADJUSTMENT: i64 = 1_000_000_000;
/// Longest reason an admin may give, in characters.
pub const MAX_REASON_LEN: usize = 200;

handle! {
    /// Credits: balances, the ledger, adjustments and purchases.
    ///
    /// ```
    /// use strongroom_engine::credits::{Chargeable, CreditsConfig, Movement};
    /// use strongroom_engine::{Engine, MasterKey, SecretString};
    ///
    /// # fn main() -> Result<(), strongroom_engine::Error> {
    /// let (key, _) = MasterKey::generate();
    /// let engine = Engine::builder(key)
    ///     .credits(CreditsConfig::enabled())
    ///     .open_in_memory()?;
    /// let alice = engine.accounts().create("alice", &SecretString::from("correct horse battery"))?;
    /// let credits = engine.credits();
    /// assert_eq!(credits.status(alice.id)?.balance, 50);
    /// credits.charge(alice.id, Chargeable::Share)?;
    /// let ledger = credits.ledger(alice.id, 0, 10)?;
    /// assert_eq!(ledger.entries[1].movement, Movement::Charge(Chargeable::Share));
    /// assert_eq!(ledger.entries[1].balance, 45);
    /// # Ok(())
    /// # }
    /// ```
    Credits
}

impl Credits<'_> {
    /// How this engine meters.
    pub fn config(&self) -> &CreditsConfig {
        &self.0.inner.credits
    }

    /// `account`'s balance with the price list (every price 0 while
    /// metering is off: what each action costs now). Reading it grants nothing:
    /// an account never granted shows the initial credits it will get.
    pub fn status(&self, account: UserId) -> Result<CreditStatus, StorageError> {
        let config = self.config();
        let stored = self
            .0
            .store()
            .read_with(|tx| domain::credits::balance(tx, account))?;
        let granted = if config.enabled { config.initial } else { 0 };
        // What each action costs now: nothing while metering is off.
        let mut prices = config.prices;
        for action in Chargeable::ALL {
            prices.set(action, config.price(action));
        }
        Ok(CreditStatus {
            balance: stored.unwrap_or(granted),
            enabled: config.enabled,
            prices,
            low: config.low,
        })
    }

    /// Up to `limit` of `account`'s ledger entries after `after` (a
    /// previous page's `next`; 0 for the first), oldest first.
    pub fn ledger(
        &self,
        account: UserId,
        after: u64,
        limit: usize,
    ) -> Result<LedgerPage, CreditsError> {
        let filter = LedgerFilter {
            account: Some(account),
            ..LedgerFilter::default()
        };
        self.search(&filter, after, limit)
    }

    /// Up to `limit` ledger entries of every account after `after` that
    /// pass `filter`, oldest first: the admin's view.
    pub fn search(
        &self,
        filter: &LedgerFilter,
        after: u64,
        limit: usize,
    ) -> Result<LedgerPage, CreditsError> {
        let max = self.0.inner.limits.max_page;
        if limit == 0 || limit > max {
            return Err(CreditsError::InvalidLimit { max });
        }
        Ok(self
            .0
            .store()
            .read_with(|tx| domain::credits::page(tx, filter, after, limit))?)
    }

    /// Charges `action`'s price to `account` in a transaction of its own
    /// (an application's own chargeable work, or a call it meters);
    /// `None` when the action is free. Blocks on the commit.
    pub fn charge(
        &self,
        account: UserId,
        action: Chargeable,
    ) -> Result<Option<Charged>, CreditsError> {
        self.0
            .write_paying(|tx, till| till.charge(tx, account, action))
    }

    /// Gives back what `action` costs now to `account` (a call charged up
    /// front that was then refused). Blocks on the commit.
    pub fn refund(&self, account: UserId, action: Chargeable) -> Result<LedgerEntry, CreditsError> {
        let price = self.config().price(action);
        let amount = i64::try_from(price).map_err(|_| CreditsError::InvalidAmount)?;
        self.post(account, Movement::Refund(action), amount, None)
    }

    /// An admin's adjustment: `amount` credits in (a top-up) or out (an
    /// adjustment), with a reason, audited with this handle's actor.
    /// Refused if it would take the balance below zero. Blocks.
    pub fn adjust(
        &self,
        account: UserId,
        amount: i64,
        reason: Option<&str>,
    ) -> Result<LedgerEntry, CreditsError> {
        if amount == 0 || !(-MAX_ADJUSTMENT..=MAX_ADJUSTMENT).contains(&amount) {
            return Err(CreditsError::InvalidAmount);
        }
        if reason
            .is_some_and(|r| r.chars().count() > MAX_REASON_LEN || r.chars().any(char::is_control))
        {
            return Err(CreditsError::InvalidReason);
        }
        let movement = if amount > 0 {
            Movement::TopUp
        } else {
            Movement::Adjustment
        };
        self.post(account, movement, amount, reason.map(str::to_owned))
    }

    /// Credits a purchase of `credits` to `account`, once per payment
    /// event id: `None` (nothing written) when `event` was credited
    /// before. Blocks.
    pub fn purchase(
        &self,
        account: UserId,
        credits: u64,
        event: &str,
    ) -> Result<Option<LedgerEntry>, CreditsError> {
        let amount = i64::try_from(credits)
            .ok()
            .filter(|a| (1..=MAX_ADJUSTMENT).contains(a))
            .ok_or(CreditsError::InvalidAmount)?;
        if !self.config().enabled {
            return Err(CreditsError::Disabled);
        }
        let engine = self.0;
        engine.store().write_with(|tx| {
            let meter = engine.meter(Actor::Operator, account);
            domain::credits::purchase(tx, meter, account, amount, event)
        })
    }

    fn post(
        &self,
        account: UserId,
        movement: Movement,
        amount: i64,
        reason: Option<String>,
    ) -> Result<LedgerEntry, CreditsError> {
        if !self.config().enabled {
            return Err(CreditsError::Disabled);
        }
        let engine = self.0;
        engine.store().write_with(|tx| {
            let meter = engine.meter(Actor::Operator, account);
            domain::credits::adjust(tx, meter, account, movement, amount, reason.clone())
        })
    }
}

/// The charges made in one write transaction, and the low-balance notices
/// they stored, announced once it commits.
pub(crate) struct Till<'e> {
    engine: &'e Engine,
    announced: Vec<Announced>,
}

impl Till<'_> {
    /// Charges `action` to `account` in `tx` (see
    /// `domain::credits::charge`).
    pub(crate) fn charge(
        &mut self,
        tx: &mut dyn WriteTx,
        account: UserId,
        action: Chargeable,
    ) -> Result<Option<Charged>, CreditsError> {
        let meter = self.engine.meter(Actor::User(account), account);
        let Some((charged, notice)) = domain::credits::charge(tx, meter, account, action)? else {
            return Ok(None);
        };
        self.announced.extend(notice);
        Ok(Some(charged))
    }
}

impl Engine {
    /// The meter for a movement of `account`'s credits by this handle's
    /// actor (else `default`).
    pub(crate) fn meter(&self, default: Actor, account: UserId) -> Meter<'_> {
        Meter {
            config: &self.inner.credits,
            keyring: &self.inner.keyring,
            now: self.now(),
            note: self.note(
                default,
                AuditAction::Credits(Movement::Grant),
                AuditTarget::User(account),
            ),
        }
    }

    /// Runs `body` in one write transaction with a [`Till`] for its
    /// charges; announces their notices once it commits (or forgets the
    /// log positions they took if it does not).
    pub(crate) fn write_paying<T, E: From<StorageError>>(
        &self,
        mut body: impl FnMut(&mut dyn WriteTx, &mut Till<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut till = Till {
            engine: self,
            announced: Vec::new(),
        };
        let result = self.store().write_with(|tx| {
            till.announced.clear();
            body(tx, &mut till)
        });
        match result {
            Ok(value) => {
                self.announce(std::mem::take(&mut till.announced));
                Ok(value)
            }
            Err(e) => {
                if !till.announced.is_empty() {
                    self.inner.keyring.forget_counters();
                }
                Err(e)
            }
        }
    }

    /// Tells the listeners of notices committed.
    pub(crate) fn announce(&self, announced: Vec<Announced>) {
        if announced.is_empty() {
            return;
        }
        let events: Vec<Event> = announced.into_iter().map(records::event).collect();
        self.inner.listeners.notify(&Notice::Events(&events));
    }
}

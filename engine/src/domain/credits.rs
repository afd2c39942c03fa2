//! Credits: each account's balance and its ledger. Every movement is
//! written in the transaction of the action it pays for (so the two commit
//! or vanish together) as an audit entry — whose hash is the movement's
//! `tx_hash`, chaining the ledger into the log — plus a ledger row keyed
//! by that entry's sequence number. A balance never goes below zero: a
//! charge it cannot cover is refused before anything is written.

use std::time::Duration;

use crate::clock::Timestamp;
use crate::crypto::secret_bytes::SecretBytes;
use crate::domain::audit::{self, Note};
use crate::domain::records::{self, Announced, NewRecord};
use crate::error::{CreditsError, RecordError, StorageError};
use crate::ids::{KeyScope, UserId};
use crate::keyring::Keyring;
use crate::model::RecordKind;
use crate::model::audit::{AuditAction, AuditTarget, Origin};
use crate::model::credits::{
    Chargeable, Charged, CreditsConfig, CreditsNotice, InsufficientCredits, LedgerEntry,
    LedgerFilter, LedgerPage, Movement,
};
use crate::schema::{BILLING_EVENTS, CREDITS, CreditRow, LEDGER, LEDGER_BY_ACCOUNT, USERS};
use crate::store::{Flow, Order, ReadTx, WriteTx};

/// What a movement needs beside its amount: the chain, the time, the
/// configuration and who acts.
#[derive(Clone, Copy)]
pub(crate) struct Meter<'a> {
    pub(crate) config: &'a CreditsConfig,
    pub(crate) keyring: &'a Keyring,
    pub(crate) now: Timestamp,
    /// The audit note's template: its actor and address (the action and
    /// target are the movement's).
    pub(crate) note: Note,
}

/// `account`'s balance; `None` if it was never granted credits.
pub(crate) fn balance(tx: &dyn ReadTx, account: UserId) -> Result<Option<u64>, StorageError> {
    Ok(CREDITS.get(tx, &account)?.map(|row| row.balance))
}

/// Grants the initial credits to `account` unless it holds a balance
/// already (metering on only). Returns whether it granted.
pub(crate) fn grant(
    tx: &mut dyn WriteTx,
    meter: Meter<'_>,
    account: UserId,
) -> Result<bool, StorageError> {
    if !meter.config.enabled || CREDITS.contains(tx, &account)? {
        return Ok(false);
    }
    CREDITS.insert(tx, &account, &CreditRow::default())?;
    if meter.config.initial > 0 {
        let amount = i64::try_from(meter.config.initial).unwrap_or(i64::MAX);
        post(tx, meter, account, Movement::Grant, amount, None).map_err(storage)?;
    }
    Ok(true)
}

/// Grants the initial credits once to every account that has no balance
/// yet (metering turned on for a store with accounts in it); how many.
pub(crate) fn grant_all(tx: &mut dyn WriteTx, meter: Meter<'_>) -> Result<usize, StorageError> {
    if !meter.config.enabled {
        return Ok(0);
    }
    let mut missing = Vec::new();
    USERS.scan(tx, .., Order::Ascending, |id: UserId, _| {
        missing.push(id);
        Ok::<_, StorageError>(Flow::Continue)
    })?;
    let mut granted = 0;
    for id in missing {
        let note = Note {
            target: AuditTarget::User(id),
            ..meter.note
        };
        granted += usize::from(grant(tx, Meter { note, ..meter }, id)?);
    }
    Ok(granted)
}

/// How long a low-balance notice stays in the account's log.
const NOTICE_TTL: Duration = Duration::from_secs(24 * 3600);

/// Charges `action`'s price to `account`, or refuses with nothing written
/// when the balance cannot cover it. Free actions (and any action while
/// metering is off) write nothing and return `None`. A charge that takes
/// the balance below the low threshold also stores a `credits` notice in
/// the account's log, returned for the caller to announce after the
/// commit.
pub(crate) fn charge(
    tx: &mut dyn WriteTx,
    meter: Meter<'_>,
    account: UserId,
    action: Chargeable,
) -> Result<Option<(Charged, Option<Announced>)>, CreditsError> {
    let cost = meter.config.price(action);
    if cost == 0 {
        return Ok(None);
    }
    // No balance yet: the account is granted its credits first, unless it
    // is gone (deleted since the caller's credential was checked, or a
    // stale id): a deleted account's ledger is not started again.
    if !CREDITS.contains(tx, &account)? {
        if !USERS.contains(tx, &account)? {
            return Err(CreditsError::UnknownUser);
        }
        grant(tx, meter, account)?;
    }
    let amount = -i64::try_from(cost).unwrap_or(i64::MAX);
    let (entry, crossed_low) = post(tx, meter, account, Movement::Charge(action), amount, None)?;
    let charged = Charged {
        account,
        cost,
        balance: entry.balance,
        crossed_low,
    };
    if !crossed_low {
        return Ok(Some((charged, None)));
    }
    let notice = CreditsNotice {
        balance: entry.balance,
        low: meter.config.low,
    };
    let record = NewRecord {
        sender: account,
        scope: KeyScope::User(account),
        plaintext: SecretBytes::from(notice.encode()),
        ttl: NOTICE_TTL,
        origin: Origin::default(),
        kind: RecordKind::Credits,
    };
    let (receipt, position) =
        records::store(tx, meter.keyring, meter.now, &record, None).map_err(|e| match e {
            RecordError::Storage(e) => CreditsError::Storage(e),
            other => CreditsError::Storage(StorageError::backend(other)),
        })?;
    Ok(Some((charged, Some((receipt, position, record.plaintext)))))
}

/// Whether `account` could pay for `action` now (nothing written): lets a
/// long action (an upload) be refused before it starts; the charge itself
/// still happens, and may still be refused, with the action's commit.
pub(crate) fn affordable(
    tx: &dyn ReadTx,
    config: &CreditsConfig,
    account: UserId,
    action: Chargeable,
) -> Result<Result<(), InsufficientCredits>, StorageError> {
    let cost = config.price(action);
    if cost == 0 {
        return Ok(Ok(()));
    }
    let balance = match balance(tx, account)? {
        Some(balance) => balance,
        None => config.initial,
    };
    Ok(if balance >= cost {
        Ok(())
    } else {
        Err(InsufficientCredits { balance, cost })
    })
}

/// Moves `amount` credits of `account` for `movement`: an admin's
/// adjustment, a refund, a purchase. Refused when it would take the
/// balance below zero.
pub(crate) fn adjust(
    tx: &mut dyn WriteTx,
    meter: Meter<'_>,
    account: UserId,
    movement: Movement,
    amount: i64,
    reason: Option<String>,
) -> Result<LedgerEntry, CreditsError> {
    if !USERS.contains(tx, &account)? {
        return Err(CreditsError::UnknownUser);
    }
    grant(tx, meter, account)?;
    post(tx, meter, account, movement, amount, reason).map(|(entry, _)| entry)
}

/// Credits a purchase once per payment event: `None` if `event` was
/// credited before (nothing written).
pub(crate) fn purchase(
    tx: &mut dyn WriteTx,
    meter: Meter<'_>,
    account: UserId,
    credits: i64,
    event: &str,
) -> Result<Option<LedgerEntry>, CreditsError> {
    let event = event.to_owned();
    if BILLING_EVENTS.contains(tx, &event)? {
        return Ok(None);
    }
    let entry = adjust(
        tx,
        meter,
        account,
        Movement::Purchase,
        credits,
        Some(event.clone()),
    )?;
    BILLING_EVENTS.insert(tx, &event, &())?;
    Ok(Some(entry))
}

/// Writes one movement: the balance, the audit entry, the ledger row.
/// Returns the entry and whether it took the balance below the low
/// threshold (a crossing: told once, until a top-up lifts it again).
fn post(
    tx: &mut dyn WriteTx,
    meter: Meter<'_>,
    account: UserId,
    movement: Movement,
    amount: i64,
    reason: Option<String>,
) -> Result<(LedgerEntry, bool), CreditsError> {
    let mut row = CREDITS.get(tx, &account)?.unwrap_or_default();
    let balance = row
        .balance
        .checked_add_signed(amount)
        .ok_or(InsufficientCredits {
            balance: row.balance,
            cost: amount.unsigned_abs(),
        })?;
    let low = meter.config.low;
    let crossed_low = !row.low && balance < low && row.balance >= low && amount < 0;
    row.balance = balance;
    row.low = if balance >= low {
        false
    } else {
        row.low || crossed_low
    };
    CREDITS.insert(tx, &account, &row)?;
    let note = Note {
        action: AuditAction::Credits(movement),
        target: AuditTarget::Credits {
            account,
            amount,
            balance,
        },
        ..meter.note
    };
    let written = audit::append(tx, meter.keyring.audit_chain(), note, meter.now)?;
    let entry = LedgerEntry {
        seq: written.seq,
        account,
        movement,
        amount,
        balance,
        time: meter.now,
        reason,
        tx_hash: written.hash,
    };
    LEDGER.insert(tx, &entry.seq, &entry)?;
    LEDGER_BY_ACCOUNT.insert(tx, &(account, entry.seq), &())?;
    Ok((entry, crossed_low))
}

/// Up to `limit` entries after `after` that pass `filter`, oldest first.
pub(crate) fn page(
    tx: &dyn ReadTx,
    filter: &LedgerFilter,
    after: u64,
    limit: usize,
) -> Result<LedgerPage, StorageError> {
    let mut entries = Vec::new();
    let mut more = false;
    let mut visit = |seq: u64, mut entry: LedgerEntry| {
        if filter.until.is_some_and(|until| entry.time >= until) {
            return Flow::Stop;
        }
        let passes = filter.kind.is_none_or(|k| entry.movement.kind() == k)
            && filter.from.is_none_or(|from| entry.time >= from);
        if !passes {
            return Flow::Continue;
        }
        if entries.len() == limit {
            more = true;
            return Flow::Stop;
        }
        entry.seq = seq;
        entries.push(entry);
        Flow::Continue
    };
    let start = after.saturating_add(1);
    match filter.account {
        Some(account) => {
            LEDGER_BY_ACCOUNT.scan(
                tx,
                (account, start)..=(account, u64::MAX),
                Order::Ascending,
                |(_, seq), ()| match LEDGER.get(tx, &seq)? {
                    Some(entry) => Ok::<_, StorageError>(visit(seq, entry)),
                    None => Err(LEDGER.corrupt()),
                },
            )?;
        }
        None => LEDGER.scan(tx, start.., Order::Ascending, |seq, entry| {
            Ok::<_, StorageError>(visit(seq, entry))
        })?,
    }
    let next = if more {
        entries.last().map(|e| e.seq)
    } else {
        None
    };
    Ok(LedgerPage { entries, next })
}

/// Drops a deleted account's balance (its ledger stays: a record of what
/// was paid, holding no content).
pub(crate) fn forget(tx: &mut dyn WriteTx, account: UserId) -> Result<(), StorageError> {
    CREDITS.delete(tx, &account).map(drop)
}

/// A credits error where only storage can fail (a grant).
fn storage(e: CreditsError) -> StorageError {
    match e {
        CreditsError::Storage(e) => e,
        other => StorageError::backend(other),
    }
}

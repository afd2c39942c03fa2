//! Usage counters: what each account's sent messages, files and share
//! links occupy, changed in
//! the transaction that stores or removes a message, and recounted from
//! the records when a database is migrated to schema 5.

use std::collections::HashMap;

use super::{FILES, RECORDS, RecordRef, SHARES, ShareState, USAGE, USERS};
use crate::error::StorageError;
use crate::ids::UserId;
use crate::model::access::Usage;
use crate::store::{Flow, Order, WriteTx};

/// Adds one message of `bytes` to `user`'s usage; returns the new usage.
pub(crate) fn charge(
    tx: &mut dyn WriteTx,
    user: UserId,
    bytes: u64,
) -> Result<Usage, StorageError> {
    add(tx, user, Usage { bytes, records: 1 })
}

/// Adds `bytes` to `user`'s usage without counting another item (a
/// file's segments, as they arrive); returns the new usage.
pub(crate) fn charge_bytes(
    tx: &mut dyn WriteTx,
    user: UserId,
    bytes: u64,
) -> Result<Usage, StorageError> {
    add(tx, user, Usage { bytes, records: 0 })
}

fn add(tx: &mut dyn WriteTx, user: UserId, more: Usage) -> Result<Usage, StorageError> {
    let mut usage = USAGE.get(tx, &user)?.unwrap_or_default();
    usage.bytes = usage.bytes.saturating_add(more.bytes);
    usage.records = usage.records.saturating_add(more.records);
    USAGE.insert(tx, &user, &usage)?;
    Ok(usage)
}

/// Takes `freed` off `user`'s usage (nothing if the account is gone).
pub(crate) fn refund(tx: &mut dyn WriteTx, user: UserId, freed: Usage) -> Result<(), StorageError> {
    let Some(mut usage) = USAGE.get(tx, &user)? else {
        return Ok(());
    };
    usage.bytes = usage.bytes.saturating_sub(freed.bytes);
    usage.records = usage.records.saturating_sub(freed.records);
    USAGE.insert(tx, &user, &usage)
}

/// Refunds owed to senders, gathered over many removals and paid once
/// per sender.
#[derive(Default)]
pub(crate) struct Refunds(HashMap<UserId, Usage>);

impl Refunds {
    /// Owes `sender` one message of `bytes`.
    pub(crate) fn add(&mut self, sender: UserId, bytes: u64) {
        let owed = self.0.entry(sender).or_default();
        owed.bytes += bytes;
        owed.records += 1;
    }

    /// Pays every refund.
    pub(crate) fn pay(self, tx: &mut dyn WriteTx) -> Result<(), StorageError> {
        for (user, freed) in self.0 {
            refund(tx, user, freed)?;
        }
        Ok(())
    }
}

/// Recounts every account's usage from the stored records and the share
/// links that still hold their content.
pub(super) fn count_all(tx: &mut dyn WriteTx) -> Result<(), StorageError> {
    let mut counts: HashMap<UserId, Usage> = HashMap::new();
    RECORDS.scan_bytes(tx, .., Order::Ascending, |_, bytes| {
        let row = RecordRef::decode(bytes).ok_or_else(|| RECORDS.corrupt())?;
        let usage = counts.entry(row.sender).or_default();
        usage.bytes += row.envelope.len() as u64;
        usage.records += 1;
        Ok::<_, StorageError>(Flow::Continue)
    })?;
    SHARES.scan(tx, .., Order::Ascending, |_, row| {
        if let Some(owner) = row.owner
            && row.state == ShareState::Active
        {
            let usage = counts.entry(owner).or_default();
            usage.bytes += row.envelope.len() as u64;
            usage.records += 1;
        }
        Ok::<_, StorageError>(Flow::Continue)
    })?;
    FILES.scan(tx, .., Order::Ascending, |_, row| {
        let usage = counts.entry(row.sender).or_default();
        usage.bytes += row.sealed_bytes;
        usage.records += 1;
        Ok::<_, StorageError>(Flow::Continue)
    })?;
    // Accounts without any left hold nothing.
    for user in USAGE.keys(tx, .., usize::MAX)? {
        if !counts.contains_key(&user) {
            USAGE.delete(tx, &user)?;
        }
    }
    for (user, usage) in counts {
        if USERS.contains(tx, &user)? {
            USAGE.insert(tx, &user, &usage)?;
        }
    }
    Ok(())
}

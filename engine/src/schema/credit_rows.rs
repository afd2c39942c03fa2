//! How credits are stored: an account's balance, and one ledger row per
//! movement (keyed by the audit entry that records it).

use super::codec::{Reader, Row, Writer};
use crate::clock::Timestamp;
use crate::ids::UserId;
use crate::model::credits::{LedgerEntry, Movement};

/// An account's credits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CreditRow {
    pub(crate) balance: u64,
    /// Below the low threshold since the last crossing (told once).
    pub(crate) low: bool,
}

impl Row for CreditRow {
    fn encode(&self, out: &mut Vec<u8>) {
        Writer(out).u64(self.balance).u8(u8::from(self.low));
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        let row = Self {
            balance: r.u64()?,
            low: match r.u8()? {
                0 => false,
                1 => true,
                _ => return None,
            },
        };
        r.end().map(|()| row)
    }
}

/// `account u128 | movement (audit name) | amount i64 | balance u64 |
/// time u64 | tx_hash [32] | reason (absent: empty)`; the key is the
/// entry's audit sequence number.
impl Row for LedgerEntry {
    fn encode(&self, out: &mut Vec<u8>) {
        Writer(out)
            .u128(self.account.as_u128())
            .bytes(self.movement.audit_name().as_bytes())
            .u64(self.amount as u64)
            .u64(self.balance)
            .u64(self.time.as_unix_millis())
            .tail(&self.tx_hash)
            .bytes(self.reason.as_deref().unwrap_or("").as_bytes());
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        let account = UserId::from_u128(r.u128()?);
        let movement = Movement::from_audit_name(std::str::from_utf8(r.bytes()?).ok()?)?;
        let amount = r.u64()? as i64;
        let balance = r.u64()?;
        let time = Timestamp::from_unix_millis(r.u64()?);
        let mut tx_hash = [0; 32];
        for b in &mut tx_hash {
            *b = r.u8()?;
        }
        let reason = r.string()?;
        r.end()?;
        Some(Self {
            seq: 0,
            account,
            movement,
            amount,
            balance,
            time,
            reason: (!reason.is_empty()).then_some(reason),
            tx_hash,
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::model::credits::Chargeable;

    #[test]
    fn ledger_rows_round_trip() {
        for (movement, amount, reason) in [
            (Movement::Grant, 50, None),
            (Movement::Charge(Chargeable::Share), -5, None),
            (
                Movement::Adjustment,
                i64::MIN,
                Some("chargeback".to_owned()),
            ),
        ] {
            let entry = LedgerEntry {
                seq: 0,
                account: UserId::from_u128(9),
                movement,
                amount,
                balance: 45,
                time: Timestamp::from_unix_millis(1_700_000_000_000),
                reason,
                tx_hash: [7; 32],
            };
            assert_eq!(LedgerEntry::decode(&entry.to_bytes()), Some(entry));
        }
    }

    proptest! {
        #[test]
        fn rows_never_panic_on_any_bytes(bytes: Vec<u8>) {
            let _ = LedgerEntry::decode(&bytes);
            let _ = CreditRow::decode(&bytes);
        }
    }
}

//! How an audit entry is stored, and its canonical encoding: the bytes its
//! hash covers. The encoding is fixed-width except the action's name:
//!
//! ```text
//! seq u64 | time u64 (unix ms)
//! | actor kind u8 (1 user, 2 api key, 3 operator, 4 anonymous) | user u128 | key u128
//! | action name (u32 length, UTF-8)
//! | target kind u8 (0 none, 1 user, 2 message, 3 broadcast, 4 session, 5 api key, 6 share, 7 file, 8 credits, 9 passkey) | owner u128 | id u128
//! | outcome u8 (1 success, 2 denied)
//! | address kind u8 (0 none, 4 IPv4, 6 IPv6) | address 16 bytes (IPv4 as IPv4-mapped IPv6)
//! ```
//!
//! Integers are big-endian; absent ids are zero. A credits target's id is
//! the amount moved (i64, two's complement) then the balance after (u64). The stored row is the
//! canonical encoding followed by the previous hash and the entry's hash,
//! `HMAC-SHA256(chain key, prev_hash || canonical)` (see
//! `crypto::audit_chain`).

use std::net::{IpAddr, Ipv6Addr};

use sha2::{Digest, Sha256};

use super::codec::{Reader, Row, Writer};
use crate::clock::Timestamp;
use crate::ids::{FileId, PasskeyId, RecordId, SessionId, ShareId, UserId};
use crate::model::audit::{Actor, AuditAction, AuditEntry, AuditOutcome, AuditTarget};

/// Room for an entry's canonical bytes (104 plus the action's name).
const CANONICAL_CAPACITY: usize = 128;

/// The bytes an entry's hash covers (everything but the two hashes).
pub(crate) fn canonical(entry: &AuditEntry) -> Vec<u8> {
    let mut out = Vec::with_capacity(CANONICAL_CAPACITY);
    write_canonical(entry, &mut out);
    out
}

/// Appends `entry`'s canonical bytes to `out`.
fn write_canonical(entry: &AuditEntry, out: &mut Vec<u8>) {
    let mut w = Writer(out);
    w.u64(entry.seq).u64(entry.time.as_unix_millis());
    let (kind, user, key) = match entry.actor {
        Actor::User(user) => (1, user.as_u128(), 0),
        Actor::ApiKey { owner, key } => (2, owner.as_u128(), key.as_u128()),
        Actor::Operator => (3, 0, 0),
        Actor::Anonymous => (4, 0, 0),
    };
    w.u8(kind).u128(user).u128(key);
    w.bytes(entry.action.as_str().as_bytes());
    let (kind, owner, id) = match entry.target {
        AuditTarget::None => (0, 0, 0),
        AuditTarget::User(user) => (1, user.as_u128(), 0),
        AuditTarget::Message { owner, id } => (2, owner.as_u128(), id.as_u128()),
        AuditTarget::Broadcast(id) => (3, 0, id.as_u128()),
        AuditTarget::Session { owner, id } => (4, owner.as_u128(), id.as_u128()),
        AuditTarget::ApiKey { owner, id } => (5, owner.as_u128(), id.as_u128()),
        AuditTarget::Share(id) => (6, 0, id.as_u128()),
        AuditTarget::File { owner, id } => (7, owner.as_u128(), id.as_u128()),
        AuditTarget::Credits {
            account,
            amount,
            balance,
        } => (8, account.as_u128(), credits_bits(amount, balance)),
        AuditTarget::Passkey { owner, id } => (9, owner.as_u128(), id.as_u128()),
    };
    w.u8(kind).u128(owner).u128(id);
    w.u8(match entry.outcome {
        AuditOutcome::Success => 1,
        AuditOutcome::Denied => 2,
    });
    let (kind, address) = match entry.address {
        None => (0, Ipv6Addr::UNSPECIFIED),
        Some(IpAddr::V4(v4)) => (4, v4.to_ipv6_mapped()),
        Some(IpAddr::V6(v6)) => (6, v6),
    };
    w.u8(kind).u128(u128::from(address));
}

/// A credits target's id field: the amount (two's complement) in the
/// high 64 bits, the balance after in the low 64.
fn credits_bits(amount: i64, balance: u64) -> u128 {
    (u128::from(amount as u64) << 64) | u128::from(balance)
}

/// `SHA-256(prev || canonical)`: how schema 6 and earlier chained the log
/// (now `HMAC-SHA256` under the chain key, see `crypto::audit_chain`);
/// kept to verify an old chain before re-chaining it.
pub(crate) fn legacy_chain_hash(prev: &[u8; 32], canonical: &[u8]) -> [u8; 32] {
    let mut digest = Sha256::new();
    digest.update(prev);
    digest.update(canonical);
    digest.finalize().into()
}

fn decode_canonical(r: &mut Reader<'_>) -> Option<AuditEntry> {
    let seq = r.u64()?;
    let time = Timestamp::from_unix_millis(r.u64()?);
    let (kind, user, key) = (r.u8()?, r.u128()?, r.u128()?);
    let actor = match kind {
        1 => Actor::User(UserId::from_u128(user)),
        2 => Actor::ApiKey {
            owner: UserId::from_u128(user),
            key: SessionId::from_u128(key),
        },
        3 => Actor::Operator,
        4 => Actor::Anonymous,
        _ => return None,
    };
    let action = AuditAction::from_name(std::str::from_utf8(r.bytes()?).ok()?)?;
    let (kind, owner, id) = (r.u8()?, r.u128()?, r.u128()?);
    let (user, session) = (UserId::from_u128(owner), SessionId::from_u128(id));
    let target = match kind {
        0 => AuditTarget::None,
        1 => AuditTarget::User(user),
        2 => AuditTarget::Message {
            owner: user,
            id: RecordId::from_u128(id),
        },
        3 => AuditTarget::Broadcast(RecordId::from_u128(id)),
        4 => AuditTarget::Session {
            owner: user,
            id: session,
        },
        5 => AuditTarget::ApiKey {
            owner: user,
            id: session,
        },
        6 => AuditTarget::Share(ShareId::from_u128(id)),
        7 => AuditTarget::File {
            owner: user,
            id: FileId::from_u128(id),
        },
        9 => AuditTarget::Passkey {
            owner: user,
            id: PasskeyId::from_u128(id),
        },
        8 => AuditTarget::Credits {
            account: user,
            amount: (id >> 64) as u64 as i64,
            balance: id as u64,
        },
        _ => return None,
    };
    let outcome = match r.u8()? {
        1 => AuditOutcome::Success,
        2 => AuditOutcome::Denied,
        _ => return None,
    };
    let (kind, bits) = (r.u8()?, Ipv6Addr::from(r.u128()?));
    let address = match kind {
        0 => None,
        4 => Some(IpAddr::V4(bits.to_ipv4_mapped()?)),
        6 => Some(IpAddr::V6(bits)),
        _ => return None,
    };
    Some(AuditEntry {
        seq,
        time,
        actor,
        action,
        target,
        outcome,
        address,
        prev_hash: [0; 32],
        hash: [0; 32],
    })
}

impl Row for AuditEntry {
    fn encode(&self, out: &mut Vec<u8>) {
        // The canonical bytes, then the two hashes, in one allocation.
        out.reserve(CANONICAL_CAPACITY + 64);
        write_canonical(self, out);
        Writer(out).tail(&self.prev_hash).tail(&self.hash);
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        let mut entry = decode_canonical(&mut r)?;
        let hashes: [u8; 64] = r.tail().try_into().ok()?;
        entry.prev_hash.copy_from_slice(&hashes[..32]);
        entry.hash.copy_from_slice(&hashes[32..]);
        Some(entry)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::model::Role;

    fn entry(address: Option<IpAddr>, target: AuditTarget) -> AuditEntry {
        AuditEntry {
            seq: 7,
            time: Timestamp::from_unix_millis(1_700_000_000_000),
            actor: Actor::ApiKey {
                owner: UserId::from_u128(1),
                key: SessionId::from_u128(2),
            },
            action: AuditAction::SetRole(Role::Service),
            target,
            outcome: AuditOutcome::Denied,
            address,
            prev_hash: [3; 32],
            hash: [4; 32],
        }
    }

    #[test]
    fn entries_round_trip() {
        let targets = [
            AuditTarget::None,
            AuditTarget::User(UserId::from_u128(5)),
            AuditTarget::Message {
                owner: UserId::from_u128(5),
                id: RecordId::from_u128(6),
            },
            AuditTarget::Broadcast(RecordId::from_u128(6)),
            AuditTarget::Share(ShareId::from_u128(8)),
            AuditTarget::Credits {
                account: UserId::from_u128(5),
                amount: -7,
                balance: 43,
            },
        ];
        let addresses = [
            None,
            Some("10.1.2.3".parse().ok()).flatten(),
            "::1".parse().ok(),
        ];
        for target in targets {
            for address in addresses {
                let e = entry(address, target);
                assert_eq!(AuditEntry::decode(&e.to_bytes()), Some(e));
            }
        }
    }

    /// The expected hash was computed independently (Python's hashlib)
    /// from the layout in the module docs.
    #[test]
    fn the_canonical_encoding_is_pinned() {
        let e = entry(Some(IpAddr::V4([192, 0, 2, 1].into())), AuditTarget::None);
        let hash = legacy_chain_hash(&e.prev_hash, &canonical(&e));
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "ee77254ce4847582d6abad0b2977dd66b0a75627804f78f01b2306b570b8855d"
        );
    }

    proptest! {
        #[test]
        fn rows_never_panic_on_any_bytes(bytes: Vec<u8>) {
            let _ = AuditEntry::decode(&bytes);
        }
    }
}

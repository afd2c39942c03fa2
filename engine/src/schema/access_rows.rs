//! Rows of API keys, end-to-end keys, TOTP, identities, passkeys, quotas
//! and usage.

use super::codec::{Reader, Row, Writer};
use super::rows::TokenHash;
use crate::clock::Timestamp;
use crate::ids::{PasskeyId, UserId};
use crate::model::access::{Quota, Usage};
use crate::scopes::Scopes;

/// An API key's facts; its secret's hash keys its row in `tokens`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ApiKeyRow {
    pub(crate) name: String,
    pub(crate) scopes: Scopes,
    pub(crate) created_at: Timestamp,
    /// `u64::MAX` milliseconds: never.
    pub(crate) expires_at: Timestamp,
    pub(crate) hash: TokenHash,
    /// Zero: never used.
    pub(crate) last_used: Timestamp,
}

impl Row for ApiKeyRow {
    fn encode(&self, out: &mut Vec<u8>) {
        Writer(out)
            .u8(self.scopes.bits())
            .u64(self.created_at.as_unix_millis())
            .u64(self.expires_at.as_unix_millis())
            .u64(self.last_used.as_unix_millis())
            .tail(&self.hash)
            .tail(self.name.as_bytes());
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        let scopes = Scopes::from_bits(r.u8()?)?;
        let created_at = Timestamp::from_unix_millis(r.u64()?);
        let expires_at = Timestamp::from_unix_millis(r.u64()?);
        let last_used = Timestamp::from_unix_millis(r.u64()?);
        let rest = r.tail();
        let (hash, name) = rest.split_first_chunk::<32>()?;
        Some(Self {
            name: String::from_utf8(name.to_vec()).ok()?,
            scopes,
            created_at,
            expires_at,
            hash: *hash,
            last_used,
        })
    }
}

/// A published end-to-end key version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct E2eKeyRow {
    pub(crate) public_key: [u8; 32],
    pub(crate) created_at: Timestamp,
    pub(crate) iterations: u32,
    pub(crate) salt: Vec<u8>,
    /// The private key as the owner's client wrapped it (opaque here).
    pub(crate) wrapped_private_key: Vec<u8>,
}

impl Row for E2eKeyRow {
    fn encode(&self, out: &mut Vec<u8>) {
        Writer(out)
            .tail(&self.public_key)
            .u64(self.created_at.as_unix_millis())
            .u32(self.iterations)
            .bytes(&self.salt)
            .bytes(&self.wrapped_private_key);
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        let (public_key, rest) = bytes.split_first_chunk::<32>()?;
        let mut r = Reader(rest);
        let row = Self {
            public_key: *public_key,
            created_at: Timestamp::from_unix_millis(r.u64()?),
            iterations: r.u32()?,
            salt: r.bytes()?.to_vec(),
            wrapped_private_key: r.bytes()?.to_vec(),
        };
        r.end().map(|()| row)
    }
}

impl Row for Quota {
    fn encode(&self, out: &mut Vec<u8>) {
        Writer(out)
            .u64(self.max_bytes)
            .u64(self.max_records)
            .u32(self.writes_per_minute);
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        let quota = Self {
            max_bytes: r.u64()?,
            max_records: r.u64()?,
            writes_per_minute: r.u32()?,
        };
        r.end().map(|()| quota)
    }
}

impl Row for Usage {
    fn encode(&self, out: &mut Vec<u8>) {
        Writer(out).u64(self.bytes).u64(self.records);
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        let usage = Self {
            bytes: r.u64()?,
            records: r.u64()?,
        };
        r.end().map(|()| usage)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::scopes::Scope;

    proptest! {
        #[test]
        fn key_rows_round_trip(name: String, created: u64, expires: u64, used: u64, hash: [u8; 32]) {
            let row = ApiKeyRow {
                name,
                scopes: [Scope::MessagesRead, Scope::Broadcast].into_iter().collect(),
                created_at: Timestamp::from_unix_millis(created),
                expires_at: Timestamp::from_unix_millis(expires),
                hash,
                last_used: Timestamp::from_unix_millis(used),
            };
            prop_assert_eq!(ApiKeyRow::decode(&row.to_bytes()), Some(row));
        }

        #[test]
        fn rows_never_panic_on_any_bytes(bytes: Vec<u8>) {
            let _ = (ApiKeyRow::decode(&bytes), Quota::decode(&bytes), Usage::decode(&bytes));
            let _ = E2eKeyRow::decode(&bytes);
        }

        #[test]
        fn e2e_key_rows_round_trip(key: [u8; 32], created: u64, iterations: u32,
                                   salt: Vec<u8>, wrapped: Vec<u8>) {
            let row = E2eKeyRow {
                public_key: key,
                created_at: Timestamp::from_unix_millis(created),
                iterations,
                salt,
                wrapped_private_key: wrapped,
            };
            prop_assert_eq!(E2eKeyRow::decode(&row.to_bytes()), Some(row));
        }
    }
}

/// An account's second factor: the TOTP secret sealed under the
/// account's data key, whether it is confirmed (enforced), the last step a
/// code was accepted for (no code works twice), and the hashes of the
/// recovery codes not used yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TotpRow {
    pub(crate) confirmed: bool,
    pub(crate) last_step: u64,
    pub(crate) sealed_secret: Vec<u8>,
    pub(crate) recovery: Vec<[u8; 32]>,
}

impl Row for TotpRow {
    fn encode(&self, out: &mut Vec<u8>) {
        let mut w = Writer(out);
        w.u8(u8::from(self.confirmed))
            .u64(self.last_step)
            .bytes(&self.sealed_secret);
        for hash in &self.recovery {
            w.tail(hash);
        }
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        let confirmed = match r.u8()? {
            0 => false,
            1 => true,
            _ => return None,
        };
        let last_step = r.u64()?;
        let sealed_secret = r.bytes()?.to_vec();
        let rest = r.tail();
        if rest.len() % 32 != 0 {
            return None;
        }
        let recovery = rest
            .chunks_exact(32)
            .map(|c| <[u8; 32]>::try_from(c).ok())
            .collect::<Option<Vec<_>>>()?;
        Some(Self {
            confirmed,
            last_step,
            sealed_secret,
            recovery,
        })
    }
}

/// An account's link to an identity at an OpenID Connect provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct IdentityRow {
    pub(crate) user: UserId,
    pub(crate) linked_at: Timestamp,
    pub(crate) issuer: String,
    pub(crate) subject: String,
}

impl Row for IdentityRow {
    fn encode(&self, out: &mut Vec<u8>) {
        Writer(out)
            .tail(&self.user.as_u128().to_be_bytes())
            .u64(self.linked_at.as_unix_millis())
            .bytes(self.issuer.as_bytes())
            .bytes(self.subject.as_bytes());
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        let (user, rest) = bytes.split_first_chunk::<16>()?;
        let mut r = Reader(rest);
        Some(Self {
            user: UserId::from_u128(u128::from_be_bytes(*user)),
            linked_at: Timestamp::from_unix_millis(r.u64()?),
            issuer: String::from_utf8(r.bytes()?.to_vec()).ok()?,
            subject: String::from_utf8(r.bytes()?.to_vec()).ok()?,
        })
    }
}

/// A passkey: its name and times, its credential id, and the relying
/// party's record of the credential (opaque here).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PasskeyRow {
    pub(crate) name: String,
    pub(crate) created_at: Timestamp,
    /// Unix ms; 0 for never.
    pub(crate) last_used: u64,
    pub(crate) credential_id: Vec<u8>,
    pub(crate) credential: Vec<u8>,
}

impl Row for PasskeyRow {
    fn encode(&self, out: &mut Vec<u8>) {
        Writer(out)
            .bytes(self.name.as_bytes())
            .u64(self.created_at.as_unix_millis())
            .u64(self.last_used)
            .bytes(&self.credential_id)
            .tail(&self.credential);
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        Some(Self {
            name: r.string()?,
            created_at: Timestamp::from_unix_millis(r.u64()?),
            last_used: r.u64()?,
            credential_id: r.bytes()?.to_vec(),
            credential: r.tail().to_vec(),
        })
    }
}

/// Where a credential id leads: the account and its passkey.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PasskeyRef {
    pub(crate) user: UserId,
    pub(crate) id: PasskeyId,
}

impl Row for PasskeyRef {
    fn encode(&self, out: &mut Vec<u8>) {
        Writer(out)
            .u128(self.user.as_u128())
            .u128(self.id.as_u128());
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        let row = Self {
            user: UserId::from_u128(r.u128()?),
            id: PasskeyId::from_u128(r.u128()?),
        };
        r.end().map(|()| row)
    }
}

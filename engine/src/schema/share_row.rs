//! The row of a share link.

use super::codec::{Reader, Row, Writer};
use crate::clock::Timestamp;
use crate::crypto::sharekeys::PASSPHRASE_SALT_LEN;
use crate::ids::{FileId, ShareId, UserId};

/// Where a share is in its life. Only an `Active` share holds content;
/// the others are tombstones kept until the share's expiry so that a late
/// open answers "gone" rather than "unknown".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ShareState {
    Active,
    /// Every view was consumed.
    UsedUp,
    /// Its creator revoked it.
    Revoked,
    /// Destroyed after too many wrong passphrases.
    Destroyed,
}

impl ShareState {
    fn code(self) -> u8 {
        match self {
            Self::Active => 0,
            Self::UsedUp => 1,
            Self::Revoked => 2,
            Self::Destroyed => 3,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => Self::Active,
            1 => Self::UsedUp,
            2 => Self::Revoked,
            3 => Self::Destroyed,
            _ => return None,
        })
    }
}

/// A stored share: facts in the clear, content sealed under a key only the
/// share's URL gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ShareRow {
    pub(crate) id: ShareId,
    /// The creator; `None` for an anonymous share.
    pub(crate) owner: Option<UserId>,
    pub(crate) created_at: Timestamp,
    pub(crate) expires_at: Timestamp,
    pub(crate) max_views: u32,
    pub(crate) views_used: u32,
    pub(crate) failed_attempts: u32,
    pub(crate) client_encrypted: bool,
    /// The Argon2id salt of the passphrase, when the share has one.
    pub(crate) passphrase_salt: Option<[u8; PASSPHRASE_SALT_LEN]>,
    pub(crate) state: ShareState,
    /// The sealed content; empty unless `Active`. For a file share, the
    /// file's notice (id, size, name, media type).
    pub(crate) envelope: Vec<u8>,
    /// For a file share: the copy of the file the share holds (a `files`
    /// row of its creator in state `Shared`, sealed under keys derived
    /// from the share's content key).
    pub(crate) file: Option<FileId>,
}

impl Row for ShareRow {
    fn encode(&self, out: &mut Vec<u8>) {
        let mut w = Writer(out);
        w.u128(self.id.as_u128())
            .u128(self.owner.map_or(0, UserId::as_u128))
            .u64(self.created_at.as_unix_millis())
            .u64(self.expires_at.as_unix_millis())
            .u32(self.max_views)
            .u32(self.views_used)
            .u32(self.failed_attempts)
            // Bit 0: client-encrypted; bit 1: a file id follows the state
            // (schema 10).
            .u8(u8::from(self.client_encrypted) | (u8::from(self.file.is_some()) << 1))
            .u8(self.state.code());
        if let Some(file) = self.file {
            w.u128(file.as_u128());
        }
        match &self.passphrase_salt {
            Some(salt) => w.u8(1).tail(salt),
            None => w.u8(0),
        };
        w.tail(&self.envelope);
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        let id = ShareId::from_u128(r.u128()?);
        let owner = match r.u128()? {
            0 => None,
            n => Some(UserId::from_u128(n)),
        };
        let created_at = Timestamp::from_unix_millis(r.u64()?);
        let expires_at = Timestamp::from_unix_millis(r.u64()?);
        let (max_views, views_used, failed_attempts) = (r.u32()?, r.u32()?, r.u32()?);
        let flags = r.u8()?;
        if flags > 3 {
            return None;
        }
        let client_encrypted = flags & 1 == 1;
        let state = ShareState::from_code(r.u8()?)?;
        let file = match flags & 2 {
            0 => None,
            _ => Some(FileId::from_u128(r.u128()?)),
        };
        let passphrase_salt = match r.u8()? {
            0 => None,
            1 => {
                let mut salt = [0u8; PASSPHRASE_SALT_LEN];
                for b in &mut salt {
                    *b = r.u8()?;
                }
                Some(salt)
            }
            _ => return None,
        };
        Some(Self {
            id,
            owner,
            created_at,
            expires_at,
            max_views,
            views_used,
            failed_attempts,
            client_encrypted,
            passphrase_salt,
            state,
            envelope: r.tail().to_vec(),
            file,
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn share_rows_round_trip(
            id: u128, owner: Option<u128>, times: (u64, u64), counts: (u32, u32, u32),
            client: bool, salt: Option<[u8; 16]>, state in 0u8..4, envelope: Vec<u8>,
            file: Option<u128>,
        ) {
            let row = ShareRow {
                id: ShareId::from_u128(id),
                owner: owner.filter(|&o| o != 0).map(UserId::from_u128),
                created_at: Timestamp::from_unix_millis(times.0),
                expires_at: Timestamp::from_unix_millis(times.1),
                max_views: counts.0,
                views_used: counts.1,
                failed_attempts: counts.2,
                client_encrypted: client,
                passphrase_salt: salt,
                state: ShareState::from_code(state).expect("state"),
                envelope,
                file: file.map(FileId::from_u128),
            };
            prop_assert_eq!(ShareRow::decode(&row.to_bytes()), Some(row));
        }
    }
}

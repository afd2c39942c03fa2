//! The typed rows of every table, with their encodings.

use super::codec::{Key, Reader, Row, Writer};
use crate::clock::Timestamp;
use crate::crypto::keys::StoreSecret;
use crate::ids::{RecordId, SessionId, UserId};
use crate::model::{RecordKind, RecordMeta, Role};

/// SHA-256 of a bearer token's 32 random bytes: how a token is stored.
pub(crate) type TokenHash = [u8; 32];

/// A `meta` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MetaKey {
    /// The schema version (u32, big-endian).
    SchemaVersion,
    /// A known value sealed under the master key: a wrong key fails at open.
    KeyCheck,
    /// The root secret of the id permutations, wrapped under the master key.
    IdRoot,
    /// An operator's data-key rotation under way (see `reseal`).
    DataKeyRotation,
    /// The seed of the audit signing key, wrapped under the master key.
    AuditKey,
    /// The signed checkpoint of the last pruned audit entry.
    AuditAnchor,
    /// Which instance runs maintenance (the reaper) on a shared store, and
    /// until when: holder (u64) and expiry (unix ms), big-endian.
    MaintenanceLease,
}

impl MetaKey {
    const ALL: [Self; 7] = [
        Self::SchemaVersion,
        Self::KeyCheck,
        Self::IdRoot,
        Self::DataKeyRotation,
        Self::AuditKey,
        Self::AuditAnchor,
        Self::MaintenanceLease,
    ];

    /// Where a store secret is kept.
    pub(crate) const fn of_secret(which: StoreSecret) -> Self {
        match which {
            StoreSecret::IdRoot => Self::IdRoot,
            StoreSecret::AuditKey => Self::AuditKey,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::SchemaVersion => "schema_version",
            Self::KeyCheck => "master_key_check",
            Self::IdRoot => "id_root",
            Self::DataKeyRotation => "data_key_rotation",
            Self::AuditKey => "audit_key",
            Self::AuditAnchor => "audit_anchor",
            Self::MaintenanceLease => "maintenance_lease",
        }
    }
}

impl Key for MetaKey {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.name().as_bytes());
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name().as_bytes() == bytes)
    }
}

/// An account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UserRow {
    pub(crate) username: String,
    /// Argon2id PHC string.
    pub(crate) password_hash: String,
    pub(crate) created_at: Timestamp,
    pub(crate) role: Role,
    pub(crate) disabled: bool,
}

impl Row for UserRow {
    fn encode(&self, out: &mut Vec<u8>) {
        Writer(out)
            .u64(self.created_at.as_unix_millis())
            .bytes(self.username.as_bytes())
            .bytes(self.password_hash.as_bytes())
            .u8(self.role.code())
            .u8(u8::from(self.disabled));
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        let row = UserRef::decode(bytes)?;
        Some(Self {
            username: row.username.to_owned(),
            password_hash: row.password_hash.to_owned(),
            created_at: row.created_at,
            role: row.role,
            disabled: row.disabled,
        })
    }
}

/// An account's row read in place, checked as [`UserRow`]'s decoding
/// checks it: for a reader that needs a field, not the row (every
/// message stored names its sender, and needs no copy of the password
/// hash for it).
pub(crate) struct UserRef<'a> {
    pub(crate) username: &'a str,
    pub(crate) password_hash: &'a str,
    pub(crate) created_at: Timestamp,
    pub(crate) role: Role,
    pub(crate) disabled: bool,
}

impl<'a> UserRef<'a> {
    /// Rows written before schema 4 end after the password hash: those
    /// accounts are enabled users.
    pub(crate) fn decode(bytes: &'a [u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        let created_at = Timestamp::from_unix_millis(r.u64()?);
        let username = r.str()?;
        let password_hash = r.str()?;
        let (role, disabled) = if r.end().is_some() {
            (Role::User, false)
        } else {
            let role = Role::from_code(r.u8()?)?;
            let disabled = match r.u8()? {
                0 => false,
                1 => true,
                _ => return None,
            };
            r.end()?;
            (role, disabled)
        };
        Some(Self {
            username,
            password_hash,
            created_at,
            role,
            disabled,
        })
    }

    /// The username of the row in `bytes`, if the row is whole.
    pub(crate) fn username_of(bytes: &[u8]) -> Option<String> {
        UserRef::decode(bytes).map(|row| row.username.to_owned())
    }
}

/// A key scope's current data key and its counters' persisted
/// reservations: at least as many records were sealed under the current
/// version, and at least as many log positions handed out, as these say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ScopeRow {
    pub(crate) key_version: u32,
    pub(crate) seals_reserved: u64,
    pub(crate) positions_reserved: u64,
}

impl Row for ScopeRow {
    fn encode(&self, out: &mut Vec<u8>) {
        Writer(out)
            .u32(self.key_version)
            .u64(self.seals_reserved)
            .u64(self.positions_reserved);
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        let row = Self {
            key_version: r.u32()?,
            seals_reserved: r.u64()?,
            positions_reserved: r.u64()?,
        };
        r.end().map(|()| row)
    }
}

/// A stored record: facts in the clear, content in its envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RecordRow {
    pub(crate) kind: RecordKind,
    pub(crate) sender: UserId,
    /// The sender's username when it was written (`None` for records
    /// migrated from schema 1 whose sender was already deleted).
    pub(crate) sender_name: Option<String>,
    pub(crate) created_at: Timestamp,
    pub(crate) expires_at: Timestamp,
    pub(crate) envelope: Vec<u8>,
}

/// A stored record borrowed from the bytes it was read from: what reads
/// decode, so listing does not copy every envelope before opening it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RecordRef<'a> {
    pub(crate) kind: RecordKind,
    pub(crate) sender: UserId,
    pub(crate) sender_name: Option<&'a str>,
    pub(crate) created_at: Timestamp,
    pub(crate) expires_at: Timestamp,
    pub(crate) envelope: &'a [u8],
}

impl<'a> RecordRef<'a> {
    /// The record's public facts, under its public `id` (what
    /// `Keyring::record_id` gives its key for its owner: a caller that
    /// decoded the id from a request passes that on instead of encrypting
    /// the key again).
    pub(crate) fn meta(&self, id: RecordId) -> RecordMeta {
        RecordMeta {
            id,
            sender: self.sender,
            sender_name: self.sender_name.map(str::to_owned),
            created_at: self.created_at,
            expires_at: self.expires_at,
            kind: self.kind,
        }
    }

    pub(crate) fn decode(bytes: &'a [u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        let sender = UserId::from_u128(r.u128()?);
        let created_at = Timestamp::from_unix_millis(r.u64()?);
        let expires_at = Timestamp::from_unix_millis(r.u64()?);
        // The flag: bit 0, a sender name follows; bit 1, a file notice
        // (schema 10; earlier records are messages, 0 or 1); bit 2, a
        // credits notice (schema 11).
        let flag = r.u8()?;
        if flag > 5 || flag & 6 == 6 {
            return None;
        }
        let sender_name = match flag & 1 {
            0 => None,
            _ => Some(std::str::from_utf8(r.bytes()?).ok()?),
        };
        let kind = match flag & 6 {
            0 => RecordKind::Message,
            2 => RecordKind::File,
            _ => RecordKind::Credits,
        };
        Some(Self {
            kind,
            sender,
            sender_name,
            created_at,
            expires_at,
            envelope: r.tail(),
        })
    }
}

impl Row for RecordRow {
    fn encode(&self, out: &mut Vec<u8>) {
        // sender, two times, kind, the name's length prefix and the name.
        let name = self.sender_name.as_ref().map_or(0, String::len);
        out.reserve(16 + 8 + 8 + 1 + 4 + name + self.envelope.len());
        let mut w = Writer(out);
        w.u128(self.sender.as_u128())
            .u64(self.created_at.as_unix_millis())
            .u64(self.expires_at.as_unix_millis());
        let kind = match self.kind {
            RecordKind::Message => 0,
            RecordKind::File => 2,
            RecordKind::Credits => 4,
        };
        match &self.sender_name {
            Some(name) => w.u8(kind | 1).bytes(name.as_bytes()),
            None => w.u8(kind),
        };
        w.tail(&self.envelope);
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        let row = RecordRef::decode(bytes)?;
        Some(Self {
            kind: row.kind,
            sender: row.sender,
            sender_name: row.sender_name.map(str::to_owned),
            created_at: row.created_at,
            expires_at: row.expires_at,
            envelope: row.envelope.to_vec(),
        })
    }
}

impl RecordRow {
    /// The row as a borrowed view.
    pub(crate) fn as_ref(&self) -> RecordRef<'_> {
        RecordRef {
            kind: self.kind,
            sender: self.sender,
            sender_name: self.sender_name.as_deref(),
            created_at: self.created_at,
            expires_at: self.expires_at,
            envelope: &self.envelope,
        }
    }
}

/// What a token is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// Authenticates requests.
    Access,
    /// Obtains a new pair, once.
    Refresh,
    /// Opens one event stream, once.
    Ticket,
    /// An API key: authenticates like an access token, until revoked or
    /// expired; its session id is the key's id.
    ApiKey,
}

/// Whether a refresh token has been exchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenState {
    Active,
    /// Exchanged: presenting it again revokes its session.
    Rotated,
}

/// A stored token (only its hash is the key).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TokenRow {
    pub(crate) owner: UserId,
    pub(crate) kind: TokenKind,
    pub(crate) expires_at: Timestamp,
    pub(crate) session: SessionId,
    pub(crate) state: TokenState,
    /// What the token grants ends here: its own expiry, or for a ticket
    /// the expiry of the access token that issued it.
    pub(crate) grants_until: Timestamp,
}

impl TokenKind {
    /// The stored code (also schema 1's).
    pub(crate) fn code(self) -> u8 {
        match self {
            Self::Access => 1,
            Self::Refresh => 2,
            Self::Ticket => 3,
            Self::ApiKey => 4,
        }
    }
    pub(crate) fn from_code(code: u8) -> Option<Self> {
        [Self::Access, Self::Refresh, Self::Ticket, Self::ApiKey]
            .into_iter()
            .find(|k| k.code() == code)
    }
}

impl TokenState {
    /// The stored code (also schema 1's).
    pub(crate) fn code(self) -> u8 {
        match self {
            Self::Active => 0,
            Self::Rotated => 1,
        }
    }
    pub(crate) fn from_code(code: u8) -> Option<Self> {
        [Self::Active, Self::Rotated]
            .into_iter()
            .find(|s| s.code() == code)
    }
}

impl Row for TokenRow {
    fn encode(&self, out: &mut Vec<u8>) {
        Writer(out)
            .u128(self.owner.as_u128())
            .u8(self.kind.code())
            .u64(self.expires_at.as_unix_millis())
            .u128(self.session.as_u128())
            .u8(self.state.code())
            .u64(self.grants_until.as_unix_millis());
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        let row = Self {
            owner: UserId::from_u128(r.u128()?),
            kind: TokenKind::from_code(r.u8()?)?,
            expires_at: Timestamp::from_unix_millis(r.u64()?),
            session: SessionId::from_u128(r.u128()?),
            state: TokenState::from_code(r.u8()?)?,
            grants_until: Timestamp::from_unix_millis(r.u64()?),
        };
        r.end().map(|()| row)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn record_rows_round_trip(file: bool, sender: u128, name: Option<String>, created: u64,
                                  expires: u64, envelope: Vec<u8>) {
            let row = RecordRow {
                kind: if file { RecordKind::File } else { RecordKind::Message },
                sender: UserId::from_u128(sender),
                sender_name: name,
                created_at: Timestamp::from_unix_millis(created),
                expires_at: Timestamp::from_unix_millis(expires),
                envelope,
            };
            prop_assert_eq!(RecordRow::decode(&row.to_bytes()), Some(row));
        }

        #[test]
        fn user_rows_round_trip_and_read_the_same_in_place(
            username: String, password_hash: String, created: u64, role: u8, disabled: bool,
        ) {
            let role = [Role::Admin, Role::User, Role::Service][usize::from(role % 3)];
            let row = UserRow {
                username,
                password_hash,
                created_at: Timestamp::from_unix_millis(created),
                role,
                disabled,
            };
            let bytes = row.to_bytes();
            prop_assert_eq!(UserRef::username_of(&bytes), Some(row.username.clone()));
            prop_assert_eq!(UserRow::decode(&bytes), Some(row));
            // A row cut short, or with a byte too many, is corrupt to both.
            for bad in [&bytes[..bytes.len() - 1], &[&bytes[..], &[0]].concat()[..]] {
                prop_assert_eq!(UserRef::username_of(bad), None);
                prop_assert_eq!(UserRow::decode(bad), None);
            }
        }

        #[test]
        fn rows_never_panic_on_any_bytes(bytes: Vec<u8>) {
            let _ = (RecordRow::decode(&bytes), TokenRow::decode(&bytes),
                     UserRow::decode(&bytes), ScopeRow::decode(&bytes));
            // Reading in place accepts exactly what decoding accepts.
            prop_assert_eq!(UserRef::username_of(&bytes),
                            UserRow::decode(&bytes).map(|row| row.username));
        }
    }

    #[test]
    fn token_rows_round_trip_and_reject_unknown_codes() {
        let row = TokenRow {
            owner: UserId::from_u128(9),
            kind: TokenKind::Refresh,
            expires_at: Timestamp::from_unix_millis(5),
            session: SessionId::from_u128(3),
            state: TokenState::Rotated,
            grants_until: Timestamp::from_unix_millis(5),
        };
        let mut bytes = row.to_bytes();
        assert_eq!(TokenRow::decode(&bytes), Some(row));
        bytes[16] = 9;
        assert_eq!(TokenRow::decode(&bytes), None);
    }
}

//! Identifiers. Users and sessions are UUIDv7 (time-ordered, 74 random
//! bits). Records have two forms:
//!
//! - the internal [`RecordKey`], which sorts in commit order within its key
//!   scope (its position in the scope's event log sits in the high bits), so
//!   the records table doubles as the log a stream resumes from;
//! - the public [`RecordId`], that key put through a keyed pseudorandom
//!   permutation (see `idcipher`), so an id reveals nothing about positions,
//!   timing or other users' activity.
//!
//! A stream's place in its two logs (own messages, broadcasts) is published
//! the same way, as an opaque [`EventId`].

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::{Builder, Uuid};

/// The text given was not an identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a valid identifier")]
pub struct ParseIdError;

macro_rules! uuid_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(u128);

        impl $name {
            /// The identifier with this numeric value (its big-endian bytes
            /// are the UUID's bytes).
            pub const fn from_u128(value: u128) -> Self {
                Self(value)
            }

            /// The numeric value.
            pub const fn as_u128(self) -> u128 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&Uuid::from_u128(self.0).hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({self})", stringify!($name))
            }
        }

        impl FromStr for $name {
            type Err = ParseIdError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::try_parse(s)
                    .map(|u| Self(u.as_u128()))
                    .map_err(|_| ParseIdError)
            }
        }
    };
}

/// A fresh random UUID (v4) from the thread-local CSPRNG: it tells
/// nothing about when it was made (ids made by earlier releases were
/// UUIDv7, stamped with their creation time; they stay valid).
fn uuid_v4() -> u128 {
    Builder::from_random_bytes(rand::random())
        .into_uuid()
        .as_u128()
}

uuid_type!(
    /// Identifies a user (account). Never reused, never zero.
    UserId
);
uuid_type!(
    /// Identifies a login session: the family of tokens one login started.
    SessionId
);
uuid_type!(
    /// Identifies a record to its owner. Opaque: the internal key put through
    /// a keyed permutation, so ids of consecutive writes share no structure.
    /// An id from another database, or a tampered one, simply finds nothing.
    RecordId
);

uuid_type!(
    /// Identifies a share link to its creator (for listing and revoking).
    /// Random; it does not open the share: only the share's URL does.
    ShareId
);

uuid_type!(
    /// Identifies a file to its owner. A UUIDv7: ids sort by creation
    /// time (which the owner is shown anyway), so a listing pages in key
    /// order; looked up under the caller's account only.
    FileId
);

uuid_type!(
    /// A passkey registered to an account (random, UUIDv4): how its owner
    /// lists and removes it.
    PasskeyId
);

impl PasskeyId {
    /// A fresh random id.
    pub fn generate() -> Self {
        Self(uuid_v4())
    }
}

impl FileId {
    /// A fresh id (UUIDv7).
    pub fn generate() -> Self {
        Self(Uuid::now_v7().as_u128())
    }
}

impl ShareId {
    /// A fresh random id (UUIDv4).
    pub fn generate() -> Self {
        Self(uuid_v4())
    }
}

impl UserId {
    /// A fresh random user id (UUIDv4): opaque, it reveals no creation time
    /// to the recipients who see it as a message's `sender_id`.
    pub fn generate() -> Self {
        Self(uuid_v4())
    }
}

impl SessionId {
    /// A fresh random session (or API key) id (UUIDv4).
    pub fn generate() -> Self {
        Self(uuid_v4())
    }
}

/// Whose data key seals a record, and whose log it belongs to: one user's,
/// or the broadcast scope every user reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyScope {
    /// The records of one user.
    User(UserId),
    /// Broadcasts: stored once, readable by every user.
    Broadcast,
}

impl KeyScope {
    /// The scope's 16 bytes as bound into associated data and keys: the user
    /// id, or all zeros for broadcasts (user ids are never zero).
    pub(crate) const fn as_u128(self) -> u128 {
        match self {
            Self::User(user) => user.0,
            Self::Broadcast => 0,
        }
    }

    /// The inverse of [`KeyScope::as_u128`].
    pub(crate) const fn from_u128(value: u128) -> Self {
        match value {
            0 => Self::Broadcast,
            id => Self::User(UserId(id)),
        }
    }
}

/// Largest position in a scope's event log. Positions travel in 48 bits of
/// an [`EventId`]: 2^48 records per scope.
pub(crate) const MAX_POSITION: u64 = (1 << 48) - 1;
const RANDOM_BITS: u128 = (1 << 62) - 1;

/// The internal key of a record: a UUIDv8 carrying the record's position in
/// its scope's log in the 60 bits around the version nibble, and 62 random
/// bits after the variant. Keys of one scope sort by position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct RecordKey(u128);

impl RecordKey {
    /// A fresh key for `position`.
    pub(crate) fn for_position(position: u64) -> Self {
        Self(Self::first_for_position(position).0 | (rand::random::<u128>() & RANDOM_BITS))
    }

    /// The smallest key carrying `position`: keys of later positions sort
    /// after it.
    pub(crate) fn first_for_position(position: u64) -> Self {
        let p = u128::from(position.min((1 << 60) - 1));
        Self(((p >> 12) << 80) | (0x8 << 76) | ((p & 0xfff) << 64) | (0b10 << 62))
    }

    /// The position this key carries.
    pub(crate) fn position(self) -> u64 {
        (((self.0 >> 80) << 12) | ((self.0 >> 64) & 0xfff)) as u64
    }

    /// Whether the version and variant bits are those of a record key and
    /// the position is in range (18 bits of structure): what a decrypted
    /// public id must show before anything looks it up.
    pub(crate) fn is_well_formed(self) -> bool {
        (self.0 >> 76) & 0xf == 0x8
            && (self.0 >> 62) & 0b11 == 0b10
            && self.position() <= MAX_POSITION
    }

    pub(crate) const fn from_u128(value: u128) -> Self {
        Self(value)
    }

    pub(crate) const fn as_u128(self) -> u128 {
        self.0
    }
}

/// Where a stream stands, as its client holds it (the SSE `id`, sent back as
/// `Last-Event-ID`): opaque, 22 characters of base64url. Only the engine
/// that issued it, for the user it issued it to, can read it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventId(pub(crate) [u8; 16]);

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl fmt::Debug for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventId({self})")
    }
}

impl FromStr for EventId {
    type Err = ParseIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut bytes = [0u8; 18];
        if s.len() != 22 {
            return Err(ParseIdError);
        }
        match URL_SAFE_NO_PAD.decode_slice(s.as_bytes(), &mut bytes) {
            Ok(16) => Ok(Self(bytes[..16].try_into().map_err(|_| ParseIdError)?)),
            _ => Err(ParseIdError),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_keys_sort_by_position_and_carry_it() {
        let mut last = RecordKey::from_u128(0);
        for position in [1, 2, 4095, 4096, 4097, 1 << 40, MAX_POSITION] {
            let key = RecordKey::for_position(position);
            assert_eq!(key.position(), position);
            assert!(key.is_well_formed());
            assert!(key > last && key >= RecordKey::first_for_position(position));
            assert!(key < RecordKey::first_for_position(position + 1));
            last = key;
        }
        assert_ne!(RecordKey::for_position(5), RecordKey::for_position(5));
        assert!(!RecordKey::from_u128(0).is_well_formed());
    }

    #[test]
    fn ids_round_trip_through_text() {
        let id = RecordId::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        assert_eq!(id.to_string().parse::<RecordId>(), Ok(id));
        assert_eq!("nope".parse::<RecordId>(), Err(ParseIdError));
        let event = EventId([7; 16]);
        assert_eq!(event.to_string().len(), 22);
        assert_eq!(event.to_string().parse::<EventId>(), Ok(event));
        for bad in [
            "",
            "short",
            "!!!!!!!!!!!!!!!!!!!!!!",
            "AAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert_eq!(bad.parse::<EventId>(), Err(ParseIdError), "{bad}");
        }
    }

    #[test]
    fn new_ids_are_random_and_carry_no_time() {
        let a = Uuid::from_u128(UserId::generate().as_u128());
        assert_eq!(a.get_version_num(), 4);
        assert!(a.get_timestamp().is_none());
        assert_ne!(UserId::generate(), UserId::generate());
        let key = Uuid::from_u128(SessionId::generate().as_u128());
        assert_eq!(key.get_version_num(), 4);
        // Ids earlier releases made (UUIDv7) still parse.
        let old = "01890a5d-ac96-774b-bcce-b302099a8057";
        assert_eq!(
            old.parse::<UserId>().map(|u| u.to_string()).as_deref(),
            Ok(old)
        );
    }

    #[test]
    fn the_broadcast_scope_is_not_a_user() {
        assert_eq!(KeyScope::from_u128(0), KeyScope::Broadcast);
        let user = UserId::generate();
        assert_eq!(KeyScope::from_u128(user.as_u128()), KeyScope::User(user));
    }
}

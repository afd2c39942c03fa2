//! Identifiers, 128-bit and unguessable. Users and sessions are UUIDv7
//! (time-ordered, 74 random bits). Records are UUIDv8 carrying their
//! event sequence number in the high bits and 62 random bits below it, so
//! record ids sort in commit order: one key orders both a user's list and
//! the event log a stream resumes from.

use std::fmt;
use std::str::FromStr;

use uuid::{Builder, Uuid};

use crate::clock::Timestamp;

/// The text given was not an identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a valid identifier (expected a UUID)")]
pub struct ParseIdError;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(u128);

        impl $name {
            /// The identifier with this numeric value.
            pub const fn from_u128(value: u128) -> Self {
                Self(value)
            }

            /// The numeric value (its big-endian bytes are the UUID bytes).
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

/// A fresh UUIDv7 stamped with `now`.
fn uuid_v7(now: Timestamp) -> u128 {
    let random: [u8; 10] = rand::random();
    Builder::from_unix_timestamp_millis(now.as_unix_millis(), &random)
        .into_uuid()
        .as_u128()
}

id_type!(
    /// Identifies a user (account). Never reused.
    UserId
);

impl UserId {
    /// A fresh user id (UUIDv7) stamped with `now`.
    pub fn generate(now: Timestamp) -> Self {
        Self(uuid_v7(now))
    }
}

impl SessionId {
    /// A fresh session id (UUIDv7) stamped with `now`.
    pub fn generate(now: Timestamp) -> Self {
        Self(uuid_v7(now))
    }
}

/// Largest event sequence number a record id can carry (2^60 - 1).
pub const MAX_SEQ: u64 = (1 << 60) - 1;
const RANDOM_BITS: u128 = (1 << 62) - 1;

impl RecordId {
    /// A fresh record id for event sequence number `seq` (at most
    /// [`MAX_SEQ`]): UUIDv8 with `seq` in the 60 bits around the version
    /// nibble and 62 random bits after the variant.
    pub fn for_seq(seq: u64) -> Self {
        Self(Self::first_for_seq(seq).0 | (rand::random::<u128>() & RANDOM_BITS))
    }

    /// The smallest id carrying `seq`: ids of later sequence numbers sort
    /// after it.
    pub fn first_for_seq(seq: u64) -> Self {
        let seq = u128::from(seq.min(MAX_SEQ));
        Self(((seq >> 12) << 80) | (0x8 << 76) | ((seq & 0xfff) << 64) | (0b10 << 62))
    }

    /// The event sequence number this id carries.
    pub fn seq(self) -> u64 {
        (((self.0 >> 80) << 12) | ((self.0 >> 64) & 0xfff)) as u64
    }
}
id_type!(
    /// Identifies a record; ids of one user sort by creation time.
    RecordId
);
id_type!(
    /// Identifies a login session: the family of tokens one login started.
    SessionId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_ids_sort_by_sequence_and_round_trip_through_text() {
        let mut last = RecordId::from_u128(0);
        for seq in [1, 2, 4095, 4096, 4097, 1 << 40, MAX_SEQ] {
            let id = RecordId::for_seq(seq);
            assert_eq!(id.seq(), seq);
            assert!(id > last && id >= RecordId::first_for_seq(seq));
            assert!(id < RecordId::first_for_seq(seq.saturating_add(1)) || seq == MAX_SEQ);
            let uuid = Uuid::from_u128(id.as_u128());
            assert_eq!(uuid.get_version_num(), 8);
            assert_eq!(uuid.get_variant(), uuid::Variant::RFC4122);
            assert_eq!(id.to_string().parse::<RecordId>(), Ok(id));
            last = id;
        }
        assert_ne!(RecordId::for_seq(5), RecordId::for_seq(5));
        assert_eq!("nope".parse::<RecordId>(), Err(ParseIdError));
    }

    #[test]
    fn user_ids_sort_by_time() {
        let a = UserId::generate(Timestamp::from_unix_millis(1_000));
        let b = UserId::generate(Timestamp::from_unix_millis(2_000));
        assert!(a < b);
    }

    #[test]
    fn ids_of_the_same_millisecond_differ() {
        let t = Timestamp::from_unix_millis(5);
        assert_ne!(UserId::generate(t), UserId::generate(t));
    }
}

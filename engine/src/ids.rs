//! Identifiers: 128-bit, time-ordered and unguessable (UUIDv7 layout with
//! 74 random bits from the thread-local CSPRNG).

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
            /// A fresh identifier stamped with `now`.
            pub fn generate(now: Timestamp) -> Self {
                let random: [u8; 10] = rand::random();
                let uuid = Builder::from_unix_timestamp_millis(now.as_unix_millis(), &random)
                    .into_uuid();
                Self(uuid.as_u128())
            }

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

id_type!(
    /// Identifies a user (account). Never reused.
    UserId
);
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
    fn ids_sort_by_time_and_round_trip_through_text() {
        let a = RecordId::generate(Timestamp::from_unix_millis(1_000));
        let b = RecordId::generate(Timestamp::from_unix_millis(2_000));
        assert!(a < b);
        assert_eq!(a.to_string().parse::<RecordId>(), Ok(a));
        assert_eq!("nope".parse::<RecordId>(), Err(ParseIdError));
    }

    #[test]
    fn ids_of_the_same_millisecond_differ() {
        let t = Timestamp::from_unix_millis(5);
        assert_ne!(UserId::generate(t), UserId::generate(t));
    }
}

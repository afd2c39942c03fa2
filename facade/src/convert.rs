//! Conversions between engine values and their HTTP forms.

use strongroom_engine::{RecordId, Timestamp, UserId};
use time::OffsetDateTime;
use uuid::Uuid;

/// An engine timestamp as a UTC date-time.
pub(crate) fn datetime(t: Timestamp) -> OffsetDateTime {
    let nanos = i128::from(t.as_unix_millis()) * 1_000_000;
    OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

pub(crate) fn user_uuid(id: UserId) -> Uuid {
    Uuid::from_u128(id.as_u128())
}

pub(crate) fn record_uuid(id: RecordId) -> Uuid {
    Uuid::from_u128(id.as_u128())
}

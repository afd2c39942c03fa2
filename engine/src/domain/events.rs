//! Events: what a live stream delivers. Every stored message and broadcast
//! has a position in its scope's log (the user's, or the broadcast scope's)
//! carried in its record key, so a stream resumes after a [`StreamCursor`]
//! with one range read per log.

use std::collections::VecDeque;

use crate::clock::Timestamp;
use crate::error::RecordError;
use crate::ids::{KeyScope, RecordKey, UserId};
use crate::keyring::Keyring;
use crate::keyring::opening::ScopeReader;
use crate::model::{Event, StreamCursor};
use crate::schema::{RECORDS, RecordRef};
use crate::store::{Flow, Order, ReadTx};

/// Up to `limit` unexpired events `user` is entitled to after `cursor`:
/// their own log and the broadcast log, each in position order, merged by
/// creation time. Delivering them in this order through
/// [`StreamCursor::advance`] never skips one: what is left out comes next
/// time, after the same cursor.
pub(crate) fn replay(
    tx: &dyn ReadTx,
    keyring: &Keyring,
    user: UserId,
    cursor: StreamCursor,
    limit: usize,
    now: Timestamp,
) -> Result<Vec<Event>, RecordError> {
    let mut own = read_log(tx, keyring, KeyScope::User(user), cursor.own, limit, now)?;
    let mut all = read_log(
        tx,
        keyring,
        KeyScope::Broadcast,
        cursor.broadcast,
        limit,
        now,
    )?;
    let mut merged = Vec::with_capacity(limit.min(own.len() + all.len()));
    while merged.len() < limit {
        let next = match (own.front(), all.front()) {
            (Some(a), Some(b)) if b.meta.created_at < a.meta.created_at => all.pop_front(),
            (Some(_), _) => own.pop_front(),
            (None, _) => all.pop_front(),
        };
        match next {
            Some(event) => merged.push(event),
            None => break,
        }
    }
    Ok(merged)
}

/// Up to `limit` unexpired events of one log after `after`.
fn read_log(
    tx: &dyn ReadTx,
    keyring: &Keyring,
    scope: KeyScope,
    after: u64,
    limit: usize,
    now: Timestamp,
) -> Result<VecDeque<Event>, RecordError> {
    let first = RecordKey::first_for_position(after.saturating_add(1));
    let range = (scope, first)..=(scope, RecordKey::from_u128(u128::MAX));
    let mut reader = ScopeReader::new(keyring, tx, scope, limit);
    RECORDS.scan_bytes(tx, range, Order::Ascending, |(_, key), bytes| {
        if reader.len() == limit {
            return Ok(Flow::Stop);
        }
        let row = RecordRef::decode(bytes).ok_or_else(|| RECORDS.corrupt())?;
        if now < row.expires_at {
            reader.open(key, row)?;
        }
        Ok::<_, RecordError>(Flow::Continue)
    })?;
    Ok(reader.finish(|o| Event {
        scope,
        meta: o.meta,
        plaintext: o.plaintext,
        position: o.key.position(),
    }))
}

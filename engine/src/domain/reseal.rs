//! Data-key rotation: every key scope gets a fresh data key version, then
//! records older than a cutoff that are sealed under an older version are
//! opened and sealed again under the newest, in batches of one transaction
//! each. A marker in `meta` (the cutoff and the last record done) makes a
//! rotation resumable: after a crash the next run continues where the last
//! committed batch ended instead of starting new key versions again.

use std::collections::HashMap;
use std::ops::Bound;

use crate::clock::Timestamp;
use crate::crypto::envelope::Envelope;
use crate::error::{RecordError, StorageError};
use crate::ids::{KeyScope, RecordKey};
use crate::keyring::Keyring;
use crate::schema::{META, MetaKey, RECORDS, RecordRow, SCOPES};
use crate::schema::{Reader, Writer};
use crate::store::{Flow, Order, ReadTx, WriteTx};

/// A rotation under way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Marker {
    /// Records created at or before this are re-sealed.
    pub(crate) cutoff: Timestamp,
    /// The last record done, in key order.
    pub(crate) after: Option<(KeyScope, RecordKey)>,
}

impl Marker {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(41);
        let mut w = Writer(&mut out);
        w.u64(self.cutoff.as_unix_millis());
        match self.after {
            Some((scope, key)) => w.u8(1).u128(scope.as_u128()).u128(key.as_u128()),
            None => w.u8(0),
        };
        out
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        let cutoff = Timestamp::from_unix_millis(r.u64()?);
        let after = match r.u8()? {
            0 => None,
            1 => Some((
                KeyScope::from_u128(r.u128()?),
                RecordKey::from_u128(r.u128()?),
            )),
            _ => return None,
        };
        r.end().map(|()| Self { cutoff, after })
    }
}

/// The rotation under way, if any.
pub(crate) fn marker(tx: &dyn ReadTx) -> Result<Option<Marker>, StorageError> {
    match META.get(tx, &MetaKey::DataKeyRotation)? {
        None => Ok(None),
        Some(bytes) => Marker::decode(&bytes)
            .map(Some)
            .ok_or(StorageError::Corrupt { table: META.name() }),
    }
}

/// Starts a rotation: a new key version for every scope, and the marker.
/// Returns how many scopes.
pub(crate) fn start(
    tx: &mut dyn WriteTx,
    keyring: &Keyring,
    cutoff: Timestamp,
) -> Result<u64, RecordError> {
    let scopes = SCOPES.keys(tx, .., usize::MAX)?;
    for scope in &scopes {
        keyring.rotate_scope(tx, *scope)?;
    }
    let marker = Marker {
        cutoff,
        after: None,
    };
    META.insert(tx, &MetaKey::DataKeyRotation, &marker.encode())?;
    Ok(scopes.len() as u64)
}

/// One batch: up to `limit` records after the marker; returns how many
/// were looked at and re-sealed. The marker is removed when none are left.
pub(crate) fn step(
    tx: &mut dyn WriteTx,
    keyring: &Keyring,
    limit: usize,
) -> Result<(usize, usize), RecordError> {
    let Some(marker) = marker(tx)? else {
        return Ok((0, 0));
    };
    let start = match marker.after {
        Some(after) => Bound::Excluded(after),
        None => Bound::Unbounded,
    };
    let mut batch: Vec<((KeyScope, RecordKey), RecordRow)> = Vec::new();
    RECORDS.scan(
        tx,
        (start, Bound::Unbounded),
        Order::Ascending,
        |key, row| {
            batch.push((key, row));
            Ok::<_, StorageError>(if batch.len() == limit {
                Flow::Stop
            } else {
                Flow::Continue
            })
        },
    )?;
    let mut current: HashMap<KeyScope, u32> = HashMap::new();
    let mut resealed = 0;
    for ((scope, key), row) in &batch {
        if row.created_at > marker.cutoff {
            continue;
        }
        let version = Envelope::parse(&row.envelope)
            .map_err(|_| RECORDS.corrupt())?
            .key_version();
        let newest = match current.get(scope) {
            Some(v) => *v,
            None => {
                let v = SCOPES
                    .get(tx, scope)?
                    .ok_or_else(|| SCOPES.corrupt())?
                    .key_version;
                current.insert(*scope, v);
                v
            }
        };
        if version >= newest {
            continue;
        }
        let plaintext = keyring.open_record(tx, *scope, *key, row.as_ref())?;
        let sealing = keyring
            .reseal(tx, *scope)?
            .ok_or_else(|| SCOPES.corrupt())?;
        let updated = RecordRow {
            envelope: sealing.seal(*scope, *key, &plaintext),
            ..row.clone()
        };
        RECORDS.insert(tx, &(*scope, *key), &updated)?;
        resealed += 1;
    }
    match batch.last() {
        Some((last, _)) if batch.len() == limit => {
            let next = Marker {
                after: Some(*last),
                ..marker
            };
            META.insert(tx, &MetaKey::DataKeyRotation, &next.encode())?;
        }
        _ => {
            META.remove(tx, &MetaKey::DataKeyRotation)?;
        }
    }
    Ok((batch.len(), resealed))
}

/// Records in the store (for progress).
pub(crate) fn count(tx: &dyn ReadTx) -> Result<u64, StorageError> {
    let mut n = 0;
    RECORDS.scan_bytes(tx, .., Order::Ascending, |_, _| {
        n += 1;
        Ok::<_, StorageError>(Flow::Continue)
    })?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip() {
        for after in [
            None,
            Some((KeyScope::from_u128(7), RecordKey::from_u128(u128::MAX))),
        ] {
            let m = Marker {
                cutoff: Timestamp::from_unix_millis(123),
                after,
            };
            assert_eq!(Marker::decode(&m.encode()), Some(m));
        }
        assert_eq!(Marker::decode(&[1, 2]), None);
    }
}

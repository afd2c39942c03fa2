//! Records: put, get, list, delete and the expiry reaper.

use std::fmt;
use std::time::Duration;

use redb::{ReadTransaction, ReadableDatabase, ReadableTable};
use zeroize::Zeroizing;

use crate::clock::Timestamp;
use crate::commit::WriteTables;
use crate::engine::Engine;
use crate::envelope::{self, Envelope, Scope};
use crate::error::{DecryptionFailed, RecordError};
use crate::events::EventKind;
use crate::ids::{RecordId, UserId};
use crate::keyring;
use crate::tables::{DATA_KEYS, RECORD_EXPIRY, RECORDS};

/// The counter holding the highest reserved event sequence number.
pub(crate) const EVENT_SEQ: &str = "event_seq";

/// A stored row as facts and envelope, or `None` once it has expired at
/// `now` (an expired record is never returned, even before it is purged).
pub(crate) fn live_row(
    owner: UserId,
    id: RecordId,
    (sender, created, expires, sealed): (u128, u64, u64, &[u8]),
    now: Timestamp,
) -> Option<(RecordMeta, &[u8])> {
    let meta = RecordMeta {
        id,
        owner,
        sender: UserId::from_u128(sender),
        created_at: Timestamp::from_unix_millis(created),
        expires_at: Timestamp::from_unix_millis(expires),
    };
    (now < meta.expires_at).then_some((meta, sealed))
}

/// Largest page [`Engine::list`] returns.
pub const MAX_PAGE: usize = 1000;

/// A record's public facts (no plaintext).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordMeta {
    /// The record's id.
    pub id: RecordId,
    /// Who may read it.
    pub owner: UserId,
    /// Who stored it (the owner, for records stored for oneself).
    pub sender: UserId,
    /// When it was stored.
    pub created_at: Timestamp,
    /// When it stops being readable.
    pub expires_at: Timestamp,
}

/// What a successful put returns: the record's facts and its envelope.
#[derive(Clone, Debug)]
pub struct Receipt {
    /// The stored record's facts.
    pub meta: RecordMeta,
    /// The sealed envelope as stored (wire form: [`envelope::to_base64`]).
    pub envelope: Vec<u8>,
}

/// A decrypted record. `Debug` shows the plaintext's length, not its bytes.
pub struct Record {
    /// The record's facts.
    pub meta: RecordMeta,
    /// The decrypted content, zeroized on drop.
    pub plaintext: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Record")
            .field("meta", &self.meta)
            .field("plaintext_len", &self.plaintext.len())
            .finish()
    }
}

/// One page of [`Engine::list`], newest first.
#[derive(Debug)]
pub struct Page {
    /// The records on this page.
    pub records: Vec<Record>,
    /// Pass this as the cursor to get the next page; `None` on the last.
    pub next_cursor: Option<RecordId>,
}

impl Engine {
    /// Stores `plaintext` for `owner`, readable until `ttl` (default: the
    /// engine's default ttl) has passed. Durable when it returns.
    pub fn put(
        &self,
        owner: UserId,
        plaintext: &[u8],
        ttl: Option<Duration>,
    ) -> Result<Receipt, RecordError> {
        self.send(owner, owner, plaintext, ttl)
    }

    /// Stores `plaintext` for `recipient`, recording `sender`.
    pub fn send(
        &self,
        sender: UserId,
        recipient: UserId,
        plaintext: &[u8],
        ttl: Option<Duration>,
    ) -> Result<Receipt, RecordError> {
        if recipient == crate::events::BROADCAST_SCOPE {
            return Err(RecordError::UnknownUser);
        }
        self.write_event(sender, recipient, EventKind::Message, plaintext, ttl)
    }

    pub(crate) fn check_record(
        &self,
        plaintext: &[u8],
        ttl: Option<Duration>,
    ) -> Result<Duration, RecordError> {
        let config = &self.inner.config;
        if plaintext.len() > config.max_record_len {
            return Err(RecordError::TooLarge {
                max: config.max_record_len,
            });
        }
        let ttl = ttl.unwrap_or(config.default_ttl);
        if ttl < Duration::from_secs(1) || ttl > config.max_ttl {
            return Err(RecordError::TtlOutOfRange {
                max_secs: config.max_ttl.as_secs(),
            });
        }
        Ok(ttl)
    }

    /// Seals and inserts one record with its expiry entry; returns its
    /// receipt and event sequence number.
    pub(crate) fn stage_put(
        &self,
        tables: &mut WriteTables<'_>,
        sender: UserId,
        recipient: UserId,
        plaintext: &[u8],
        ttl: Duration,
    ) -> Result<(Receipt, u64), RecordError> {
        let inner = &self.inner;
        let (version, key) = keyring::key_for_sealing(
            &inner.master,
            &inner.keys,
            &inner.seal_counts,
            &mut tables.keyring,
            &mut tables.data_keys,
            recipient.as_u128(),
            inner.config.dek_rotation,
        )?
        .ok_or(RecordError::UnknownUser)?;
        let (seq, reserve) = inner.committer.next_seq();
        if let Some(reserved) = reserve {
            tables.counters.insert(EVENT_SEQ, reserved)?;
        }
        let now = inner.clock.now();
        let meta = RecordMeta {
            id: RecordId::for_seq(seq),
            owner: recipient,
            sender,
            created_at: now,
            expires_at: now.saturating_add(ttl),
        };
        let scope = Scope {
            owner: recipient,
            record: meta.id,
        };
        let sealed = envelope::seal(&key, version, scope, plaintext);
        let (owner, id) = (recipient.as_u128(), meta.id.as_u128());
        let (created, expires) = (now.as_unix_millis(), meta.expires_at.as_unix_millis());
        tables.records.insert(
            (owner, id),
            (sender.as_u128(), created, expires, sealed.as_slice()),
        )?;
        tables.expiry.insert((expires, owner, id), ())?;
        let receipt = Receipt {
            meta,
            envelope: sealed,
        };
        Ok((receipt, seq))
    }

    /// The record `id` of `owner`; `NotFound` if absent, expired, or owned by
    /// someone else.
    pub fn get(&self, owner: UserId, id: RecordId) -> Result<Record, RecordError> {
        let now = self.inner.clock.now();
        let txn = self.inner.db.begin_read()?;
        let records = txn.open_table(RECORDS)?;
        let row = records
            .get((owner.as_u128(), id.as_u128()))?
            .ok_or(RecordError::NotFound)?;
        let (meta, sealed) = live_row(owner, id, row.value(), now).ok_or(RecordError::NotFound)?;
        let plaintext = self.open_sealed(&txn, meta, sealed)?;
        Ok(Record { meta, plaintext })
    }

    /// Decrypts a stored envelope; the data key comes from the cache, or is
    /// unwrapped from `txn` (the key table is opened only on a miss).
    pub(crate) fn open_sealed(
        &self,
        txn: &ReadTransaction,
        meta: RecordMeta,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, RecordError> {
        let envelope = Envelope::parse(sealed).map_err(|_| DecryptionFailed)?;
        let (scope, version) = (meta.owner.as_u128(), envelope.key_version());
        let key = match self.inner.keys.get(scope, version) {
            Some(key) => Some(key),
            None => keyring::key_for_opening(
                &self.inner.master,
                &self.inner.keys,
                &txn.open_table(DATA_KEYS)?,
                scope,
                version,
            )?,
        }
        .ok_or(DecryptionFailed)?;
        let scope = Scope {
            owner: meta.owner,
            record: meta.id,
        };
        Ok(envelope.open(&key, scope).map_err(|_| DecryptionFailed)?)
    }

    /// Up to `limit` (1..=1000) unexpired records of `owner`, newest first,
    /// starting after `cursor` (the previous page's `next_cursor`).
    pub fn list(
        &self,
        owner: UserId,
        cursor: Option<RecordId>,
        limit: usize,
    ) -> Result<Page, RecordError> {
        if limit == 0 || limit > MAX_PAGE {
            return Err(RecordError::InvalidLimit { max: MAX_PAGE });
        }
        let now = self.inner.clock.now();
        let txn = self.inner.db.begin_read()?;
        let table = txn.open_table(RECORDS)?;
        let o = owner.as_u128();
        let rows = match cursor {
            Some(c) => table.range((o, 0)..(o, c.as_u128()))?,
            None => table.range((o, 0)..=(o, u128::MAX))?,
        };
        let mut records = Vec::new();
        let mut next_cursor = None;
        for row in rows.rev() {
            let (key, value) = row?;
            let id = RecordId::from_u128(key.value().1);
            let Some((meta, sealed)) = live_row(owner, id, value.value(), now) else {
                continue;
            };
            if records.len() == limit {
                next_cursor = records.last().map(|r: &Record| r.meta.id);
                break;
            }
            let plaintext = self.open_sealed(&txn, meta, sealed)?;
            records.push(Record { meta, plaintext });
        }
        Ok(Page {
            records,
            next_cursor,
        })
    }

    /// Deletes record `id` of `owner`; `NotFound` as for [`Engine::get`]. An
    /// expired record is removed all the same.
    pub fn delete(&self, owner: UserId, id: RecordId) -> Result<(), RecordError> {
        let now = self.inner.clock.now().as_unix_millis();
        let txn = self.inner.db.begin_write()?;
        let removed = {
            let mut records = txn.open_table(RECORDS)?;
            let removed = records.remove((owner.as_u128(), id.as_u128()))?;
            removed.map(|row| row.value().2)
        };
        let Some(expires) = removed else {
            return Err(RecordError::NotFound);
        };
        txn.open_table(RECORD_EXPIRY)?
            .remove((expires, owner.as_u128(), id.as_u128()))?;
        txn.commit()?;
        if now >= expires {
            return Err(RecordError::NotFound);
        }
        Ok(())
    }

    /// Deletes up to `limit` records that expired at or before `now`, oldest
    /// first, in one transaction; returns how many went. Its cost grows with
    /// the number purged, not with the size of the database.
    pub fn purge_expired(&self, now: Timestamp, limit: usize) -> Result<usize, RecordError> {
        let txn = self.inner.db.begin_write()?;
        let purged = {
            let mut expiry = txn.open_table(RECORD_EXPIRY)?;
            let mut records = txn.open_table(RECORDS)?;
            let end = (now.as_unix_millis(), u128::MAX, u128::MAX);
            let mut due = Vec::new();
            for entry in expiry.range(..=end)?.take(limit) {
                due.push(entry?.0.value());
            }
            for &(expires, owner, id) in &due {
                expiry.remove((expires, owner, id))?;
                records.remove((owner, id))?;
            }
            due.len()
        };
        txn.commit()?;
        Ok(purged)
    }
}

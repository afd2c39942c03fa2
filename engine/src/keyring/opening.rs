//! Opening a run of records of one scope — a page of a list, a stream's
//! catch-up — for what it costs per record rather than per call: the data
//! key is looked up once per key version (not once per record, through the
//! shared cache's lock), and the public ids are computed in one batch at
//! the end (a lone AES block costs about as much as eight in a batch).

use std::sync::Arc;

use crate::clock::Timestamp;
use crate::crypto::envelope::Envelope;
use crate::crypto::keys::DataKey;
use crate::crypto::secret_bytes::SecretBytes;
use crate::error::{DecryptionFailed, RecordError};
use crate::ids::{KeyScope, RecordKey, UserId};
use crate::keyring::{Keyring, open_under};
use crate::model::{RecordKind, RecordMeta};
use crate::schema::RecordRef;
use crate::store::ReadTx;

/// How many records a [`ScopeReader`] makes room for before the first:
/// a page's length is the caller's (an embedder may allow large pages),
/// so past this the reader's list grows as records come.
const PRESIZED: usize = 256;

/// A record opened by a [`ScopeReader`].
pub(crate) struct Opened {
    pub(crate) key: RecordKey,
    pub(crate) meta: RecordMeta,
    pub(crate) plaintext: SecretBytes,
}

/// Opens records of one scope within one read transaction.
pub(crate) struct ScopeReader<'a, T: ReadTx + ?Sized> {
    keyring: &'a Keyring,
    tx: &'a T,
    scope: KeyScope,
    /// The last key version used, and its key.
    last_key: Option<(u32, Arc<DataKey>)>,
    /// What was opened, in order, without ids yet.
    opened: Vec<(RecordKey, Facts, SecretBytes)>,
}

/// A record's facts but its id.
struct Facts {
    kind: RecordKind,
    sender: UserId,
    sender_name: Option<String>,
    created_at: Timestamp,
    expires_at: Timestamp,
}

impl<'a, T: ReadTx + ?Sized> ScopeReader<'a, T> {
    /// A reader for about `expect` records (a page's length): room for up
    /// to [`PRESIZED`] of them is allocated at once, more as they come.
    pub(crate) fn new(keyring: &'a Keyring, tx: &'a T, scope: KeyScope, expect: usize) -> Self {
        Self {
            keyring,
            tx,
            scope,
            last_key: None,
            opened: Vec::with_capacity(expect.min(PRESIZED)),
        }
    }

    /// How many records were opened so far.
    pub(crate) fn len(&self) -> usize {
        self.opened.len()
    }

    /// Decrypts the stored record `key` and keeps it.
    pub(crate) fn open(&mut self, key: RecordKey, row: RecordRef<'_>) -> Result<(), RecordError> {
        let envelope = Envelope::parse(row.envelope).map_err(|_| DecryptionFailed)?;
        let version = envelope.key_version();
        let data_key = match &self.last_key {
            Some((v, data_key)) if *v == version => data_key,
            _ => {
                let data_key = self
                    .keyring
                    .opening_key(self.tx, self.scope, version)?
                    .ok_or(DecryptionFailed)?;
                &self.last_key.insert((version, data_key)).1
            }
        };
        let plaintext = open_under(data_key, self.scope, key, &envelope)?;
        let facts = Facts {
            kind: row.kind,
            sender: row.sender,
            sender_name: row.sender_name.map(str::to_owned),
            created_at: row.created_at,
            expires_at: row.expires_at,
        };
        self.opened.push((key, facts, plaintext));
        Ok(())
    }

    /// Everything opened, in order, with its public id, each made into what
    /// the caller returns (`C`: a `Vec` or `VecDeque`, filled in one pass).
    pub(crate) fn finish<R, C: FromIterator<R>>(self, mut make: impl FnMut(Opened) -> R) -> C {
        let ids = self
            .keyring
            .record_ids(self.scope, self.opened.iter().map(|(key, ..)| *key));
        self.opened
            .into_iter()
            .zip(ids)
            .map(|((key, facts, plaintext), id)| {
                make(Opened {
                    key,
                    meta: RecordMeta {
                        id,
                        sender: facts.sender,
                        sender_name: facts.sender_name,
                        created_at: facts.created_at,
                        expires_at: facts.expires_at,
                        kind: facts.kind,
                    },
                    plaintext,
                })
            })
            .collect()
    }
}

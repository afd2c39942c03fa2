//! Files ([`Files`]): sealed as they stream in, 64 KiB segment by segment
//! (the format is in `docs/design-notes.md`: STREAM under per-file keys
//! derived from the owner's data key), stored in batches of
//! [`BATCH_SEGMENTS`] segments per transaction, read back a range at a
//! time opening only the segments the range touches.
//!
//! ```
//! # use strongroom_engine::{Engine, MasterKey, SecretString};
//! use strongroom_engine::files::FileLabel;
//! # let engine = Engine::builder(MasterKey::generate().0).open_in_memory()?;
//! # let alice = engine.accounts().create("alice", &SecretString::from("correct horse battery"))?.id;
//! let files = engine.files();
//! let mut upload = files.begin(alice, alice, FileLabel::new("notes.txt", Some("text/plain")), None)?;
//! upload.write(b"first part, ")?;
//! upload.write(b"second part")?;
//! let info = upload.finish()?;
//! assert_eq!(info.size, 23);
//!
//! let reader = files.open(alice, info.id)?;
//! let mut tail = Vec::new();
//! reader.read(12, 23, &mut |bytes| tail.extend_from_slice(bytes))?;
//! assert_eq!(tail, b"second part");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::time::Duration;

use crate::clock::Timestamp;
use crate::crypto::secret_bytes::SecretBytes;
use crate::crypto::stream::{FileKeys, SEGMENT_LEN, SegmentSealer};
use crate::domain::credits;
use crate::domain::files::{self, Finish};
use crate::error::{DecryptionFailed, RecordError, StorageError};
use crate::handle::{Engine, handle};
use crate::ids::{FileId, UserId};
use crate::model::Notice;
use crate::model::credits::Chargeable;
pub use crate::model::files::{
    DEFAULT_MEDIA_TYPE, FILE_NAME_MAX, FileInfo, FileLabel, FileNotice, FilePage, MEDIA_TYPE_MAX,
    sanitize_name,
};
pub use crate::model::{DEFAULT_MAX_FILE_LEN, Limits};

/// Plaintext bytes per segment.
pub const SEGMENT_BYTES: usize = SEGMENT_LEN;
/// Segments stored per write transaction of an upload (4 MiB).
pub const BATCH_SEGMENTS: usize = 64;
/// How long an upload may go without a batch landing before the reaper
/// removes it.
pub const UPLOAD_LEASE: Duration = Duration::from_secs(600);
/// A segment's index and plaintext.
type OpenedSegment = (u64, SecretBytes);

/// Segments opened per read transaction when reading a range.
const READ_SEGMENTS: u32 = 16;

handle! {
    /// Encrypted files: [`Engine::files`](crate::Engine::files).
    Files
}

impl Files<'_> {
    /// Begins an upload from `sender` for `owner` (the same account, or a
    /// recipient), readable until `ttl` (default: the limits' default ttl)
    /// after it completes. Writes one transaction: call it where blocking
    /// is allowed.
    pub fn begin(
        &self,
        sender: UserId,
        owner: UserId,
        label: FileLabel,
        ttl: Option<Duration>,
    ) -> Result<Upload, RecordError> {
        let engine = self.0;
        let ttl = engine.inner.limits.check_record(0, ttl)?;
        let keyring = &engine.inner.keyring;
        let now = engine.now();
        let config = &engine.inner.credits;
        let begun = engine.store().write_with(|tx| {
            // Refused before any byte is stored when the sender cannot pay;
            // charged when the upload finishes.
            credits::affordable(tx, config, sender, Chargeable::FileUpload)??;
            files::begin(
                tx,
                keyring,
                now,
                sender,
                owner,
                ttl,
                UPLOAD_LEASE,
                engine.inner.default_quota,
            )
        })?;
        Ok(Upload {
            engine: engine.clone(),
            sender,
            owner,
            id: begun.id,
            label,
            sealer: SegmentSealer::new(begun.keys),
            batch: Vec::new(),
        })
    }

    /// Stores `content` as a file in one call (begin, write, finish).
    pub fn put(
        &self,
        sender: UserId,
        owner: UserId,
        label: FileLabel,
        content: &[u8],
        ttl: Option<Duration>,
    ) -> Result<FileInfo, RecordError> {
        let mut upload = self.begin(sender, owner, label, ttl)?;
        match upload.write(content) {
            Ok(()) => upload.finish(),
            Err(e) => {
                upload.abort()?;
                Err(e)
            }
        }
    }

    /// The complete, unexpired file `id` of `owner`, opened for reading;
    /// `NotFound` if absent, uploading, expired or someone else's.
    pub fn open(&self, owner: UserId, id: FileId) -> Result<FileReader, RecordError> {
        let engine = self.0;
        let now = engine.now();
        let opened = engine
            .store()
            .read_with(|tx| files::open(tx, &engine.inner.keyring, owner, id, now))?;
        Ok(FileReader {
            engine: engine.clone(),
            info: opened.info,
            keys: opened.keys,
            segments: opened.segments,
        })
    }

    /// [`Files::open`] for a download by its owner: when downloads cost
    /// credits, the charge commits (in a transaction that finds the file
    /// live) before the reader is returned, and a balance that cannot pay
    /// refuses with nothing read. Blocks when it charges.
    pub fn download(&self, owner: UserId, id: FileId) -> Result<FileReader, RecordError> {
        let engine = self.0;
        if engine.inner.credits.price(Chargeable::FileDownload) > 0 {
            let now = engine.now();
            engine.write_paying(|tx, till| {
                files::open(tx, &engine.inner.keyring, owner, id, now)?;
                till.charge(tx, owner, Chargeable::FileDownload)?;
                Ok::<_, RecordError>(())
            })?;
        }
        self.open(owner, id)
    }

    /// Up to `limit` (1 to the limits' page size) of `owner`'s files,
    /// newest first, after `cursor`.
    pub fn list(
        &self,
        owner: UserId,
        cursor: Option<FileId>,
        limit: usize,
    ) -> Result<FilePage, RecordError> {
        let engine = self.0;
        let max = engine.inner.limits.max_page;
        if !(1..=max).contains(&limit) {
            return Err(RecordError::InvalidLimit { max });
        }
        let now = engine.now();
        engine
            .store()
            .read_with(|tx| files::list(tx, &engine.inner.keyring, owner, cursor, limit, now))
    }

    /// Deletes file `id` of `owner`; `NotFound` as for [`Files::open`].
    pub fn delete(&self, owner: UserId, id: FileId) -> Result<(), RecordError> {
        let engine = self.0;
        let now = engine.now();
        let live = engine.store().freeing_with(|tx| {
            files::delete(tx, &engine.inner.keyring, now, owner, id, engine.origin)
        })?;
        if live {
            Ok(())
        } else {
            Err(RecordError::NotFound)
        }
    }

    /// Removes up to `limit` files that expired, and uploads whose lease
    /// passed, at or before `now`; returns how many went.
    pub fn purge_expired(&self, now: Timestamp, limit: usize) -> Result<usize, StorageError> {
        self.0
            .store()
            .freeing_with(|tx| files::purge_expired(tx, now, limit))
    }
}

/// An upload under way. Write its content with [`Upload::write`] (or, to
/// keep commits off an async executor, [`Upload::push`] and
/// [`Upload::take_batch`]), then [`Upload::finish`] it — or
/// [`Upload::abort`] it. One dropped without either stays invisible and
/// is removed by [`Files::purge_expired`] once its lease
/// ([`UPLOAD_LEASE`] after its last batch) passes.
pub struct Upload {
    engine: Engine,
    sender: UserId,
    owner: UserId,
    id: FileId,
    label: FileLabel,
    sealer: SegmentSealer,
    batch: Vec<Vec<u8>>,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upload")
            .field("id", &self.id)
            .field("size", &self.sealer.size())
            .finish_non_exhaustive()
    }
}

/// Sealed segments of an upload, ready to be stored in one transaction.
pub struct Batch {
    engine: Engine,
    owner: UserId,
    id: FileId,
    segments: Vec<Vec<u8>>,
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("segments", &self.segments.len())
            .finish_non_exhaustive()
    }
}

impl Batch {
    /// Stores the segments durably (blocks on the commit). On
    /// `QuotaExceeded` nothing of the batch is kept; abort the upload.
    pub fn commit(self) -> Result<(), RecordError> {
        let engine = &self.engine;
        let now = engine.now();
        engine.store().write_with(|tx| {
            files::append(
                tx,
                now,
                self.owner,
                self.id,
                &self.segments,
                UPLOAD_LEASE,
                engine.inner.default_quota,
            )
        })
    }

    /// Sealed bytes in the batch.
    pub fn len(&self) -> usize {
        self.segments.iter().map(Vec::len).sum()
    }

    /// Whether the batch holds no segment.
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }
}

impl Upload {
    /// The file's id (valid once finished).
    pub fn id(&self) -> FileId {
        self.id
    }

    /// Plaintext bytes taken so far.
    pub fn size(&self) -> u64 {
        self.sealer.size()
    }

    /// Seals `chunk` without storing anything; returns whether a batch is
    /// full and should be taken and committed. `TooLarge` once the file
    /// would pass the limits' largest file.
    pub fn push(&mut self, chunk: &[u8]) -> Result<bool, RecordError> {
        let max = self.engine.inner.limits.max_file_len;
        if self.sealer.size().saturating_add(chunk.len() as u64) > max {
            return Err(RecordError::TooLarge {
                max: usize::try_from(max).unwrap_or(usize::MAX),
            });
        }
        let batch = &mut self.batch;
        self.sealer
            .push(chunk, &mut |_, sealed| batch.push(sealed))
            .map_err(|_| RecordError::TooLarge {
                max: usize::try_from(max).unwrap_or(usize::MAX),
            })?;
        Ok(self.batch.len() >= BATCH_SEGMENTS)
    }

    /// The segments sealed since the last batch, if any.
    pub fn take_batch(&mut self) -> Option<Batch> {
        (!self.batch.is_empty()).then(|| Batch {
            engine: self.engine.clone(),
            owner: self.owner,
            id: self.id,
            segments: std::mem::take(&mut self.batch),
        })
    }

    /// Seals `chunk`, storing a batch whenever one fills (blocks then).
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), RecordError> {
        if self.push(chunk)?
            && let Some(batch) = self.take_batch()
        {
            batch.commit()?;
        }
        Ok(())
    }

    /// Seals the last segment and stores it with the sealed metadata in
    /// one transaction with the file's audit entry: the file exists from
    /// here on. Blocks on the commit.
    pub fn finish(mut self) -> Result<FileInfo, RecordError> {
        let size = self.sealer.size();
        let mut segments = std::mem::take(&mut self.batch);
        let (_, last, keys) = self.sealer.finish();
        segments.push(last);
        let plain = files::encode_metadata(&self.label, size);
        let metadata = keys.seal_metadata(&plain);
        let engine = &self.engine;
        let now = engine.now();
        let finished = engine.write_paying(|tx, till| {
            till.charge(tx, self.sender, Chargeable::FileUpload)?;
            files::finish(
                tx,
                &engine.inner.keyring,
                now,
                Finish {
                    owner: self.owner,
                    id: self.id,
                    segments: &segments,
                    metadata: metadata.clone(),
                    label: self.label.clone(),
                    size,
                    origin: engine.origin,
                },
                engine.inner.default_quota,
            )
        });
        let (info, announced) = match finished {
            Ok(done) => done,
            Err(e) => {
                // A notice may have taken a log position in memory.
                engine.inner.keyring.forget_counters();
                return Err(e);
            }
        };
        if let Some(announced) = announced {
            let event = crate::domain::records::event(announced);
            engine
                .inner
                .listeners
                .notify(&Notice::Events(std::slice::from_ref(&event)));
        }
        Ok(info)
    }

    /// Removes what the upload stored and refunds it. Blocks on the commit.
    pub fn abort(self) -> Result<(), StorageError> {
        Aborter {
            engine: self.engine,
            owner: self.owner,
            id: self.id,
        }
        .abort()
    }

    /// What removes this upload, apart from it (for a caller that must
    /// abort on another thread than the one holding the upload).
    pub fn aborter(&self) -> Aborter {
        Aborter {
            engine: self.engine.clone(),
            owner: self.owner,
            id: self.id,
        }
    }
}

/// Removes one upload: see [`Upload::aborter`].
#[derive(Clone)]
pub struct Aborter {
    engine: Engine,
    owner: UserId,
    id: FileId,
}

impl std::fmt::Debug for Aborter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aborter").field("id", &self.id).finish()
    }
}

impl Aborter {
    /// Removes what the upload stored (nothing if it completed since: a
    /// complete file is left alone) and refunds it. Blocks on the commit.
    pub fn abort(&self) -> Result<(), StorageError> {
        let (owner, id) = (self.owner, self.id);
        self.engine.store().freeing_with(|tx| {
            if files::is_uploading(tx, owner, id)? {
                files::abort(tx, owner, id)?;
            }
            Ok(())
        })
    }
}

/// A file opened for reading: its facts, and reads of any byte range.
pub struct FileReader {
    engine: Engine,
    info: FileInfo,
    keys: FileKeys,
    segments: u64,
}

impl std::fmt::Debug for FileReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileReader")
            .field("id", &self.info.id)
            .finish_non_exhaustive()
    }
}

impl FileReader {
    /// A reader of what `opened` found.
    pub(crate) fn new(engine: &Engine, opened: files::Opened) -> Self {
        Self {
            engine: engine.clone(),
            info: opened.info,
            keys: opened.keys,
            segments: opened.segments,
        }
    }

    /// The file's facts.
    pub fn info(&self) -> &FileInfo {
        &self.info
    }

    /// What a notice of this file says (its id, label and size).
    pub(crate) fn notice(&self) -> FileNotice {
        FileNotice {
            id: self.info.id,
            label: self.info.label.clone(),
            size: self.info.size,
        }
    }

    /// Copies the file under `keys` (another file's): every segment is
    /// opened and sealed again at its index, and `commit` is called with
    /// each full batch of [`BATCH_SEGMENTS`]; returns the last batch (the
    /// last segment in it), for the caller to store as it completes the
    /// copy.
    pub(crate) fn copy_into(
        &self,
        keys: &FileKeys,
        mut commit: impl FnMut(&[Vec<u8>]) -> Result<(), RecordError>,
    ) -> Result<Vec<Vec<u8>>, RecordError> {
        let mut batch = Vec::with_capacity(BATCH_SEGMENTS);
        let mut from = 0;
        while from < self.segments {
            let to = (from + u64::from(READ_SEGMENTS)).min(self.segments);
            for (index, plain) in self.open_segments(from, to)? {
                let index32 = u32::try_from(index).map_err(|_| DecryptionFailed)?;
                let last = index + 1 == self.segments;
                let mut sealed = Vec::with_capacity(plain.len() + 16);
                keys.seal_segment(index32, last, &plain, &mut sealed);
                batch.push(sealed);
                if batch.len() == BATCH_SEGMENTS && !last {
                    commit(&batch)?;
                    batch.clear();
                }
            }
            from = to;
        }
        Ok(batch)
    }

    /// Calls `out` with the plaintext of bytes `start..end` (clamped to
    /// the file), in order, opening only the segments the range touches,
    /// 16 segments per read transaction. A file deleted or expired
    /// between two of them ends the read with `NotFound`.
    pub fn read(
        &self,
        start: u64,
        end: u64,
        out: &mut dyn FnMut(&[u8]),
    ) -> Result<(), RecordError> {
        let end = end.min(self.info.size);
        let mut at = start;
        while at < end {
            let first = at / SEGMENT_LEN as u64;
            let last = (end - 1) / SEGMENT_LEN as u64;
            let to = last.min(first + u64::from(READ_SEGMENTS) - 1);
            for (index, plain) in self.open_segments(first, to + 1)? {
                let base = index * SEGMENT_LEN as u64;
                let from = at.saturating_sub(base) as usize;
                let until = (end - base).min(plain.len() as u64) as usize;
                if from < until {
                    out(&plain[from..until]);
                }
            }
            at = (to + 1) * SEGMENT_LEN as u64;
        }
        Ok(())
    }

    /// Opens segments `from..to` in one read transaction.
    fn open_segments(&self, from: u64, to: u64) -> Result<Vec<OpenedSegment>, RecordError> {
        let (owner, id) = (self.info.owner, self.info.id);
        let (from32, to32) = (
            u32::try_from(from).map_err(|_| DecryptionFailed)?,
            u32::try_from(to).map_err(|_| DecryptionFailed)?,
        );
        let now = self.engine.now();
        let last_len = self.info.size - (self.segments - 1) * SEGMENT_LEN as u64;
        self.engine.store().read_with(|tx| {
            if !files::is_live(tx, owner, id, now)? {
                return Err(RecordError::NotFound);
            }
            let mut opened = Vec::with_capacity((to - from) as usize);
            files::read_segments(tx, owner, id, from32, to32, &mut |index, sealed| {
                let is_last = u64::from(index) + 1 == self.segments;
                let plain = self
                    .keys
                    .open_segment(index, is_last, sealed)
                    .map_err(|_| DecryptionFailed)?;
                if is_last && plain.len() as u64 != last_len {
                    return Err(DecryptionFailed.into());
                }
                opened.push((u64::from(index), plain));
                Ok(())
            })?;
            Ok(opened)
        })
    }
}

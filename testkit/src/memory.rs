//! An in-memory storage backend that models a disk: writes land in a
//! volatile image, `sync_data` makes them durable, and a crash keeps only
//! what was synced. It can inject I/O failures after a number of writes and
//! syncs, like redb's own fuzzing backend, and fill up like a small disk. For crash tests and fuzzing,
//! through `EngineBuilder::open_with_backend`; `open_in_memory` is the plain
//! throwaway store.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard};

use redb::StorageBackend;

#[derive(Debug, Default)]
struct Disk {
    volatile: Vec<u8>,
    durable: Vec<u8>,
    /// Writes and syncs left before every further one fails.
    ops_left: Option<u64>,
    failed: bool,
    /// The most bytes the image may grow to; past it, "no space left".
    capacity: Option<u64>,
    /// Whether every read fails (a disk that cannot be read for a while).
    unreadable: bool,
    /// Whether the image grows freely and only writing past `capacity`
    /// fails (a sparse file), rather than growing past it.
    sparse: bool,
}

/// Shared in-memory storage; clones see the same bytes.
#[derive(Debug, Clone, Default)]
pub struct MemoryBackend(Arc<Mutex<Disk>>);

impl MemoryBackend {
    /// Empty storage.
    pub fn new() -> Self {
        Self::default()
    }

    /// Storage holding `image`, all of it durable.
    pub fn from_image(image: Vec<u8>) -> Self {
        let disk = Disk {
            volatile: image.clone(),
            durable: image,
            ..Disk::default()
        };
        Self(Arc::new(Mutex::new(disk)))
    }

    fn disk(&self) -> MutexGuard<'_, Disk> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// After `ops` more writes and syncs, every write and sync fails
    /// (`None`: never).
    pub fn fail_after(&self, ops: Option<u64>) {
        self.disk().ops_left = ops;
    }

    /// The disk holds at most `bytes`: growing the image past them fails
    /// as a full disk does (`None`: no limit). Space freed, the same
    /// storage takes writes again.
    pub fn set_capacity(&self, bytes: Option<u64>) {
        let mut disk = self.disk();
        disk.capacity = bytes;
        disk.sparse = false;
    }

    /// The disk holds at most `bytes`, as a file system that extends a file
    /// without allocating it does (ext4, XFS, tmpfs: a sparse file): the
    /// image grows past them, and writing there fails as a full disk does
    /// (`None`: no limit). Where a disk fills in practice: in the middle
    /// of a commit, not when the file grows.
    pub fn set_sparse_capacity(&self, bytes: Option<u64>) {
        let mut disk = self.disk();
        disk.capacity = bytes;
        disk.sparse = true;
    }

    /// Every read fails with an I/O error while `fail` holds (writes and
    /// syncs go on): a disk that cannot be read for a while.
    pub fn fail_reads(&self, fail: bool) {
        self.disk().unreadable = fail;
    }

    /// Whether an injected failure has happened.
    pub fn has_failed(&self) -> bool {
        self.disk().failed
    }

    /// The bytes that were synced: what a crash now would leave.
    pub fn durable_image(&self) -> Vec<u8> {
        self.disk().durable.clone()
    }

    /// New storage holding what survives a crash now (the synced bytes).
    pub fn crash(&self) -> Self {
        Self::from_image(self.durable_image())
    }

    fn spend(&self, disk: &mut Disk) -> io::Result<()> {
        match disk.ops_left {
            Some(0) => {
                disk.failed = true;
                Err(io::Error::other("injected I/O failure"))
            }
            Some(ref mut n) => {
                *n -= 1;
                Ok(())
            }
            None => Ok(()),
        }
    }
}

/// Whether the disk has room for an image `len` bytes long.
fn room(disk: &Disk, len: u64) -> io::Result<()> {
    match disk.capacity {
        Some(capacity) if len > capacity => Err(io::Error::new(
            io::ErrorKind::StorageFull,
            "no space left on device",
        )),
        _ => Ok(()),
    }
}

fn out_of_range() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "out of range")
}

impl StorageBackend for MemoryBackend {
    fn len(&self) -> io::Result<u64> {
        Ok(self.disk().volatile.len() as u64)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        let disk = self.disk();
        if disk.unreadable {
            return Err(io::Error::other("injected read failure"));
        }
        let start = usize::try_from(offset).map_err(|_| out_of_range())?;
        let source = disk
            .volatile
            .get(start..start + out.len())
            .ok_or_else(out_of_range)?;
        out.copy_from_slice(source);
        Ok(())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let mut disk = self.disk();
        self.spend(&mut disk)?;
        if !disk.sparse {
            room(&disk, len)?;
        }
        let len = usize::try_from(len).map_err(|_| out_of_range())?;
        disk.volatile.resize(len, 0);
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        let mut disk = self.disk();
        self.spend(&mut disk)?;
        let Disk {
            volatile, durable, ..
        } = &mut *disk;
        durable.clone_from(volatile);
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut disk = self.disk();
        self.spend(&mut disk)?;
        if disk.sparse {
            room(&disk, offset.saturating_add(data.len() as u64))?;
        }
        let start = usize::try_from(offset).map_err(|_| out_of_range())?;
        let target = disk
            .volatile
            .get_mut(start..start + data.len())
            .ok_or_else(out_of_range)?;
        target.copy_from_slice(data);
        Ok(())
    }
}

//! The file stream format, version 1: a file sealed as a sequence of
//! segments, each opened on its own, so files of any size stream through
//! bounded memory and a range read opens only the segments it needs.
//!
//! This is the STREAM construction (Hoang, Reyhanitabar, Rogaway and
//! Vizár, 2015) as age and Tink's streaming AEAD use it:
//!
//! ```text
//! header    = version (1) = 1 || key version (4, BE) || salt (32) || nonce prefix (7)
//! K_seg     = HKDF-SHA256(ikm = data key, salt, "strongroom/file-segments/v1" || owner (16) || file (16))
//! K_meta    = HKDF-SHA256(ikm = data key, salt, "strongroom/file-metadata/v1" || owner (16) || file (16))
//! segment i = AES-256-GCM(K_seg, nonce = prefix || i (4, BE) || last (1: 0 or 1), aad = header,
//!                         64 KiB of plaintext; the last segment 0 to 64 KiB, empty only alone)
//! metadata  = nonce (12, random) || AES-256-GCM(K_meta, nonce, aad = header, metadata)
//! ```
//!
//! Every segment's nonce carries its index and whether it is the last, and
//! its key is the file's own (the salt is random per file, the owner and
//! file ids are in the derivation), so reordering, dropping, duplicating
//! or truncating segments, ending a file early, extending it, or moving a
//! segment to another file all fail authentication. The header is every
//! segment's associated data. Per-file keys also keep files out of the
//! data key's own nonce budget: a file seals under a key nothing else uses.

use secrecy::SecretBox;

use crate::crypto::keys::{DataKey, NONCE_LEN, Nonce, TAG_LEN};
use crate::crypto::secret_bytes::SecretBytes;

/// The format's version byte.
pub const STREAM_VERSION: u8 = 1;
/// Plaintext bytes per segment (the last may hold fewer).
pub const SEGMENT_LEN: usize = 64 * 1024;
/// Bytes of a sealed full segment.
pub const SEALED_SEGMENT_LEN: usize = SEGMENT_LEN + TAG_LEN;
/// Length of the random salt.
pub const SALT_LEN: usize = 32;
/// Length of the random nonce prefix.
pub const PREFIX_LEN: usize = 7;
/// Length of the header.
pub const HEADER_LEN: usize = 1 + 4 + SALT_LEN + PREFIX_LEN;

const SEGMENTS_INFO: &[u8] = b"strongroom/file-segments/v1";
const METADATA_INFO: &[u8] = b"strongroom/file-metadata/v1";

/// Why a file's bytes did not open. Over HTTP these all look alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// The header is not a version 1 header.
    #[error("malformed file header")]
    MalformedHeader,
    /// A segment's length is impossible for its place in the file.
    #[error("malformed segment")]
    MalformedSegment,
    /// Wrong key, wrong place, wrong file, or altered bytes.
    #[error("authentication failed")]
    AuthenticationFailed,
}

/// A file's header: which data key version its keys come from, the salt
/// and the nonce prefix.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct StreamHeader {
    /// The version of the owner's data key the file's keys derive from.
    pub key_version: u32,
    /// Random, per file.
    pub salt: [u8; SALT_LEN],
    /// Random, per file.
    pub prefix: [u8; PREFIX_LEN],
}

impl std::fmt::Debug for StreamHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamHeader")
            .field("key_version", &self.key_version)
            .finish_non_exhaustive()
    }
}

impl StreamHeader {
    /// A fresh header (salt and prefix from the CSPRNG).
    pub fn random(key_version: u32) -> Self {
        Self {
            key_version,
            salt: rand::random(),
            prefix: rand::random(),
        }
    }

    /// The header's bytes.
    pub fn to_bytes(self) -> [u8; HEADER_LEN] {
        let mut out = [0; HEADER_LEN];
        out[0] = STREAM_VERSION;
        out[1..5].copy_from_slice(&self.key_version.to_be_bytes());
        out[5..5 + SALT_LEN].copy_from_slice(&self.salt);
        out[5 + SALT_LEN..].copy_from_slice(&self.prefix);
        out
    }

    /// Parses a header; refuses any other length or version.
    pub fn parse(bytes: &[u8]) -> Result<Self, StreamError> {
        let bytes: &[u8; HEADER_LEN] =
            bytes.try_into().map_err(|_| StreamError::MalformedHeader)?;
        if bytes[0] != STREAM_VERSION {
            return Err(StreamError::MalformedHeader);
        }
        let mut key_version = [0; 4];
        key_version.copy_from_slice(&bytes[1..5]);
        let mut salt = [0; SALT_LEN];
        salt.copy_from_slice(&bytes[5..5 + SALT_LEN]);
        let mut prefix = [0; PREFIX_LEN];
        prefix.copy_from_slice(&bytes[5 + SALT_LEN..]);
        Ok(Self {
            key_version: u32::from_be_bytes(key_version),
            salt,
            prefix,
        })
    }
}

/// The keys of one file.
pub struct FileKeys {
    segments: DataKey,
    metadata: DataKey,
    header: [u8; HEADER_LEN],
    prefix: [u8; PREFIX_LEN],
}

impl std::fmt::Debug for FileKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FileKeys([REDACTED])")
    }
}

impl FileKeys {
    /// The keys of file `file` of `owner` under `header`, derived from the
    /// data key `dek` (the version the header names).
    pub fn derive(dek: &DataKey, header: &StreamHeader, owner: u128, file: u128) -> Self {
        let (owner, file) = (owner.to_be_bytes(), file.to_be_bytes());
        Self {
            segments: dek.derive(&header.salt, &[SEGMENTS_INFO, &owner, &file]),
            metadata: dek.derive(&header.salt, &[METADATA_INFO, &owner, &file]),
            header: header.to_bytes(),
            prefix: header.prefix,
        }
    }

    /// Keys from raw 32-byte secrets, for known-answer tests.
    pub fn from_raw(
        segments: &SecretBox<[u8; 32]>,
        metadata: &SecretBox<[u8; 32]>,
        header: &StreamHeader,
    ) -> Self {
        Self {
            segments: DataKey::from_secret(segments),
            metadata: DataKey::from_secret(metadata),
            header: header.to_bytes(),
            prefix: header.prefix,
        }
    }

    /// The header these keys belong to.
    pub fn header(&self) -> &[u8; HEADER_LEN] {
        &self.header
    }

    fn nonce(&self, index: u32, last: bool) -> Nonce {
        let mut nonce = [0; NONCE_LEN];
        nonce[..PREFIX_LEN].copy_from_slice(&self.prefix);
        nonce[PREFIX_LEN..PREFIX_LEN + 4].copy_from_slice(&index.to_be_bytes());
        nonce[NONCE_LEN - 1] = u8::from(last);
        Nonce::from_bytes(nonce)
    }

    /// Appends segment `index` (`last` or not) of `plaintext` to `out`.
    /// The caller keeps the format's lengths: a full segment unless last.
    pub fn seal_segment(&self, index: u32, last: bool, plaintext: &[u8], out: &mut Vec<u8>) {
        debug_assert!(plaintext.len() == SEGMENT_LEN || (last && plaintext.len() <= SEGMENT_LEN));
        self.segments
            .seal_into(&self.nonce(index, last), &self.header, plaintext, out);
    }

    /// Opens segment `index`, which is the file's last or not.
    pub fn open_segment(
        &self,
        index: u32,
        last: bool,
        sealed: &[u8],
    ) -> Result<SecretBytes, StreamError> {
        let fits = if last {
            (TAG_LEN..=SEALED_SEGMENT_LEN).contains(&sealed.len())
                && (index == 0 || sealed.len() > TAG_LEN)
        } else {
            sealed.len() == SEALED_SEGMENT_LEN
        };
        if !fits {
            return Err(StreamError::MalformedSegment);
        }
        self.segments
            .open(&self.nonce(index, last), &self.header, sealed)
            .map_err(|_| StreamError::AuthenticationFailed)
    }

    /// Seals the file's metadata: `nonce || ciphertext || tag`.
    pub fn seal_metadata(&self, metadata: &[u8]) -> Vec<u8> {
        self.seal_metadata_with_nonce(Nonce::random(), metadata)
    }

    /// [`FileKeys::seal_metadata`] with a chosen nonce: known-answer tests
    /// only.
    pub fn seal_metadata_with_nonce(&self, nonce: Nonce, metadata: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(NONCE_LEN + metadata.len() + TAG_LEN);
        out.extend_from_slice(nonce.as_bytes());
        self.metadata
            .seal_into(&nonce, &self.header, metadata, &mut out);
        out
    }

    /// Opens what [`FileKeys::seal_metadata`] sealed.
    pub fn open_metadata(&self, sealed: &[u8]) -> Result<SecretBytes, StreamError> {
        let (nonce, rest) = sealed
            .split_first_chunk::<NONCE_LEN>()
            .ok_or(StreamError::MalformedSegment)?;
        self.metadata
            .open(&Nonce::from_bytes(*nonce), &self.header, rest)
            .map_err(|_| StreamError::AuthenticationFailed)
    }
}

/// The metadata's plaintext: `size (8, BE) || name length (4, BE) || name
/// || media type length (4, BE) || media type`, UTF-8.
pub fn encode_metadata(name: &str, media_type: &str, size: u64) -> SecretBytes {
    let mut out = SecretBytes::with_capacity(16 + name.len() + media_type.len());
    out.extend_from_slice(&size.to_be_bytes());
    for text in [name, media_type] {
        let len = u32::try_from(text.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&text.as_bytes()[..len as usize]);
    }
    out
}

/// The name, media type and size in a metadata plaintext, if it is one.
pub fn decode_metadata(bytes: &[u8]) -> Option<(String, String, u64)> {
    let (size, mut rest) = bytes.split_first_chunk::<8>()?;
    let mut text = || {
        let (len, tail) = rest.split_first_chunk::<4>()?;
        let (value, tail) = tail.split_at_checked(u32::from_be_bytes(*len) as usize)?;
        rest = tail;
        String::from_utf8(value.to_vec()).ok()
    };
    let (name, media_type) = (text()?, text()?);
    rest.is_empty()
        .then_some((name, media_type, u64::from_be_bytes(*size)))
}

/// Segments of a file of `size` bytes (an empty file has one, empty).
pub fn segment_count(size: u64) -> u64 {
    size.div_ceil(SEGMENT_LEN as u64).max(1)
}

/// Sealed bytes of the segments of a file of `size` bytes.
pub fn sealed_len(size: u64) -> u64 {
    size + segment_count(size) * TAG_LEN as u64
}

/// Cuts a stream of chunks of any size into sealed segments: a full
/// segment is sealed only once a byte after it arrives (until then it may
/// be the last).
pub struct SegmentSealer {
    keys: FileKeys,
    /// The segment being filled: erased in bulk when dropped.
    pending: SecretBytes,
    next: u32,
    size: u64,
}

/// The file has more segments than the format counts (2^32: 256 TiB).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a file stream holds at most 2^32 segments")]
pub struct TooManySegments;

impl SegmentSealer {
    /// A sealer under `keys`.
    pub fn new(keys: FileKeys) -> Self {
        Self {
            keys,
            pending: SecretBytes::with_capacity(SEGMENT_LEN),
            next: 0,
            size: 0,
        }
    }

    /// Plaintext bytes taken so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The keys sealed under.
    pub fn keys(&self) -> &FileKeys {
        &self.keys
    }

    /// Takes `chunk`; calls `sealed(index, bytes)` for every segment it
    /// completes.
    pub fn push(
        &mut self,
        mut chunk: &[u8],
        sealed: &mut dyn FnMut(u32, Vec<u8>),
    ) -> Result<(), TooManySegments> {
        self.size += chunk.len() as u64;
        while !chunk.is_empty() {
            if self.pending.len() == SEGMENT_LEN {
                // A byte follows: the full segment is not the last.
                let index = self.next;
                self.next = index.checked_add(1).ok_or(TooManySegments)?;
                let mut out = Vec::with_capacity(SEALED_SEGMENT_LEN);
                self.keys
                    .seal_segment(index, false, &self.pending, &mut out);
                self.pending.truncate(0);
                sealed(index, out);
            }
            let take = (SEGMENT_LEN - self.pending.len()).min(chunk.len());
            self.pending.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
        }
        Ok(())
    }

    /// Seals the last segment; returns its index and bytes, and the keys.
    pub fn finish(self) -> (u32, Vec<u8>, FileKeys) {
        let mut out = Vec::with_capacity(self.pending.len() + TAG_LEN);
        self.keys
            .seal_segment(self.next, true, &self.pending, &mut out);
        (self.next, out, self.keys)
    }
}

#[cfg(test)]
mod tests;

//! A stored file's row: facts in the clear (state, times, how many
//! segments and sealed bytes it holds, its stream header), its name, type
//! and size sealed under the file's metadata key.

use super::codec::{Reader, Row, Writer};
use crate::clock::Timestamp;
use crate::crypto::stream::HEADER_LEN;
use crate::ids::UserId;

/// Where an upload stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FileState {
    /// Segments are still arriving; `expires_at` is the upload's lease: if
    /// it passes, the reaper removes what arrived.
    Uploading,
    /// Every segment and the metadata are stored; `expires_at` is the
    /// file's own expiry.
    Complete,
    /// A share link's copy of a file: complete, sealed under keys derived
    /// from the share's content key (not the owner's data key), never
    /// listed or read as the owner's file; `expires_at` is the share's
    /// (or, once its last view is taken, the end of that download's grace).
    Shared,
}

/// A file (complete, or an upload under way).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FileRow {
    pub(crate) state: FileState,
    pub(crate) sender: UserId,
    pub(crate) sender_name: Option<String>,
    /// When the upload began (Uploading) or completed (Complete).
    pub(crate) created_at: Timestamp,
    pub(crate) expires_at: Timestamp,
    /// The ttl the file gets when it completes, in milliseconds.
    pub(crate) ttl_millis: u64,
    /// Segments stored.
    pub(crate) segments: u64,
    /// Bytes charged to the sender: sealed segments (and, once complete,
    /// the sealed metadata).
    pub(crate) sealed_bytes: u64,
    pub(crate) header: [u8; HEADER_LEN],
    /// Sealed metadata; empty while uploading.
    pub(crate) metadata: Vec<u8>,
}

impl FileState {
    fn code(self) -> u8 {
        match self {
            Self::Uploading => 1,
            Self::Complete => 2,
            Self::Shared => 3,
        }
    }
    fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Uploading),
            2 => Some(Self::Complete),
            3 => Some(Self::Shared),
            _ => None,
        }
    }
}

impl Row for FileRow {
    fn encode(&self, out: &mut Vec<u8>) {
        let mut w = Writer(out);
        w.u8(self.state.code())
            .u128(self.sender.as_u128())
            .u64(self.created_at.as_unix_millis())
            .u64(self.expires_at.as_unix_millis())
            .u64(self.ttl_millis)
            .u64(self.segments)
            .u64(self.sealed_bytes);
        match &self.sender_name {
            Some(name) => w.u8(1).bytes(name.as_bytes()),
            None => w.u8(0),
        };
        w.tail(&self.header);
        w.tail(&self.metadata);
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        let state = FileState::from_code(r.u8()?)?;
        let sender = UserId::from_u128(r.u128()?);
        let created_at = Timestamp::from_unix_millis(r.u64()?);
        let expires_at = Timestamp::from_unix_millis(r.u64()?);
        let ttl_millis = r.u64()?;
        let segments = r.u64()?;
        let sealed_bytes = r.u64()?;
        let sender_name = match r.u8()? {
            0 => None,
            1 => Some(r.string()?),
            _ => return None,
        };
        let rest = r.tail();
        let (header, metadata) = rest.split_at_checked(HEADER_LEN)?;
        Some(Self {
            state,
            sender,
            sender_name,
            created_at,
            expires_at,
            ttl_millis,
            segments,
            sealed_bytes,
            header: header.try_into().ok()?,
            metadata: metadata.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn file_rows_round_trip(state in 1u8..4, sender: u128, name: Option<String>, times: [u64; 3],
                                counts: [u64; 2], header: [u8; HEADER_LEN], metadata: Vec<u8>) {
            let row = FileRow {
                state: FileState::from_code(state).expect("state"),
                sender: UserId::from_u128(sender),
                sender_name: name,
                created_at: Timestamp::from_unix_millis(times[0]),
                expires_at: Timestamp::from_unix_millis(times[1]),
                ttl_millis: times[2],
                segments: counts[0],
                sealed_bytes: counts[1],
                header,
                metadata,
            };
            prop_assert_eq!(FileRow::decode(&row.to_bytes()), Some(row));
        }

        #[test]
        fn file_rows_never_panic_on_any_bytes(bytes: Vec<u8>) {
            let _ = FileRow::decode(&bytes);
        }
    }
}

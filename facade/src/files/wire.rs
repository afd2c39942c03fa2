//! The wire types of files.

use poem_openapi::Object;
use strongroom_engine::files::{FileInfo, FilePage};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::wire::datetime;

/// A stored file's facts.
#[derive(Object)]
pub(crate) struct StoredFile {
    /// The file's id.
    id: Uuid,
    /// Its name (sanitised: no control characters, path separators or
    /// quotes).
    name: String,
    /// Its size in bytes.
    size: u64,
    /// Its media type, as uploaded (`application/octet-stream` when none
    /// was usable).
    media_type: String,
    /// Who sent it (their username when they sent it); your own name for
    /// your uploads.
    sender: Option<String>,
    /// When the upload completed (RFC 3339, UTC).
    created_at: OffsetDateTime,
    /// When it disappears (RFC 3339, UTC).
    expires_at: OffsetDateTime,
}

impl From<FileInfo> for StoredFile {
    fn from(f: FileInfo) -> Self {
        Self {
            id: Uuid::from_u128(f.id.as_u128()),
            name: f.label.name,
            size: f.size,
            media_type: f.label.media_type,
            sender: f.sender_name,
            created_at: datetime(f.created_at),
            expires_at: datetime(f.expires_at),
        }
    }
}

/// A page of files, newest first.
#[derive(Object)]
pub(crate) struct StoredFilePage {
    /// The files.
    files: Vec<StoredFile>,
    /// Pass as `cursor` for the next page; null on the last page.
    next_cursor: Option<String>,
}

impl From<FilePage> for StoredFilePage {
    fn from(page: FilePage) -> Self {
        Self {
            files: page.files.into_iter().map(StoredFile::from).collect(),
            next_cursor: page.next_cursor.map(|c| c.to_string()),
        }
    }
}

//! The public values of share links: what creating, inspecting, listing
//! and opening a share give back, and the bounds a share must keep.

use std::fmt;
use std::time::Duration;

use secrecy::SecretString;

use crate::clock::Timestamp;
use crate::crypto::secret_bytes::SecretBytes;
use crate::ids::{FileId, ShareId};
use crate::model::files::FileLabel;

/// Shortest share lifetime.
pub const SHARE_MIN_TTL: Duration = Duration::from_secs(60);
/// Longest share lifetime.
pub const SHARE_MAX_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// Lifetime when none is given.
pub const SHARE_DEFAULT_TTL: Duration = Duration::from_secs(24 * 3600);
/// Most views a share may allow (default 1).
pub const SHARE_MAX_VIEWS: u32 = 100;
/// Wrong passphrases a share survives; the next destroys it.
pub const SHARE_MAX_ATTEMPTS: u32 = 5;
/// Longest passphrase, in characters.
pub const SHARE_PASSPHRASE_MAX: usize = 1024;

/// What to share.
pub struct NewShare<'a> {
    /// The content: text, or a client-side blob (see `share_client`).
    pub content: &'a [u8],
    /// Lifetime (default [`SHARE_DEFAULT_TTL`]).
    pub ttl: Option<Duration>,
    /// Views before it is gone (default 1).
    pub max_views: Option<u32>,
    /// A passphrase the opener must also give.
    pub passphrase: Option<&'a SecretString>,
    /// The content is a client-side blob: the server cannot read it even
    /// with the URL.
    pub client_encrypted: bool,
}

/// A share just created. The token (the URL's secret) exists only here.
pub struct CreatedShare {
    /// The share's id, for listing and revoking.
    pub id: ShareId,
    /// The URL secret: `…/s/<token>`. Shown once, stored nowhere.
    pub token: SecretString,
    /// When it disappears.
    pub expires_at: Timestamp,
    /// Views it allows.
    pub max_views: u32,
}

impl fmt::Debug for CreatedShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreatedShare")
            .field("id", &self.id)
            .field("expires_at", &self.expires_at)
            .field("max_views", &self.max_views)
            .finish_non_exhaustive()
    }
}

/// What anyone with the URL may learn without consuming a view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareStatus {
    /// When it disappears.
    pub expires_at: Timestamp,
    /// Opens left.
    pub views_left: u32,
    /// Opening needs a passphrase.
    pub passphrase_required: bool,
    /// The content is a client-side blob.
    pub client_encrypted: bool,
    /// The share holds a file (opened with `Shares::open_file`).
    pub file: bool,
    /// The file's name, media type and size, when the link alone opens
    /// the share (behind a passphrase they stay sealed until it is given).
    pub file_facts: Option<(FileLabel, u64)>,
    /// For a file encrypted in the sender's browser: its label as the
    /// sender sealed it (`client::open_label` opens it with the fragment
    /// key), when the link alone opens the share.
    pub file_label: Option<Vec<u8>>,
}

/// A share link for one of its creator's files.
#[derive(Clone, Copy, Debug)]
pub struct NewFileShare<'a> {
    /// The file (the creator's own): the share holds a copy of it.
    pub file: FileId,
    /// Lifetime (default [`SHARE_DEFAULT_TTL`]).
    pub ttl: Option<Duration>,
    /// Views before it is gone (default 1).
    pub max_views: Option<u32>,
    /// A passphrase the opener must also give.
    pub passphrase: Option<&'a SecretString>,
    /// The file was encrypted by the sender (a client-side stream, see
    /// `client::seal_file`), and this is its sealed label (possibly
    /// empty): the share is `client_encrypted`, and the label is what its
    /// preview returns.
    pub client_label: Option<&'a [u8]>,
}

/// Largest client-side file label, in bytes.
pub const SHARE_FILE_LABEL_MAX: usize = 4096;

/// Where a share is in its life, as its creator sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShareLife {
    /// Can be opened.
    Active,
    /// Every view was used.
    UsedUp,
    /// Its creator revoked it.
    Revoked,
    /// Destroyed after too many wrong passphrases.
    Destroyed,
    /// Its time ran out (purged soon).
    Expired,
}

/// One of a creator's shares: never its content or its URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShareInfo {
    /// Its id.
    pub id: ShareId,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it disappears.
    pub expires_at: Timestamp,
    /// Views it allowed.
    pub max_views: u32,
    /// Views consumed.
    pub views_used: u32,
    /// Where it is in its life.
    pub life: ShareLife,
    /// Opening needs a passphrase.
    pub passphrase_required: bool,
    /// The content is a client-side blob.
    pub client_encrypted: bool,
    /// It holds a file.
    pub file: bool,
}

/// The content of an opened share (one view consumed).
pub struct OpenedShare {
    /// The content, zeroized on drop.
    pub content: SecretBytes,
    /// The content is a client-side blob.
    pub client_encrypted: bool,
    /// Opens left after this one.
    pub views_left: u32,
}

impl fmt::Debug for OpenedShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenedShare")
            .field("content", &"[REDACTED]")
            .field("client_encrypted", &self.client_encrypted)
            .field("views_left", &self.views_left)
            .finish()
    }
}

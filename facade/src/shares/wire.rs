//! The JSON bodies of share links.

use std::time::Duration;

use base64::Engine as _;
use poem_openapi::{Enum, Object};
use strongroom_engine::SecretBytes;
use strongroom_engine::shares::{ShareInfo, ShareLife, ShareStatus};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::wire::datetime;
use crate::wire::fast_json::{self, WriteJson};
use crate::wire::secret_text::SecretText;
use crate::wire::text::Text;

crate::wire::secret_field::secret_string_type!(Passphrase, "password", 1, 1024, "open sesame");

/// A secret to share by link: a `message`, or one of your files
/// (`file_id`), not both.
#[derive(Object)]
#[oai(example)]
pub(crate) struct NewShareRequest {
    /// The secret: UTF-8 text up to the server's record size (64 KiB by
    /// default). With `client_encrypted`, the client-side blob as standard
    /// base64 (up to the base64 of a blob of that much plaintext), stored
    /// and returned as given; the key stays in the URL fragment and never
    /// reaches the server (format in the README).
    pub(crate) message: Option<Text>,
    /// One of your files (`GET /v1/files`) instead of a message: the share
    /// holds a copy of it sealed under the link's key (server-side key;
    /// not with `client_encrypted`), independent of the file from then on.
    pub(crate) file_id: Option<Uuid>,
    /// With `file_id` and `client_encrypted`: the file's label as the
    /// sender's browser sealed it (standard base64 with padding, at most
    /// 4 096 bytes), returned by the preview so the recipient's page can
    /// name the file before opening it. Checked wherever it is given,
    /// used only there.
    #[oai(validator(
        pattern = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$",
        max_length = 5464
    ))]
    pub(crate) file_label: Option<String>,
    /// Seconds until the link stops working: 60 to 604 800 (7 days).
    /// Default 86 400 (1 day).
    #[oai(validator(minimum(value = "60"), maximum(value = "604800")))]
    pub(crate) ttl_seconds: Option<u64>,
    /// Opens before the link stops working: 1 to 100. Default 1.
    #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
    pub(crate) max_views: Option<u32>,
    /// A passphrase the recipient must also enter (1–1024 characters),
    /// mixed into the key with Argon2id. Five wrong ones destroy the share.
    pub(crate) passphrase: Option<Passphrase>,
    /// `message` is a client-side blob the server cannot read. Default
    /// false.
    #[oai(default)]
    pub(crate) client_encrypted: bool,
}

impl NewShareRequest {
    pub(crate) fn ttl(&self) -> Option<Duration> {
        self.ttl_seconds.map(Duration::from_secs)
    }
}

impl poem_openapi::types::Example for NewShareRequest {
    fn example() -> Self {
        Self {
            message: Some(Text("the vault code is 7-3-1".into())),
            file_id: None,
            file_label: None,
            ttl_seconds: Some(3600),
            max_views: Some(1),
            passphrase: None,
            client_encrypted: false,
        }
    }
}

/// A share link, created. The URL is shown this once: the server keeps
/// only a hash of its secret and cannot show it again.
#[derive(Object)]
pub(crate) struct ShareCreated {
    /// The share's id, to list or revoke it.
    pub(crate) id: Uuid,
    /// The link to hand over: `…/s/<token>` (append `#<key>` for a
    /// client-encrypted share).
    pub(crate) url: SecretText,
    /// When the link stops working.
    pub(crate) expires_at: OffsetDateTime,
    /// Opens it allows.
    pub(crate) max_views: u32,
}

/// Where a share is in its life.
#[derive(Enum, Clone, Copy)]
#[oai(rename_all = "snake_case")]
pub(crate) enum ShareState {
    /// Can be opened.
    Active,
    /// Every view was used.
    UsedUp,
    /// Revoked by its creator.
    Revoked,
    /// Destroyed after five wrong passphrases.
    Destroyed,
    /// Its time ran out.
    Expired,
}

impl From<ShareLife> for ShareState {
    fn from(life: ShareLife) -> Self {
        match life {
            ShareLife::Active => Self::Active,
            ShareLife::UsedUp => Self::UsedUp,
            ShareLife::Revoked => Self::Revoked,
            ShareLife::Destroyed => Self::Destroyed,
            ShareLife::Expired => Self::Expired,
        }
    }
}

/// One of your shares: never its content or its link.
#[derive(Object)]
pub(crate) struct ShareSummary {
    /// Its id.
    id: Uuid,
    /// When it was created.
    created_at: OffsetDateTime,
    /// When it stops working.
    expires_at: OffsetDateTime,
    /// Opens it allowed.
    max_views: u32,
    /// Opens used.
    views_used: u32,
    /// Opens left.
    views_left: u32,
    /// Where it is in its life.
    state: ShareState,
    /// Opening needs a passphrase.
    passphrase_required: bool,
    /// The content is a client-side blob.
    client_encrypted: bool,
    /// It holds a file.
    file: bool,
}

impl From<&ShareInfo> for ShareSummary {
    fn from(s: &ShareInfo) -> Self {
        let active = s.life == ShareLife::Active;
        Self {
            id: Uuid::from_u128(s.id.as_u128()),
            created_at: datetime(s.created_at),
            expires_at: datetime(s.expires_at),
            max_views: s.max_views,
            views_used: s.views_used,
            views_left: if active {
                s.max_views.saturating_sub(s.views_used)
            } else {
                0
            },
            state: s.life.into(),
            passphrase_required: s.passphrase_required,
            client_encrypted: s.client_encrypted,
            file: s.file,
        }
    }
}

/// Your shares, newest first (purged ones are gone for good).
#[derive(Object)]
pub(crate) struct ShareList {
    /// The shares.
    pub(crate) shares: Vec<ShareSummary>,
}

/// Opening a share.
#[derive(Object, Default)]
pub(crate) struct OpenShareRequest {
    /// The share's passphrase, if it has one.
    pub(crate) passphrase: Option<Passphrase>,
}

/// An opened share (one view consumed).
#[derive(Object)]
pub(crate) struct SharedSecret {
    /// The secret's text, or for a client-encrypted share the base64 blob
    /// to decrypt with the key in the link's fragment.
    pub(crate) message: SecretText,
    /// Whether `message` is a client-side blob.
    pub(crate) client_encrypted: bool,
    /// Opens left after this one.
    pub(crate) views_left: u32,
}

/// Written directly, into a body zeroized once sent.
impl WriteJson for SharedSecret {
    fn write_json(&self, out: &mut SecretBytes) {
        out.push(b'{');
        fast_json::key(out, "message");
        fast_json::string(out, &self.message);
        out.extend_from_slice(b",\"client_encrypted\":");
        out.extend_from_slice(if self.client_encrypted {
            b"true"
        } else {
            b"false"
        });
        out.extend_from_slice(b",\"views_left\":");
        out.extend_from_slice(self.views_left.to_string().as_bytes());
        out.push(b'}');
    }

    fn size_hint(&self) -> usize {
        self.message.len() + 64
    }
}

/// What a link shows before it is opened.
#[derive(Object)]
pub(crate) struct ShareStatusBody {
    /// When it stops working.
    pub(crate) expires_at: OffsetDateTime,
    /// Opens left.
    pub(crate) views_left: u32,
    /// Opening needs a passphrase.
    pub(crate) passphrase_required: bool,
    /// The content is a client-side blob.
    pub(crate) client_encrypted: bool,
    /// It holds a file (opening it answers the file's bytes).
    pub(crate) holds_file: bool,
    /// The file's name, size and media type, when the link alone opens it
    /// (behind a passphrase they stay sealed).
    pub(crate) file: Option<SharedFileFacts>,
    /// For a file encrypted in the sender's browser: its sealed label
    /// (standard base64), for the page to open with the link's key.
    pub(crate) file_label: Option<String>,
}

/// What a file share's preview tells of its file.
#[derive(Object, Clone)]
pub(crate) struct SharedFileFacts {
    /// The file's name.
    pub(crate) name: String,
    /// Its size in bytes.
    pub(crate) size: u64,
    /// Its media type.
    pub(crate) media_type: String,
}

impl From<ShareStatus> for ShareStatusBody {
    fn from(s: ShareStatus) -> Self {
        Self {
            expires_at: datetime(s.expires_at),
            views_left: s.views_left,
            passphrase_required: s.passphrase_required,
            client_encrypted: s.client_encrypted,
            holds_file: s.file,
            file: s.file_facts.map(|(label, size)| SharedFileFacts {
                name: label.name,
                size,
                media_type: label.media_type,
            }),
            file_label: s
                .file_label
                .filter(|l| !l.is_empty())
                .map(|l| base64::engine::general_purpose::STANDARD.encode(l)),
        }
    }
}

//! Files: what an upload takes and a file's public facts.

use crate::clock::Timestamp;
use crate::ids::{FileId, UserId};

/// Longest file name kept, in bytes of UTF-8 (longer names are cut at a
/// character boundary).
pub const FILE_NAME_MAX: usize = 255;
/// Longest media type kept, in bytes.
pub const MEDIA_TYPE_MAX: usize = 255;
/// The media type of a file uploaded without a usable one.
pub const DEFAULT_MEDIA_TYPE: &str = "application/octet-stream";

/// What a new file is called and what it holds, as its uploader says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileLabel {
    /// The file's name (sanitised when the upload begins: control
    /// characters, bidirectional marks and path separators become `_`;
    /// empty becomes `file`).
    pub name: String,
    /// Its media type (anything that is not `type/subtype` in visible
    /// ASCII becomes `application/octet-stream`).
    pub media_type: String,
}

impl FileLabel {
    /// A label with `name` and `media_type` made safe to store and serve.
    /// `application/x-www-form-urlencoded` counts as no type: it is what
    /// `curl --data-binary` sends when told nothing, never a file's type.
    pub fn new(name: &str, media_type: Option<&str>) -> Self {
        Self {
            name: sanitize_name(name),
            media_type: media_type
                .and_then(normalize_media_type)
                .filter(|t| t != "application/x-www-form-urlencoded")
                .unwrap_or_else(|| DEFAULT_MEDIA_TYPE.to_owned()),
        }
    }
}

/// `name` with control characters, bidirectional marks, path separators
/// and quotes replaced by `_`, surrounding whitespace and dots trimmed, at most
/// [`FILE_NAME_MAX`] bytes; `file` if nothing is left.
pub fn sanitize_name(name: &str) -> String {
    let replaced: String = name
        .chars()
        .map(|c| {
            if c.is_control()
                || matches!(c, '/' | '\\' | '"' | '\u{2028}' | '\u{2029}')
                || turns_text(c)
            {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = replaced.trim().trim_matches('.');
    let mut end = trimmed.len().min(FILE_NAME_MAX);
    while !trimmed.is_char_boundary(end) {
        end -= 1;
    }
    match &trimmed[..end] {
        "" => "file".to_owned(),
        name => name.to_owned(),
    }
}

/// The invisible marks that reorder or re-direct the text around them
/// (Unicode's bidirectional controls, as in "Trojan Source", CVE-2021-42574):
/// in a name, `U+202E` shows `invoice\u{202E}fdp.exe` as `invoiceexe.pdf`.
fn turns_text(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// `type/subtype` (parameters dropped, lower-cased) when `value` has that
/// shape in token characters; `None` otherwise.
fn normalize_media_type(value: &str) -> Option<String> {
    let essence = value.split(';').next()?.trim().to_ascii_lowercase();
    let (kind, sub) = essence.split_once('/')?;
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    (token(kind) && token(sub) && essence.len() <= MEDIA_TYPE_MAX).then_some(essence)
}

/// A stored file's facts, as its owner sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileInfo {
    /// The file's id.
    pub id: FileId,
    /// Its owner.
    pub owner: UserId,
    /// Who uploaded it (the owner, or a user who sent it).
    pub sender: UserId,
    /// The sender's username when it was sent.
    pub sender_name: Option<String>,
    /// Its name and media type.
    pub label: FileLabel,
    /// Its size in bytes.
    pub size: u64,
    /// When the upload completed.
    pub created_at: Timestamp,
    /// When it expires.
    pub expires_at: Timestamp,
}

/// What a file's notice on its owner's stream says (the notice is a
/// record of kind [`RecordKind::File`](crate::records::RecordKind) in the
/// owner's log, sealed like a message).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileNotice {
    /// The file's id.
    pub id: FileId,
    /// Its name and media type.
    pub label: FileLabel,
    /// Its size in bytes.
    pub size: u64,
}

impl FileNotice {
    /// `id (16) || size (8) || name length (2) || name || media type`,
    /// big-endian.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let (name, media) = (self.label.name.as_bytes(), self.label.media_type.as_bytes());
        let mut out = Vec::with_capacity(26 + name.len() + media.len());
        out.extend_from_slice(&self.id.as_u128().to_be_bytes());
        out.extend_from_slice(&self.size.to_be_bytes());
        // Names are at most FILE_NAME_MAX bytes: the length fits.
        out.extend_from_slice(&(name.len().min(usize::from(u16::MAX)) as u16).to_be_bytes());
        out.extend_from_slice(name);
        out.extend_from_slice(media);
        out
    }

    /// The notice in `bytes`, if they hold one.
    pub(crate) fn decode(bytes: &[u8]) -> Option<Self> {
        let (id, rest) = bytes.split_first_chunk::<16>()?;
        let (size, rest) = rest.split_first_chunk::<8>()?;
        let (len, rest) = rest.split_first_chunk::<2>()?;
        let (name, media) = rest.split_at_checked(usize::from(u16::from_be_bytes(*len)))?;
        Some(Self {
            id: FileId::from_u128(u128::from_be_bytes(*id)),
            label: FileLabel {
                name: String::from_utf8(name.to_vec()).ok()?,
                media_type: String::from_utf8(media.to_vec()).ok()?,
            },
            size: u64::from_be_bytes(*size),
        })
    }
}

/// A page of files, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilePage {
    /// The files.
    pub files: Vec<FileInfo>,
    /// Pass as `cursor` for the next page; `None` on the last.
    pub next_cursor: Option<FileId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_made_safe_to_serve() {
        assert_eq!(sanitize_name("report.pdf"), "report.pdf");
        assert_eq!(sanitize_name("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(sanitize_name("a\r\nb\"c\\d"), "a__b_c_d");
        assert_eq!(sanitize_name("  "), "file");
        assert_eq!(sanitize_name(".."), "file");
        assert_eq!(sanitize_name("résumé ✓.txt"), "résumé ✓.txt");
        assert_eq!(sanitize_name("invoice\u{202E}fdp.exe"), "invoice_fdp.exe");
        assert_eq!(
            sanitize_name("a\u{2066}b\u{2069}c\u{200F}d\u{061C}e"),
            "a_b_c_d_e"
        );
        assert_eq!(
            sanitize_name("שלום.txt"),
            "שלום.txt",
            "right-to-left letters stay"
        );
        let long = "é".repeat(200);
        let cut = sanitize_name(&long);
        assert!(cut.len() <= FILE_NAME_MAX && cut.chars().all(|c| c == 'é'));
    }

    #[test]
    fn notices_round_trip_and_refuse_short_bytes() {
        let notice = FileNotice {
            id: FileId::from_u128(7),
            label: FileLabel::new("plan é.pdf", Some("application/pdf")),
            size: 1 << 40,
        };
        let bytes = notice.encode();
        assert_eq!(FileNotice::decode(&bytes), Some(notice));
        for cut in 0..26 {
            assert_eq!(FileNotice::decode(&bytes[..cut]), None);
        }
    }

    #[test]
    fn media_types_keep_their_essence_or_fall_back() {
        let label = |t| FileLabel::new("x", Some(t)).media_type;
        assert_eq!(label("Text/Plain; charset=utf-8"), "text/plain");
        assert_eq!(label("image/svg+xml"), "image/svg+xml");
        assert_eq!(label("nonsense"), DEFAULT_MEDIA_TYPE);
        assert_eq!(
            label("application/x-www-form-urlencoded"),
            DEFAULT_MEDIA_TYPE
        );
        assert_eq!(label("text/"), DEFAULT_MEDIA_TYPE);
        assert_eq!(label("a b/c"), DEFAULT_MEDIA_TYPE);
        assert_eq!(FileLabel::new("x", None).media_type, DEFAULT_MEDIA_TYPE);
    }
}

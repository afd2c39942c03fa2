//! Share links ([`Shares`]) for people without an account: validate,
//! derive keys (Argon2id for a passphrase, outside any transaction), then
//! one transaction in the `shares` domain module. [`client`] seals and
//! opens the client-side format, whose key the server never sees.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::clock::Timestamp;
use crate::crypto::keys::DataKey;
pub use crate::crypto::share_client as client;
use crate::crypto::share_client::CLIENT_BLOB_OVERHEAD;
pub use crate::crypto::sharekeys::SHARE_TOKEN_LEN;
use crate::crypto::sharekeys::{self, PASSPHRASE_SALT_LEN, ShareSecret};
use crate::crypto::stream::{FileKeys, StreamHeader};
use crate::domain;
use crate::domain::shares::{self, Opened};
use crate::error::{RecordError, ShareError, StorageError};
use crate::handle::files::{FileReader, UPLOAD_LEASE};
use crate::handle::handle;
use crate::ids::{FileId, ShareId, UserId};
use crate::model::audit::{Actor, AuditAction, AuditTarget};
use crate::model::credits::Chargeable;
use crate::model::files::FileNotice;
pub use crate::model::shares::{
    CreatedShare, NewFileShare, NewShare, OpenedShare, SHARE_DEFAULT_TTL, SHARE_FILE_LABEL_MAX,
    SHARE_MAX_ATTEMPTS, SHARE_MAX_TTL, SHARE_MAX_VIEWS, SHARE_MIN_TTL, SHARE_PASSPHRASE_MAX,
    ShareInfo, ShareLife, ShareStatus,
};
use crate::schema::{ShareRow, ShareState};

handle! {
    /// Share links: [`Engine::shares`](crate::Engine::shares).
    Shares
}

impl Shares<'_> {
    /// Creates a share link for `content`, owned by `owner` (`None`: an
    /// anonymous share nobody can list or revoke). With a passphrase this
    /// runs Argon2id: call it from a blocking thread.
    ///
    /// ```
    /// # use strongroom_engine::{Engine, MasterKey, ShareError};
    /// use strongroom_engine::shares::NewShare;
    /// # fn main() -> Result<(), strongroom_engine::Error> {
    /// # let engine = Engine::builder(MasterKey::generate().0).open_in_memory()?;
    /// let shares = engine.shares();
    /// let share = shares.create(None, NewShare {
    ///     content: b"the vault code is 7-3-1",
    ///     ttl: None,
    ///     max_views: None, // one view
    ///     passphrase: None,
    ///     client_encrypted: false,
    /// })?;
    /// let opened = shares.open(&share.token, None)?;
    /// assert_eq!(opened.content.as_slice(), b"the vault code is 7-3-1");
    /// assert!(matches!(shares.open(&share.token, None), Err(ShareError::Gone)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn create(
        &self,
        owner: Option<UserId>,
        share: NewShare<'_>,
    ) -> Result<CreatedShare, ShareError> {
        let (ttl, max_views) = life(share.ttl, share.max_views)?;
        let max_len = self.max_len(share.client_encrypted);
        if share.content.is_empty() || share.content.len() > max_len {
            return Err(ShareError::InvalidContent { max: max_len });
        }
        let (secret, token) = ShareSecret::generate();
        let lookup = secret.lookup();
        let (passphrase_salt, mixed) = self.protect(share.passphrase)?;
        let key = secret.content_key(mixed.as_ref());
        let now = self.0.inner.clock.now();
        let row = ShareRow {
            id: ShareId::generate(),
            owner,
            created_at: now,
            expires_at: now.saturating_add(ttl),
            max_views,
            views_used: 0,
            failed_attempts: 0,
            client_encrypted: share.client_encrypted,
            passphrase_salt,
            state: ShareState::Active,
            envelope: sharekeys::seal(&key, &lookup, share.content),
            file: None,
        };
        let engine = self.0;
        let default_quota = engine.inner.default_quota;
        let creator = owner.map_or(Actor::Anonymous, Actor::User);
        let note = engine.note(
            creator,
            AuditAction::CreateShare,
            AuditTarget::Share(row.id),
        );
        engine.write_paying(|tx, till| {
            if let Some(owner) = owner {
                till.charge(tx, owner, Chargeable::Share)?;
            }
            shares::create(tx, &lookup, &row, default_quota)?;
            engine.audit_in(tx, note)?;
            Ok::<_, ShareError>(())
        })?;
        Ok(CreatedShare {
            id: row.id,
            token,
            expires_at: row.expires_at,
            max_views,
        })
    }

    /// Creates a share link for `owner`'s file `share.file`: the share
    /// holds a copy of the file, sealed segment by segment under keys
    /// derived from the share's own content key (so, like any share, the
    /// database and the master key alone cannot open it), and counted
    /// toward `owner`'s quota until it is used up, revoked or expires. The
    /// file's name, type and size are sealed in the share's envelope. The
    /// copy is written in bounded transactions and the share appears only
    /// with the last one; on any failure nothing is kept. Blocks (commits,
    /// and Argon2id with a passphrase).
    pub fn create_file(
        &self,
        owner: UserId,
        share: NewFileShare<'_>,
    ) -> Result<CreatedShare, ShareError> {
        let (ttl, max_views) = life(share.ttl, share.max_views)?;
        if share
            .client_label
            .is_some_and(|l| l.len() > SHARE_FILE_LABEL_MAX)
        {
            return Err(ShareError::InvalidContent {
                max: SHARE_FILE_LABEL_MAX,
            });
        }
        let engine = self.0;
        let source = engine.files().open(owner, share.file).map_err(copy_error)?;
        // Refused before the copy when the account cannot pay; charged
        // with the share's own commit.
        let config = &engine.inner.credits;
        engine
            .store()
            .read_with(|tx| domain::credits::affordable(tx, config, owner, Chargeable::Share))??;
        let (secret, token) = ShareSecret::generate();
        let lookup = secret.lookup();
        let (passphrase_salt, mixed) = self.protect(share.passphrase)?;
        let key = secret.content_key(mixed.as_ref());
        let now = engine.now();
        let copy = FileId::generate();
        let header = StreamHeader::random(0);
        let keys = FileKeys::derive(&key, &header, owner.as_u128(), copy.as_u128());
        let quota = engine.inner.default_quota;
        let store = engine.store();
        store
            .write_with(|tx| {
                domain::files::begin_copy(tx, now, owner, copy, &header, UPLOAD_LEASE, quota)
            })
            .map_err(copy_error)?;
        let row = ShareRow {
            id: ShareId::generate(),
            owner: Some(owner),
            created_at: now,
            expires_at: now.saturating_add(ttl),
            max_views,
            views_used: 0,
            failed_attempts: 0,
            client_encrypted: share.client_label.is_some(),
            passphrase_salt,
            state: ShareState::Active,
            envelope: match share.client_label {
                // What the sender sealed: opaque here.
                Some(label) => sharekeys::seal(&key, &lookup, label),
                None => sharekeys::seal(&key, &lookup, &source.notice().encode()),
            },
            file: Some(copy),
        };
        let note = engine.note(
            Actor::User(owner),
            AuditAction::CreateShare,
            AuditTarget::Share(row.id),
        );
        let copied = source.copy_into(&keys, |batch| {
            store.write_with(|tx| {
                domain::files::append(tx, now, owner, copy, batch, UPLOAD_LEASE, quota)
            })
        });
        let done = copied.and_then(|last| {
            let info = source.info();
            let plain = domain::files::encode_metadata(&info.label, info.size);
            let metadata = keys.seal_metadata(&plain);
            engine.write_paying(|tx, till| {
                till.charge(tx, owner, Chargeable::Share)?;
                domain::files::finish_copy(
                    tx,
                    now,
                    owner,
                    copy,
                    &last,
                    metadata.clone(),
                    row.expires_at,
                    quota,
                )?;
                shares::create(tx, &lookup, &row, quota).map_err(share_to_record)?;
                engine.audit_in(tx, note)?;
                Ok::<_, RecordError>(())
            })
        });
        if let Err(e) = done {
            store.write_with(|tx| domain::files::abort(tx, owner, copy))?;
            return Err(copy_error(e));
        }
        Ok(CreatedShare {
            id: row.id,
            token,
            expires_at: row.expires_at,
            max_views,
        })
    }

    /// The passphrase's salt and Argon2id key, when there is one.
    #[allow(clippy::type_complexity)]
    fn protect(
        &self,
        passphrase: Option<&SecretString>,
    ) -> Result<
        (
            Option<[u8; PASSPHRASE_SALT_LEN]>,
            Option<secrecy::SecretBox<[u8; crate::crypto::keys::KEY_LEN]>>,
        ),
        ShareError,
    > {
        let Some(p) = passphrase else {
            return Ok((None, None));
        };
        validate_passphrase(p)?;
        let salt = rand::random::<[u8; PASSPHRASE_SALT_LEN]>();
        let key = self
            .0
            .inner
            .hasher
            .derive_key(p, &salt)
            .ok_or(ShareError::Hashing)?;
        Ok((Some(salt), Some(key)))
    }

    /// The largest content a share takes: the record limit; for a
    /// client-encrypted share, room for a blob of that much plaintext in
    /// base64 (the form the HTTP API carries it in).
    pub fn max_len(&self, client_encrypted: bool) -> usize {
        let max = self.0.inner.limits.max_record_len;
        if client_encrypted {
            4 * (max + CLIENT_BLOB_OVERHEAD).div_ceil(3)
        } else {
            max
        }
    }

    /// What the share behind `token` shows without being opened: consumes
    /// nothing. `NotFound` for a token that is malformed or unknown,
    /// `Gone` for one that expired, was used up, revoked or destroyed.
    pub fn status(&self, token: &SecretString) -> Result<ShareStatus, ShareError> {
        let secret = parse(token)?;
        let lookup = secret.lookup();
        let now = self.0.inner.clock.now();
        self.0.store().read_with(|tx| {
            let row = shares::live(tx, &lookup, now)?;
            let mut status = shares::status(&row);
            // The link alone opens a share without a passphrase: its file's
            // name and size may be shown before a view is spent.
            if row.file.is_some() && row.passphrase_salt.is_none() {
                let key = secret.content_key(None);
                let plain = sharekeys::open(&key, &lookup, &row.envelope).ok();
                if row.client_encrypted {
                    status.file_label = plain.map(|p| p.to_vec());
                } else {
                    status.file_facts = plain
                        .and_then(|p| FileNotice::decode(&p))
                        .map(|n| (n.label, n.size));
                }
            }
            Ok(status)
        })
    }

    /// Opens the share behind `token`, consuming one view in the same
    /// transaction that releases the content: of many concurrent opens of
    /// a one-view share exactly one succeeds. A wrong passphrase consumes
    /// no view; the fifth destroys the share. A share that holds a file is
    /// refused (`WrongKind`) before anything is consumed: open it with
    /// [`Shares::open_file`]. With a passphrase this runs Argon2id: call it
    /// from a blocking thread.
    pub fn open(
        &self,
        token: &SecretString,
        passphrase: Option<&SecretString>,
    ) -> Result<OpenedShare, ShareError> {
        let (opened, _) = self.consume(token, passphrase, false)?;
        Ok(opened)
    }

    /// Opens the share behind `token` that holds a file, consuming one
    /// view exactly as [`Shares::open`] does, and returns a reader of the
    /// file. After the last view the share's copy stays readable for an
    /// hour (the download that took it), then goes. A share that holds a
    /// message is refused (`WrongKind`) before anything is consumed.
    pub fn open_file(
        &self,
        token: &SecretString,
        passphrase: Option<&SecretString>,
    ) -> Result<OpenedFile, ShareError> {
        let (opened, copy) = self.consume(token, passphrase, true)?;
        let Some((owner, copy, key)) = copy else {
            return Err(ShareError::WrongKind { file: false });
        };
        let engine = self.0;
        let now = engine.now();
        let reader = engine
            .store()
            .read_with(|tx| domain::files::open_copy(tx, &key, owner, copy, now))
            .map_err(|e| match e {
                RecordError::NotFound => ShareError::Gone,
                other => file_error(other),
            })?;
        Ok(OpenedFile {
            reader: FileReader::new(engine, reader),
            views_left: opened.views_left,
        })
    }

    /// Consumes a view of the share behind `token`, which must hold a file
    /// exactly when `file`; for a file, also where its copy is and the key
    /// it opens with.
    #[allow(clippy::type_complexity)]
    fn consume(
        &self,
        token: &SecretString,
        passphrase: Option<&SecretString>,
        file: bool,
    ) -> Result<(OpenedShare, Option<(UserId, FileId, DataKey)>), ShareError> {
        let secret = parse(token)?;
        let lookup = secret.lookup();
        let store = self.0.store();
        let (salt, copy) = store.read_with(|tx| {
            shares::live(tx, &lookup, self.0.inner.clock.now())
                .map(|row| (row.passphrase_salt, row.owner.zip(row.file)))
        })?;
        if copy.is_some() != file {
            return Err(ShareError::WrongKind {
                file: copy.is_some(),
            });
        }
        let mixed = match (salt, passphrase) {
            (None, _) => None,
            // Asking for the passphrase is not a guess: nothing is counted.
            (Some(_), None) => return Err(ShareError::WrongPassphrase),
            (Some(salt), Some(p)) => {
                validate_passphrase(p).map_err(|_| ShareError::WrongPassphrase)?;
                Some(
                    self.0
                        .inner
                        .hasher
                        .derive_key(p, &salt)
                        .ok_or(ShareError::Hashing)?,
                )
            }
        };
        let key = secret.content_key(mixed.as_ref());
        let now = self.0.inner.clock.now();
        // The view (or the wrong guess) and its audit entry commit together.
        let opened = store.write_with(|tx| {
            let opened = shares::open(tx, &lookup, &key, now)?;
            let (id, denied) = match &opened {
                Opened::Content { id, .. } => (*id, false),
                Opened::WrongPassphrase { id } => (*id, true),
            };
            let note = self.0.note(
                Actor::Anonymous,
                AuditAction::OpenShare,
                AuditTarget::Share(id),
            );
            self.0
                .audit_in(tx, if denied { note.denied() } else { note })?;
            Ok::<_, ShareError>(opened)
        })?;
        match opened {
            Opened::Content {
                content,
                client_encrypted,
                views_left,
                ..
            } => Ok((
                OpenedShare {
                    content,
                    client_encrypted,
                    views_left,
                },
                copy.map(|(owner, id)| (owner, id, key)),
            )),
            Opened::WrongPassphrase { .. } => Err(ShareError::WrongPassphrase),
        }
    }

    /// The shares `owner` created that have not been purged, newest first
    /// (never their content or URL).
    pub fn list(&self, owner: UserId) -> Result<Vec<ShareInfo>, StorageError> {
        let now = self.0.inner.clock.now();
        self.0.store().read_with(|tx| shares::list(tx, owner, now))
    }

    /// Revokes `owner`'s share `id`, deleting its content at once.
    pub fn revoke(&self, owner: UserId, id: ShareId) -> Result<(), ShareError> {
        let engine = self.0;
        let note = engine.note(
            Actor::User(owner),
            AuditAction::RevokeShare,
            AuditTarget::Share(id),
        );
        let now = engine.now();
        // Deleting makes room: it tries while a full disk pauses writes.
        engine.store().freeing_with(|tx| {
            shares::revoke(tx, owner, id, now)?;
            engine.audit_in(tx, note)?;
            Ok::<_, ShareError>(())
        })
    }

    /// Deletes up to `limit` shares whose time ran out by `now` (content
    /// and tombstones), in one transaction; returns how many went.
    pub fn purge_expired(&self, now: Timestamp, limit: usize) -> Result<usize, StorageError> {
        self.0
            .store()
            .freeing_with(|tx| shares::purge_expired(tx, now, limit))
    }
}

/// A share's lifetime and views, checked against the bounds (defaults
/// filled in).
fn life(ttl: Option<Duration>, max_views: Option<u32>) -> Result<(Duration, u32), ShareError> {
    let ttl = ttl.unwrap_or(SHARE_DEFAULT_TTL);
    if !(SHARE_MIN_TTL..=SHARE_MAX_TTL).contains(&ttl) {
        return Err(ShareError::TtlOutOfRange {
            min_secs: SHARE_MIN_TTL.as_secs(),
            max_secs: SHARE_MAX_TTL.as_secs(),
        });
    }
    let max_views = max_views.unwrap_or(1);
    if !(1..=SHARE_MAX_VIEWS).contains(&max_views) {
        return Err(ShareError::InvalidViews {
            max: SHARE_MAX_VIEWS,
        });
    }
    Ok((ttl, max_views))
}

/// An error while copying a file into a new share. The original, or its
/// owner's account, deleted or expired since the copy began (between any
/// two of its transactions) is `FileNotFound`, as it is for a later try.
fn copy_error(e: RecordError) -> ShareError {
    match e {
        RecordError::NotFound | RecordError::UnknownUser => ShareError::FileNotFound,
        RecordError::Credits(e) => ShareError::Credits(e),
        other => file_error(other),
    }
}

/// A file error while sharing or opening a file share.
fn file_error(e: RecordError) -> ShareError {
    match e {
        RecordError::Storage(e) => ShareError::Storage(e),
        RecordError::QuotaExceeded { what, used, limit } => {
            ShareError::QuotaExceeded { what, used, limit }
        }
        _ => ShareError::FileUnreadable,
    }
}

/// A share error inside a file transaction (only quota and storage
/// failures happen there).
fn share_to_record(e: ShareError) -> RecordError {
    match e {
        ShareError::QuotaExceeded { what, used, limit } => {
            RecordError::QuotaExceeded { what, used, limit }
        }
        ShareError::Storage(e) => RecordError::Storage(e),
        _ => RecordError::Invariant(crate::error::InvariantViolated(
            "creating a file share failed",
        )),
    }
}

/// A share of a file, opened: a reader of the file, and the views left.
#[derive(Debug)]
pub struct OpenedFile {
    /// The file's facts and bytes.
    pub reader: FileReader,
    /// Opens left after this one.
    pub views_left: u32,
}

fn parse(token: &SecretString) -> Result<ShareSecret, ShareError> {
    ShareSecret::parse(token.expose_secret()).ok_or(ShareError::NotFound)
}

fn validate_passphrase(p: &SecretString) -> Result<(), ShareError> {
    let len = p.expose_secret().chars().count();
    if (1..=SHARE_PASSPHRASE_MAX).contains(&len) {
        Ok(())
    } else {
        Err(ShareError::InvalidPassphrase)
    }
}

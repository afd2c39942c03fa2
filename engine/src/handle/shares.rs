//! Share links ([`Shares`]) for people without an account: validate,
//! derive keys (Argon2id for a passphrase, outside any transaction), then
//! one transaction in the `shares` domain module. [`client`] seals and
//! opens the client-side format, whose key the server never sees.

use secrecy::{ExposeSecret, SecretString};

use crate::clock::Timestamp;
pub use crate::crypto::share_client as client;
use crate::crypto::share_client::CLIENT_BLOB_OVERHEAD;
pub use crate::crypto::sharekeys::SHARE_TOKEN_LEN;
use crate::crypto::sharekeys::{self, PASSPHRASE_SALT_LEN, ShareSecret};
use crate::domain::shares::{self, Opened};
use crate::error::{ShareError, StorageError};
use crate::handle::handle;
use crate::ids::{ShareId, UserId};
use crate::model::audit::{Actor, AuditAction, AuditTarget};
pub use crate::model::shares::{
    CreatedShare, NewShare, OpenedShare, SHARE_DEFAULT_TTL, SHARE_MAX_ATTEMPTS, SHARE_MAX_TTL,
    SHARE_MAX_VIEWS, SHARE_MIN_TTL, SHARE_PASSPHRASE_MAX, ShareInfo, ShareLife, ShareStatus,
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
        let ttl = share.ttl.unwrap_or(SHARE_DEFAULT_TTL);
        if !(SHARE_MIN_TTL..=SHARE_MAX_TTL).contains(&ttl) {
            return Err(ShareError::TtlOutOfRange {
                min_secs: SHARE_MIN_TTL.as_secs(),
                max_secs: SHARE_MAX_TTL.as_secs(),
            });
        }
        let max_views = share.max_views.unwrap_or(1);
        if !(1..=SHARE_MAX_VIEWS).contains(&max_views) {
            return Err(ShareError::InvalidViews {
                max: SHARE_MAX_VIEWS,
            });
        }
        let max_len = self.max_len(share.client_encrypted);
        if share.content.is_empty() || share.content.len() > max_len {
            return Err(ShareError::InvalidContent { max: max_len });
        }
        let (secret, token) = ShareSecret::generate();
        let lookup = secret.lookup();
        let passphrase_salt = match share.passphrase {
            Some(p) => {
                validate_passphrase(p)?;
                Some(rand::random::<[u8; PASSPHRASE_SALT_LEN]>())
            }
            None => None,
        };
        let mixed = match (share.passphrase, &passphrase_salt) {
            (Some(p), Some(salt)) => Some(
                self.0
                    .inner
                    .hasher
                    .derive_key(p, salt)
                    .ok_or(ShareError::Hashing)?,
            ),
            _ => None,
        };
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
        engine.store().write_with(|tx| {
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
        let lookup = parse(token)?.lookup();
        let now = self.0.inner.clock.now();
        self.0
            .store()
            .read_with(|tx| shares::live(tx, &lookup, now).map(|row| shares::status(&row)))
    }

    /// Opens the share behind `token`, consuming one view in the same
    /// transaction that releases the content: of many concurrent opens of
    /// a one-view share exactly one succeeds. A wrong passphrase consumes
    /// no view; the fifth destroys the share. With a passphrase this runs
    /// Argon2id: call it from a blocking thread.
    pub fn open(
        &self,
        token: &SecretString,
        passphrase: Option<&SecretString>,
    ) -> Result<OpenedShare, ShareError> {
        let secret = parse(token)?;
        let lookup = secret.lookup();
        let store = self.0.store();
        let salt = store.read_with(|tx| {
            shares::live(tx, &lookup, self.0.inner.clock.now()).map(|row| row.passphrase_salt)
        })?;
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
            } => Ok(OpenedShare {
                content,
                client_encrypted,
                views_left,
            }),
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
        engine.store().write_with(|tx| {
            shares::revoke(tx, owner, id)?;
            engine.audit_in(tx, note)?;
            Ok::<_, ShareError>(())
        })
    }

    /// Deletes up to `limit` shares whose time ran out by `now` (content
    /// and tombstones), in one transaction; returns how many went.
    pub fn purge_expired(&self, now: Timestamp, limit: usize) -> Result<usize, StorageError> {
        self.0
            .store()
            .write_with(|tx| shares::purge_expired(tx, now, limit))
    }
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

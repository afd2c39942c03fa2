//! [`Passkeys`]: the WebAuthn credentials an account signs in with. The
//! engine stores what a relying-party library verified — the credential id
//! and its record (public key, signature counter) as opaque bytes — and
//! finds the account by credential id for a discoverable sign-in
//! ([`Sessions::login_passkey`](crate::sessions::Sessions::login_passkey)).
//! It verifies no signature itself.

use crate::domain::passkeys;
use crate::error::{PasskeyError, StorageError};
use crate::handle::handle;
use crate::ids::{PasskeyId, UserId};
use crate::model::audit::{Actor, AuditAction, AuditTarget};

pub use crate::model::passkeys::{
    CREDENTIAL_ID_MAX, CREDENTIAL_MAX, MAX_PASSKEYS, NewPasskey, PASSKEY_NAME_LEN, PasskeyInfo,
    StoredPasskey,
};

handle! {
    /// Passkeys: register, list, find by credential id, remove.
    Passkeys
}

impl Passkeys<'_> {
    /// Stores a verified passkey for `user`, audited as `passkey.register`.
    /// Refused if the name or credential is malformed, the credential is
    /// registered already, or the account holds [`MAX_PASSKEYS`].
    pub fn register(&self, user: UserId, new: NewPasskey<'_>) -> Result<PasskeyInfo, PasskeyError> {
        let name = new.name.trim();
        let chars = name.chars().count();
        if chars == 0 || chars > PASSKEY_NAME_LEN || name.chars().any(char::is_control) {
            return Err(PasskeyError::InvalidName);
        }
        let id_len = new.credential_id.len();
        if id_len == 0
            || id_len > CREDENTIAL_ID_MAX
            || new.credential.is_empty()
            || new.credential.len() > CREDENTIAL_MAX
        {
            return Err(PasskeyError::InvalidCredential);
        }
        let engine = self.0;
        let now = engine.now();
        let new = NewPasskey { name, ..new };
        engine.store().write_with(|tx| {
            let added = passkeys::add(tx, user, new, now)?;
            let target = AuditTarget::Passkey {
                owner: user,
                id: added.id,
            };
            let note = engine.note(Actor::User(user), AuditAction::RegisterPasskey, target);
            engine.audit_in(tx, note)?;
            Ok(added)
        })
    }

    /// `user`'s passkeys, oldest first.
    pub fn list(&self, user: UserId) -> Result<Vec<PasskeyInfo>, StorageError> {
        self.0.store().read_with(|tx| passkeys::list(tx, user))
    }

    /// The credential ids of `user`'s passkeys (for a registration to
    /// exclude).
    pub fn credential_ids(&self, user: UserId) -> Result<Vec<Vec<u8>>, StorageError> {
        self.0
            .store()
            .read_with(|tx| passkeys::credential_ids(tx, user))
    }

    /// The passkey with this credential id, with its owner.
    pub fn find(&self, credential_id: &[u8]) -> Result<Option<StoredPasskey>, StorageError> {
        self.0
            .store()
            .read_with(|tx| passkeys::find(tx, credential_id))
    }

    /// Removes `user`'s passkey `id`, audited as `passkey.remove`.
    pub fn remove(&self, user: UserId, id: PasskeyId) -> Result<(), PasskeyError> {
        let engine = self.0;
        let target = AuditTarget::Passkey { owner: user, id };
        let note = engine.note(Actor::User(user), AuditAction::RemovePasskey, target);
        engine.store().write_with(|tx| {
            if !passkeys::remove(tx, user, id)? {
                return Err(PasskeyError::NotFound);
            }
            engine.audit_in(tx, note)?;
            Ok(())
        })
    }
}

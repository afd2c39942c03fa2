//! [`Engine`] methods for the end-to-end key directory.

use crate::domain::e2e_keys;
use crate::error::{E2eKeyError, StorageError};
use crate::handle::Engine;
use crate::ids::UserId;
use crate::model::audit::{Actor, AuditAction, AuditTarget};
use crate::model::e2e::{E2eKey, PublishedKey};

impl Engine {
    /// Publishes `key` as `user`'s newest end-to-end key version. Earlier
    /// versions stay (messages sealed to them still open with them).
    pub fn publish_e2e_key(&self, user: UserId, key: PublishedKey) -> Result<E2eKey, E2eKeyError> {
        e2e_keys::validate(&key)?;
        let now = self.now();
        let note = self.note(
            Actor::User(user),
            AuditAction::PublishE2eKey,
            AuditTarget::User(user),
        );
        self.store().write_with(|tx| {
            let key = e2e_keys::publish(tx, user, &key, now)?;
            self.audit(tx, note)?;
            Ok(key)
        })
    }

    /// Every end-to-end key version of `user`, oldest first, with the
    /// wrapped private keys: for `user` alone.
    pub fn e2e_keys(&self, user: UserId) -> Result<Vec<E2eKey>, StorageError> {
        self.store().read_with(|tx| e2e_keys::all(tx, user))
    }

    /// `user`'s newest end-to-end key version, if they published one: what
    /// a sender seals to (hand out its public key only).
    pub fn current_e2e_key(&self, user: UserId) -> Result<Option<E2eKey>, StorageError> {
        self.store().read_with(|tx| e2e_keys::current(tx, user))
    }
}

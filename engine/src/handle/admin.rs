//! Account management ([`Admin`]): the account list, roles, disabling,
//! ending sessions, deletion (crypto-shredding) and quotas. The engine
//! checks nothing about who calls: an API lets admins alone reach these.

use crate::domain::{self, accounts, quotas, records, tokens};
use crate::error::{AccountError, StorageError};
use crate::handle::handle;
use crate::ids::{KeyScope, UserId};
pub use crate::model::UserPage;
use crate::model::access::{Quota, QuotaStatus};
use crate::model::audit::{Actor, AuditAction, AuditTarget};
use crate::model::{Notice, User};
use crate::schema::UserRow;
use crate::scopes::Role;
use crate::store::WriteTx;
use secrecy::SecretString;

handle! {
    /// Account management: [`Engine::admin`](crate::Engine::admin).
    Admin
}

impl Admin<'_> {
    /// Up to `limit` accounts after `after`, in id order (ids are random: not creation order).
    pub fn users(&self, after: Option<UserId>, limit: usize) -> Result<UserPage, StorageError> {
        let (users, next) = self
            .0
            .store()
            .read_with(|tx| accounts::page(tx, after, limit.max(1)))?;
        Ok(UserPage { users, next })
    }

    /// Ends every session of `user`: all their access and refresh tokens
    /// stop working and their streams end.
    pub fn end_sessions(&self, user: UserId) -> Result<(), AccountError> {
        let engine = self.0;
        let target = AuditTarget::User(user);
        let note = engine.note(Actor::Operator, AuditAction::EndSessions, target);
        engine.store().write_with(|tx| {
            accounts::get(tx, user)?.ok_or(AccountError::NotFound)?;
            tokens::end_all_sessions(tx, user)?;
            engine.audit_in(tx, note)?;
            Ok::<_, AccountError>(())
        })?;
        engine.inner.listeners.notify(&Notice::AccountChanged(user));
        Ok(())
    }

    /// Changes `user`'s role. Takes effect on their next request (every
    /// credential reads the role with the token); their streams end.
    pub fn set_role(&self, user: UserId, role: Role) -> Result<User, AccountError> {
        self.change_account(user, AuditAction::SetRole(role), |row| row.role = role)
    }

    /// Disables or enables `user`. A disabled account's credentials are
    /// refused from the next request on (its sessions are kept, so enabling
    /// it again restores them); its streams end.
    pub fn set_disabled(&self, user: UserId, disabled: bool) -> Result<User, AccountError> {
        let action = if disabled {
            AuditAction::DisableUser
        } else {
            AuditAction::EnableUser
        };
        self.change_account(user, action, |row| row.disabled = disabled)
    }

    /// Applies `change` to `user`'s row, records `action`, and ends their
    /// streams.
    fn change_account(
        &self,
        user: UserId,
        action: AuditAction,
        change: impl Fn(&mut UserRow),
    ) -> Result<User, AccountError> {
        let engine = self.0;
        let note = engine.note(Actor::Operator, action, AuditTarget::User(user));
        let changed = engine.store().write_with(|tx| {
            let changed = accounts::update(tx, user, &change)?;
            engine.audit_in(tx, note)?;
            Ok::<_, AccountError>(changed)
        })?;
        engine.inner.listeners.notify(&Notice::AccountChanged(user));
        Ok(changed)
    }

    /// Deletes an account in one transaction: its profile, its wrapped data
    /// keys (so every copy of its records, backups included, becomes
    /// unreadable), its records with their expiry entries, its tokens, its
    /// shares, quota and end-to-end keys.
    pub fn delete_user(&self, id: UserId) -> Result<(), AccountError> {
        delete_account(self.0, id, Actor::Operator, |_| Ok(Ok(())))
    }

    /// Sets `user`'s password (an admin's reset, when they cannot sign in):
    /// every session and API key of the account ends, in the same
    /// transaction. End-to-end keys stay wrapped under the old password,
    /// which the account no longer knows: messages sealed to them cannot be
    /// opened again, and the owner publishes a new key. Hashes with Argon2id
    /// (call it from a blocking thread).
    pub fn reset_password(
        &self,
        user: UserId,
        password: &SecretString,
    ) -> Result<(), AccountError> {
        accounts::validate_password(password)?;
        let engine = self.0;
        let phc = engine
            .inner
            .hasher
            .hash(password)
            .ok_or(AccountError::Hashing)?;
        let target = AuditTarget::User(user);
        let note = engine.note(Actor::Operator, AuditAction::ResetPassword, target);
        engine.store().write_with(|tx| {
            accounts::update(tx, user, |row| row.password_hash = phc.clone())?;
            tokens::end_all_sessions(tx, user)?;
            domain::api_keys::revoke_all(tx, user)?;
            engine.audit_in(tx, note)?;
            Ok::<_, AccountError>(())
        })?;
        engine.inner.listeners.notify(&Notice::AccountChanged(user));
        Ok(())
    }

    /// Sets `user`'s own quota, or with `None` returns them to the
    /// defaults. Usage above a lowered quota stays; new writes are refused
    /// until it drops below.
    pub fn set_quota(
        &self,
        user: UserId,
        quota: Option<Quota>,
    ) -> Result<QuotaStatus, AccountError> {
        let engine = self.0;
        let default = engine.inner.default_quota;
        let target = AuditTarget::User(user);
        let note = engine.note(Actor::Operator, AuditAction::SetQuota, target);
        let status = engine.store().write_with(|tx| {
            accounts::get(tx, user)?.ok_or(AccountError::NotFound)?;
            quotas::set(tx, user, quota)?;
            engine.audit_in(tx, note)?;
            Ok::<_, AccountError>(quotas::status(tx, user, default)?)
        })?;
        Ok(quotas::public(status))
    }
}

/// Deletes account `id` in one transaction (crypto-shredding), recorded
/// as done by `actor` unless the handle's origin names one: its profile,
/// its wrapped data keys (so every copy of its records, backups included,
/// becomes unreadable), its records and files with their expiry entries, its tokens
/// and API keys, its shares, quota, end-to-end keys and second factor.
/// `check` runs first in the same transaction: what it refuses is not
/// deleted, and what it wrote (a denied audit entry) is kept.
pub(crate) fn delete_account(
    engine: &crate::handle::Engine,
    id: UserId,
    actor: Actor,
    mut check: impl FnMut(&mut dyn WriteTx) -> Result<Result<(), AccountError>, StorageError>,
) -> Result<(), AccountError> {
    let keyring = &engine.inner.keyring;
    let scope = KeyScope::User(id);
    let note = engine.note(actor, AuditAction::DeleteUser, AuditTarget::User(id));
    // Deleting makes room: it tries while a full disk pauses writes.
    engine.store().freeing_with(|tx| {
        if let Err(refused) = check(tx)? {
            return Ok(Err(refused));
        }
        accounts::remove(tx, id)?.ok_or(AccountError::NotFound)?;
        keyring.delete_scope(tx, scope)?;
        records::delete_scope(tx, scope)?;
        domain::files::delete_owner(tx, id)?;
        tokens::end_all_sessions(tx, id)?;
        domain::api_keys::revoke_all(tx, id)?;
        domain::shares::delete_owner(tx, id)?;
        quotas::forget(tx, id)?;
        domain::credits::forget(tx, id)?;
        domain::e2e_keys::forget(tx, id)?;
        domain::totp::forget(tx, id)?;
        domain::identities::forget(tx, id)?;
        domain::passkeys::forget(tx, id)?;
        engine.audit_in(tx, note)?;
        Ok::<_, AccountError>(Ok(()))
    })??;
    keyring.forget_scope(scope);
    engine.inner.listeners.notify(&Notice::UserDeleted(id));
    Ok(())
}

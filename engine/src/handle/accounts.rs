//! Accounts ([`Accounts`]): registration with validated usernames and
//! Argon2id password hashes, lookups, password checks, and the quota in
//! force for an account.

use secrecy::{ExposeSecret, SecretString};

pub use crate::crypto::password::PasswordCost;
pub use crate::domain::accounts::{
    PASSWORD_LEN, USERNAME_LEN, canonical_username, validate_password, validate_username,
};
use crate::domain::e2e_keys::RewrapError;
use crate::domain::{self, accounts, e2e_keys, identities, quotas, tokens, totp};
use crate::error::{AccountError, AuthError, StorageError};
use crate::handle::handle;
use crate::ids::{KeyScope, SessionId, UserId};
pub use crate::model::User;
pub use crate::model::access::{Quota, QuotaStatus, Usage};
use crate::model::audit::{Actor, AuditAction, AuditTarget};
pub use crate::model::e2e::RewrappedKey;
use crate::model::totp::SecondFactor;
use crate::model::{ExternalIdentity, Notice};
use crate::scopes::Role;
use crate::store::WriteTx;

handle! {
    /// Accounts: [`Engine::accounts`](crate::Engine::accounts).
    Accounts
}

impl Accounts<'_> {
    /// Creates an account with the `user` role. Hashes the password with
    /// Argon2id (tens of milliseconds of CPU: call it from a blocking
    /// thread).
    pub fn create(&self, username: &str, password: &SecretString) -> Result<User, AccountError> {
        self.create_with_role(username, password, Role::User)
    }

    /// [`Accounts::create`] with a chosen role (the first admin comes from
    /// the command line this way).
    pub fn create_with_role(
        &self,
        username: &str,
        password: &SecretString,
        role: Role,
    ) -> Result<User, AccountError> {
        let username = &accounts::canonical_username(username)?;
        accounts::validate_password(password)?;
        // A taken name is refused before the Argon2 work.
        if self.find(username)?.is_some() {
            return Err(AccountError::UsernameTaken);
        }
        let mut created = self.store(&[username], password, role)?;
        Ok(created
            .pop()
            .unwrap_or_else(|| unreachable!("one name stores one account")))
    }

    /// Creates many accounts that share one password, hashed once, in one
    /// transaction: for seeding trial data and bulk imports, not for
    /// people. Every name is validated first; a taken name creates none of
    /// them.
    pub fn create_many(
        &self,
        usernames: &[String],
        password: &SecretString,
    ) -> Result<Vec<User>, AccountError> {
        let canonical = usernames
            .iter()
            .map(|name| accounts::canonical_username(name))
            .collect::<Result<Vec<_>, _>>()?;
        accounts::validate_password(password)?;
        let names: Vec<&str> = canonical.iter().map(String::as_str).collect();
        self.store(&names, password, Role::User)
    }

    /// Hashes `password` once and stores an account for each of `names`
    /// (validated by the caller), each with its key scope and audit entry,
    /// in one transaction: a taken name creates none of them. A handle
    /// acting for an anonymous caller records a registration (the new
    /// account acting), any other a creation by its actor (default: the
    /// operator).
    fn store(
        &self,
        names: &[&str],
        password: &SecretString,
        role: Role,
    ) -> Result<Vec<User>, AccountError> {
        let engine = self.0;
        let phc = engine
            .inner
            .hasher
            .hash(password)
            .ok_or(AccountError::Hashing)?;
        let now = engine.now();
        let keyring = &engine.inner.keyring;
        let registers = engine.origin.actor == Some(Actor::Anonymous);
        engine.store().write_with(|tx| {
            names
                .iter()
                .map(|name| {
                    let user = accounts::create(tx, name, phc.clone(), role, now)?;
                    keyring.create_scope(tx, KeyScope::User(user.id))?;
                    let target = AuditTarget::User(user.id);
                    // An anonymous origin yields to the actor named here.
                    let note = if registers {
                        engine.note(Actor::User(user.id), AuditAction::Register, target)
                    } else {
                        engine.note(Actor::Operator, AuditAction::CreateUser, target)
                    };
                    engine.audit_in(tx, note)?;
                    let meter = engine.meter(note.actor, user.id);
                    domain::credits::grant(tx, meter, user.id)?;
                    Ok(user)
                })
                .collect()
        })
    }

    /// The id of the account named `username`, if there is one.
    pub fn find(&self, username: &str) -> Result<Option<UserId>, AccountError> {
        Ok(self
            .0
            .store()
            .read_with(|tx| accounts::find(tx, username))?)
    }

    /// The account with this id.
    pub fn get(&self, id: UserId) -> Result<User, AccountError> {
        self.0
            .store()
            .read_with(|tx| accounts::get(tx, id))?
            .ok_or(AccountError::NotFound)
    }

    /// Checks a username and password. Unknown user and wrong password give
    /// the same error after the same Argon2 work.
    pub fn verify_credentials(
        &self,
        username: &str,
        password: &SecretString,
    ) -> Result<UserId, AuthError> {
        match self.check_password(username, password)? {
            (Some(id), true) => Ok(id),
            _ => Err(AuthError::InvalidCredentials),
        }
    }

    /// The account named `username`, if any, and whether `password` is
    /// its password (the same Argon2 work either way).
    pub(crate) fn check_password(
        &self,
        username: &str,
        password: &SecretString,
    ) -> Result<(Option<UserId>, bool), AuthError> {
        let found = self
            .0
            .store()
            .read_with(|tx| accounts::credentials(tx, username))?;
        let hasher = &self.0.inner.hasher;
        Ok(match found {
            // An account without a password costs the same work.
            Some((id, phc)) if phc == crate::handle::sessions::NO_PASSWORD => {
                hasher.verify_dummy(password);
                (Some(id), false)
            }
            Some((id, phc)) => (Some(id), hasher.verify(password, &phc)),
            None => {
                hasher.verify_dummy(password);
                (None, false)
            }
        })
    }

    /// Changes `user`'s password after checking `current`, in one
    /// transaction: the new hash; every end-to-end key version re-wrapped
    /// by the client under the new password (`rewrapped` must name each
    /// version the account holds, or nothing changes); and every other
    /// login session ends (`keep`, the caller's, stays; API keys are not
    /// logins and stay). A wrong `current` is recorded as a denied
    /// `password.change`; a `new` that is the account's password already is
    /// refused. Two Argon2id runs: call it from a blocking thread.
    pub fn change_password(
        &self,
        user: UserId,
        keep: Option<SessionId>,
        current: &SecretString,
        new: &SecretString,
        rewrapped: &[RewrappedKey],
    ) -> Result<(), AccountError> {
        accounts::validate_password(new)?;
        let engine = self.0;
        let old = self.confirm(user, current, AuditAction::ChangePassword)?;
        // `current` is the account's password now: the same again would
        // change nothing.
        if current.expose_secret() == new.expose_secret() {
            return Err(AccountError::SamePassword);
        }
        let phc = engine.inner.hasher.hash(new).ok_or(AccountError::Hashing)?;
        let target = AuditTarget::User(user);
        let note = engine.note(Actor::User(user), AuditAction::ChangePassword, target);
        engine.store().write_with(|tx| {
            // A change that landed since the check makes `current` stale.
            if accounts::password_hash(tx, user)?.as_ref() != Some(&old) {
                return Err(AccountError::WrongPassword);
            }
            accounts::update(tx, user, |row| row.password_hash = phc.clone())?;
            e2e_keys::rewrap(tx, user, rewrapped).map_err(|e| match e {
                RewrapError::Versions { held } => AccountError::KeysNotRewrapped { held },
                RewrapError::Invalid(e) => AccountError::InvalidRewrappedKey(e),
                RewrapError::Storage(e) => AccountError::Storage(e),
            })?;
            tokens::end_logins_except(tx, user, keep)?;
            engine.audit_in(tx, note)?;
            Ok(())
        })?;
        // The sessions that ended take their streams with them.
        engine.inner.listeners.notify(&Notice::AccountChanged(user));
        Ok(())
    }

    /// Deletes `user`'s own account after checking `password` (and, with
    /// two-factor sign-in on, `factor`), exactly as
    /// an admin's deletion does (crypto-shredding, see
    /// [`Admin::delete_user`](crate::admin::Admin::delete_user)); recorded as
    /// the account's own `user.delete`. The last enabled admin cannot leave
    /// this way either. One Argon2id run: call it from a blocking thread.
    pub fn delete_self(
        &self,
        user: UserId,
        password: &SecretString,
        factor: Option<&SecondFactor>,
    ) -> Result<(), AccountError> {
        self.confirm(user, password, AuditAction::DeleteUser)?;
        let engine = self.0;
        let keyring = &engine.inner.keyring;
        let now = engine.now().as_unix_millis() / 1000;
        let note = engine.note(
            Actor::User(user),
            AuditAction::DeleteUser,
            AuditTarget::User(user),
        );
        // The second factor is checked in the deletion's own transaction:
        // an accepted code needs no writing down (its row goes with the
        // account), so a deletion still goes while a full disk pauses
        // writes; a refused one is recorded as denied, and nothing else.
        let check = |tx: &mut dyn WriteTx| {
            let Some(row) = totp::enforced(tx, user)? else {
                return Ok(Ok(()));
            };
            let refused = match factor {
                None => AccountError::SecondFactorRequired,
                Some(factor) => match totp::check(tx, keyring, user, &row, factor, now)? {
                    totp::Check::Accepted(_) => return Ok(Ok(())),
                    totp::Check::Refused => AccountError::InvalidSecondFactor,
                },
            };
            engine.audit_in(tx, note.denied())?;
            Ok(Err(refused))
        };
        crate::handle::admin::delete_account(engine, user, Actor::User(user), check)
    }

    /// Checks that `password` is `user`'s; returns the hash it matched. A
    /// wrong one is recorded as a denied `action` by the account.
    fn confirm(
        &self,
        user: UserId,
        password: &SecretString,
        action: AuditAction,
    ) -> Result<String, AccountError> {
        let engine = self.0;
        let phc = engine
            .store()
            .read_with(|tx| accounts::password_hash(tx, user))?
            .ok_or(AccountError::NotFound)?;
        if engine.inner.hasher.verify(password, &phc) {
            return Ok(phc);
        }
        let note = engine
            .note(Actor::User(user), action, AuditTarget::User(user))
            .denied();
        engine.store().write_with(|tx| engine.audit_in(tx, note))?;
        Err(AccountError::WrongPassword)
    }

    /// Links `identity` (from an ID token the caller verified) to `user`,
    /// so it signs in to this account; refused when another account holds
    /// it. Audited as `identity.link`.
    pub fn link_identity(
        &self,
        user: UserId,
        identity: &ExternalIdentity,
    ) -> Result<(), AccountError> {
        let engine = self.0;
        let now = engine.now();
        let note = engine.note(
            Actor::User(user),
            AuditAction::LinkIdentity,
            AuditTarget::User(user),
        );
        engine.store().write_with(|tx| {
            accounts::get(tx, user)?.ok_or(AccountError::NotFound)?;
            identities::link(tx, user, identity, now)?;
            engine.audit_in(tx, note)?;
            Ok(())
        })
    }

    /// The provider identities linked to `user` (issuer and subject).
    pub fn identities(&self, user: UserId) -> Result<Vec<ExternalIdentity>, StorageError> {
        self.0.store().read_with(|tx| identities::of(tx, user))
    }

    /// `user`'s quota in force and usage. Without a quota of their own
    /// and without engine defaults (see
    /// [`EngineBuilder::default_quota`](crate::EngineBuilder::default_quota))
    /// every limit reads as the largest value.
    pub fn quota(&self, user: UserId) -> Result<QuotaStatus, AccountError> {
        let default = self.0.inner.default_quota;
        let status = self.0.store().read_with(|tx| {
            accounts::get(tx, user)?.ok_or(AccountError::NotFound)?;
            Ok::<_, AccountError>(quotas::status(tx, user, default)?)
        })?;
        Ok(quotas::public(status))
    }

    /// The writes per minute `user` may make (their quota's, else the
    /// defaults'; the largest number without either): one lookup, for the
    /// write path, where [`Accounts::quota`]'s usage and account checks are
    /// not needed.
    pub fn writes_per_minute(&self, user: UserId) -> Result<u32, StorageError> {
        let default = self.0.inner.default_quota;
        let quota = self
            .0
            .store()
            .read_with(|tx| quotas::in_force(tx, user, default))?;
        Ok(quota.map_or(u32::MAX, |q| q.writes_per_minute))
    }
}

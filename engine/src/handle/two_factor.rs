//! Two-factor sign-in ([`TwoFactor`]): a TOTP authenticator (RFC 6238)
//! with ten single-use recovery codes. Set up with [`TwoFactor::begin`]
//! (nothing is enforced yet), turned on by [`TwoFactor::confirm`] with a
//! first code; from then on a login needs a code
//! ([`Sessions::login_with`](crate::sessions::Sessions::login_with)), and
//! each code works once. The secret is sealed under the account's data
//! key, like its records.

use secrecy::SecretString;

use crate::domain::{accounts, totp};
use crate::error::{StorageError, TotpError};
use crate::handle::handle;
use crate::ids::UserId;
use crate::model::audit::{Actor, AuditAction, AuditTarget};
pub use crate::model::totp::{SecondFactor, TotpSetup};

handle! {
    /// Two-factor sign-in: [`Engine::two_factor`](crate::Engine::two_factor).
    TwoFactor
}

impl TwoFactor<'_> {
    /// Starts a TOTP setup for `user`, replacing one not yet confirmed: the
    /// secret and `otpauth://` URI to show once. Nothing is enforced until
    /// [`TwoFactor::confirm`]. Refused while two-factor sign-in is on.
    pub fn begin(&self, user: UserId) -> Result<TotpSetup, TotpError> {
        let engine = self.0;
        let keyring = &engine.inner.keyring;
        let (secret, otpauth_uri) = engine.store().write_with(|tx| {
            let account = accounts::get(tx, user)?.ok_or(TotpError::NotFound)?;
            totp::begin(tx, keyring, user, &account.username)
        })?;
        Ok(TotpSetup {
            secret,
            otpauth_uri,
        })
    }

    /// Turns two-factor sign-in on with a first `code` from the app;
    /// returns ten recovery codes to show once (only their hashes are
    /// kept; each works once, in place of a code).
    pub fn confirm(
        &self,
        user: UserId,
        code: &SecretString,
    ) -> Result<Vec<SecretString>, TotpError> {
        let engine = self.0;
        let keyring = &engine.inner.keyring;
        let now = engine.now().as_unix_millis() / 1000;
        let factor = SecondFactor::Totp(code.clone());
        let note = engine.note(
            Actor::User(user),
            AuditAction::EnableTotp,
            AuditTarget::User(user),
        );
        engine.store().write_with(|tx| {
            let row = totp::get(tx, user)?
                .filter(|row| !row.confirmed)
                .ok_or(TotpError::NotPending)?;
            let totp::Check::Accepted(mut row) =
                totp::check(tx, keyring, user, &row, &factor, now)?
            else {
                return Err(TotpError::InvalidCode);
            };
            let (codes, hashes) = totp::recovery_codes();
            row.confirmed = true;
            row.recovery = hashes;
            totp::put(tx, user, &row)?;
            engine.audit_in(tx, note)?;
            Ok(codes)
        })
    }

    /// Turns two-factor sign-in off, with a current code or a recovery
    /// code (a wrong one is recorded as a denied `totp.disable`).
    pub fn disable(&self, user: UserId, factor: &SecondFactor) -> Result<(), TotpError> {
        let engine = self.0;
        let keyring = &engine.inner.keyring;
        let now = engine.now().as_unix_millis() / 1000;
        let target = AuditTarget::User(user);
        let note = engine.note(Actor::User(user), AuditAction::DisableTotp, target);
        let accepted = engine.store().write_with(|tx| {
            let row = totp::enforced(tx, user)?.ok_or(TotpError::NotEnabled)?;
            match totp::check(tx, keyring, user, &row, factor, now)? {
                totp::Check::Accepted(_) => {
                    totp::forget(tx, user)?;
                    engine.audit_in(tx, note)?;
                    Ok(true)
                }
                totp::Check::Refused => {
                    engine.audit_in(tx, note.denied())?;
                    Ok::<_, TotpError>(false)
                }
            }
        })?;
        if accepted {
            Ok(())
        } else {
            Err(TotpError::InvalidCode)
        }
    }

    /// Clears `user`'s second factor (an admin's help for a lost phone and
    /// lost recovery codes), recorded as `totp.clear`.
    pub fn clear(&self, user: UserId) -> Result<(), TotpError> {
        let engine = self.0;
        let note = engine.note(
            Actor::Operator,
            AuditAction::ClearTotp,
            AuditTarget::User(user),
        );
        engine.store().write_with(|tx| {
            accounts::get(tx, user)?.ok_or(TotpError::NotFound)?;
            if !totp::forget(tx, user)? {
                return Err(TotpError::NotEnabled);
            }
            engine.audit_in(tx, note)?;
            Ok(())
        })
    }

    /// Whether `user` has two-factor sign-in on.
    pub fn enabled(&self, user: UserId) -> Result<bool, StorageError> {
        self.0
            .store()
            .read_with(|tx| Ok(totp::enforced(tx, user)?.is_some()))
    }
}

//! [`Engine`] methods for API keys and quotas.

use std::time::Duration;

use crate::domain::api_keys;
use crate::domain::quotas;
use crate::error::{AccountError, ApiKeyError, StorageError};
use crate::handle::Engine;
use crate::ids::{SessionId, UserId};
use crate::model::Notice;
use crate::model::access::{API_KEY_MAX_TTL, ApiKeyInfo, NewApiKey, Quota, QuotaStatus};
use crate::model::audit::{Actor, AuditAction, AuditTarget};
use crate::scopes::Scopes;

impl Engine {
    /// Creates an API key for `owner` with `scopes` (at most what their
    /// role allows), expiring after `expires_in` (60 s to a year; `None`:
    /// never). The secret comes back once; only its hash is stored.
    ///
    /// ```
    /// # use strongroom_engine::{Engine, MasterKey, Role, Scope, SecretString};
    /// # fn main() -> Result<(), strongroom_engine::Error> {
    /// # let engine = Engine::builder(MasterKey::generate().0).open_in_memory()?;
    /// let svc = engine.create_user_with_role(
    ///     "billing", &SecretString::from("a long service password"), Role::Service)?;
    /// let scopes = [Scope::MessagesRead].into_iter().collect();
    /// let key = engine.create_api_key(svc.id, "reader", scopes, None)?;
    /// assert!(key.secret.expose_secret().starts_with("srk_"));
    /// let session = engine.authenticate(&key.secret)?;
    /// assert!(session.scopes.contains(Scope::MessagesRead));
    /// assert!(!session.scopes.contains(Scope::MessagesWrite));
    /// # Ok(())
    /// # }
    /// ```
    pub fn create_api_key(
        &self,
        owner: UserId,
        name: &str,
        scopes: Scopes,
        expires_in: Option<Duration>,
    ) -> Result<NewApiKey, ApiKeyError> {
        api_keys::validate_name(name)?;
        if expires_in.is_some_and(|d| d < Duration::from_secs(60) || d > API_KEY_MAX_TTL) {
            return Err(ApiKeyError::InvalidExpiry);
        }
        let now = self.now();
        let expires_at = expires_in.map(|d| now.saturating_add(d));
        self.store().write_with(|tx| {
            let key = api_keys::create(tx, owner, name, scopes, expires_at, now)?;
            let target = AuditTarget::ApiKey {
                owner,
                id: key.info.id,
            };
            self.audit(
                tx,
                self.note(Actor::User(owner), AuditAction::CreateKey, target),
            )?;
            Ok(key)
        })
    }

    /// `owner`'s unexpired API keys, oldest first (never their secrets).
    pub fn api_keys(&self, owner: UserId) -> Result<Vec<ApiKeyInfo>, StorageError> {
        let now = self.now();
        let mut keys = self
            .store()
            .read_with(|tx| api_keys::list(tx, owner, now))?;
        for key in &mut keys {
            let pending = self.inner.key_use.pending(owner, key.id);
            key.last_used = key.last_used.max(pending);
        }
        Ok(keys)
    }

    /// Revokes `owner`'s API key `id`; streams opened with it end.
    pub fn revoke_api_key(&self, owner: UserId, id: SessionId) -> Result<(), ApiKeyError> {
        let target = AuditTarget::ApiKey { owner, id };
        let note = self.note(Actor::User(owner), AuditAction::RevokeKey, target);
        let session = self.store().write_with(|tx| {
            let session = api_keys::revoke(tx, owner, id)?;
            self.audit(tx, note)?;
            Ok::<_, ApiKeyError>(session)
        })?;
        self.inner.listeners.notify(&Notice::SessionEnded(session));
        Ok(())
    }

    /// Writes when API keys were last used (kept in memory between calls;
    /// a server calls this now and then). Returns how many keys changed.
    pub fn flush_key_usage(&self) -> Result<usize, StorageError> {
        let key_use = &self.inner.key_use;
        self.store().write_with(|tx| key_use.flush(tx))
    }

    /// `user`'s quota in force and usage. Without a quota of their own
    /// and without engine defaults (see
    /// [`EngineBuilder::default_quota`](crate::EngineBuilder::default_quota))
    /// every limit reads as the largest value.
    pub fn quota(&self, user: UserId) -> Result<QuotaStatus, AccountError> {
        let default = self.inner.default_quota;
        let status = self.store().read_with(|tx| {
            crate::domain::accounts::get(tx, user)?.ok_or(AccountError::NotFound)?;
            Ok::<_, AccountError>(quotas::status(tx, user, default)?)
        })?;
        Ok(quotas::public(status))
    }

    /// The writes per minute `user` may make (their quota's, else the
    /// defaults'; the largest number without either): one lookup, for the
    /// write path, where [`Engine::quota`]'s usage and account checks are
    /// not needed.
    pub fn writes_per_minute(&self, user: UserId) -> Result<u32, StorageError> {
        let default = self.inner.default_quota;
        let quota = self
            .store()
            .read_with(|tx| quotas::in_force(tx, user, default))?;
        Ok(quota.map_or(u32::MAX, |q| q.writes_per_minute))
    }

    /// Sets `user`'s own quota, or with `None` returns them to the
    /// defaults. Usage above a lowered quota stays; new writes are refused
    /// until it drops below.
    pub fn set_quota(
        &self,
        user: UserId,
        quota: Option<Quota>,
    ) -> Result<QuotaStatus, AccountError> {
        let default = self.inner.default_quota;
        let note = self.note(
            Actor::Operator,
            AuditAction::SetQuota,
            AuditTarget::User(user),
        );
        let status = self.store().write_with(|tx| {
            crate::domain::accounts::get(tx, user)?.ok_or(AccountError::NotFound)?;
            quotas::set(tx, user, quota)?;
            self.audit(tx, note)?;
            Ok::<_, AccountError>(quotas::status(tx, user, default)?)
        })?;
        Ok(quotas::public(status))
    }
}

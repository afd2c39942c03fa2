//! Scoped API keys for services ([`ApiKeys`]): `srk_…` secrets with a
//! checksum, shown once, stored only as a hash, with scopes never wider
//! than the owner's role.

use std::time::Duration;

use crate::domain::api_keys;
use crate::error::{ApiKeyError, StorageError};
use crate::handle::handle;
use crate::ids::{SessionId, UserId};
use crate::model::Notice;
pub use crate::model::access::{
    API_KEY_MAX_TTL, API_KEY_NAME_LEN, API_KEY_PREFIX, ApiKeyInfo, MAX_API_KEYS, NewApiKey,
};
use crate::model::audit::{Actor, AuditAction, AuditTarget};
use crate::scopes::Scopes;

handle! {
    /// API keys: [`Engine::api_keys`](crate::Engine::api_keys).
    ApiKeys
}

impl ApiKeys<'_> {
    /// Creates an API key for `owner` with `scopes` (at most what their
    /// role allows), expiring after `expires_in` (60 s to a year; `None`:
    /// never). The secret comes back once; only its hash is stored.
    ///
    /// ```
    /// # use strongroom_engine::{Engine, MasterKey, Role, Scope, SecretString};
    /// # fn main() -> Result<(), strongroom_engine::Error> {
    /// # let engine = Engine::builder(MasterKey::generate().0).open_in_memory()?;
    /// let svc = engine.accounts().create_with_role(
    ///     "billing", &SecretString::from("a long service password"), Role::Service)?;
    /// let scopes = [Scope::MessagesRead].into_iter().collect();
    /// let key = engine.api_keys().create(svc.id, "reader", scopes, None)?;
    /// assert!(key.secret.expose_secret().starts_with("srk_"));
    /// let session = engine.sessions().authenticate(&key.secret)?;
    /// assert!(session.scopes.contains(Scope::MessagesRead));
    /// assert!(!session.scopes.contains(Scope::MessagesWrite));
    /// # Ok(())
    /// # }
    /// ```
    pub fn create(
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
        let engine = self.0;
        let now = engine.now();
        let expires_at = expires_in.map(|d| now.saturating_add(d));
        engine.store().write_with(|tx| {
            let key = api_keys::create(tx, owner, name, scopes, expires_at, now)?;
            let id = key.info.id;
            let target = AuditTarget::ApiKey { owner, id };
            let note = engine.note(Actor::User(owner), AuditAction::CreateKey, target);
            engine.audit_in(tx, note)?;
            Ok(key)
        })
    }

    /// `owner`'s unexpired API keys, oldest first (never their secrets).
    pub fn list(&self, owner: UserId) -> Result<Vec<ApiKeyInfo>, StorageError> {
        let engine = self.0;
        let now = engine.now();
        let mut keys = engine
            .store()
            .read_with(|tx| api_keys::list(tx, owner, now))?;
        for key in &mut keys {
            let pending = engine.inner.key_use.pending(owner, key.id);
            key.last_used = key.last_used.max(pending);
        }
        Ok(keys)
    }

    /// Revokes `owner`'s API key `id`; streams opened with it end.
    pub fn revoke(&self, owner: UserId, id: SessionId) -> Result<(), ApiKeyError> {
        let engine = self.0;
        let target = AuditTarget::ApiKey { owner, id };
        let note = engine.note(Actor::User(owner), AuditAction::RevokeKey, target);
        let session = engine.store().write_with(|tx| {
            let session = api_keys::revoke(tx, owner, id)?;
            engine.audit_in(tx, note)?;
            Ok::<_, ApiKeyError>(session)
        })?;
        engine
            .inner
            .listeners
            .notify(&Notice::SessionEnded(session));
        Ok(())
    }

    /// Writes when API keys were last used (kept in memory between calls;
    /// a server calls this now and then). Returns how many keys changed.
    pub fn flush_usage(&self) -> Result<usize, StorageError> {
        let key_use = &self.0.inner.key_use;
        self.0.store().write_with(|tx| key_use.flush(tx))
    }
}

//! API keys: long-lived bearer credentials with scopes, for services. A
//! key is a session of its own (its id is the session id): its secret's
//! hash is a `tokens` row of kind `ApiKey`, so authentication, revocation
//! and "end every session" treat it like any token; its name, scopes and
//! times live in `api_keys`.
//!
//! The key's text format is in `api_key_text`.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::clock::Timestamp;
use crate::crypto::api_key_text::generate;
use crate::domain::tokens;
use crate::error::{ApiKeyError, StorageError};
use crate::ids::{SessionId, UserId};
use crate::model::access::{API_KEY_NAME_LEN, ApiKeyInfo, MAX_API_KEYS, NewApiKey};
use crate::model::{BearerToken, Credential, Session};
use crate::schema::{API_KEYS, ApiKeyRow, TokenKind, USERS};
use crate::scopes::Scopes;
use crate::store::{ReadTx, WriteTx};

/// Stored expiry of a key that never expires.
const NEVER: Timestamp = Timestamp::from_unix_millis(u64::MAX);

/// Checks a key name: 1 to 64 characters, no control characters.
pub(crate) fn validate_name(name: &str) -> Result<(), ApiKeyError> {
    let chars = name.chars().count();
    if chars == 0 || chars > API_KEY_NAME_LEN || name.chars().any(char::is_control) {
        return Err(ApiKeyError::InvalidName);
    }
    Ok(())
}

/// Creates a key for `owner` (validated: name, scopes within the role,
/// expiry); the secret is returned once.
pub(crate) fn create(
    tx: &mut dyn WriteTx,
    owner: UserId,
    name: &str,
    scopes: Scopes,
    expires_at: Option<Timestamp>,
    now: Timestamp,
) -> Result<NewApiKey, ApiKeyError> {
    let account = USERS.get(tx, &owner)?.ok_or(ApiKeyError::UnknownUser)?;
    if scopes.is_empty() {
        return Err(ApiKeyError::NoScopes);
    }
    if let Some(scope) = scopes.beyond(account.role.scopes()) {
        return Err(ApiKeyError::ExceedsRole(scope));
    }
    let held = API_KEYS.keys(tx, range(owner), MAX_API_KEYS)?;
    if held.len() >= MAX_API_KEYS {
        return Err(ApiKeyError::TooMany { max: MAX_API_KEYS });
    }
    let id = SessionId::generate();
    let (secret, hash) = generate();
    let until = expires_at.unwrap_or(NEVER);
    let session = Session {
        user: owner,
        id,
        role: account.role,
        expires_at: until,
        scopes,
        credential: Credential::ApiKey,
    };
    tokens::store_hash(tx, session, TokenKind::ApiKey, hash, (until, until))?;
    let row = ApiKeyRow {
        name: name.to_owned(),
        scopes,
        created_at: now,
        expires_at: until,
        hash,
        last_used: Timestamp::from_unix_millis(0),
    };
    API_KEYS.insert(tx, &(owner, id), &row)?;
    Ok(NewApiKey {
        info: info(id, row),
        secret: BearerToken::new(secret),
    })
}

fn range(owner: UserId) -> std::ops::RangeInclusive<(UserId, SessionId)> {
    (owner, SessionId::from_u128(0))..=(owner, SessionId::from_u128(u128::MAX))
}

fn info(id: SessionId, row: ApiKeyRow) -> ApiKeyInfo {
    ApiKeyInfo {
        id,
        name: row.name,
        scopes: row.scopes,
        created_at: row.created_at,
        expires_at: (row.expires_at != NEVER).then_some(row.expires_at),
        last_used: (row.last_used.as_unix_millis() > 0).then_some(row.last_used),
    }
}

/// Every unexpired key of `owner`, oldest first.
pub(crate) fn list(
    tx: &dyn ReadTx,
    owner: UserId,
    now: Timestamp,
) -> Result<Vec<ApiKeyInfo>, StorageError> {
    let mut keys = Vec::new();
    API_KEYS.scan(
        tx,
        range(owner),
        crate::store::Order::Ascending,
        |(_, id), row| {
            if now < row.expires_at {
                keys.push(info(id, row));
            }
            Ok::<_, StorageError>(crate::store::Flow::Continue)
        },
    )?;
    // Ids are random: oldest first is by creation time (at most 100 keys).
    keys.sort_by_key(|k| (k.created_at, k.id));
    Ok(keys)
}

/// Revokes `owner`'s key `id`; the session it was.
pub(crate) fn revoke(
    tx: &mut dyn WriteTx,
    owner: UserId,
    id: SessionId,
) -> Result<Session, ApiKeyError> {
    let row = API_KEYS
        .get(tx, &(owner, id))?
        .ok_or(ApiKeyError::NotFound)?;
    let account = USERS.get(tx, &owner)?.ok_or(ApiKeyError::UnknownUser)?;
    tokens::end_session_of(tx, owner, id)?;
    // A key whose token row had already gone (expired, purged) leaves its
    // facts behind; they go now.
    API_KEYS.delete(tx, &(owner, id))?;
    Ok(Session {
        user: owner,
        id,
        role: account.role,
        expires_at: row.expires_at,
        scopes: row.scopes.intersect(account.role.scopes()),
        credential: Credential::ApiKey,
    })
}

/// Revokes every key of `owner` (a password reset): their tokens and
/// their facts.
pub(crate) fn revoke_all(tx: &mut dyn WriteTx, owner: UserId) -> Result<(), StorageError> {
    for (_, id) in API_KEYS.keys(tx, range(owner), usize::MAX)? {
        tokens::end_session_of(tx, owner, id)?;
        API_KEYS.delete(tx, &(owner, id))?;
    }
    Ok(())
}

/// When keys were last used, kept in memory and written now and then (a
/// write per request would make every read a durable commit).
#[derive(Default)]
pub(crate) struct KeyUse(Mutex<HashMap<(UserId, SessionId), Timestamp>>);

/// Uses closer together than this are not told apart.
const USE_RESOLUTION_MS: u64 = 60_000;

impl KeyUse {
    /// Notes that `session` (if it is a key's) was used at `now`.
    pub(crate) fn note(&self, session: &Session, now: Timestamp) {
        if session.credential == Credential::ApiKey {
            let mut uses = self.0.lock().unwrap_or_else(|e| e.into_inner());
            uses.insert((session.user, session.id), now);
        }
    }

    /// The unwritten use of a key, if any.
    pub(crate) fn pending(&self, owner: UserId, id: SessionId) -> Option<Timestamp> {
        let uses = self.0.lock().unwrap_or_else(|e| e.into_inner());
        uses.get(&(owner, id)).copied()
    }

    /// Writes the noted uses into the keys' rows (to the minute); keys
    /// revoked meanwhile are skipped.
    pub(crate) fn flush(&self, tx: &mut dyn WriteTx) -> Result<usize, StorageError> {
        let uses = std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()));
        let mut written = 0;
        for (key, at) in uses {
            let Some(mut row) = API_KEYS.get(tx, &key)? else {
                continue;
            };
            let at = Timestamp::from_unix_millis(
                at.as_unix_millis() / USE_RESOLUTION_MS * USE_RESOLUTION_MS,
            );
            if at > row.last_used {
                row.last_used = at;
                API_KEYS.insert(tx, &key, &row)?;
                written += 1;
            }
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(validate_name("ci deploy").is_ok());
        assert!(validate_name("").is_err());
        assert!(validate_name("a\nb").is_err());
        assert!(validate_name(&"x".repeat(65)).is_err());
    }
}

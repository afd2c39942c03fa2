//! Sessions of recently checked bearer tokens, so that a request need not
//! open a read transaction of its own just to learn who sent it.
//!
//! An answer is kept with the generation of the store's authentication
//! tables read before it was checked (see `store/watched.rs`) and the
//! token's expiry. It is used only while that generation stands and the
//! token has not expired: any write to those tables (a login, a refresh,
//! a logout, a revocation, a role change, disabling or deleting an
//! account, an API key's change) retires every kept answer at once. Only
//! successes are kept, keyed by the token's SHA-256, never by the token.
//!
//! A store that other processes write (several instances on one
//! PostgreSQL) is never cached: their writes do not move our generation.

use std::collections::HashMap;
use std::sync::RwLock;

use crate::clock::Timestamp;
use crate::model::Session;
use crate::schema::TokenHash;

/// Most answers kept; a full cache starts over (it refills on use).
const CAPACITY: usize = 16_384;

/// Checked sessions of one store's generation.
pub(crate) struct SessionCache {
    /// `None` when caching is off.
    kept: Option<RwLock<Kept>>,
}

#[derive(Default)]
struct Kept {
    generation: u64,
    sessions: HashMap<TokenHash, (Session, Timestamp)>,
}

impl SessionCache {
    /// A cache, or (`enabled` false) one that keeps nothing.
    pub(crate) fn new(enabled: bool) -> Self {
        Self {
            kept: enabled.then(|| RwLock::new(Kept::default())),
        }
    }

    /// The session kept for `hash` in `generation`, if its token is still
    /// live at `now`.
    pub(crate) fn get(&self, hash: &TokenHash, generation: u64, now: Timestamp) -> Option<Session> {
        let kept = self.kept.as_ref()?.read().ok()?;
        if kept.generation != generation {
            return None;
        }
        match kept.sessions.get(hash) {
            Some(&(session, token_expires)) if now < token_expires => Some(session),
            _ => None,
        }
    }

    /// Keeps `session` for `hash`, as checked in `generation` (read before
    /// the check), until its token expires at `token_expires`. An answer
    /// from an older generation than the kept ones is dropped; a newer one
    /// retires them.
    pub(crate) fn keep(
        &self,
        hash: TokenHash,
        generation: u64,
        session: Session,
        token_expires: Timestamp,
    ) {
        let Some(Ok(mut kept)) = self.kept.as_ref().map(RwLock::write) else {
            return;
        };
        if generation < kept.generation {
            return;
        }
        if generation > kept.generation || kept.sessions.len() >= CAPACITY {
            kept.sessions.clear();
            kept.generation = generation;
        }
        kept.sessions.insert(hash, (session, token_expires));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{SessionId, UserId};
    use crate::model::{Credential, Role};

    fn session(n: u8) -> Session {
        Session {
            user: UserId::from_u128(u128::from(n)),
            id: SessionId::from_u128(u128::from(n)),
            role: Role::User,
            expires_at: EXPIRES,
            scopes: Role::User.scopes(),
            credential: Credential::Login,
        }
    }

    fn kept(cache: &SessionCache) -> Option<usize> {
        let kept = cache.kept.as_ref()?;
        Some(kept.read().expect("not poisoned").sessions.len())
    }

    const T0: Timestamp = Timestamp::from_unix_millis(1_000);
    const EXPIRES: Timestamp = Timestamp::from_unix_millis(2_000);

    #[test]
    fn keeps_a_session_while_its_generation_stands_and_its_token_lives() {
        let cache = SessionCache::new(true);
        cache.keep([1; 32], 5, session(1), EXPIRES);
        assert_eq!(cache.get(&[1; 32], 5, T0), Some(session(1)));
        assert_eq!(cache.get(&[2; 32], 5, T0), None, "another token");
        assert_eq!(cache.get(&[1; 32], 6, T0), None, "a later generation");
        assert_eq!(cache.get(&[1; 32], 5, EXPIRES), None, "the token expired");
    }

    #[test]
    fn a_newer_generation_retires_older_answers_and_an_older_one_is_dropped() {
        let cache = SessionCache::new(true);
        cache.keep([1; 32], 5, session(1), EXPIRES);
        cache.keep([2; 32], 6, session(2), EXPIRES);
        assert_eq!(cache.get(&[2; 32], 6, T0), Some(session(2)));
        assert_eq!(kept(&cache), Some(1));
        cache.keep([3; 32], 5, session(3), EXPIRES);
        assert_eq!(cache.get(&[3; 32], 5, T0), None);
        assert_eq!(cache.get(&[3; 32], 6, T0), None);
    }

    #[test]
    fn a_full_cache_starts_over() {
        let cache = SessionCache::new(true);
        for n in 0..=CAPACITY {
            let mut hash = [0; 32];
            hash[..8].copy_from_slice(&(n as u64).to_le_bytes());
            cache.keep(hash, 1, session(1), EXPIRES);
        }
        let kept = kept(&cache);
        assert_eq!(kept, Some(1), "the answer that found it full is kept");
    }

    #[test]
    fn a_disabled_cache_keeps_nothing() {
        let cache = SessionCache::new(false);
        cache.keep([1; 32], 0, session(1), EXPIRES);
        assert_eq!(cache.get(&[1; 32], 0, T0), None);
        assert_eq!(kept(&cache), None);
    }
}

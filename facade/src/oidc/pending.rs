//! Sign-ins under way: what each `state` the provider will send back
//! stands for (its nonce, its PKCE verifier, the account to link), kept in
//! memory for 10 minutes and taken once. In a cluster the provider must
//! return the browser to the instance that sent it (sticky sessions), or
//! the callback answers 400 and the person starts again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use openidconnect::{Nonce, PkceCodeVerifier};
use strongroom_engine::UserId;

/// How long a sign-in may take at the provider.
const LIFETIME: Duration = Duration::from_secs(600);
/// Sign-ins kept at most; past it the oldest are dropped.
const MAX: usize = 10_000;

/// What the callback of one `state` needs.
pub(crate) struct Pending {
    pub(crate) nonce: Nonce,
    pub(crate) verifier: PkceCodeVerifier,
    /// The account to link the identity to, for a link.
    pub(crate) link: Option<UserId>,
}

/// The sign-ins under way.
#[derive(Default)]
pub(crate) struct PendingSignIns(Mutex<HashMap<String, (Instant, Pending)>>);

impl PendingSignIns {
    /// Keeps `pending` under `state` until its callback (or for 10
    /// minutes).
    pub(crate) fn remember(&self, state: String, pending: Pending) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, (at, _)| at.elapsed() < LIFETIME);
        if map.len() >= MAX
            && let Some(oldest) = map
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        map.insert(state, (Instant::now(), pending));
    }

    /// The sign-in of `state`, once, if it is still fresh.
    pub(crate) fn take(&self, state: &str) -> Option<Pending> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let (at, pending) = map.remove(state)?;
        (at.elapsed() < LIFETIME).then_some(pending)
    }
}

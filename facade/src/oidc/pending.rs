//! Sign-ins under way: what each `state` the provider will send back
//! stands for (its nonce, its PKCE verifier, the account to link), kept in
//! memory for 10 minutes and taken once. In a cluster the provider must
//! return the browser to the instance that sent it (sticky sessions), or
//! the callback answers 400 and the person starts again.

use std::time::Duration;

use openidconnect::{Nonce, PkceCodeVerifier};
use strongroom_engine::UserId;

use crate::http::ceremonies::Ceremonies;

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
pub(crate) type PendingSignIns = Ceremonies<Pending>;

/// Room for the sign-ins under way.
pub(crate) fn pending_sign_ins() -> PendingSignIns {
    Ceremonies::new(LIFETIME, MAX)
}

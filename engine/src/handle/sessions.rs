//! Sessions ([`Sessions`]): logging in, checking bearer tokens (access
//! tokens and API keys), refreshing with rotation and reuse detection,
//! logging out, and single-use stream tickets.

use secrecy::SecretString;

use crate::clock::Timestamp;
use crate::domain::tokens::{self, Refreshed};
pub use crate::domain::tokens::{ACCESS_TOKEN_TTL, REFRESH_TOKEN_TTL, TICKET_TTL};
use crate::domain::{accounts, identities, totp};
use crate::error::{AccountError, AuthError, StorageError};
use crate::handle::handle;
use crate::ids::{KeyScope, UserId};
use crate::model::Notice;
use crate::model::audit::{Actor, AuditAction, AuditTarget};
pub use crate::model::totp::SecondFactor;
pub use crate::model::{BearerToken, Credential, ExternalIdentity, Session, Ticket, TokenPair};
use crate::scopes::Role;

handle! {
    /// Sessions and bearer checks: [`Engine::sessions`](crate::Engine::sessions).
    Sessions
}

impl Sessions<'_> {
    /// Checks credentials (see
    /// [`Accounts::verify_credentials`](crate::accounts::Accounts::verify_credentials)) and starts a
    /// session. Runs Argon2: call it from a blocking thread.
    ///
    /// ```
    /// # use strongroom_engine::{AuthError, Engine, MasterKey, SecretString};
    /// # fn main() -> Result<(), strongroom_engine::Error> {
    /// # let engine = Engine::builder(MasterKey::generate().0).open_in_memory()?;
    /// let password = SecretString::from("correct horse battery");
    /// let alice = engine.accounts().create("alice", &password)?;
    /// let sessions = engine.sessions();
    /// let pair = sessions.login("alice", &password)?;
    /// assert_eq!(sessions.authenticate(&pair.access_token)?.user, alice.id);
    ///
    /// let next = sessions.refresh(&pair.refresh_token)?; // rotates
    /// assert!(matches!(
    ///     sessions.refresh(&pair.refresh_token), // reused: the session ends
    ///     Err(AuthError::RefreshTokenReused)
    /// ));
    /// assert!(sessions.authenticate(&next.access_token).is_err());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// Every attempt is audited, failed ones too (the name tried is not
    /// recorded: it may be a mistyped password). An account with
    /// two-factor sign-in on answers [`AuthError::SecondFactorRequired`]
    /// here: use [`Sessions::login_with`].
    pub fn login(&self, username: &str, password: &SecretString) -> Result<TokenPair, AuthError> {
        self.login_with(username, password, None)
    }

    /// [`Sessions::login`] with the second factor, for accounts with
    /// two-factor sign-in on (ignored for others). Only once the password
    /// is right does the answer say a second factor is missing
    /// ([`AuthError::SecondFactorRequired`]) or wrong
    /// ([`AuthError::InvalidSecondFactor`]); a TOTP code works once (a
    /// code of a step not after the last one accepted is refused), and so
    /// does each recovery code.
    pub fn login_with(
        &self,
        username: &str,
        password: &SecretString,
        factor: Option<&SecondFactor>,
    ) -> Result<TokenPair, AuthError> {
        let (user, valid) = self.0.accounts().check_password(username, password)?;
        let now = self.0.now();
        let denied = |target| {
            self.0
                .note(Actor::Anonymous, AuditAction::Login, target)
                .denied()
        };
        let (Some(user), true) = (user, valid) else {
            let target = user.map_or(AuditTarget::None, AuditTarget::User);
            self.0
                .store()
                .write_with(|tx| self.0.audit_in(tx, denied(target)))?;
            return Err(AuthError::InvalidCredentials);
        };
        self.0.store().write_with(|tx| {
            let Some(account) = accounts::get(tx, user)? else {
                self.0.audit_in(tx, denied(AuditTarget::None))?;
                return Ok(Err(AuthError::InvalidCredentials));
            };
            if account.disabled {
                self.0.audit_in(tx, denied(AuditTarget::User(user)))?;
                return Ok(Err(AuthError::Disabled));
            }
            if let Some(row) = totp::enforced(tx, user)? {
                let unix_secs = now.as_unix_millis() / 1000;
                let keyring = &self.0.inner.keyring;
                let checked = match factor {
                    None => Err(AuthError::SecondFactorRequired),
                    Some(factor) => {
                        match totp::check(tx, keyring, user, &row, factor, unix_secs)? {
                            totp::Check::Accepted(next) => Ok(next),
                            totp::Check::Refused => Err(AuthError::InvalidSecondFactor),
                        }
                    }
                };
                match checked {
                    // The step or recovery code is used up with the login.
                    Ok(next) => totp::put(tx, user, &next)?,
                    Err(refused) => {
                        self.0.audit_in(tx, denied(AuditTarget::User(user)))?;
                        return Ok(Err(refused));
                    }
                }
            }
            let pair = tokens::start_session(tx, user, account.role, now)?;
            let target = pair.session.audit_target();
            self.0.audit_in(
                tx,
                self.0.note(Actor::User(user), AuditAction::Login, target),
            )?;
            Ok::<_, StorageError>(Ok(pair))
        })?
    }

    /// Signs in the account linked to `identity` (an ID token the caller
    /// verified). With `create`, a first sign-in makes the account: its
    /// name is the verified email address when free, else `user-` and
    /// eight random hex digits; it has no password (it signs in through
    /// the provider, or a passkey). Without `create` (registration closed)
    /// an identity not linked beforehand is refused. A disabled account is
    /// refused. Audited as `login.oidc` (a refusal as denied).
    pub fn login_external(
        &self,
        identity: &ExternalIdentity,
        create: bool,
    ) -> Result<TokenPair, AuthError> {
        let engine = self.0;
        let now = engine.now();
        let keyring = &engine.inner.keyring;
        let note = |user: UserId| {
            engine.note(
                Actor::User(user),
                AuditAction::OidcLogin,
                AuditTarget::User(user),
            )
        };
        engine.store().write_with(|tx| {
            let user = match identities::find(tx, identity)? {
                Some(user) => user,
                None if !create => {
                    let refused = engine
                        .note(Actor::Anonymous, AuditAction::OidcLogin, AuditTarget::None)
                        .denied();
                    engine.audit_in(tx, refused)?;
                    return Ok(Err(AuthError::UnknownIdentity));
                }
                None => {
                    let name = free_name(tx, identity)?;
                    let created =
                        accounts::create(tx, &name, NO_PASSWORD.to_owned(), Role::User, now)
                            .map_err(|e| match e {
                                AccountError::Storage(e) => e,
                                other => StorageError::backend(other),
                            })?;
                    keyring.create_scope(tx, KeyScope::User(created.id))?;
                    engine.audit_in(
                        tx,
                        engine.note(
                            Actor::User(created.id),
                            AuditAction::Register,
                            AuditTarget::User(created.id),
                        ),
                    )?;
                    let meter = engine.meter(Actor::User(created.id), created.id);
                    crate::domain::credits::grant(tx, meter, created.id)?;
                    identities::link(tx, created.id, identity, now).map_err(|e| match e {
                        AccountError::Storage(e) => e,
                        other => StorageError::backend(other),
                    })?;
                    created.id
                }
            };
            let Some(account) = accounts::get(tx, user)? else {
                return Ok(Err(AuthError::UnknownIdentity));
            };
            if account.disabled {
                engine.audit_in(tx, note(user).denied())?;
                return Ok(Err(AuthError::Disabled));
            }
            let pair = tokens::start_session(tx, user, account.role, now)?;
            engine.audit_in(tx, note(user))?;
            Ok::<_, StorageError>(Ok(pair))
        })?
    }

    /// Signs in `user` with their passkey `id`, whose signature the caller
    /// verified (user verification included, so it stands for both
    /// factors): stores `credential`, the passkey's record with its new
    /// signature counter, and the time, and starts a session, audited as
    /// `login.passkey`. A removed passkey or an unknown account is
    /// refused as invalid credentials, a disabled account as disabled
    /// (audited as denied).
    pub fn login_passkey(
        &self,
        user: UserId,
        id: crate::ids::PasskeyId,
        credential: Option<&[u8]>,
    ) -> Result<TokenPair, AuthError> {
        let engine = self.0;
        let now = engine.now();
        let target = AuditTarget::Passkey { owner: user, id };
        let note = engine.note(Actor::User(user), AuditAction::PasskeyLogin, target);
        engine.store().write_with(|tx| {
            let Some(account) = accounts::get(tx, user)? else {
                return Ok(Err(AuthError::InvalidCredentials));
            };
            if account.disabled {
                engine.audit_in(tx, note.denied())?;
                return Ok(Err(AuthError::Disabled));
            }
            match crate::domain::passkeys::used(tx, user, id, credential, now) {
                Ok(()) => {}
                Err(crate::error::PasskeyError::Storage(e)) => return Err(e),
                Err(_) => {
                    engine.audit_in(tx, note.denied())?;
                    return Ok(Err(AuthError::InvalidCredentials));
                }
            }
            let pair = tokens::start_session(tx, user, account.role, now)?;
            engine.audit_in(tx, note)?;
            Ok::<_, StorageError>(Ok(pair))
        })?
    }

    /// The session of a valid, unexpired, unrevoked access token.
    ///
    /// Checked against the store once, then answered from memory until any
    /// write to the authentication tables or the token's expiry (see
    /// `session_cache.rs`).
    pub fn authenticate(&self, token: &BearerToken) -> Result<Session, AuthError> {
        let now = self.0.now();
        let hash = tokens::hash(token).ok_or(AuthError::InvalidToken)?;
        // Read before the check: a write committed meanwhile retires it.
        let generation = self.0.inner.store.generation();
        let cache = &self.0.inner.sessions;
        let session = match cache.get(&hash, generation, now) {
            Some(session) => session,
            None => {
                let (session, token_expires) = self
                    .0
                    .store()
                    .read_with(|tx| tokens::authenticate(tx, &hash, now))?;
                cache.keep(hash, generation, session, token_expires);
                session
            }
        };
        self.0.inner.key_use.note(&session, now);
        Ok(session)
    }

    /// Exchanges a refresh token for a new pair, retiring it. Presenting a
    /// retired refresh token revokes its whole session and fails with
    /// [`AuthError::RefreshTokenReused`].
    pub fn refresh(&self, token: &BearerToken) -> Result<TokenPair, AuthError> {
        let now = self.0.now();
        let refreshed = self.0.store().write_with(|tx| {
            let refreshed = tokens::refresh(tx, token, now)?;
            if let Refreshed::Reused(session) = &refreshed {
                let target = session.audit_target();
                let note =
                    self.0
                        .note(Actor::User(session.user), AuditAction::RefreshReuse, target);
                self.0.audit_in(tx, note.denied())?;
            }
            Ok::<_, AuthError>(refreshed)
        })?;
        match refreshed {
            Refreshed::Pair(pair) => Ok(pair),
            Refreshed::Reused(session) => {
                self.0
                    .inner
                    .listeners
                    .notify(&Notice::SessionEnded(session));
                Err(AuthError::RefreshTokenReused)
            }
        }
    }

    /// Revokes the whole session of `token` (access or refresh): every token
    /// of that login stops working. Returns the session that ended.
    pub fn revoke(&self, token: &BearerToken) -> Result<Session, AuthError> {
        let now = self.0.now();
        let session = self.0.store().write_with(|tx| {
            let session = tokens::revoke(tx, token, now)?;
            let target = session.audit_target();
            self.0.audit_in(
                tx,
                self.0.note(session.actor(), AuditAction::Logout, target),
            )?;
            Ok::<_, AuthError>(session)
        })?;
        self.0
            .inner
            .listeners
            .notify(&Notice::SessionEnded(session));
        Ok(session)
    }

    /// A single-use ticket for `session`, valid for
    /// [`TICKET_TTL`]: lets a client that cannot send
    /// headers (a browser's `EventSource`) open a stream. Revoking the
    /// session voids its unused tickets.
    pub fn issue_ticket(&self, session: Session) -> Result<Ticket, AuthError> {
        let now = self.0.now();
        Ok(self
            .0
            .store()
            .write_with(|tx| tokens::issue_ticket(tx, session, now))?)
    }

    /// Redeems a ticket from [`Sessions::issue_ticket`] once: the session it
    /// was issued for, and the ticket is gone.
    pub fn redeem_ticket(&self, ticket: &BearerToken) -> Result<Session, AuthError> {
        let now = self.0.now();
        self.0
            .store()
            .write_with(|tx| tokens::redeem_ticket(tx, ticket, now))
    }

    /// Deletes up to `limit` tokens that expired at or before `now`; returns
    /// how many went.
    pub fn purge_expired(&self, now: Timestamp, limit: usize) -> Result<usize, StorageError> {
        self.0
            .store()
            .freeing_with(|tx| tokens::purge_expired(tx, now, limit))
    }
}

/// The cached bearer check never answers differently from a fresh read of
/// the store, whatever happened to the accounts, sessions and keys since.
/// The password hash of an account made through a provider: no password
/// verifies against it.
pub(crate) const NO_PASSWORD: &str = "!external";

/// A name for a new account of `identity`: its verified email when that is
/// a valid, free username, else `user-` and eight random hex digits.
fn free_name(
    tx: &dyn crate::store::ReadTx,
    identity: &ExternalIdentity,
) -> Result<String, StorageError> {
    if let Some(email) = &identity.email
        && let Ok(name) = accounts::canonical_username(email)
        && accounts::find(tx, &name)?.is_none()
    {
        return Ok(name);
    }
    loop {
        let name = format!("user-{:08x}", rand::random::<u32>());
        if accounts::find(tx, &name)?.is_none() {
            return Ok(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use proptest::prelude::*;
    use proptest::sample::Index;

    use super::*;
    use crate::clock::ManualClock;
    use crate::crypto::keys::MasterKey;
    use crate::handle::Engine;
    use crate::ids::{SessionId, UserId};
    use crate::scopes::{Role, Scope};

    #[derive(Debug, Clone)]
    enum Op {
        Login { user: usize },
        Refresh { pick: Index },
        Logout { pick: Index },
        EndSessions { user: usize },
        SetRole { user: usize, role: Index },
        SetDisabled { user: usize, disabled: bool },
        CreateKey { user: usize, read_only: bool },
        RevokeKey { pick: Index },
        DeleteUser { user: usize },
        Advance { secs: u64 },
        Purge,
        Check { pick: Index },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0..2usize).prop_map(|user| Op::Login { user }),
            2 => any::<Index>().prop_map(|pick| Op::Refresh { pick }),
            1 => any::<Index>().prop_map(|pick| Op::Logout { pick }),
            1 => (0..2usize).prop_map(|user| Op::EndSessions { user }),
            1 => (0..2usize, any::<Index>()).prop_map(|(user, role)| Op::SetRole { user, role }),
            1 => (0..2usize, any::<bool>())
                .prop_map(|(user, disabled)| Op::SetDisabled { user, disabled }),
            2 => (0..2usize, any::<bool>())
                .prop_map(|(user, read_only)| Op::CreateKey { user, read_only }),
            1 => any::<Index>().prop_map(|pick| Op::RevokeKey { pick }),
            1 => (0..2usize).prop_map(|user| Op::DeleteUser { user }),
            // Up to 20 minutes: access tokens live 15, keys made here 1 to 2.
            2 => (0..1200u64).prop_map(|secs| Op::Advance { secs }),
            1 => Just(Op::Purge),
            3 => any::<Index>().prop_map(|pick| Op::Check { pick }),
        ]
    }

    /// The engine under test, and every token and key it handed out.
    struct World {
        clock: ManualClock,
        engine: Engine,
        users: Vec<UserId>,
        refresh: Vec<BearerToken>,
        tokens: Vec<BearerToken>,
        keys: Vec<(UserId, SessionId)>,
    }

    const PASSWORD: &str = "correct horse battery";

    impl World {
        fn new() -> Self {
            let clock = ManualClock::new(Timestamp::from_unix_millis(1_700_000_000_000));
            let engine = Engine::builder(MasterKey::generate().0)
                .clock(Arc::new(clock.clone()))
                .open_in_memory()
                .expect("engine");
            let password = SecretString::from(PASSWORD);
            let users = ["alice", "bobby"]
                .iter()
                .map(|name| engine.accounts().create(name, &password).expect("user").id)
                .collect();
            Self {
                clock,
                engine,
                users,
                refresh: Vec::new(),
                tokens: Vec::new(),
                keys: Vec::new(),
            }
        }

        /// Applies `op`; what it answers does not matter here (many fail
        /// on purpose: a deleted account, a spent refresh token).
        fn apply(&mut self, op: Op) {
            let e = &self.engine;
            match op {
                Op::Login { user } => {
                    let name = ["alice", "bobby"][user];
                    if let Ok(pair) = e.sessions().login(name, &SecretString::from(PASSWORD)) {
                        self.tokens.push(pair.access_token);
                        self.refresh.push(pair.refresh_token);
                    }
                }
                Op::Refresh { pick } if !self.refresh.is_empty() => {
                    if let Ok(pair) = e.sessions().refresh(pick.get(&self.refresh)) {
                        self.tokens.push(pair.access_token);
                        self.refresh.push(pair.refresh_token);
                    }
                }
                Op::Logout { pick } if !self.tokens.is_empty() => {
                    let _ = e.sessions().revoke(pick.get(&self.tokens));
                }
                Op::EndSessions { user } => drop(e.admin().end_sessions(self.users[user])),
                Op::SetRole { user, role } => {
                    drop(e.admin().set_role(self.users[user], *role.get(&Role::ALL)));
                }
                Op::SetDisabled { user, disabled } => {
                    drop(e.admin().set_disabled(self.users[user], disabled));
                }
                Op::CreateKey { user, read_only } => {
                    let scopes = if read_only {
                        [Scope::MessagesRead].into_iter().collect()
                    } else {
                        [Scope::MessagesRead, Scope::MessagesWrite, Scope::Admin]
                            .into_iter()
                            .collect()
                    };
                    let expires = Duration::from_secs(if read_only { 60 } else { 120 });
                    let owner = self.users[user];
                    if let Ok(key) = e.api_keys().create(owner, "k", scopes, Some(expires)) {
                        self.tokens.push(key.secret);
                        self.keys.push((owner, key.info.id));
                    }
                }
                Op::RevokeKey { pick } if !self.keys.is_empty() => {
                    let (owner, id) = *pick.get(&self.keys);
                    drop(e.api_keys().revoke(owner, id));
                }
                Op::DeleteUser { user } => drop(e.admin().delete_user(self.users[user])),
                Op::Advance { secs } => self.clock.advance(Duration::from_secs(secs)),
                Op::Purge => drop(e.sessions().purge_expired(e.now(), 100)),
                Op::Check { pick } if !self.tokens.is_empty() => {
                    let _ = e.sessions().authenticate(pick.get(&self.tokens));
                }
                Op::Refresh { .. }
                | Op::Logout { .. }
                | Op::RevokeKey { .. }
                | Op::Check { .. } => {}
            }
        }

        /// The engine's answer for `token`, twice (the second from the
        /// cache if the first filled it), and the store's.
        fn answers(&self, token: &BearerToken) -> [Result<Session, String>; 3] {
            let e = &self.engine;
            let checked = || {
                e.sessions()
                    .authenticate(token)
                    .map_err(|err| err.to_string())
            };
            let now = e.now();
            let fresh = tokens::hash(token)
                .ok_or(AuthError::InvalidToken)
                .and_then(|hash| {
                    e.store()
                        .read_with(|tx| tokens::authenticate(tx, &hash, now))
                })
                .map(|(session, _)| session)
                .map_err(|err| err.to_string());
            [checked(), checked(), fresh]
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn the_cached_check_answers_as_the_store_does(
            ops in proptest::collection::vec(op(), 1..40),
        ) {
            let mut world = World::new();
            for op in ops {
                world.apply(op.clone());
                for (n, token) in world.tokens.iter().enumerate() {
                    let [first, second, fresh] = world.answers(token);
                    prop_assert_eq!(&first, &fresh, "token {} after {:?}", n, op);
                    prop_assert_eq!(&second, &fresh, "token {} again after {:?}", n, op);
                }
            }
        }
    }
}

//! Bearer tokens: opaque 256-bit values (base64url), stored only as their
//! SHA-256. Access tokens authenticate; refresh tokens rotate, and
//! presenting a rotated one revokes its whole session (token family).

use std::fmt;
use std::ops::RangeInclusive;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use redb::{ReadableDatabase, ReadableTable, WriteTransaction};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::clock::Timestamp;
use crate::engine::Engine;
use crate::error::{AuthError, StorageError};
use crate::events::Notice;
use crate::ids::{SessionId, UserId};
use crate::tables::{SESSIONS, TOKEN_EXPIRY, TOKENS, TokenHash, TokenRow};

/// Default lifetime of an access token: 15 minutes.
pub const ACCESS_TOKEN_TTL: Duration = Duration::from_secs(15 * 60);
/// Default lifetime of a refresh token: 7 days.
pub const REFRESH_TOKEN_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

const TOKEN_BYTES: usize = 32;
/// Length of a token's text: base64url of 32 bytes, unpadded.
const TOKEN_TEXT_LEN: usize = 43;

/// Lifetime of a stream ticket: 30 seconds.
pub const TICKET_TTL: Duration = Duration::from_secs(30);

const ACCESS: u8 = 1;
const REFRESH: u8 = 2;
const TICKET: u8 = 3;
const ACTIVE: u8 = 0;
const ROTATED: u8 = 1;

/// A bearer token as the client holds it. `Debug` never shows it.
pub struct BearerToken(SecretString);

impl BearerToken {
    /// Wraps token text received from a client.
    pub fn new(text: SecretString) -> Self {
        Self(text)
    }

    /// The token text, to hand to its owner and no one else.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    /// SHA-256 of the token's bytes; `None` if it is not a well-formed token.
    fn hash(&self) -> Option<TokenHash> {
        let text = self.0.expose_secret();
        if text.len() != TOKEN_TEXT_LEN {
            return None;
        }
        let mut bytes = Zeroizing::new([0u8; TOKEN_BYTES + 2]);
        let len = URL_SAFE_NO_PAD
            .decode_slice(text.as_bytes(), bytes.as_mut_slice())
            .ok()?;
        (len == TOKEN_BYTES).then(|| Sha256::digest(&bytes[..TOKEN_BYTES]).into())
    }

    fn generate() -> (Self, TokenHash) {
        let bytes = SecretBox::init_with_mut(|b: &mut [u8; TOKEN_BYTES]| rand::fill(b));
        let hash = Sha256::digest(bytes.expose_secret()).into();
        let text = URL_SAFE_NO_PAD.encode(bytes.expose_secret());
        (Self(SecretString::from(text)), hash)
    }
}

impl From<String> for BearerToken {
    fn from(text: String) -> Self {
        Self(SecretString::from(text))
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken([REDACTED])")
    }
}

/// Text of a fresh random token (also used as an unguessable password).
pub(crate) fn random_token_text() -> String {
    BearerToken::generate().0.0.expose_secret().to_owned()
}

/// Who a valid access token speaks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Session {
    /// The authenticated user.
    pub user: UserId,
    /// The login session the token belongs to.
    pub id: SessionId,
}

fn session(user: u128, family: u128) -> Session {
    Session {
        user: UserId::from_u128(user),
        id: SessionId::from_u128(family),
    }
}

/// A fresh access and refresh token.
#[derive(Debug)]
pub struct TokenPair {
    /// The session both tokens belong to.
    pub session: Session,
    /// Authenticates requests until `access_expires_in` has passed.
    pub access_token: BearerToken,
    /// Obtains a new pair once, until `refresh_expires_in` has passed.
    pub refresh_token: BearerToken,
    /// Lifetime of the access token.
    pub access_expires_in: Duration,
    /// Lifetime of the refresh token.
    pub refresh_expires_in: Duration,
}

impl Engine {
    /// Checks credentials (see [`Engine::verify_credentials`]) and starts a
    /// session. Runs Argon2: call it from a blocking thread.
    pub fn login(&self, username: &str, password: &SecretString) -> Result<TokenPair, AuthError> {
        let user = self.verify_credentials(username, password)?;
        let txn = self.inner.db.begin_write()?;
        let session = Session {
            user,
            id: SessionId::generate(self.inner.clock.now()),
        };
        let pair = self.issue_pair(&txn, session)?;
        txn.commit()?;
        Ok(pair)
    }

    /// The session of a valid, unexpired, unrevoked access token.
    pub fn authenticate(&self, token: &BearerToken) -> Result<Session, AuthError> {
        let hash = token.hash().ok_or(AuthError::InvalidToken)?;
        let now = self.inner.clock.now().as_unix_millis();
        let txn = self.inner.db.begin_read()?;
        let tokens = txn.open_table(TOKENS)?;
        let row = tokens.get(hash)?.ok_or(AuthError::InvalidToken)?;
        let (user, kind, expires, family, state) = row.value();
        if kind != ACCESS || state != ACTIVE || now >= expires {
            return Err(AuthError::InvalidToken);
        }
        Ok(session(user, family))
    }

    /// Exchanges a refresh token for a new pair, retiring it. Presenting a
    /// retired refresh token revokes its whole session and fails with
    /// [`AuthError::RefreshTokenReused`].
    pub fn refresh(&self, token: &BearerToken) -> Result<TokenPair, AuthError> {
        let txn = self.inner.db.begin_write()?;
        let (hash, (user, kind, expires, family, state)) = self.live_token(&txn, token)?;
        if kind != REFRESH {
            return Err(AuthError::InvalidToken);
        }
        if state == ROTATED {
            delete_sessions(&txn, user, family..=family)?;
            txn.commit()?;
            self.notify(&Notice::SessionEnded(session(user, family)));
            return Err(AuthError::RefreshTokenReused);
        }
        txn.open_table(TOKENS)?
            .insert(hash, (user, kind, expires, family, ROTATED))?;
        let session = session(user, family);
        let pair = self.issue_pair(&txn, session)?;
        txn.commit()?;
        Ok(pair)
    }

    /// Revokes the whole session of `token` (access or refresh): every token
    /// of that login stops working. Returns the session that ended.
    pub fn revoke(&self, token: &BearerToken) -> Result<Session, AuthError> {
        let txn = self.inner.db.begin_write()?;
        let (_, (user, kind, _, family, state)) = self.live_token(&txn, token)?;
        if kind == REFRESH && state == ROTATED {
            return Err(AuthError::InvalidToken);
        }
        delete_sessions(&txn, user, family..=family)?;
        txn.commit()?;
        let session = session(user, family);
        self.notify(&Notice::SessionEnded(session));
        Ok(session)
    }

    /// A single-use ticket for `session`, valid for [`TICKET_TTL`]: lets a
    /// client that cannot send headers (a browser's `EventSource`) open a
    /// stream. Revoking the session voids its unused tickets.
    pub fn issue_ticket(&self, session: Session) -> Result<(BearerToken, Duration), AuthError> {
        let expires = self
            .inner
            .clock
            .now()
            .saturating_add(TICKET_TTL)
            .as_unix_millis();
        let (ticket, hash) = BearerToken::generate();
        let (user, family) = (session.user.as_u128(), session.id.as_u128());
        let txn = self.inner.db.begin_write()?;
        txn.open_table(TOKENS)?
            .insert(hash, (user, TICKET, expires, family, ACTIVE))?;
        txn.open_table(TOKEN_EXPIRY)?.insert((expires, hash), ())?;
        txn.open_table(SESSIONS)?.insert((user, family, hash), ())?;
        txn.commit()?;
        Ok((ticket, TICKET_TTL))
    }

    /// Redeems a ticket from [`Engine::issue_ticket`] once: the session it
    /// was issued for, and the ticket is gone.
    pub fn redeem_ticket(&self, ticket: &BearerToken) -> Result<Session, AuthError> {
        let hash = ticket.hash().ok_or(AuthError::InvalidToken)?;
        let now = self.inner.clock.now().as_unix_millis();
        let txn = self.inner.db.begin_write()?;
        let row = txn.open_table(TOKENS)?.remove(hash)?.map(|r| r.value());
        let Some((user, kind, expires, family, _)) = row else {
            return Err(AuthError::InvalidToken);
        };
        if kind != TICKET || now >= expires {
            return Err(AuthError::InvalidToken);
        }
        txn.open_table(TOKEN_EXPIRY)?.remove((expires, hash))?;
        txn.open_table(SESSIONS)?.remove((user, family, hash))?;
        txn.commit()?;
        Ok(session(user, family))
    }

    /// Deletes up to `limit` tokens that expired at or before `now`; returns
    /// how many went.
    pub fn purge_expired_tokens(&self, now: Timestamp, limit: usize) -> Result<usize, AuthError> {
        let txn = self.inner.db.begin_write()?;
        let purged = {
            let mut expiry = txn.open_table(TOKEN_EXPIRY)?;
            let mut tokens = txn.open_table(TOKENS)?;
            let mut sessions = txn.open_table(SESSIONS)?;
            let mut due = Vec::new();
            for entry in expiry
                .range(..=(now.as_unix_millis(), [0xff; 32]))?
                .take(limit)
            {
                due.push(entry?.0.value());
            }
            for &(expires, hash) in &due {
                expiry.remove((expires, hash))?;
                if let Some(row) = tokens.remove(hash)? {
                    let (user, _, _, family, _) = row.value();
                    sessions.remove((user, family, hash))?;
                }
            }
            due.len()
        };
        txn.commit()?;
        Ok(purged)
    }

    /// The stored row of `token` if it exists and has not expired.
    fn live_token(
        &self,
        txn: &WriteTransaction,
        token: &BearerToken,
    ) -> Result<(TokenHash, TokenRow), AuthError> {
        let hash = token.hash().ok_or(AuthError::InvalidToken)?;
        let now = self.inner.clock.now().as_unix_millis();
        let row = txn.open_table(TOKENS)?.get(hash)?.map(|r| r.value());
        match row {
            Some(row) if now < row.2 => Ok((hash, row)),
            _ => Err(AuthError::InvalidToken),
        }
    }

    fn issue_pair(
        &self,
        txn: &WriteTransaction,
        session: Session,
    ) -> Result<TokenPair, StorageError> {
        let now = self.inner.clock.now();
        let (access_token, access_hash) = BearerToken::generate();
        let (refresh_token, refresh_hash) = BearerToken::generate();
        let access_ttl = ACCESS_TOKEN_TTL;
        let refresh_ttl = REFRESH_TOKEN_TTL;
        let mut tokens = txn.open_table(TOKENS)?;
        let mut expiry = txn.open_table(TOKEN_EXPIRY)?;
        let mut sessions = txn.open_table(SESSIONS)?;
        let (user, family) = (session.user.as_u128(), session.id.as_u128());
        for (hash, kind, ttl) in [
            (access_hash, ACCESS, access_ttl),
            (refresh_hash, REFRESH, refresh_ttl),
        ] {
            let expires = now.saturating_add(ttl).as_unix_millis();
            tokens.insert(hash, (user, kind, expires, family, ACTIVE))?;
            expiry.insert((expires, hash), ())?;
            sessions.insert((user, family, hash), ())?;
        }
        Ok(TokenPair {
            session,
            access_token,
            refresh_token,
            access_expires_in: access_ttl,
            refresh_expires_in: refresh_ttl,
        })
    }
}

/// Deletes every token of `user` whose session id is in `families`.
pub(crate) fn delete_sessions(
    txn: &WriteTransaction,
    user: u128,
    families: RangeInclusive<u128>,
) -> Result<(), StorageError> {
    let mut sessions = txn.open_table(SESSIONS)?;
    let mut tokens = txn.open_table(TOKENS)?;
    let mut expiry = txn.open_table(TOKEN_EXPIRY)?;
    let (first, last) = families.into_inner();
    let mut doomed = Vec::new();
    for entry in sessions.range((user, first, [0; 32])..=(user, last, [0xff; 32]))? {
        doomed.push(entry?.0.value());
    }
    for key in doomed {
        sessions.remove(key)?;
        if let Some(row) = tokens.remove(key.2)? {
            expiry.remove((row.value().2, key.2))?;
        }
    }
    Ok(())
}

//! Bearer tokens: opaque 256-bit values (base64url), stored only as their
//! SHA-256. Access tokens authenticate; refresh tokens rotate, and
//! presenting a rotated one revokes its whole session (token family);
//! tickets open one stream, once.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::clock::Timestamp;
use crate::crypto::api_key_text;
use crate::crypto::api_key_text::API_KEY_PREFIX;
use crate::error::{AuthError, StorageError};
use crate::ids::{SessionId, UserId};
use crate::model::{BearerToken, Credential, Role, Session, Ticket, TokenPair};
use crate::schema::{
    API_KEYS, SESSIONS, TOKEN_EXPIRY, TOKENS, TokenHash, TokenKind, TokenRow, TokenState, USERS,
};
use crate::store::{ReadTx, TableName, WriteTx};

/// Lifetime of an access token: 15 minutes.
pub const ACCESS_TOKEN_TTL: Duration = Duration::from_secs(15 * 60);
/// Lifetime of a refresh token: 7 days.
pub const REFRESH_TOKEN_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// Lifetime of a stream ticket: 30 seconds.
pub const TICKET_TTL: Duration = Duration::from_secs(30);

const TOKEN_BYTES: usize = 32;
/// Length of a token's text: base64url of 32 bytes, unpadded.
const TOKEN_TEXT_LEN: usize = 43;

/// SHA-256 of the token's bytes; `None` if it is not a well-formed token
/// (or API key: see [`api_key_text::secret_of`]).
pub(crate) fn hash(token: &BearerToken) -> Option<TokenHash> {
    let text = token.expose_secret();
    if text.starts_with(API_KEY_PREFIX) {
        let secret = api_key_text::secret_of(text)?;
        return Some(Sha256::digest(secret.as_slice()).into());
    }
    if text.len() != TOKEN_TEXT_LEN {
        return None;
    }
    let mut bytes = Zeroizing::new([0u8; TOKEN_BYTES + 2]);
    let len = URL_SAFE_NO_PAD
        .decode_slice(text.as_bytes(), bytes.as_mut_slice())
        .ok()?;
    (len == TOKEN_BYTES).then(|| Sha256::digest(&bytes[..TOKEN_BYTES]).into())
}

/// A fresh random token and its hash.
fn generate() -> (BearerToken, TokenHash) {
    let bytes = SecretBox::init_with_mut(|b: &mut [u8; TOKEN_BYTES]| rand::fill(b));
    let hash = Sha256::digest(bytes.expose_secret()).into();
    let text = Zeroizing::new(URL_SAFE_NO_PAD.encode(bytes.expose_secret()));
    (BearerToken::new(SecretString::from(text.as_str())), hash)
}

/// The session a token speaks for, with its account's role as it is now;
/// a disabled (or deleted) account's tokens speak for nobody.
fn session_of(tx: &dyn ReadTx, row: &TokenRow) -> Result<Session, AuthError> {
    match stored_session(tx, row)? {
        (_, true) => Err(AuthError::Disabled),
        (session, false) => Ok(session),
    }
}

/// The session of a token's row, and whether its account is disabled. A
/// session whose id names an API key of the owner (the key itself, or a
/// ticket it issued) holds the key's scopes within the owner's role.
fn stored_session(tx: &dyn ReadTx, row: &TokenRow) -> Result<(Session, bool), AuthError> {
    let account = USERS.get(tx, &row.owner)?.ok_or(AuthError::InvalidToken)?;
    let role_scopes = account.role.scopes();
    let key = match row.kind {
        TokenKind::ApiKey | TokenKind::Ticket => API_KEYS.get(tx, &(row.owner, row.session))?,
        TokenKind::Access | TokenKind::Refresh => None,
    };
    let (scopes, credential) = match key {
        Some(key) => (key.scopes.intersect(role_scopes), Credential::ApiKey),
        None if row.kind == TokenKind::ApiKey => return Err(AuthError::InvalidToken),
        None => (role_scopes, Credential::Login),
    };
    let session = Session {
        user: row.owner,
        id: row.session,
        role: account.role,
        expires_at: row.grants_until,
        scopes,
        credential,
    };
    Ok((session, account.disabled))
}

/// Stores a fresh token of `kind` for `session` with its index entries;
/// what it grants ends at `grants_until`.
fn store(
    tx: &mut dyn WriteTx,
    session: Session,
    kind: TokenKind,
    expires_at: Timestamp,
    grants_until: Timestamp,
) -> Result<BearerToken, StorageError> {
    let (token, hash) = generate();
    store_hash(tx, session, kind, hash, (expires_at, grants_until))?;
    Ok(token)
}

/// Stores the token whose hash is `hash`, with its index entries; `times`
/// are its expiry and the end of what it grants.
pub(crate) fn store_hash(
    tx: &mut dyn WriteTx,
    session: Session,
    kind: TokenKind,
    hash: TokenHash,
    (expires_at, grants_until): (Timestamp, Timestamp),
) -> Result<(), StorageError> {
    let row = TokenRow {
        owner: session.user,
        kind,
        expires_at,
        session: session.id,
        state: TokenState::Active,
        grants_until,
    };
    TOKENS.insert(tx, &hash, &row)?;
    TOKEN_EXPIRY.insert(tx, &(expires_at, hash), &())?;
    SESSIONS.insert(tx, &(session.user, session.id, hash), &())?;
    Ok(())
}

/// Starts a session for `user`: a fresh access and refresh token.
pub(crate) fn start_session(
    tx: &mut dyn WriteTx,
    user: UserId,
    role: Role,
    now: Timestamp,
) -> Result<TokenPair, StorageError> {
    let session = Session {
        user,
        role,
        id: SessionId::generate(),
        expires_at: now,
        scopes: role.scopes(),
        credential: Credential::Login,
    };
    issue_pair(tx, session, now)
}

fn issue_pair(
    tx: &mut dyn WriteTx,
    session: Session,
    now: Timestamp,
) -> Result<TokenPair, StorageError> {
    let access_expires = now.saturating_add(ACCESS_TOKEN_TTL);
    let refresh_expires = now.saturating_add(REFRESH_TOKEN_TTL);
    let session = Session {
        expires_at: access_expires,
        ..session
    };
    let access_token = store(
        tx,
        session,
        TokenKind::Access,
        access_expires,
        access_expires,
    )?;
    let refresh_token = store(
        tx,
        session,
        TokenKind::Refresh,
        refresh_expires,
        refresh_expires,
    )?;
    Ok(TokenPair {
        session,
        access_token,
        refresh_token,
        access_expires_in: ACCESS_TOKEN_TTL,
        refresh_expires_in: REFRESH_TOKEN_TTL,
    })
}

/// The stored row of `token` if it exists and has not expired at `now`.
fn live(
    tx: &(impl ReadTx + ?Sized),
    token: &BearerToken,
    now: Timestamp,
) -> Result<(TokenHash, TokenRow), AuthError> {
    let hash = hash(token).ok_or(AuthError::InvalidToken)?;
    Ok((hash, live_row(tx, &hash, now)?))
}

/// The stored row of the token whose hash is `hash`, if it has not expired
/// at `now`.
fn live_row(
    tx: &(impl ReadTx + ?Sized),
    hash: &TokenHash,
    now: Timestamp,
) -> Result<TokenRow, AuthError> {
    match TOKENS.get(tx, hash)? {
        Some(row) if now < row.expires_at => Ok(row),
        _ => Err(AuthError::InvalidToken),
    }
}

/// Every table [`authenticate`] reads: its answer for a token stands until
/// one of them is written (or the token expires).
pub(crate) const AUTHENTICATION_READS: [TableName; 3] = [TOKENS.id(), USERS.id(), API_KEYS.id()];

/// The session of a valid, unexpired, unrevoked access token or API key,
/// given the token's hash, and when the token expires.
pub(crate) fn authenticate(
    tx: &dyn ReadTx,
    hash: &TokenHash,
    now: Timestamp,
) -> Result<(Session, Timestamp), AuthError> {
    let row = live_row(tx, hash, now)?;
    let usable = matches!(row.kind, TokenKind::Access | TokenKind::ApiKey);
    if !usable || row.state != TokenState::Active {
        return Err(AuthError::InvalidToken);
    }
    Ok((session_of(tx, &row)?, row.expires_at))
}

/// What presenting a refresh token did.
pub(crate) enum Refreshed {
    /// A new pair; the presented token is retired.
    Pair(TokenPair),
    /// The token was already retired: its whole session is now revoked.
    Reused(Session),
}

/// Exchanges a refresh token for a new pair, retiring it; a retired one
/// revokes its session.
pub(crate) fn refresh(
    tx: &mut dyn WriteTx,
    token: &BearerToken,
    now: Timestamp,
) -> Result<Refreshed, AuthError> {
    let (hash, row) = live(tx, token, now)?;
    if row.kind != TokenKind::Refresh {
        return Err(AuthError::InvalidToken);
    }
    let session = session_of(tx, &row)?;
    if row.state == TokenState::Rotated {
        end_session(tx, session)?;
        return Ok(Refreshed::Reused(session));
    }
    let retired = TokenRow {
        state: TokenState::Rotated,
        ..row
    };
    TOKENS.insert(tx, &hash, &retired)?;
    Ok(Refreshed::Pair(issue_pair(tx, session, now)?))
}

/// Revokes the whole session of `token` (access or unretired refresh).
pub(crate) fn revoke(
    tx: &mut dyn WriteTx,
    token: &BearerToken,
    now: Timestamp,
) -> Result<Session, AuthError> {
    let (_, row) = live(tx, token, now)?;
    if row.kind == TokenKind::Refresh && row.state == TokenState::Rotated {
        return Err(AuthError::InvalidToken);
    }
    // Logging out works for a disabled account too.
    let (session, _) = stored_session(tx, &row)?;
    end_session(tx, session)?;
    Ok(session)
}

/// A single-use stream ticket for `session`.
pub(crate) fn issue_ticket(
    tx: &mut dyn WriteTx,
    session: Session,
    now: Timestamp,
) -> Result<Ticket, StorageError> {
    // A ticket is no good past the access token it was issued with.
    let expires_at = now.saturating_add(TICKET_TTL).min(session.expires_at);
    let token = store(
        tx,
        session,
        TokenKind::Ticket,
        expires_at,
        session.expires_at,
    )?;
    Ok(Ticket {
        token,
        expires_in: TICKET_TTL,
    })
}

/// Redeems a ticket once: its session, and the ticket is gone.
pub(crate) fn redeem_ticket(
    tx: &mut dyn WriteTx,
    ticket: &BearerToken,
    now: Timestamp,
) -> Result<Session, AuthError> {
    let (hash, row) = live(tx, ticket, now)?;
    if row.kind != TokenKind::Ticket {
        return Err(AuthError::InvalidToken);
    }
    remove(tx, hash, &row)?;
    session_of(tx, &row)
}

fn remove(tx: &mut dyn WriteTx, hash: TokenHash, row: &TokenRow) -> Result<(), StorageError> {
    TOKENS.remove(tx, &hash)?;
    TOKEN_EXPIRY.remove(tx, &(row.expires_at, hash))?;
    SESSIONS.remove(tx, &(row.owner, row.session, hash))?;
    if row.kind == TokenKind::ApiKey {
        API_KEYS.delete(tx, &(row.owner, row.session))?;
    }
    Ok(())
}

/// Deletes up to `limit` tokens that expired at or before `now`.
pub(crate) fn purge_expired(
    tx: &mut dyn WriteTx,
    now: Timestamp,
    limit: usize,
) -> Result<usize, StorageError> {
    let due = TOKEN_EXPIRY.keys(tx, ..=(now, [0xff; 32]), limit)?;
    for &(expires, hash) in &due {
        match TOKENS.get(tx, &hash)? {
            Some(row) => remove(tx, hash, &row)?,
            None => drop(TOKEN_EXPIRY.remove(tx, &(expires, hash))?),
        }
    }
    Ok(due.len())
}

/// How many tokens expired at or before `now` wait to be purged, counted
/// up to `cap`.
pub(crate) fn expired(tx: &dyn ReadTx, now: Timestamp, cap: usize) -> Result<usize, StorageError> {
    Ok(TOKEN_EXPIRY.keys(tx, ..=(now, [0xff; 32]), cap)?.len())
}

/// Deletes every token of one session.
pub(crate) fn end_session(tx: &mut dyn WriteTx, session: Session) -> Result<(), StorageError> {
    end_session_of(tx, session.user, session.id)
}

/// Deletes every token of `user`'s session `id` (an API key is one).
pub(crate) fn end_session_of(
    tx: &mut dyn WriteTx,
    user: UserId,
    id: SessionId,
) -> Result<(), StorageError> {
    delete_range(tx, user, id, id)
}

/// Deletes every token of `user`.
pub(crate) fn end_all_sessions(tx: &mut dyn WriteTx, user: UserId) -> Result<(), StorageError> {
    delete_range(
        tx,
        user,
        SessionId::from_u128(0),
        SessionId::from_u128(u128::MAX),
    )
}

/// Deletes every login session of `user` except `keep`: the tokens of a
/// password change's other sessions. API keys are not logins and stay.
pub(crate) fn end_logins_except(
    tx: &mut dyn WriteTx,
    user: UserId,
    keep: Option<SessionId>,
) -> Result<(), StorageError> {
    let range = (user, SessionId::from_u128(0), [0; 32])
        ..=(user, SessionId::from_u128(u128::MAX), [0xff; 32]);
    let mut sessions: Vec<SessionId> = SESSIONS
        .keys(tx, range, usize::MAX)?
        .into_iter()
        .map(|(_, id, _)| id)
        .collect();
    sessions.dedup();
    for id in sessions {
        if Some(id) != keep && !API_KEYS.contains(tx, &(user, id))? {
            end_session_of(tx, user, id)?;
        }
    }
    Ok(())
}

fn delete_range(
    tx: &mut dyn WriteTx,
    user: UserId,
    first: SessionId,
    last: SessionId,
) -> Result<(), StorageError> {
    let range = (user, first, [0; 32])..=(user, last, [0xff; 32]);
    for key in SESSIONS.keys(tx, range, usize::MAX)? {
        match TOKENS.get(tx, &key.2)? {
            Some(row) => remove(tx, key.2, &row)?,
            None => drop(SESSIONS.remove(tx, &key)?),
        }
    }
    Ok(())
}

//! Accounts: validated usernames, profiles and password hashes. Hashing
//! happens before the transaction (it is slow by design); the transaction
//! only checks the name is free and writes.

use secrecy::{ExposeSecret, SecretString};

use crate::clock::Timestamp;
use crate::error::{AccountError, StorageError};
use crate::ids::UserId;
use crate::model::{Role, User};
use crate::schema::{USERS, USERS_BY_NAME, UserRow};
use crate::store::{Flow, Order, ReadTx, WriteTx};

/// Shortest and longest accepted password, in characters (Unicode scalar
/// values, as JSON Schema counts `minLength`), so at most 4 KiB to hash.
pub const PASSWORD_LEN: std::ops::RangeInclusive<usize> = 12..=1024;
/// Shortest and longest accepted username, in characters.
pub const USERNAME_LEN: std::ops::RangeInclusive<usize> = 3..=64;

/// Checks a username: 3–64 characters of `a-z 0-9 _ . -`.
pub fn validate_username(username: &str) -> Result<(), AccountError> {
    let allowed = |c: char| matches!(c, 'a'..='z' | '0'..='9' | '_' | '.' | '-');
    if USERNAME_LEN.contains(&username.len()) && username.chars().all(allowed) {
        Ok(())
    } else {
        Err(AccountError::InvalidUsername)
    }
}

/// Checks a password: 12–1024 characters.
pub fn validate_password(password: &SecretString) -> Result<(), AccountError> {
    if PASSWORD_LEN.contains(&password.expose_secret().chars().count()) {
        Ok(())
    } else {
        Err(AccountError::InvalidPassword)
    }
}

fn user(id: UserId, row: UserRow) -> User {
    User {
        id,
        username: row.username,
        created_at: row.created_at,
        role: row.role,
        disabled: row.disabled,
    }
}

/// Stores a new account under a validated `username`.
pub(crate) fn create(
    tx: &mut dyn WriteTx,
    username: &str,
    password_hash: String,
    role: Role,
    now: Timestamp,
) -> Result<User, AccountError> {
    if USERS_BY_NAME.contains(tx, &username.to_owned())? {
        return Err(AccountError::UsernameTaken);
    }
    let id = UserId::generate();
    let row = UserRow {
        username: username.to_owned(),
        password_hash,
        created_at: now,
        role,
        disabled: false,
    };
    USERS_BY_NAME.insert(tx, &row.username, &id)?;
    USERS.insert(tx, &id, &row)?;
    Ok(user(id, row))
}

/// Changes the row of account `id` with `change`; returns the account.
/// A change that would leave no enabled admin is refused.
pub(crate) fn update(
    tx: &mut dyn WriteTx,
    id: UserId,
    change: impl FnOnce(&mut UserRow),
) -> Result<User, AccountError> {
    let mut row = USERS.get(tx, &id)?.ok_or(AccountError::NotFound)?;
    let was_admin = is_enabled_admin(&row);
    change(&mut row);
    if was_admin && !is_enabled_admin(&row) {
        keep_an_admin(tx, id)?;
    }
    USERS.insert(tx, &id, &row)?;
    Ok(user(id, row))
}

fn is_enabled_admin(row: &UserRow) -> bool {
    row.role == Role::Admin && !row.disabled
}

/// Refuses to take away `leaving`, an enabled admin, unless another
/// enabled admin remains. Scans the accounts until it finds one: admin
/// changes are rare, and this runs inside their transaction.
pub(crate) fn keep_an_admin(tx: &dyn ReadTx, leaving: UserId) -> Result<(), AccountError> {
    let mut another = false;
    USERS.scan(tx, .., Order::Ascending, |id: UserId, row: UserRow| {
        another = id != leaving && is_enabled_admin(&row);
        Ok::<_, StorageError>(if another { Flow::Stop } else { Flow::Continue })
    })?;
    if another {
        Ok(())
    } else {
        Err(AccountError::LastAdmin)
    }
}

/// Up to `limit` accounts after `after`, in id order, and the id to
/// continue after if there are more.
pub(crate) fn page(
    tx: &dyn ReadTx,
    after: Option<UserId>,
    limit: usize,
) -> Result<(Vec<User>, Option<UserId>), StorageError> {
    let start = match after {
        Some(id) => std::ops::Bound::Excluded(id),
        None => std::ops::Bound::Unbounded,
    };
    let mut users = Vec::new();
    let mut more = false;
    USERS.scan(
        tx,
        (start, std::ops::Bound::Unbounded),
        Order::Ascending,
        |id, row| {
            if users.len() == limit {
                more = true;
                return Ok::<_, StorageError>(Flow::Stop);
            }
            users.push(user(id, row));
            Ok(Flow::Continue)
        },
    )?;
    let next = if more {
        users.last().map(|u: &User| u.id)
    } else {
        None
    };
    Ok((users, next))
}

/// The id of the account named `username`.
pub(crate) fn find(tx: &dyn ReadTx, username: &str) -> Result<Option<UserId>, StorageError> {
    USERS_BY_NAME.get(tx, &username.to_owned())
}

/// The account `id`.
pub(crate) fn get(tx: &dyn ReadTx, id: UserId) -> Result<Option<User>, StorageError> {
    Ok(USERS.get(tx, &id)?.map(|row| user(id, row)))
}

/// The id and password hash of the account named `username`.
pub(crate) fn credentials(
    tx: &dyn ReadTx,
    username: &str,
) -> Result<Option<(UserId, String)>, StorageError> {
    let Some(id) = find(tx, username)? else {
        return Ok(None);
    };
    Ok(USERS.get(tx, &id)?.map(|row| (id, row.password_hash)))
}

/// Removes the account `id` (profile and name); returns it. The last
/// enabled admin is not removed.
pub(crate) fn remove(tx: &mut dyn WriteTx, id: UserId) -> Result<Option<User>, AccountError> {
    if let Some(row) = USERS.get(tx, &id)?
        && is_enabled_admin(&row)
    {
        keep_an_admin(tx, id)?;
    }
    let Some(row) = USERS.remove(tx, &id)? else {
        return Ok(None);
    };
    USERS_BY_NAME.remove(tx, &row.username)?;
    Ok(Some(user(id, row)))
}

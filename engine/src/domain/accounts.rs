//! Accounts: validated usernames (names or email addresses, stored in one
//! lowercase form), profiles and password hashes. Hashing
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
/// Shortest and longest accepted username, in characters: a name of
/// `a-z 0-9 _ . -` is 3–64, an email address at most 254 (RFC 5321).
pub const USERNAME_LEN: std::ops::RangeInclusive<usize> = 3..=254;
/// Longest plain (non-email) username.
const NAME_MAX: usize = 64;
/// Longest local part of an email address (RFC 5321).
const LOCAL_MAX: usize = 64;
/// Longest label of a domain name.
const LABEL_MAX: usize = 63;

/// The one stored form of a username, or why it is not one: a name of
/// 3–64 characters of `a-z 0-9 _ . -`, or an email address `local@domain`
/// of at most 254 characters (a dot-atom local part of at most 64: letters,
/// digits and ``!#$%&'*+/=?^_`{|}~-`` between single dots; a domain of at
/// least two dot-separated labels of letters, digits and inner hyphens,
/// the last starting with a letter; no quoted local parts, comments,
/// display names or address literals). Both compare case-insensitively:
/// the stored form is lowercase, so `Alice@Example.com` and
/// `alice@example.com` are one account. (Before email addresses, names
/// were lowercase only, so every stored name is already in this form.)
pub fn canonical_username(username: &str) -> Result<String, AccountError> {
    if !username.is_ascii() || !USERNAME_LEN.contains(&username.len()) {
        return Err(AccountError::InvalidUsername);
    }
    let lower = username.to_ascii_lowercase();
    let valid = match lower.split_once('@') {
        None => {
            lower.len() <= NAME_MAX
                && lower
                    .bytes()
                    .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-'))
        }
        Some((local, domain)) => valid_local_part(local) && valid_domain(domain),
    };
    if valid {
        Ok(lower)
    } else {
        Err(AccountError::InvalidUsername)
    }
}

/// A dot-atom of at most 64 characters (no `@` in it).
fn valid_local_part(local: &str) -> bool {
    let atext = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~-".contains(&b);
    (1..=LOCAL_MAX).contains(&local.len())
        && local
            .split('.')
            .all(|atom| !atom.is_empty() && atom.bytes().all(atext))
}

/// Two or more labels of letters, digits and inner hyphens; the last (the
/// top-level domain) starts with a letter, which also rules out addresses
/// like `user@127.0.0.1`.
fn valid_domain(domain: &str) -> bool {
    let label_ok = |label: &str| {
        (1..=LABEL_MAX).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| label_ok(l))
        && labels
            .last()
            .is_some_and(|tld| tld.starts_with(|c: char| c.is_ascii_alphabetic()))
}

/// Checks a username (see [`canonical_username`]).
pub fn validate_username(username: &str) -> Result<(), AccountError> {
    canonical_username(username).map(drop)
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

/// Stores a new account under `username`, in its canonical form.
pub(crate) fn create(
    tx: &mut dyn WriteTx,
    username: &str,
    password_hash: String,
    role: Role,
    now: Timestamp,
) -> Result<User, AccountError> {
    let username = canonical_username(username)?;
    if USERS_BY_NAME.contains(tx, &username)? {
        return Err(AccountError::UsernameTaken);
    }
    let id = UserId::generate();
    let row = UserRow {
        username,
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

/// The id of the account named `username` (in any case; a string that
/// is no username names no account).
pub(crate) fn find(tx: &dyn ReadTx, username: &str) -> Result<Option<UserId>, StorageError> {
    match canonical_username(username) {
        Ok(name) => USERS_BY_NAME.get(tx, &name),
        Err(_) => Ok(None),
    }
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

/// The password hash of account `id`.
pub(crate) fn password_hash(tx: &dyn ReadTx, id: UserId) -> Result<Option<String>, StorageError> {
    Ok(USERS.get(tx, &id)?.map(|row| row.password_hash))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_email_addresses_have_one_lowercase_form() {
        for (given, stored) in [
            ("alice", "alice"),
            ("Alice", "alice"),
            ("a.b-c_d", "a.b-c_d"),
            ("Alice@Example.COM", "alice@example.com"),
            (
                "first.last+tag@mail.example.org",
                "first.last+tag@mail.example.org",
            ),
            (
                "o'brien!#$%&*/=?^`{|}~@x-y.io",
                "o'brien!#$%&*/=?^`{|}~@x-y.io",
            ),
        ] {
            assert_eq!(canonical_username(given).expect(given), stored);
        }
        let long_local = format!("{}@example.com", "a".repeat(64));
        assert!(canonical_username(&long_local).is_ok());
        let domain = format!(
            "{}.{}.{}.com",
            "d".repeat(63),
            "e".repeat(63),
            "f".repeat(63)
        );
        let longest = format!("{}@{domain}", "a".repeat(254 - 1 - domain.len()));
        assert_eq!(longest.len(), 254);
        assert!(canonical_username(&longest).is_ok());
    }

    #[test]
    fn anything_else_is_refused() {
        let too_long_local = format!("{}@example.com", "a".repeat(65));
        let too_long_label = format!("a@{}.com", "d".repeat(64));
        let domain = format!(
            "{}.{}.{}.com",
            "d".repeat(63),
            "e".repeat(63),
            "f".repeat(63)
        );
        let too_long = format!("{}@{domain}", "a".repeat(255 - 1 - domain.len()));
        let long_name = "n".repeat(65);
        for bad in [
            "ab",
            "has space",
            long_name.as_str(),
            "\"quoted\"@example.com",
            "Alice <alice@example.com>",
            "alice@example.com (comment)",
            "a..b@example.com",
            ".a@example.com",
            "a.@example.com",
            "@example.com",
            "alice@",
            "alice@localhost",
            "alice@127.0.0.1",
            "alice@[127.0.0.1]",
            "alice@-example.com",
            "alice@example-.com",
            "alice@example..com",
            "a@b@example.com",
            "älice@example.com",
            "alice@exämple.com",
            too_long_local.as_str(),
            too_long_label.as_str(),
            too_long.as_str(),
        ] {
            assert!(canonical_username(bad).is_err(), "{bad:?} was accepted");
        }
    }
}

//! Accounts: validated usernames, Argon2id password hashes (PHC strings),
//! credential checks that cost the same for unknown users, and deletion
//! with crypto-shredding.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use redb::{ReadableDatabase, ReadableTable};
use secrecy::{ExposeSecret, SecretString};

use crate::clock::Timestamp;
use crate::engine::Engine;
use crate::error::{AccountError, AuthError, OpenError};
use crate::ids::UserId;
use crate::keyring;
use crate::tables::{DATA_KEYS, KEYRING, RECORD_EXPIRY, RECORDS, USERS, USERS_BY_NAME};

/// Shortest and longest accepted password, in bytes.
pub const PASSWORD_LEN: std::ops::RangeInclusive<usize> = 12..=1024;
/// Shortest and longest accepted username, in characters.
pub const USERNAME_LEN: std::ops::RangeInclusive<usize> = 3..=64;

/// Argon2id cost parameters. The default is the floor: 19 MiB, t = 2, p = 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordCost {
    /// Memory in KiB (at least 19 456).
    pub memory_kib: u32,
    /// Passes over memory (at least 2).
    pub iterations: u32,
    /// Lanes (at least 1).
    pub parallelism: u32,
}

impl Default for PasswordCost {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl PasswordCost {
    pub(crate) fn validate(&self) -> Result<(), OpenError> {
        let floor = Self::default();
        let params_ok = self.params().is_some();
        if self.memory_kib < floor.memory_kib
            || self.iterations < floor.iterations
            || self.parallelism < floor.parallelism
            || !params_ok
        {
            return Err(OpenError::InvalidConfig(
                "password cost must be at least m=19456 KiB, t=2, p=1".into(),
            ));
        }
        Ok(())
    }

    fn params(&self) -> Option<Params> {
        Params::new(self.memory_kib, self.iterations, self.parallelism, Some(32)).ok()
    }
}

/// Hashes and verifies passwords with fixed Argon2id parameters.
pub(crate) struct PasswordHasher {
    argon2: Argon2<'static>,
    /// Hash of a random password, verified against for unknown usernames.
    dummy: OnceLock<String>,
}

impl PasswordHasher {
    pub(crate) fn new(cost: PasswordCost) -> Self {
        let params = cost.params().unwrap_or_default();
        Self {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            dummy: OnceLock::new(),
        }
    }

    fn hash(&self, password: &SecretString) -> Option<String> {
        let hash = self
            .argon2
            .hash_password(password.expose_secret().as_bytes())
            .ok()?;
        Some(hash.to_string())
    }

    fn verify(&self, password: &SecretString, phc: &str) -> bool {
        self.argon2
            .verify_password(password.expose_secret().as_bytes(), phc)
            .is_ok()
    }

    /// Burns the same work as a real verification, for unknown usernames.
    fn verify_dummy(&self, password: &SecretString) {
        let dummy = self.dummy.get_or_init(|| {
            let random = SecretString::from(crate::tokens::random_token_text());
            self.hash(&random).unwrap_or_default()
        });
        let _ = self.verify(password, dummy);
    }
}

/// An account's public facts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// The account's id.
    pub id: UserId,
    /// The account's unique name.
    pub username: String,
    /// When the account was created.
    pub created_at: Timestamp,
}

/// Checks a username: 3–64 characters of `a-z 0-9 _ . -`.
pub fn validate_username(username: &str) -> Result<(), AccountError> {
    let allowed = |c: char| matches!(c, 'a'..='z' | '0'..='9' | '_' | '.' | '-');
    if USERNAME_LEN.contains(&username.len()) && username.chars().all(allowed) {
        Ok(())
    } else {
        Err(AccountError::InvalidUsername)
    }
}

/// Checks a password: 12–1024 bytes.
pub fn validate_password(password: &SecretString) -> Result<(), AccountError> {
    if PASSWORD_LEN.contains(&password.expose_secret().len()) {
        Ok(())
    } else {
        Err(AccountError::InvalidPassword)
    }
}

impl Engine {
    /// Creates an account. Hashes the password with Argon2id (tens of
    /// milliseconds of CPU: call it from a blocking thread).
    pub fn create_user(
        &self,
        username: &str,
        password: &SecretString,
    ) -> Result<User, AccountError> {
        validate_username(username)?;
        validate_password(password)?;
        if self.user_id(username)?.is_some() {
            return Err(AccountError::UsernameTaken);
        }
        let phc = self
            .inner
            .hasher
            .hash(password)
            .ok_or(AccountError::Hashing)?;
        let now = self.inner.clock.now();
        let user = User {
            id: UserId::generate(now),
            username: username.to_owned(),
            created_at: now,
        };
        let txn = self.inner.db.begin_write()?;
        {
            let mut by_name = txn.open_table(USERS_BY_NAME)?;
            if by_name.get(username)?.is_some() {
                return Err(AccountError::UsernameTaken);
            }
            let id = user.id.as_u128();
            by_name.insert(username, id)?;
            txn.open_table(USERS)?
                .insert(id, (username, phc.as_str(), now.as_unix_millis()))?;
            keyring::create_scope(
                &self.inner.master,
                &mut txn.open_table(KEYRING)?,
                &mut txn.open_table(DATA_KEYS)?,
                id,
            )?;
        }
        txn.commit()?;
        Ok(user)
    }

    /// The id of the account named `username`, if there is one.
    pub fn user_id(&self, username: &str) -> Result<Option<UserId>, AccountError> {
        let txn = self.inner.db.begin_read()?;
        let by_name = txn.open_table(USERS_BY_NAME)?;
        Ok(by_name.get(username)?.map(|v| UserId::from_u128(v.value())))
    }

    /// The account with this id.
    pub fn user(&self, id: UserId) -> Result<User, AccountError> {
        let txn = self.inner.db.begin_read()?;
        let users = txn.open_table(USERS)?;
        let row = users.get(id.as_u128())?.ok_or(AccountError::NotFound)?;
        let (username, _, created) = row.value();
        Ok(User {
            id,
            username: username.to_owned(),
            created_at: Timestamp::from_unix_millis(created),
        })
    }

    /// Checks a username and password. Unknown user and wrong password give
    /// the same error after the same Argon2 work.
    pub fn verify_credentials(
        &self,
        username: &str,
        password: &SecretString,
    ) -> Result<UserId, AuthError> {
        let found = {
            let txn = self.inner.db.begin_read()?;
            let by_name = txn.open_table(USERS_BY_NAME)?;
            let users = txn.open_table(USERS)?;
            match by_name.get(username)? {
                Some(id) => {
                    let id = id.value();
                    users.get(id)?.map(|row| (id, row.value().1.to_owned()))
                }
                None => None,
            }
        };
        let hasher = &self.inner.hasher;
        match found {
            Some((id, phc)) if hasher.verify(password, &phc) => Ok(UserId::from_u128(id)),
            Some(_) => Err(AuthError::InvalidCredentials),
            None => {
                hasher.verify_dummy(password);
                Err(AuthError::InvalidCredentials)
            }
        }
    }

    /// Deletes an account in one transaction: its profile, its wrapped data
    /// keys (so every copy of its records, backups included, becomes
    /// unreadable), its records with their expiry entries, and its tokens.
    pub fn delete_user(&self, id: UserId) -> Result<(), AccountError> {
        let user = id.as_u128();
        let txn = self.inner.db.begin_write()?;
        {
            let mut users = txn.open_table(USERS)?;
            let username = users
                .remove(user)?
                .map(|row| row.value().0.to_owned())
                .ok_or(AccountError::NotFound)?;
            txn.open_table(USERS_BY_NAME)?.remove(username.as_str())?;
            keyring::delete_scope(
                &self.inner.keys,
                &self.inner.seal_counts,
                &mut txn.open_table(KEYRING)?,
                &mut txn.open_table(DATA_KEYS)?,
                user,
            )?;
            let mut records = txn.open_table(RECORDS)?;
            let mut expiry = txn.open_table(RECORD_EXPIRY)?;
            let mut doomed = Vec::new();
            for row in records.range((user, 0)..=(user, u128::MAX))? {
                let (key, value) = row?;
                doomed.push((key.value().1, value.value().2));
            }
            for (record, expires) in doomed {
                records.remove((user, record))?;
                expiry.remove((expires, user, record))?;
            }
        }
        crate::tokens::delete_sessions(&txn, user, 0..=u128::MAX)?;
        txn.commit()?;
        self.inner.keys.forget(user);
        self.notify(&crate::events::Notice::UserDeleted(id));
        Ok(())
    }
}

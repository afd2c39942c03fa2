//! Password hashing: Argon2id with fixed parameters, PHC strings, and a
//! dummy verification so an unknown username costs the same as a wrong
//! password.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretBox, SecretString};

use crate::crypto::keys::KEY_LEN;
use crate::error::OpenError;

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
        if self.memory_kib < floor.memory_kib
            || self.iterations < floor.iterations
            || self.parallelism < floor.parallelism
            || self.params().is_none()
        {
            return Err(OpenError::InvalidConfig(
                "password cost must be at least m=19456 KiB, t=2, p=1",
            ));
        }
        Ok(())
    }

    fn params(&self) -> Option<Params> {
        Params::new(self.memory_kib, self.iterations, self.parallelism, Some(32)).ok()
    }
}

/// Hashes and verifies passwords.
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

    /// The PHC string of `password` with a fresh salt.
    pub(crate) fn hash(&self, password: &SecretString) -> Option<String> {
        let hash = self
            .argon2
            .hash_password(password.expose_secret().as_bytes())
            .ok()?;
        Some(hash.to_string())
    }

    pub(crate) fn verify(&self, password: &SecretString, phc: &str) -> bool {
        self.argon2
            .verify_password(password.expose_secret().as_bytes(), phc)
            .is_ok()
    }

    /// 32 key bytes from `passphrase` and `salt` (raw Argon2id output, for
    /// mixing a share's passphrase into its key).
    pub(crate) fn derive_key(
        &self,
        passphrase: &SecretString,
        salt: &[u8],
    ) -> Option<SecretBox<[u8; KEY_LEN]>> {
        let mut failed = false;
        let key = SecretBox::init_with_mut(|out: &mut [u8; KEY_LEN]| {
            failed = self
                .argon2
                .hash_password_into(passphrase.expose_secret().as_bytes(), salt, out)
                .is_err();
        });
        (!failed).then_some(key)
    }

    /// Burns the same work as a real verification, for unknown usernames.
    pub(crate) fn verify_dummy(&self, password: &SecretString) {
        let dummy = self.dummy.get_or_init(|| {
            let random: [u8; 32] = rand::random();
            let random = SecretString::from(format!("{random:02x?}"));
            self.hash(&random).unwrap_or_default()
        });
        let _ = self.verify(password, dummy);
    }
}

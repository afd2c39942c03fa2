//! Public values of the end-to-end key directory.

use std::fmt;

use crate::clock::Timestamp;
use crate::crypto::e2e::PublicKey;

/// Fewest PBKDF2-SHA256 iterations a wrapped private key may use.
pub const E2E_MIN_ITERATIONS: u32 = 600_000;
/// Most PBKDF2-SHA256 iterations accepted (a client on another device must
/// repeat them).
pub const E2E_MAX_ITERATIONS: u32 = 10_000_000;
/// Key versions one account may publish.
pub const E2E_MAX_KEY_VERSIONS: usize = 32;

/// What a client publishes: its public key and its private key wrapped
/// under a key derived from the user's password (PBKDF2-SHA256 with this
/// salt and iteration count). The server never sees the password or the
/// unwrapped key; the wrapping format is the client's (see the README).
#[derive(Clone, PartialEq, Eq)]
pub struct PublishedKey {
    /// The X25519 public key.
    pub public_key: PublicKey,
    /// The wrapped private key (32 to 512 bytes).
    pub wrapped_private_key: Vec<u8>,
    /// PBKDF2 salt (16 to 64 bytes).
    pub salt: Vec<u8>,
    /// PBKDF2 iterations (600 000 to 10 000 000).
    pub iterations: u32,
}

impl fmt::Debug for PublishedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublishedKey")
            .field("public_key", &self.public_key)
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

/// A key version's private key wrapped again by its client, under a key
/// derived from the account's new password: what a password change
/// carries for every version the account holds (the public key does not
/// change).
#[derive(Clone, PartialEq, Eq)]
pub struct RewrappedKey {
    /// The key version.
    pub version: u32,
    /// The private key wrapped under the new password (32 to 512 bytes).
    pub wrapped_private_key: Vec<u8>,
    /// PBKDF2 salt (16 to 64 bytes).
    pub salt: Vec<u8>,
    /// PBKDF2 iterations (600 000 to 10 000 000).
    pub iterations: u32,
}

impl fmt::Debug for RewrappedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RewrappedKey")
            .field("version", &self.version)
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

/// A published key version.
#[derive(Clone, PartialEq, Eq)]
pub struct E2eKey {
    /// 1, 2, 3, … per account.
    pub version: u32,
    /// The public key.
    pub public_key: PublicKey,
    /// When it was published.
    pub created_at: Timestamp,
    /// PBKDF2 iterations of the wrapping.
    pub iterations: u32,
    /// PBKDF2 salt of the wrapping.
    pub salt: Vec<u8>,
    /// The wrapped private key, for its owner only.
    pub wrapped_private_key: Vec<u8>,
}

impl fmt::Debug for E2eKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("E2eKey")
            .field("version", &self.version)
            .field("public_key", &self.public_key)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

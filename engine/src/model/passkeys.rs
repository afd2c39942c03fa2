//! Public values of passkeys: what an account sees of each one, and what
//! registering one stores. The credential itself (public key, signature
//! counter, flags) is the relying-party library's record, kept by the
//! engine as opaque bytes beside its id.

use crate::clock::Timestamp;
use crate::ids::{PasskeyId, UserId};

/// Longest passkey name, in characters.
pub const PASSKEY_NAME_LEN: usize = 64;
/// Passkeys one account may hold.
pub const MAX_PASSKEYS: usize = 20;
/// Longest credential id WebAuthn allows, in bytes.
pub const CREDENTIAL_ID_MAX: usize = 1023;
/// Largest stored credential record, in bytes.
pub const CREDENTIAL_MAX: usize = 16 * 1024;

/// What the owner of a passkey sees of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasskeyInfo {
    /// The passkey's id (remove it by this).
    pub id: PasskeyId,
    /// The name its owner gave it.
    pub name: String,
    /// When it was registered.
    pub created_at: Timestamp,
    /// When it last signed in, if ever.
    pub last_used: Option<Timestamp>,
}

/// A passkey to store, verified by the caller's relying party.
#[derive(Clone, Copy, Debug)]
pub struct NewPasskey<'a> {
    /// A name for its owner (1–64 characters, no control characters).
    pub name: &'a str,
    /// The credential id the authenticator chose (1–1023 bytes): unique
    /// across every account.
    pub credential_id: &'a [u8],
    /// The relying party's record of the credential (public key, counter),
    /// opaque to the engine.
    pub credential: &'a [u8],
}

/// A stored passkey found by its credential id, for verifying a sign-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPasskey {
    /// Whose passkey.
    pub user: UserId,
    /// Its id.
    pub id: PasskeyId,
    /// The relying party's record of the credential.
    pub credential: Vec<u8>,
}

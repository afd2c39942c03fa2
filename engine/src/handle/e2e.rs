//! End-to-end messages: the HPKE format a client seals to a recipient's
//! public key (re-exported from the engine's crypto; see below), and the
//! key directory ([`E2eKeys`]) where users publish their public keys.
//!
//! A sealed message is the text `e2e1.` followed by the unpadded base64url
//! of `version 0x01 || key id (8) || enc (32) || ciphertext`: HPKE (RFC
//! 9180) base mode with DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and
//! AES-256-GCM under `info = "strongroom e2e v1"`, the 9-byte header as
//! associated data; the key id is the first 8 bytes of SHA-256 of the
//! recipient's public key. The server stores such a text like any message
//! and cannot open it.
//!
//! ```
//! use strongroom_engine::e2e;
//!
//! let (bob_secret, bob_public) = e2e::generate_keypair();
//! let sealed = e2e::seal(&bob_public, b"for bob's eyes");
//! assert!(sealed.starts_with("e2e1."));
//! assert_eq!(e2e::key_id_of(&sealed), Some(bob_public.key_id()));
//! let opened = e2e::open(&bob_secret, &sealed).expect("bob opens it");
//! assert_eq!(opened.as_slice(), b"for bob's eyes");
//! let (eve_secret, _) = e2e::generate_keypair();
//! assert!(e2e::open(&eve_secret, &sealed).is_err());
//! ```

pub use crate::crypto::e2e::*;
use crate::domain::e2e_keys;
use crate::error::{E2eKeyError, StorageError};
use crate::handle::handle;
use crate::ids::UserId;
use crate::model::audit::{Actor, AuditAction, AuditTarget};
pub use crate::model::e2e::{
    E2E_MAX_ITERATIONS, E2E_MAX_KEY_VERSIONS, E2E_MIN_ITERATIONS, E2eKey, PublishedKey,
};

handle! {
    /// The end-to-end key directory: [`Engine::e2e`](crate::Engine::e2e).
    E2eKeys
}

impl E2eKeys<'_> {
    /// Publishes `key` as `user`'s newest end-to-end key version. Earlier
    /// versions stay (messages sealed to them still open with them).
    pub fn publish(&self, user: UserId, key: PublishedKey) -> Result<E2eKey, E2eKeyError> {
        e2e_keys::validate(&key)?;
        let engine = self.0;
        let now = engine.now();
        let target = AuditTarget::User(user);
        let note = engine.note(Actor::User(user), AuditAction::PublishE2eKey, target);
        engine.store().write_with(|tx| {
            let key = e2e_keys::publish(tx, user, &key, now)?;
            engine.audit_in(tx, note)?;
            Ok(key)
        })
    }

    /// Every end-to-end key version of `user`, oldest first, with the
    /// wrapped private keys: for `user` alone.
    pub fn all(&self, user: UserId) -> Result<Vec<E2eKey>, StorageError> {
        self.0.store().read_with(|tx| e2e_keys::all(tx, user))
    }

    /// `user`'s newest end-to-end key version, if they published one: what
    /// a sender seals to (hand out its public key only).
    pub fn current(&self, user: UserId) -> Result<Option<E2eKey>, StorageError> {
        self.0.store().read_with(|tx| e2e_keys::current(tx, user))
    }
}

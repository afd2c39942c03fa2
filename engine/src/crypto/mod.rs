//! Cryptography with no storage knowledge: the master and data keys, the
//! record envelope, the id permutation, share-link keys and the
//! client-side share format, HPKE for end-to-end messages, Argon2id, the
//! API key text, TOTP codes and recovery codes, the erasing buffer of
//! decrypted bytes, and (feature `hazmat`) raw access for known-answer
//! tests.

pub(crate) mod api_key_text;
pub(crate) mod audit_chain;
pub(crate) mod e2e;
// Types here are public only through `hazmat`.
#[cfg_attr(not(feature = "hazmat"), allow(unreachable_pub, dead_code))]
pub(crate) mod envelope;
#[cfg(feature = "hazmat")]
pub mod hazmat;
pub(crate) mod idcipher;
#[cfg_attr(not(feature = "hazmat"), allow(unreachable_pub, dead_code))]
pub(crate) mod keys;
pub(crate) mod password;
pub(crate) mod secret_bytes;
pub mod share_client;
pub(crate) mod sharekeys;
#[cfg_attr(not(feature = "hazmat"), allow(unreachable_pub, dead_code))]
pub(crate) mod stream;
pub(crate) mod totp;

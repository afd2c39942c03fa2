//! Raw crypto for known-answer tests, fuzzing and benchmarks (feature
//! `hazmat`): data keys from caller bytes, caller-chosen nonces, the
//! envelope functions, the file stream format and key wrapping. An application never needs these;
//! used wrongly (a repeated nonce) they destroy confidentiality.

pub use crate::crypto::envelope::{
    Binding, Envelope, EnvelopeError, HEADER_LEN, MIN_LEN, VERSION, open, seal, seal_with_nonce,
};
pub use crate::crypto::keys::{
    AeadBackend, AuthenticationFailed, DataKey, KEY_LEN, NONCE_LEN, Nonce, TAG_LEN, WRAPPED_KEY_LEN,
};
pub use crate::crypto::stream::{
    FileKeys, HEADER_LEN as STREAM_HEADER_LEN, PREFIX_LEN, SALT_LEN, SEALED_SEGMENT_LEN,
    SEGMENT_LEN, STREAM_VERSION, SegmentSealer, StreamError, StreamHeader, TooManySegments,
    decode_metadata, encode_metadata, sealed_len, segment_count,
};

use secrecy::SecretBox;

use crate::crypto::keys::MasterKey;
use crate::ids::KeyScope;

/// Wraps a data key for `scope` at `version`, as the engine stores it.
pub fn wrap_data_key(
    master: &MasterKey,
    dek: &SecretBox<[u8; KEY_LEN]>,
    scope: KeyScope,
    version: u32,
) -> Vec<u8> {
    master.wrap_data_key(dek, scope, version)
}

/// Unwraps a data key stored for `scope` at `version`.
pub fn unwrap_data_key(
    master: &MasterKey,
    wrapped: &[u8],
    scope: KeyScope,
    version: u32,
) -> Result<DataKey, AuthenticationFailed> {
    master.unwrap_data_key(wrapped, scope, version)
}

//! Key types: the master key and per-scope data keys (DEKs), with the
//! AES-256-GCM operations they allow. Neither type prints its key, neither is
//! `Clone`, and both zeroize their key schedule on drop.

use std::fmt;

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Tag};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use zeroize::Zeroizing;

use crate::crypto::secret_bytes::SecretBytes;
use crate::error::KeyError;
use crate::ids::KeyScope;

/// Length of every key, in bytes (AES-256).
pub const KEY_LEN: usize = 32;
/// Length of a nonce, in bytes (96 bits, the only size accepted).
pub const NONCE_LEN: usize = 12;
/// Length of an authentication tag, in bytes.
pub const TAG_LEN: usize = 16;
/// Length of a wrapped key: nonce || encrypted key || tag.
pub const WRAPPED_KEY_LEN: usize = NONCE_LEN + KEY_LEN + TAG_LEN;

const DEK_CONTEXT: &[u8] = b"strongroom/dek/v1";
const KEY_CHECK_AAD: &[u8] = b"strongroom/key-check/v1";
const KEY_CHECK_PLAINTEXT: &[u8] = b"strongroom master key check";

/// A 96-bit AES-GCM nonce. Other sizes cannot be expressed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Nonce([u8; NONCE_LEN]);

impl Nonce {
    /// A fresh nonce from the thread-local CSPRNG (seeded by the OS).
    pub(crate) fn random() -> Self {
        Self(rand::random())
    }

    /// The nonce with these bytes. Reusing a nonce under one key destroys
    /// confidentiality: for known-answer tests and fuzzing only.
    pub const fn from_bytes(bytes: [u8; NONCE_LEN]) -> Self {
        Self(bytes)
    }

    /// The nonce's bytes.
    pub const fn as_bytes(&self) -> &[u8; NONCE_LEN] {
        &self.0
    }
}

impl fmt::Debug for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nonce(")?;
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))?;
        write!(f, ")")
    }
}

/// Authentication failed: wrong key, wrong associated data, or altered bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("authentication failed")]
pub struct AuthenticationFailed;

/// Which implementation of AES-256-GCM a key uses. Both produce the same
/// bytes (tested against each other and against the Wycheproof vectors).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AeadBackend {
    /// RustCrypto's `aes-gcm`: pure Rust, the default.
    RustCrypto,
    /// AWS-LC through `aws-lc-rs` (feature `fast-aead`): assembly
    /// (AES-NI, VAES, CLMUL), about twice as fast here; the server uses it.
    #[cfg(feature = "fast-aead")]
    AwsLc,
}

impl AeadBackend {
    /// The one new keys use: AWS-LC with `fast-aead`, else RustCrypto.
    pub const DEFAULT: Self = {
        #[cfg(feature = "fast-aead")]
        {
            Self::AwsLc
        }
        #[cfg(not(feature = "fast-aead"))]
        {
            Self::RustCrypto
        }
    };

    /// Every backend compiled in.
    pub const ALL: &'static [Self] = &[
        Self::RustCrypto,
        #[cfg(feature = "fast-aead")]
        Self::AwsLc,
    ];
}

/// An AES-256-GCM key. Shared by [`MasterKey`] and [`DataKey`].
enum Cipher {
    /// Boxed: its key schedule is 624 bytes, AWS-LC's handle 24.
    RustCrypto(Box<Aes256Gcm>),
    /// AWS-LC keeps the key schedule in its own memory and clears it when
    /// the key is dropped.
    #[cfg(feature = "fast-aead")]
    AwsLc(aws_lc_rs::aead::LessSafeKey),
}

impl Cipher {
    fn new(key: &SecretBox<[u8; KEY_LEN]>) -> Self {
        Self::with_backend(key, AeadBackend::DEFAULT)
    }

    fn with_backend(key: &SecretBox<[u8; KEY_LEN]>, backend: AeadBackend) -> Self {
        match backend {
            // The slice is exactly KEY_LEN bytes, so this cannot fail; going
            // through a slice avoids an unzeroized stack copy of the key.
            AeadBackend::RustCrypto => Self::RustCrypto(Box::new(
                Aes256Gcm::new_from_slice(key.expose_secret())
                    .unwrap_or_else(|_| unreachable!("key is exactly 32 bytes")),
            )),
            #[cfg(feature = "fast-aead")]
            AeadBackend::AwsLc => {
                let unbound = aws_lc_rs::aead::UnboundKey::new(
                    &aws_lc_rs::aead::AES_256_GCM,
                    key.expose_secret(),
                )
                .unwrap_or_else(|_| unreachable!("key is exactly 32 bytes"));
                Self::AwsLc(aws_lc_rs::aead::LessSafeKey::new(unbound))
            }
        }
    }

    /// Appends `ciphertext || tag` of `plaintext` to `out`.
    fn seal_into(&self, nonce: &Nonce, aad: &[u8], plaintext: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(plaintext);
        let in_out = &mut out[start..];
        // Either fails only for messages over 64 GiB, far beyond any limit.
        let tag: [u8; TAG_LEN] = match self {
            Self::RustCrypto(cipher) => cipher
                .encrypt_inout_detached(&nonce.0.into(), aad, in_out.into())
                .unwrap_or_else(|_| unreachable!("AES-GCM length limit exceeded"))
                .into(),
            #[cfg(feature = "fast-aead")]
            Self::AwsLc(key) => {
                let tag = key
                    .seal_in_place_separate_tag(
                        aws_lc_rs::aead::Nonce::assume_unique_for_key(nonce.0),
                        aws_lc_rs::aead::Aad::from(aad),
                        in_out,
                    )
                    .unwrap_or_else(|_| unreachable!("AES-GCM length limit exceeded"));
                tag.as_ref()
                    .try_into()
                    .unwrap_or_else(|_| unreachable!("a 16-byte tag"))
            }
        };
        out.extend_from_slice(&tag);
    }

    fn open(
        &self,
        nonce: &Nonce,
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<SecretBytes, AuthenticationFailed> {
        let split = sealed
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(AuthenticationFailed)?;
        let (ciphertext, tag) = sealed.split_at(split);
        // Decrypted in place in an allocation of exactly the plaintext's
        // length (so a caller can move it into a `Box<str>` uncopied).
        let mut buffer = SecretBytes::copy(ciphertext);
        let opened = match self {
            Self::RustCrypto(cipher) => {
                let tag = Tag::try_from(tag).map_err(|_| AuthenticationFailed)?;
                cipher
                    .decrypt_inout_detached(&nonce.0.into(), aad, (&mut *buffer).into(), &tag)
                    .is_ok()
            }
            #[cfg(feature = "fast-aead")]
            Self::AwsLc(key) => key
                .open_in_place_separate_tag(
                    aws_lc_rs::aead::Nonce::assume_unique_for_key(nonce.0),
                    aws_lc_rs::aead::Aad::from(aad),
                    tag,
                    &mut buffer,
                )
                .is_ok(),
        };
        if opened {
            Ok(buffer)
        } else {
            Err(AuthenticationFailed)
        }
    }

    /// `nonce || ciphertext || tag` of a fresh random nonce.
    fn seal_with_random_nonce(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let nonce = Nonce::random();
        let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
        out.extend_from_slice(&nonce.0);
        self.seal_into(&nonce, aad, plaintext, &mut out);
        out
    }

    /// Opens what [`Cipher::seal_with_random_nonce`] sealed.
    fn open_with_nonce(
        &self,
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<SecretBytes, AuthenticationFailed> {
        let (nonce, rest) = sealed
            .split_first_chunk::<NONCE_LEN>()
            .ok_or(AuthenticationFailed)?;
        self.open(&Nonce(*nonce), aad, rest)
    }
}

/// The 256-bit master key: wraps every data key (and the engine's other
/// secrets), never touches records.
///
/// ```
/// use strongroom_engine::{MasterKey, SecretString};
///
/// let key = MasterKey::from_base64(&SecretString::from(
///     "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
/// ))?;
/// assert_eq!(format!("{key:?}"), "MasterKey([REDACTED])");
/// # Ok::<(), strongroom_engine::KeyError>(())
/// ```
pub struct MasterKey(Cipher);

impl MasterKey {
    /// A master key from its 32 secret bytes.
    pub fn from_secret(key: &SecretBox<[u8; KEY_LEN]>) -> Self {
        Self(Cipher::new(key))
    }

    /// Parses a base64 (standard alphabet) master key of exactly 32 bytes.
    /// Surrounding whitespace is ignored. Errors never echo the text.
    pub fn from_base64(encoded: &SecretString) -> Result<Self, KeyError> {
        let text = encoded.expose_secret().trim();
        let mut bytes = Zeroizing::new([0u8; KEY_LEN + 3]);
        let len = STANDARD
            .decode_slice(text.as_bytes(), bytes.as_mut_slice())
            .map_err(|e| match e {
                base64::DecodeSliceError::OutputSliceTooSmall => KeyError::WrongLength {
                    len: text.len() / 4 * 3,
                },
                base64::DecodeSliceError::DecodeError(_) => KeyError::NotBase64,
            })?;
        if len != KEY_LEN {
            return Err(KeyError::WrongLength { len });
        }
        let secret = SecretBox::init_with_mut(|k: &mut [u8; KEY_LEN]| {
            k.copy_from_slice(&bytes[..KEY_LEN]);
        });
        Ok(Self::from_secret(&secret))
    }

    /// A fresh random master key and its base64 text, to be stored by the
    /// caller (a key file, a secret manager).
    pub fn generate() -> (Self, SecretString) {
        let secret = random_key_bytes();
        let text = Zeroizing::new(STANDARD.encode(secret.expose_secret()));
        (
            Self::from_secret(&secret),
            SecretString::from(text.as_str()),
        )
    }

    /// Wraps a 256-bit secret: `nonce || AES-256-GCM(secret) || tag`, the
    /// associated data naming what it is.
    fn wrap(&self, aad: &[u8], secret: &SecretBox<[u8; KEY_LEN]>) -> Vec<u8> {
        self.0.seal_with_random_nonce(aad, secret.expose_secret())
    }

    /// Unwraps what [`MasterKey::wrap`] wrapped with the same associated
    /// data. Fails on any other input, never panics.
    fn unwrap(
        &self,
        aad: &[u8],
        wrapped: &[u8],
    ) -> Result<SecretBox<[u8; KEY_LEN]>, AuthenticationFailed> {
        if wrapped.len() != WRAPPED_KEY_LEN {
            return Err(AuthenticationFailed);
        }
        let plain = self.0.open_with_nonce(aad, wrapped)?;
        Ok(SecretBox::init_with_mut(|k: &mut [u8; KEY_LEN]| {
            k.copy_from_slice(&plain);
        }))
    }

    /// Wraps the data key of `scope` at `version` (the associated data binds
    /// both, so a wrapped key cannot be moved to another scope or version).
    pub(crate) fn wrap_data_key(
        &self,
        dek: &SecretBox<[u8; KEY_LEN]>,
        scope: KeyScope,
        version: u32,
    ) -> Vec<u8> {
        self.wrap(&dek_aad(scope, version), dek)
    }

    /// Unwraps a data key wrapped by [`MasterKey::wrap_data_key`] for the
    /// same scope and version.
    pub(crate) fn unwrap_data_key(
        &self,
        wrapped: &[u8],
        scope: KeyScope,
        version: u32,
    ) -> Result<DataKey, AuthenticationFailed> {
        let secret = self.unwrap(&dek_aad(scope, version), wrapped)?;
        Ok(DataKey::from_secret(&secret))
    }

    /// `wrapped` (a data key wrapped by this key) wrapped under `new`
    /// instead; the data key itself never leaves a zeroizing buffer.
    pub(crate) fn rewrap_data_key(
        &self,
        new: &MasterKey,
        wrapped: &[u8],
        scope: KeyScope,
        version: u32,
    ) -> Result<Vec<u8>, AuthenticationFailed> {
        let aad = dek_aad(scope, version);
        let secret = self.unwrap(&aad, wrapped)?;
        Ok(new.wrap(&aad, &secret))
    }

    /// A wrapped store secret, wrapped under `new` instead.
    pub(crate) fn rewrap_store_secret(
        &self,
        new: &MasterKey,
        which: StoreSecret,
        wrapped: &[u8],
    ) -> Result<Vec<u8>, AuthenticationFailed> {
        let secret = self.unwrap(which.aad(), wrapped)?;
        Ok(new.wrap_store_secret(which, &secret))
    }

    /// The key check: a known value sealed under this key, stored so that
    /// opening a database with another key fails at once.
    pub(crate) fn key_check(&self) -> Vec<u8> {
        self.0
            .seal_with_random_nonce(KEY_CHECK_AAD, KEY_CHECK_PLAINTEXT)
    }

    /// Whether `sealed` is a key check made by this key.
    pub(crate) fn verifies_key_check(&self, sealed: &[u8]) -> bool {
        self.0
            .open_with_nonce(KEY_CHECK_AAD, sealed)
            .is_ok_and(|plain| plain.as_slice() == KEY_CHECK_PLAINTEXT)
    }

    /// Wraps a secret of the whole store.
    pub(crate) fn wrap_store_secret(
        &self,
        which: StoreSecret,
        secret: &SecretBox<[u8; KEY_LEN]>,
    ) -> Vec<u8> {
        self.wrap(which.aad(), secret)
    }

    /// Unwraps what [`MasterKey::wrap_store_secret`] wrapped.
    pub(crate) fn unwrap_store_secret(
        &self,
        which: StoreSecret,
        wrapped: &[u8],
    ) -> Result<SecretBox<[u8; KEY_LEN]>, AuthenticationFailed> {
        self.unwrap(which.aad(), wrapped)
    }
}

/// A 256-bit secret of the whole store, kept in `meta` wrapped under the
/// master key (each under its own associated data, so one cannot stand in
/// for another).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StoreSecret {
    /// The root of the id permutations.
    IdRoot,
    /// The seed of the Ed25519 key that signs audit checkpoints.
    AuditKey,
}

impl StoreSecret {
    /// Both, for re-wrapping.
    pub(crate) const ALL: [Self; 2] = [Self::IdRoot, Self::AuditKey];

    const fn aad(self) -> &'static [u8] {
        match self {
            Self::IdRoot => b"strongroom/id-root/v1",
            Self::AuditKey => b"strongroom/audit-key/v1",
        }
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey([REDACTED])")
    }
}

fn dek_aad(scope: KeyScope, version: u32) -> [u8; DEK_CONTEXT.len() + 16 + 4] {
    let mut aad = [0; DEK_CONTEXT.len() + 16 + 4];
    aad[..DEK_CONTEXT.len()].copy_from_slice(DEK_CONTEXT);
    aad[DEK_CONTEXT.len()..][..16].copy_from_slice(&scope.as_u128().to_be_bytes());
    aad[DEK_CONTEXT.len() + 16..].copy_from_slice(&version.to_be_bytes());
    aad
}

/// A 256-bit data key: seals and opens the records of one key scope, and
/// is the input keying material of the per-file keys derived from it.
pub struct DataKey {
    cipher: Cipher,
    /// The key's bytes, for HKDF only (zeroized on drop).
    secret: SecretBox<[u8; KEY_LEN]>,
}

impl DataKey {
    /// A data key from its 32 secret bytes.
    pub fn from_secret(key: &SecretBox<[u8; KEY_LEN]>) -> Self {
        Self::from_secret_with(key, AeadBackend::DEFAULT)
    }

    /// A data key on a chosen AES-GCM implementation (known-answer tests
    /// and benchmarks compare them).
    pub fn from_secret_with(key: &SecretBox<[u8; KEY_LEN]>, backend: AeadBackend) -> Self {
        Self {
            cipher: Cipher::with_backend(key, backend),
            secret: SecretBox::new(Box::new(*key.expose_secret())),
        }
    }

    /// HKDF-SHA256 with this key as input keying material: the 32-byte
    /// key for `salt` and `info`, as a data key on the same backend.
    pub(crate) fn derive(&self, salt: &[u8], info: &[&[u8]]) -> Self {
        let key = SecretBox::init_with_mut(|out: &mut [u8; KEY_LEN]| {
            hkdf::Hkdf::<sha2::Sha256>::new(Some(salt), self.secret.expose_secret())
                .expand_multi_info(info, out)
                .unwrap_or_else(|_| unreachable!("32 bytes is a valid HKDF-SHA256 length"));
        });
        let backend = match self.cipher {
            Cipher::RustCrypto(_) => AeadBackend::RustCrypto,
            #[cfg(feature = "fast-aead")]
            Cipher::AwsLc(_) => AeadBackend::AwsLc,
        };
        Self::from_secret_with(&key, backend)
    }

    /// AES-256-GCM with a caller-chosen nonce: returns `ciphertext || tag`.
    pub fn seal(&self, nonce: &Nonce, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(plaintext.len() + TAG_LEN);
        self.seal_into(nonce, aad, plaintext, &mut out);
        out
    }

    /// AES-256-GCM: appends `ciphertext || tag` to `out`.
    pub(crate) fn seal_into(&self, nonce: &Nonce, aad: &[u8], plaintext: &[u8], out: &mut Vec<u8>) {
        self.cipher.seal_into(nonce, aad, plaintext, out);
    }

    /// AES-256-GCM: opens `ciphertext || tag`.
    pub fn open(
        &self,
        nonce: &Nonce,
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<SecretBytes, AuthenticationFailed> {
        self.cipher.open(nonce, aad, sealed)
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey([REDACTED])")
    }
}

/// 32 fresh secret bytes from the thread-local CSPRNG, filled in place.
pub(crate) fn random_key_bytes() -> SecretBox<[u8; KEY_LEN]> {
    SecretBox::init_with_mut(|k: &mut [u8; KEY_LEN]| rand::fill(k))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::UserId;

    fn scope(n: u128) -> KeyScope {
        KeyScope::User(UserId::from_u128(n))
    }

    #[test]
    fn wrapped_key_opens_only_for_its_scope_and_version() {
        let master = MasterKey::from_secret(&random_key_bytes());
        let dek = random_key_bytes();
        let wrapped = master.wrap_data_key(&dek, scope(7), 1);
        assert_eq!(wrapped.len(), WRAPPED_KEY_LEN);
        assert!(master.unwrap_data_key(&wrapped, scope(7), 1).is_ok());
        assert!(master.unwrap_data_key(&wrapped, scope(8), 1).is_err());
        assert!(
            master
                .unwrap_data_key(&wrapped, KeyScope::Broadcast, 1)
                .is_err()
        );
        assert!(master.unwrap_data_key(&wrapped, scope(7), 2).is_err());
        let other = MasterKey::from_secret(&random_key_bytes());
        assert!(other.unwrap_data_key(&wrapped, scope(7), 1).is_err());
        assert!(master.unwrap_data_key(&wrapped[1..], scope(7), 1).is_err());
    }

    #[test]
    fn debug_never_prints_key_material() {
        let master = MasterKey::from_secret(&random_key_bytes());
        let data = DataKey::from_secret(&random_key_bytes());
        assert_eq!(format!("{master:?}"), "MasterKey([REDACTED])");
        assert_eq!(format!("{data:?}"), "DataKey([REDACTED])");
    }

    #[test]
    fn open_rejects_short_input_without_panicking() {
        let key = DataKey::from_secret(&random_key_bytes());
        let nonce = Nonce::random();
        for len in 0..TAG_LEN {
            assert_eq!(
                key.open(&nonce, b"", &vec![0; len]),
                Err(AuthenticationFailed)
            );
        }
    }

    fn parse(text: &str) -> Result<MasterKey, KeyError> {
        MasterKey::from_base64(&SecretString::from(text))
    }

    #[test]
    fn base64_keys_must_be_exactly_32_bytes_and_errors_never_echo_them() {
        let good = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        assert!(parse(good).is_ok());
        assert!(parse(&format!("  {good}\n")).is_ok());
        let short = STANDARD.encode([9u8; 31]);
        let long = STANDARD.encode([9u8; 33]);
        let very_long = STANDARD.encode([9u8; 300]);
        let cases = [
            (short.as_str(), "exactly 32 bytes, got 31"),
            (long.as_str(), "exactly 32 bytes, got 33"),
            (very_long.as_str(), "exactly 32 bytes"),
            ("s3cr3t-not-base64!!", "not valid base64"),
            ("", "exactly 32 bytes, got 0"),
        ];
        for (text, expected) in cases {
            let message = parse(text).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(message.contains(expected), "{message}");
            if !text.is_empty() {
                assert!(!message.contains(&text[..8.min(text.len())]), "{message}");
            }
        }
    }

    #[test]
    fn generated_keys_round_trip_through_their_text() {
        let (key, text) = MasterKey::generate();
        let again = MasterKey::from_base64(&text).expect("own text parses");
        let secret = random_key_bytes();
        let wrapped = key.wrap(b"label", &secret);
        let unwrapped = again.unwrap(b"label", &wrapped).expect("same key");
        assert_eq!(unwrapped.expose_secret(), secret.expose_secret());
        assert!(again.unwrap(b"other label", &wrapped).is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Every backend seals to the same bytes and opens what any other
        /// sealed, and refuses the same tampering.
        #[test]
        fn backends_are_byte_identical(
            key in proptest::prelude::any::<[u8; KEY_LEN]>(),
            nonce in proptest::prelude::any::<[u8; NONCE_LEN]>(),
            aad in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
            plaintext in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048),
            flip in proptest::prelude::any::<usize>(),
        ) {
            let secret = SecretBox::new(Box::new(key));
            let nonce = Nonce::from_bytes(nonce);
            let keys: Vec<DataKey> = AeadBackend::ALL
                .iter()
                .map(|&b| DataKey::from_secret_with(&secret, b))
                .collect();
            let sealed = keys[0].seal(&nonce, &aad, &plaintext);
            let mut tampered = sealed.clone();
            let at = flip % tampered.len();
            tampered[at] ^= 1;
            for key in &keys {
                proptest::prop_assert_eq!(&key.seal(&nonce, &aad, &plaintext), &sealed);
                let opened = key.open(&nonce, &aad, &sealed).expect("opens");
                proptest::prop_assert_eq!(opened.as_slice(), plaintext.as_slice());
                proptest::prop_assert!(key.open(&nonce, &aad, &tampered).is_err());
            }
        }
    }
}

//! Loading the master key: from `STRONGROOM_MASTER_KEY` (base64), from a key
//! file, or from a key file created on first use. No error ever echoes the
//! key or any part of it.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use zeroize::Zeroizing;

use crate::keys::{KEY_LEN, MasterKey, random_key_bytes};

/// The environment variable holding the base64 master key.
pub const MASTER_KEY_ENV: &str = "STRONGROOM_MASTER_KEY";

/// Why a master key could not be loaded. Never contains key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The environment variable is not set.
    #[error("environment variable {MASTER_KEY_ENV} is not set")]
    NotSet,
    /// The key is not valid standard base64 (the offending text is not shown).
    #[error("{source_name}: master key is not valid base64")]
    NotBase64 {
        /// Where the key came from (variable name or file path).
        source_name: String,
    },
    /// The key decodes to the wrong number of bytes.
    #[error("{source_name}: master key must be exactly 32 bytes, got {len}")]
    WrongLength {
        /// Where the key came from (variable name or file path).
        source_name: String,
        /// How many bytes it decoded to.
        len: usize,
    },
    /// The key file could not be read or created.
    #[error("key file {}: {source}", path.display())]
    Io {
        /// The key file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
}

impl MasterKey {
    /// Parses a base64 (standard alphabet) master key of exactly 32 bytes.
    /// Surrounding whitespace is ignored.
    pub fn from_base64(encoded: &SecretString) -> Result<Self, KeyError> {
        Self::parse(encoded.expose_secret(), "master key")
    }

    /// Loads the master key from `STRONGROOM_MASTER_KEY`.
    pub fn from_env() -> Result<Self, KeyError> {
        let value = std::env::var(MASTER_KEY_ENV).map_err(|_| KeyError::NotSet)?;
        let value = Zeroizing::new(value);
        Self::parse(&value, MASTER_KEY_ENV)
    }

    /// Loads the master key from a file holding its base64 text.
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let text = Zeroizing::new(fs::read_to_string(path).map_err(|source| KeyError::Io {
            path: path.to_owned(),
            source,
        })?);
        Self::parse(&text, &path.display().to_string())
    }

    /// Loads the key file at `path`, or creates it with a fresh random key
    /// (mode 0600, created exclusively) if it does not exist. An existing file
    /// is never overwritten. Returns the key and whether it was created.
    pub fn load_or_create_file(path: &Path) -> Result<(Self, bool), KeyError> {
        let io_error = |source| KeyError::Io {
            path: path.to_owned(),
            source,
        };
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(mut file) => {
                let key = random_key_bytes();
                let mut text = Zeroizing::new(STANDARD.encode(key.expose_secret()));
                text.push('\n');
                file.write_all(text.as_bytes()).map_err(io_error)?;
                file.sync_all().map_err(io_error)?;
                Ok((Self::from_secret(&key), true))
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                Ok((Self::from_file(path)?, false))
            }
            Err(e) => Err(io_error(e)),
        }
    }

    fn parse(text: &str, source_name: &str) -> Result<Self, KeyError> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN + 3]);
        let len = STANDARD
            .decode_slice(text.trim().as_bytes(), bytes.as_mut_slice())
            .map_err(|e| match e {
                base64::DecodeSliceError::OutputSliceTooSmall => KeyError::WrongLength {
                    source_name: source_name.to_owned(),
                    len: decoded_len(text.trim().len()),
                },
                base64::DecodeSliceError::DecodeError(_) => KeyError::NotBase64 {
                    source_name: source_name.to_owned(),
                },
            })?;
        if len != KEY_LEN {
            return Err(KeyError::WrongLength {
                source_name: source_name.to_owned(),
                len,
            });
        }
        let secret = SecretBox::init_with_mut(|k: &mut [u8; KEY_LEN]| {
            k.copy_from_slice(&bytes[..KEY_LEN]);
        });
        Ok(Self::from_secret(&secret))
    }
}

/// Bytes that `encoded_len` characters of padded base64 decode to, about.
fn decoded_len(encoded_len: usize) -> usize {
    encoded_len / 4 * 3 + (encoded_len % 4).saturating_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<MasterKey, KeyError> {
        MasterKey::from_base64(&SecretString::from(text))
    }

    const GOOD: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn accepts_exactly_32_bytes_of_base64_with_whitespace_around() {
        assert!(parse(GOOD).is_ok());
        assert!(parse(&format!("  {GOOD}\n")).is_ok());
    }

    #[test]
    fn rejects_short_long_and_non_base64_keys_without_echoing_them() {
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
            let message = parse(text).expect_err("rejected").to_string();
            assert!(message.contains(expected), "{message}");
            if !text.is_empty() {
                assert!(!message.contains(text), "error echoes the key: {message}");
                assert!(!message.contains(&text[..8.min(text.len())]), "{message}");
            }
        }
    }

    #[test]
    fn key_file_is_created_once_with_mode_0600_and_never_overwritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("master.key");
        let (_, created) = MasterKey::load_or_create_file(&path).expect("creates");
        assert!(created);
        let first = fs::read(&path).expect("readable");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).expect("metadata").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (_, created) = MasterKey::load_or_create_file(&path).expect("loads");
        assert!(!created);
        assert_eq!(fs::read(&path).expect("readable"), first);
    }

    #[test]
    fn broken_key_file_and_missing_file_are_clear_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bad.key");
        fs::write(&path, "c2hvcnQ=\n").expect("write");
        let message = MasterKey::from_file(&path)
            .expect_err("rejected")
            .to_string();
        assert!(message.contains("exactly 32 bytes, got 5"), "{message}");
        assert!(!message.contains("c2hvcnQ"), "{message}");
        let missing = MasterKey::from_file(&dir.path().join("none")).expect_err("rejected");
        assert!(matches!(missing, KeyError::Io { .. }));
    }
}

//! Where the master key comes from — policy, so it lives in the binary, not
//! the engine: `STRONGROOM_MASTER_KEY` (base64), a key file, or a key file
//! created on first use (mode 0600, never overwritten). No error ever
//! echoes the key or any part of it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use strongroom_engine::secrecy::ExposeSecret;
use strongroom_engine::{KeyError, MasterKey, SecretString};
use zeroize::Zeroizing;

use crate::datadir::files::write_private;

/// The environment variable holding the base64 master key.
pub const MASTER_KEY_ENV: &str = "STRONGROOM_MASTER_KEY";

/// Why a master key could not be loaded. Never contains key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// The key text did not parse.
    #[error("{source_name}: {error}")]
    Invalid {
        /// Where the key came from (variable name or file path).
        source_name: String,
        /// What is wrong with it.
        error: KeyError,
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

fn parse(text: &str, source_name: &str) -> Result<MasterKey, KeyFileError> {
    MasterKey::from_base64(&SecretString::from(text)).map_err(|error| KeyFileError::Invalid {
        source_name: source_name.to_owned(),
        error,
    })
}

/// The key in `STRONGROOM_MASTER_KEY`, if it is set.
pub fn from_env() -> Result<Option<MasterKey>, KeyFileError> {
    match std::env::var(MASTER_KEY_ENV) {
        Ok(value) => {
            let value = Zeroizing::new(value);
            parse(&value, MASTER_KEY_ENV).map(Some)
        }
        Err(_) => Ok(None),
    }
}

/// Loads the master key from a file holding its base64 text.
pub fn load(path: &Path) -> Result<MasterKey, KeyFileError> {
    load_with_text(path).map(|(key, _)| key)
}

/// [`load`], with the file's text as read: for a copy of the file that
/// holds the very key loaded.
pub fn load_with_text(path: &Path) -> Result<(MasterKey, Zeroizing<String>), KeyFileError> {
    let text = super::files::read_small(path).map_err(|source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    })?;
    let key = parse(&text, &path.display().to_string())?;
    Ok((key, text))
}

/// Loads the key file at `path`, or creates it with a fresh random key
/// (mode 0600) if it does not exist. The key is written beside it and moved
/// there in one step, so a failed or interrupted creation leaves no part of
/// a key file; an existing file is never overwritten, also when another
/// process creates it meanwhile. Returns the key and whether it was created.
pub fn load_or_create(path: &Path) -> Result<(MasterKey, bool), KeyFileError> {
    let io_error = |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    };
    match fs::symlink_metadata(path) {
        Ok(_) => return Ok((load(path)?, false)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_error(e)),
    }
    let (key, text) = MasterKey::generate();
    let mut line = Zeroizing::new(text.expose_secret().to_owned());
    line.push('\n');
    match write_private(path, line.as_bytes(), false) {
        Ok(()) => Ok((key, true)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok((load(path)?, false)),
        Err(e) => Err(io_error(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_is_created_once_with_mode_0600_and_never_overwritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("master.key");
        let (_, created) = load_or_create(&path).expect("creates");
        assert!(created);
        let first = fs::read(&path).expect("readable");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).expect("metadata").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (_, created) = load_or_create(&path).expect("loads");
        assert!(!created);
        assert_eq!(fs::read(&path).expect("readable"), first);
    }

    #[test]
    fn broken_key_file_and_missing_file_are_clear_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bad.key");
        fs::write(&path, "c2hvcnQ=\n").expect("write");
        let message = load(&path).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("exactly 32 bytes, got 5"), "{message}");
        assert!(message.contains("bad.key"), "{message}");
        assert!(!message.contains("c2hvcnQ"), "{message}");
        let missing = load(&dir.path().join("none"));
        assert!(matches!(missing, Err(KeyFileError::Io { .. })));
    }
}

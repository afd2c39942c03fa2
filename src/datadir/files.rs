//! The data directory and the files in it are private: the directory is
//! created 0700 and the database and key file 0600, and an existing one
//! that other users may read is refused (the database holds password
//! hashes and wrapped keys) unless the operator says otherwise.

use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// A file or directory the server will not use as it is.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Group or others have access.
    #[error(
        "{} is accessible to other users (mode {mode:o}); run `chmod {fix} {}` or pass --allow-insecure-permissions",
        path.display(), path.display()
    )]
    Exposed {
        /// The path.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
        /// The mode to set.
        fix: &'static str,
    },
    /// It could not be inspected or created.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> FileError + '_ {
    move |source| FileError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Refuses `path` if it exists and group or others have any access to it.
pub(crate) fn check_private(path: &Path, fix: &'static str, allow: bool) -> Result<(), FileError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = match fs::metadata(path) {
            Ok(meta) => meta.permissions().mode() & 0o777,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_error(path)(e)),
        };
        if mode & 0o077 != 0 {
            if allow {
                tracing::warn!(path = %path.display(), mode = format!("{mode:o}"), "accessible to other users; allowed by --allow-insecure-permissions");
            } else {
                return Err(FileError::Exposed {
                    path: path.to_owned(),
                    mode,
                    fix,
                });
            }
        }
    }
    let _ = (path, fix, allow);
    Ok(())
}

/// Creates `dir` (mode 0700) if it does not exist; says whether it did.
pub(crate) fn create_private_dir(dir: &Path) -> Result<bool, FileError> {
    if dir.exists() {
        return Ok(false);
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(io_error(dir))?;
    Ok(true)
}

/// Creates an empty `path` with mode 0600 if it does not exist, so a file
/// another program fills (the database) is private from its first byte.
pub(crate) fn create_private_file(path: &Path) -> Result<(), FileError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(io_error(path)(e)),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn private_files_are_created_private_and_exposed_ones_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        assert!(create_private_dir(&data).expect("created"));
        assert_eq!(
            fs::metadata(&data).expect("meta").permissions().mode() & 0o777,
            0o700
        );
        let db = data.join("db");
        create_private_file(&db).expect("created");
        assert_eq!(
            fs::metadata(&db).expect("meta").permissions().mode() & 0o777,
            0o600
        );
        check_private(&db, "600", false).expect("private");
        fs::set_permissions(&db, fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = check_private(&db, "600", false).expect_err("exposed");
        assert!(err.to_string().contains("mode 644"), "{err}");
        assert!(err.to_string().contains("chmod 600"), "{err}");
        check_private(&db, "600", true).expect("allowed");
        check_private(&data.join("missing"), "600", false).expect("absent is fine");
    }
}

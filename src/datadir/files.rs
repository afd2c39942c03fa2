//! The data directory and the files in it are private: the directory is
//! created 0700 and the database and key file 0600, and an existing one
//! that other users may read is refused (the database holds password
//! hashes and wrapped keys) unless the operator says otherwise. A secret
//! file (the master key, the database URL) that others may read is still
//! accepted when it is a mounted secret, as compose and Kubernetes mount
//! them: see `check_secret`.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
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
    /// A secret file others may read that is not a mounted secret.
    #[error(
        "{} is accessible to other users (mode {mode:o}); run `chmod 600 {}`, mount it as a \
         read-only secret owned by root outside the data directory, or pass \
         --allow-insecure-permissions",
        path.display(), path.display()
    )]
    ExposedSecret {
        /// The path.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A file where a directory belongs, or the other way round.
    #[error("{}: {}", path.display(), match kind {
        Kind::Dir => "not a directory",
        Kind::File => "a directory, not a file",
    })]
    WrongKind {
        /// The path.
        path: PathBuf,
        /// What it should be.
        kind: Kind,
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

/// What a private path must be: a directory (0700) or a file (0600).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A directory: the data dir, the backup dir.
    Dir,
    /// A file: the database, a key.
    File,
}

/// Refuses `path` if it exists and is not of its `kind`, or group or
/// others have any access to it.
pub(crate) fn check_private(path: &Path, kind: Kind, allow: bool) -> Result<(), FileError> {
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        // Under a file named as a directory: name the file.
        Err(e) if e.kind() == io::ErrorKind::NotADirectory => {
            let above = path.ancestors().skip(1).find(|p| p.is_file());
            return Err(FileError::WrongKind {
                path: above.unwrap_or(path).to_owned(),
                kind: Kind::Dir,
            });
        }
        Err(e) => return Err(io_error(path)(e)),
    };
    if meta.is_dir() != (kind == Kind::Dir) {
        return Err(FileError::WrongKind {
            path: path.to_owned(),
            kind,
        });
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        let fix = match kind {
            Kind::Dir => "700",
            Kind::File => "600",
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
    let _ = (path, allow);
    Ok(())
}

/// What decides whether a secret file others may read is a mounted secret.
#[derive(Clone, Copy, Debug)]
struct SecretFacts {
    /// Permission bits.
    mode: u32,
    /// Owned by root (uid 0).
    root_owned: bool,
    /// On a mount that is read-only.
    read_only_mount: bool,
    /// Inside the data directory (which the server writes).
    in_data_dir: bool,
}

impl SecretFacts {
    /// A mounted secret: only root could change it (owned by root, no
    /// group or other write bit), nobody can while it is mounted (the mount
    /// is read-only), and it is not in the data directory, so a key that
    /// sits beside the database is still refused.
    fn is_mounted_secret(self) -> bool {
        self.mode & 0o022 == 0 && self.root_owned && self.read_only_mount && !self.in_data_dir
    }
}

/// Refuses the secret file at `path` (a key, a database URL) if it exists
/// and group or others have access, unless it is a mounted secret:
/// compose and Kubernetes mount secrets read-only, owned by root and often
/// mode 0444, and a server that does not run as root cannot make them
/// private. Such a file, outside `data_dir`, is accepted (and logged).
pub(crate) fn check_secret(path: &Path, data_dir: &Path, allow: bool) -> Result<(), FileError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let meta = match fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_error(path)(e)),
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 == 0 {
            return Ok(());
        }
        let read_only_mount = rustix::fs::statvfs(path)
            .map(|fs| fs.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY))
            .unwrap_or(false);
        let in_data_dir = match (path.canonicalize(), data_dir.canonicalize()) {
            (Ok(file), Ok(dir)) => file.starts_with(dir),
            // A data dir that does not exist yet holds nothing.
            (Ok(_), Err(_)) => false,
            (Err(e), _) => return Err(io_error(path)(e)),
        };
        let facts = SecretFacts {
            mode,
            root_owned: meta.uid() == 0,
            read_only_mount,
            in_data_dir,
        };
        if facts.is_mounted_secret() {
            tracing::info!(path = %path.display(), mode = format!("{mode:o}"), "secret file on a read-only mount, owned by root; accepted");
        } else if allow {
            tracing::warn!(path = %path.display(), mode = format!("{mode:o}"), "accessible to other users; allowed by --allow-insecure-permissions");
        } else {
            return Err(FileError::ExposedSecret {
                path: path.to_owned(),
                mode,
            });
        }
    }
    let _ = (path, data_dir, allow);
    Ok(())
}

/// The text of the secret file at `path` (a key, a database URL, a client
/// secret), trimmed, after [`check_secret`]'s rule; held zeroized.
pub(crate) fn read_secret(
    path: &Path,
    data_dir: &Path,
    allow: bool,
) -> Result<strongroom_engine::SecretString, FileError> {
    check_secret(path, data_dir, allow)?;
    let text = read_small(path).map_err(io_error(path))?;
    Ok(strongroom_engine::SecretString::from(text.trim()))
}

/// The most bytes a secret file (a key, a URL, a client secret) holds.
const LARGEST_SECRET: usize = 64 * 1024;

/// The text of the small file at `path` (a key, a URL), held zeroized and
/// read into room made up front, so no copy is left behind; a file larger
/// than any secret is refused without being read.
pub(crate) fn read_small(path: &Path) -> io::Result<zeroize::Zeroizing<String>> {
    use std::io::Read;
    let mut text = zeroize::Zeroizing::new(String::with_capacity(LARGEST_SECRET + 1));
    fs::File::open(path)?
        .take(LARGEST_SECRET as u64 + 1)
        .read_to_string(&mut text)?;
    if text.len() > LARGEST_SECRET {
        return Err(io::Error::other(
            "larger than 64 KiB, so not a key, URL or secret; is the path right?",
        ));
    }
    Ok(text)
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

/// Writes `bytes` to a new private file (0600) beside `path`, synced, and
/// moves it to `path` in one step, so `path` never holds a part of them: a
/// failure (a full disk) or a crash leaves `path` as it was, and a failure
/// removes the new file. With `replace` false an existing `path` is kept
/// and the error is `AlreadyExists`.
pub(crate) fn write_private(path: &Path, bytes: &[u8], replace: bool) -> io::Result<()> {
    Staged::write(path, bytes)?.put(replace)
}

/// A private file (0600) written and synced beside its name, not yet moved
/// there: what may fail for want of space is done before what it goes
/// with. Removed if dropped unmoved.
pub(crate) struct Staged {
    staging: PathBuf,
    path: PathBuf,
}

impl Staged {
    /// Writes `bytes` beside `path`.
    pub(crate) fn write(path: &Path, bytes: &[u8]) -> io::Result<Self> {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let staged = Self {
            staging: parent(path).join(format!(".{name}.{:016x}", rand::random::<u64>())),
            path: path.to_owned(),
        };
        let mut file = create_new_private(&staged.staging)?;
        // From here on, a failure drops `staged`, which removes the file.
        file.write_all(bytes)?;
        file.sync_all()?;
        Ok(staged)
    }

    /// Moves the file to its name in one step: over what is there, or
    /// (`replace` false) only if nothing is, else `AlreadyExists`.
    pub(crate) fn put(self, replace: bool) -> io::Result<()> {
        if replace {
            fs::rename(&self.staging, &self.path)?;
        } else {
            // A link fails if the name exists, where a rename would not;
            // dropping `self` then removes the staging name.
            match fs::hard_link(&self.staging, &self.path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(e),
                // A file system without links: the name is created
                // exclusively and filled, and removed if that fails.
                Err(_) => self.copy_to_new()?,
            }
        }
        // The move itself is durable once the directory is.
        fs::File::open(parent(&self.path))?.sync_all()
    }

    fn copy_to_new(&self) -> io::Result<()> {
        let bytes = zeroize::Zeroizing::new(fs::read(&self.staging)?);
        let mut file = create_new_private(&self.path)?;
        let written = file.write_all(&bytes).and_then(|()| file.sync_all());
        if written.is_err() {
            let _ = fs::remove_file(&self.path);
        }
        written
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        // Gone after a rename; after a link or a failure, ours to remove.
        let _ = fs::remove_file(&self.staging);
    }
}

/// The directory holding `path` (`.` for a bare name).
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Creates an empty `path` with mode 0600 if it does not exist, so a file
/// another program fills (the database) is private from its first byte;
/// says whether it did.
pub(crate) fn create_private_file(path: &Path) -> Result<bool, FileError> {
    match create_new_private(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(io_error(path)(e)),
    }
}

/// Creates `path`, which must not exist yet (else `AlreadyExists`), with
/// mode 0600: private from its first byte.
pub(crate) fn create_new_private(path: &Path) -> io::Result<fs::File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_private_write_replaces_or_keeps_whole_files_and_leaves_nothing_beside() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = dir.path().join("master.key");
        write_private(&key, b"first\n", false).expect("created");
        assert_eq!(
            fs::metadata(&key).expect("meta").permissions().mode() & 0o777,
            0o600
        );
        let kept = write_private(&key, b"second\n", false).expect_err("exists");
        assert_eq!(kept.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&key).expect("read"), b"first\n");
        write_private(&key, b"third\n", true).expect("replaced");
        assert_eq!(fs::read(&key).expect("read"), b"third\n");
        let names: Vec<_> = fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["master.key"], "no staging file left");
        let missing = write_private(&dir.path().join("none/master.key"), b"x", false);
        assert_eq!(missing.map_err(|e| e.kind()), Err(io::ErrorKind::NotFound));
    }

    #[test]
    fn without_links_a_new_file_is_still_made_whole_and_never_over_another() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = dir.path().join("master.key");
        let staged = Staged::write(&key, b"made\n").expect("staged");
        staged.copy_to_new().expect("copied");
        assert_eq!(fs::read(&key).expect("read"), b"made\n");
        assert_eq!(
            fs::metadata(&key).expect("meta").permissions().mode() & 0o777,
            0o600
        );
        let again = Staged::write(&key, b"other\n").expect("staged");
        let kept = again.copy_to_new().expect_err("exists");
        assert_eq!(kept.kind(), io::ErrorKind::AlreadyExists);
        drop(again);
        assert_eq!(fs::read(&key).expect("read"), b"made\n");
        drop(staged);
        assert_eq!(fs::read_dir(dir.path()).expect("list").count(), 1);
    }

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
        check_private(&db, Kind::File, false).expect("private");
        fs::set_permissions(&db, fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = check_private(&db, Kind::File, false).expect_err("exposed");
        assert!(err.to_string().contains("mode 644"), "{err}");
        assert!(err.to_string().contains("chmod 600"), "{err}");
        check_private(&db, Kind::File, true).expect("allowed");
        check_private(&data.join("missing"), Kind::File, false).expect("absent is fine");
        // The wrong kind is named, not given a chmod: a data or backup dir
        // that is a file was "accessible to other users (mode 644); run
        // `chmod 700`", or "…/backups: Not a directory (os error 20)".
        let err = check_private(&db, Kind::Dir, false).expect_err("a file");
        assert_eq!(
            err.to_string(),
            format!("{}: not a directory", db.display())
        );
        let err = check_private(&data, Kind::File, false).expect_err("a directory");
        assert_eq!(
            err.to_string(),
            format!("{}: a directory, not a file", data.display())
        );
    }

    #[test]
    fn only_a_root_owned_read_only_secret_outside_the_data_dir_is_a_mounted_secret() {
        let mounted = SecretFacts {
            mode: 0o444,
            root_owned: true,
            read_only_mount: true,
            in_data_dir: false,
        };
        assert!(mounted.is_mounted_secret());
        assert!(
            SecretFacts {
                mode: 0o644,
                ..mounted
            }
            .is_mounted_secret()
        );
        for not in [
            SecretFacts {
                mode: 0o666,
                ..mounted
            },
            SecretFacts {
                mode: 0o464,
                ..mounted
            },
            SecretFacts {
                root_owned: false,
                ..mounted
            },
            SecretFacts {
                read_only_mount: false,
                ..mounted
            },
            SecretFacts {
                in_data_dir: true,
                ..mounted
            },
        ] {
            assert!(!not.is_mounted_secret(), "{not:?}");
        }
    }

    #[test]
    fn a_readable_key_on_a_writable_mount_is_refused_and_a_private_one_taken() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        create_private_dir(&data).expect("created");
        // Beside the data dir and inside it: both on a writable mount.
        for key in [dir.path().join("master.key"), data.join("master.key")] {
            fs::write(&key, "key\n").expect("write");
            fs::set_permissions(&key, fs::Permissions::from_mode(0o444)).expect("chmod");
            let err = check_secret(&key, &data, false).expect_err("refused");
            let text = err.to_string();
            assert!(text.contains("mode 444"), "{text}");
            assert!(text.contains("read-only secret"), "{text}");
            check_secret(&key, &data, true).expect("allowed by the flag");
            fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).expect("chmod");
            check_secret(&key, &data, false).expect("private");
        }
        check_secret(&dir.path().join("missing"), &data, false).expect("absent is fine");
    }
}

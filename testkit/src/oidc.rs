//! A throwaway OpenID Connect provider: the npm package `oidc-provider`
//! (a certified implementation) run with Node from the repository's
//! `tests/oidc/provider.mjs` (its packages installed with `npm ci` there
//! the first time). Stopped when dropped. `None`, after a loud SKIPPED,
//! only when Node is missing.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The client id the provider knows.
pub const CLIENT_ID: &str = "strongroom";
/// Its client secret.
pub const CLIENT_SECRET: &str = "a client secret for the test provider";

/// A running provider.
pub struct Provider {
    child: Child,
    /// Its issuer URL, `http://127.0.0.1:PORT`.
    pub issuer: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/oidc")
}

impl Provider {
    /// Writes the client secret into `dir` as a private file (0600), the
    /// way `--oidc-client-secret-file` takes it; its path.
    pub fn client_secret_file(dir: &Path) -> String {
        let path = dir.join("client_secret");
        std::fs::write(&path, CLIENT_SECRET).expect("client secret");
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .expect("chmod");
        path.display().to_string()
    }

    /// Starts the provider on `port`, sending browsers back to
    /// `redirect_uri` and signing with a fresh key named `kid` (a restart
    /// with another `kid` is a key rotation); once it listens.
    pub fn start(test: &str, port: u16, redirect_uri: &str, kid: &str) -> Option<Self> {
        if Command::new("node").arg("--version").output().is_err() {
            crate::skip(test, "node", "the machine's Node.js");
            return None;
        }
        if !dir().join("node_modules/oidc-provider").is_dir() {
            let status = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(dir())
                .status()
                .expect("npm");
            assert!(status.success(), "npm ci in tests/oidc failed");
        }
        let child = Command::new("node")
            .arg(dir().join("provider.mjs"))
            .env("PORT", port.to_string())
            .env("CLIENT_ID", CLIENT_ID)
            .env("CLIENT_SECRET", CLIENT_SECRET)
            .env("REDIRECT_URI", redirect_uri)
            .env("KID", kid)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the provider");
        let provider = Self {
            child,
            issuer: format!("http://127.0.0.1:{port}"),
        };
        // It listens once it is ready.
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(provider);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the OpenID Connect provider did not start on port {port}");
    }
}

//! A throwaway `nats-server` (Debian package `nats-server`) on a free
//! loopback port, as an unprivileged user, killed when dropped. Missing
//! package: a loud skip.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Nats {
    child: Child,
    binary: std::path::PathBuf,
    port: u16,
    pub url: String,
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Nats {
    /// Starts the server, or `None` after saying so on stderr.
    pub fn start(test: &str) -> Option<Self> {
        let packaged = std::path::Path::new("/usr/sbin/nats-server");
        let found = crate::find_program(&["nats-server"])
            .or_else(|| packaged.is_file().then(|| packaged.to_path_buf()));
        let Some(binary) = found else {
            crate::skip(test, "nats-server", "apt-get install nats-server");
            return None;
        };
        let port = crate::free_port();
        let child = spawn(&binary, port);
        Some(Self {
            child,
            binary,
            port,
            url: format!("nats://127.0.0.1:{port}"),
        })
    }

    /// Stops the server (clients see it go away).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        self.child = spawn(&self.binary, self.port);
    }
}

/// Runs as `nobody` when the tests run as root (`setpriv` execs, so the
/// child is the server itself and killing it stops it).
fn spawn(binary: &std::path::Path, port: u16) -> Child {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    let mut command = if root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
            .arg(binary);
        c
    } else {
        Command::new(binary)
    };
    let child = command
        .args(["-a", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nats-server starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nats-server did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

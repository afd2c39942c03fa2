//! A throwaway `nats-server` (Debian package `nats-server`) on a free
//! loopback port, killed when dropped. Missing package: a loud skip.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Nats {
    child: Child,
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
        let found = super::browser::find(&["nats-server"])
            .or_else(|| packaged.is_file().then(|| packaged.to_path_buf()));
        let Some(binary) = found else {
            let _ = writeln!(
                std::io::stderr(),
                "\n**********\nSKIPPED {test}: nats-server is not installed \
                 (apt-get install nats-server); .ci/run installs it.\n**********\n"
            );
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(binary)
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
        Some(Self {
            child,
            url: format!("nats://127.0.0.1:{port}"),
        })
    }
}

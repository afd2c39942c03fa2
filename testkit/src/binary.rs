//! The `strongroom` binary as a test runs it: started on a fresh or given
//! data directory, listening on an ephemeral port (read back from its
//! banner), stopped with a signal. The binary is the one cargo built next
//! to the test (`target/<profile>/strongroom`).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::http::Api;

/// A running `strongroom serve`.
pub struct Binary {
    child: Child,
    /// `http://127.0.0.1:PORT` or `https://…`.
    pub base: String,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// A client of it (plain HTTP; for TLS make one with your roots).
    pub api: Api,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
}

/// A run of the binary that exited (or was stopped).
pub struct Exited {
    /// How it exited.
    pub status: ExitStatus,
    /// What it printed on stdout.
    pub stdout: String,
    /// What it printed on stderr.
    pub stderr: String,
    /// From the signal to the exit.
    pub took: Duration,
}

impl Exited {
    /// The one `error: ` line a failed start or command prints; fails the
    /// test when there is not exactly one, or when it panicked.
    pub fn error_line(&self) -> &str {
        let errors: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| l.starts_with("error: "))
            .collect();
        assert_eq!(errors.len(), 1, "not one error line:\n{}", self.stderr);
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        errors[0]
    }
}

/// The `strongroom` binary cargo built beside this test: test binaries
/// live in `target/<profile>/deps/`, the binary one folder up.
pub fn exe() -> PathBuf {
    let test = std::env::current_exe().expect("test binary");
    let profile = test
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    let exe = profile.join("strongroom");
    assert!(
        exe.is_file(),
        "{} is missing: build the root package's binary first",
        exe.display()
    );
    exe
}

fn command(data_dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Command {
    serve_with(Command::new(exe()), data_dir, args, envs)
}

/// `cmd` given `serve ARGS` and the environment of a test's server.
fn serve_with(mut cmd: Command, data_dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Command {
    cmd.arg("serve");
    if !args.contains(&"--listen") {
        cmd.args(["--listen", "127.0.0.1:0"]);
    }
    cmd.args(args)
        .env("STRONGROOM_DATA_DIR", data_dir)
        .env_remove("STRONGROOM_MASTER_KEY")
        .env_remove("STRONGROOM_MASTER_KEY_FILE")
        .env_remove("STRONGROOM_DATABASE_URL")
        .env_remove("STRONGROOM_DATABASE_URL_FILE")
        .env_remove("STRONGROOM_LOG")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd
}

/// Runs `strongroom serve ARGS` to its exit (for starts that must fail).
pub fn run_to_exit(data_dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Exited {
    exited(command(data_dir, args, envs))
}

/// Runs `strongroom serve ARGS` to its exit from a shell that first runs
/// `limits` (`ulimit -f 0`: a start the kernel stops at its first write).
pub fn run_limited(data_dir: &Path, limits: &str, args: &[&str]) -> Exited {
    let mut shell = Command::new("sh");
    shell
        .args(["-c", &format!("{limits}; exec \"$0\" \"$@\"")])
        .arg(exe());
    exited(serve_with(shell, data_dir, args, &[]))
}

fn exited(mut cmd: Command) -> Exited {
    let started = Instant::now();
    let out = cmd.output().expect("run strongroom");
    Exited {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        took: started.elapsed(),
    }
}

impl Binary {
    /// Starts `strongroom serve ARGS` and waits for its banner.
    pub fn start(data_dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Self {
        let mut child = command(data_dir, args, envs)
            .spawn()
            .expect("spawn strongroom");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let out = child.stdout.take().expect("stdout");
        let lines = stdout.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                lines.lock().expect("lock").push(line);
            }
        });
        let mut err = child.stderr.take().expect("stderr");
        let log = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                log.lock()
                    .expect("lock")
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let banner = stdout
                .lock()
                .expect("lock")
                .iter()
                .find_map(|l| listening(l));
            if let Some(base) = banner {
                let addr = base.split("://").nth(1).expect("address").to_owned();
                return Self {
                    child,
                    api: Api::new(base.clone()),
                    base,
                    addr,
                    stdout,
                    stderr,
                };
            }
            if let Ok(Some(status)) = child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "strongroom exited ({status}) before listening:\n{}",
                    stderr.lock().expect("lock")
                );
            }
            assert!(Instant::now() < deadline, "no banner within 60 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The URL of `path` on it.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// What it printed on stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().expect("lock").join("\n")
    }

    /// What it printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("lock").clone()
    }

    /// Its resident memory now, in KiB (from `/proc`, Linux).
    pub fn resident_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc/PID/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }

    /// Sends a signal (`TERM`, `HUP`, `KILL`).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// SIGTERM, then waits for the exit (at most 30 s).
    pub fn stop(mut self) -> Exited {
        self.signal("TERM");
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            if started.elapsed() > Duration::from_secs(30) {
                let _ = self.child.kill();
                panic!(
                    "strongroom did not exit within 30 s of SIGTERM:\n{}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let took = started.elapsed();
        std::thread::sleep(Duration::from_millis(100));
        Exited {
            status,
            stdout: self.stdout(),
            stderr: self.stderr(),
            took,
        }
    }
}

impl Binary {
    /// [`Binary::stop`] from an async test: waits off the test's thread,
    /// which meanwhile runs the test's clients, so they close their
    /// connections when the server asks. Stopped from that thread, they
    /// cannot, and the server waits its whole grace (10 s) for them.
    pub async fn stop_async(self) -> Exited {
        tokio::task::spawn_blocking(move || self.stop())
            .await
            .expect("stop")
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The URL a banner line announces, as text (`Strongroom listening on
/// URL`) or as a JSON line (`--log-format json`).
fn listening(line: &str) -> Option<String> {
    if let Some(url) = line.strip_prefix("Strongroom listening on ") {
        return Some(url.to_owned());
    }
    let json: serde_json::Value = serde_json::from_str(line).ok()?;
    let fields = &json["fields"];
    (fields["message"] == "Strongroom listening on")
        .then(|| fields["url"].as_str().map(str::to_owned))?
}

/// Runs `strongroom ARGS` (any subcommand) to its exit, with no key or
/// data dir from the environment unless `envs` gives one.
pub fn run(args: &[&str], envs: &[(&str, &str)]) -> Exited {
    run_with_stdin(args, envs, "")
}

/// [`run`] with `input` on stdin.
pub fn run_with_stdin(args: &[&str], envs: &[(&str, &str)], input: &str) -> Exited {
    use std::io::Write;
    let started = Instant::now();
    let mut cmd = Command::new(exe());
    cmd.args(args)
        .env_remove("STRONGROOM_DATA_DIR")
        .env_remove("STRONGROOM_MASTER_KEY")
        .env_remove("STRONGROOM_MASTER_KEY_FILE")
        .env_remove("STRONGROOM_DATABASE_URL")
        .env_remove("STRONGROOM_DATABASE_URL_FILE")
        .env_remove("STRONGROOM_LOG")
        .env("NO_COLOR", "1");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run strongroom");
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes()).expect("stdin");
    }
    let out = child.wait_with_output().expect("run strongroom");
    Exited {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        took: started.elapsed(),
    }
}

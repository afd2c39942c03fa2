//! A throwaway PostgreSQL server for tests, started from the installed
//! Debian package (`postgresql`: `initdb` and `postgres` under
//! `/usr/lib/postgresql/*/bin` or on `PATH`) in a temporary directory, as
//! the unprivileged `postgres` user when the tests run as root. A watchdog
//! stops it and removes its directory when the test process exits.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use strongroom_engine::SecretString;

/// A running test server; databases are made on it by name.
#[derive(Debug)]
pub struct PgCluster {
    port: u16,
    /// Where its Unix socket is: the tests' own connections go there, so
    /// they work whatever `pg_hba.conf` asks of TCP.
    socket_dir: PathBuf,
}

/// A server certificate and key (PEM) for [`PgCluster::start_tls`].
#[derive(Debug)]
pub struct ServerTls {
    /// The server's certificate (its chain, leaf first).
    pub certificate_pem: String,
    /// Its private key.
    pub key_pem: String,
}

/// Where the package's binaries are, if it is installed.
fn binaries() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .find(|dir| dir.join("initdb").is_file() && dir.join("postgres").is_file())
    });
    on_path.or_else(|| {
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|bin| bin.join("initdb").is_file())
            .collect();
        versions.sort();
        versions.pop()
    })
}

fn run(command: &mut Command, what: &str) {
    let out = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.trim_ascii() == b"0")
        .unwrap_or(false)
}

/// `program`, as the `postgres` user when we are root (PostgreSQL refuses
/// to run as root).
fn as_server_user(program: &Path, root: bool) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

impl PgCluster {
    /// Starts a server tuned for tests (no fsync: its data is thrown
    /// away), or `None` after saying loudly on stderr that the package is
    /// not installed. `test` names who asked.
    pub fn start(test: &str) -> Option<Self> {
        Self::start_with(test, false, None)
    }

    /// Like [`PgCluster::start`], with `ssl = on` and this certificate,
    /// and a `pg_hba.conf` that admits TCP connections over TLS only
    /// (`hostssl`).
    pub fn start_tls(test: &str, tls: &ServerTls) -> Option<Self> {
        Self::start_with(test, false, Some(tls))
    }

    /// Like [`PgCluster::start`], but with PostgreSQL's default
    /// durability (fsync on every commit), for benchmarks.
    pub fn start_durable(test: &str) -> Option<Self> {
        Self::start_with(test, true, None)
    }

    /// `start` (`|| PgCluster::start(…)`, or `start_tls`) then `prepare`
    /// (the databases a test needs) on a blocking thread: the cluster's
    /// client blocks, so an async test must not run them on its runtime.
    /// `None` when the start is (it said why).
    pub async fn start_off_runtime<T: Send + 'static>(
        start: impl FnOnce() -> Option<Self> + Send + 'static,
        prepare: impl FnOnce(&Self) -> T + Send + 'static,
    ) -> Option<(Self, T)> {
        tokio::task::spawn_blocking(move || {
            start().map(|cluster| {
                let prepared = prepare(&cluster);
                (cluster, prepared)
            })
        })
        .await
        .expect("cluster start")
    }

    fn start_with(test: &str, durable: bool, tls: Option<&ServerTls>) -> Option<Self> {
        let Some(bin) = binaries() else {
            crate::skip(test, "PostgreSQL", "apt-get install postgresql");
            return None;
        };
        let root = is_root();
        let dir = std::env::temp_dir().join(format!(
            "strongroom-pg-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).expect("cluster dir");
        if root {
            run(
                Command::new("chown").args(["-R", "postgres"]).arg(&dir),
                "chown the cluster dir",
            );
        }
        let data = dir.join("data");
        run(
            as_server_user(&bin.join("initdb"), root)
                .args([
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--no-sync",
                    "-E",
                    "UTF8",
                    "-D",
                ])
                .arg(&data),
            "initdb",
        );
        let mut options = String::new();
        if let Some(tls) = tls {
            let (cert, key) = (dir.join("server.crt"), dir.join("server.key"));
            std::fs::write(&cert, &tls.certificate_pem).expect("server certificate");
            std::fs::write(&key, &tls.key_pem).expect("server key");
            // PostgreSQL refuses a key others may read.
            run(Command::new("chmod").arg("600").arg(&key), "chmod the key");
            if root {
                run(
                    Command::new("chown").arg("postgres").arg(&cert).arg(&key),
                    "chown the certificate",
                );
            }
            std::fs::write(
                data.join("pg_hba.conf"),
                "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
            )
            .expect("pg_hba.conf");
            options = format!(
                "-c ssl=on -c ssl_cert_file='{}' -c ssl_key_file='{}'",
                cert.display(),
                key.display()
            );
        }
        let port = crate::free_port();
        // One shell runs the server and stops it (and removes its files)
        // once this process is gone.
        let runner = if root { "runuser -u postgres -- " } else { "" };
        let speed = if durable {
            ""
        } else {
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        };
        let script = format!(
            "{runner}'{postgres}' -D '{data}' -p {port} -k '{dir}' \
               -c listen_addresses=127.0.0.1 {speed} {options} -c max_connections=300 >/dev/null 2>&1 & \
             while kill -0 {me} 2>/dev/null; do sleep 0.5; done; \
             kill -INT $(head -1 '{data}/postmaster.pid' 2>/dev/null) 2>/dev/null; wait; rm -rf '{dir}'",
            postgres = bin.join("postgres").display(),
            data = data.display(),
            dir = dir.display(),
            me = std::process::id(),
        );
        let mut keeper = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start postgres");
        std::thread::spawn(move || keeper.wait());
        let cluster = Self {
            port,
            socket_dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while postgres::Client::connect(&cluster.admin_url(), postgres::NoTls).is_err() {
            assert!(
                Instant::now() < deadline,
                "postgres did not accept connections within 60 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(cluster)
    }

    fn tcp_url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// The `postgres` database through the Unix socket.
    fn admin_url(&self) -> String {
        self.socket_url("postgres")
    }

    /// Database `name` through the Unix socket, as the superuser.
    fn socket_url(&self, name: &str) -> String {
        format!(
            "host='{}' port={} user=postgres dbname={name}",
            self.socket_dir.display(),
            self.port
        )
    }

    /// The URL of database `name` (letters, digits, `_`) over TCP on
    /// 127.0.0.1, created empty if it does not exist yet.
    pub fn database(&self, name: &str) -> SecretString {
        assert!(
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
            "database name {name:?}"
        );
        let mut admin = postgres::Client::connect(&self.admin_url(), postgres::NoTls)
            .expect("admin connection");
        let exists = admin
            .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
            .expect("look up database")
            .is_some();
        if !exists {
            admin
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .expect("create database");
        }
        SecretString::from(self.tcp_url(name))
    }

    /// Runs `sql` in database `name` as the superuser, over the socket.
    pub fn execute(&self, name: &str, sql: &str) {
        let mut admin = postgres::Client::connect(&self.socket_url(name), postgres::NoTls)
            .expect("admin connection");
        admin.batch_execute(sql).expect("admin statement");
    }

    /// Ends every other connection to database `name`, as a restart of the
    /// server ends them all ("terminating connection due to administrator
    /// command"), and waits until they are gone; how many it ended.
    pub fn end_connections(&self, name: &str) -> usize {
        let mut admin = postgres::Client::connect(&self.admin_url(), postgres::NoTls)
            .expect("admin connection");
        let ended: Vec<i32> = admin
            .query(
                "SELECT pid FROM pg_stat_activity WHERE datname = $1",
                &[&name],
            )
            .expect("list backends")
            .iter()
            .map(|row| row.get(0))
            .collect();
        admin
            .execute(
                "SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid",
                &[&ended],
            )
            .expect("terminate backends");
        // Those, not the ones a pool opens meanwhile.
        let started = std::time::Instant::now();
        loop {
            let left: i64 = admin
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1)",
                    &[&ended],
                )
                .expect("count backends")
                .get(0);
            if left == 0 {
                return ended.len();
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(10),
                "{left} connections to {name} outlived their termination"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }
}

//! Event latency across two instances: starts PostgreSQL (default
//! durability) and `nats-server` from their packages, two `strongroom
//! serve` processes on them, and times `POST` on instance A until the
//! event arrives on a stream open on B — beside the same on A alone (a
//! stream on the instance that committed). Prints median, p90 and p99.
//!
//! ```sh
//! cargo build --release
//! cargo run --release --example fanout_latency -- target/release/strongroom [MESSAGES]
//! ```

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use strongroom::engine::secrecy::ExposeSecret;
use strongroom_testkit::http::Api;
use strongroom_testkit::nats::Nats;
use strongroom_testkit::postgres::PgCluster;
use strongroom_testkit::sse::SseStream;
use strongroom_testkit::{KEY_A, PASSWORD};

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port()
}

fn wait_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn summary(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    println!(
        "{label:<28} n={:<5} median {:>8.2?}  p90 {:>8.2?}  p99 {:>8.2?}",
        samples.len(),
        at(0.5),
        at(0.9),
        at(0.99)
    );
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let binary = args
        .next()
        .unwrap_or_else(|| "target/release/strongroom".into());
    let messages: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(300);

    let cluster = tokio::task::spawn_blocking(|| {
        let c = PgCluster::start_durable("fanout_latency").expect("PostgreSQL installed");
        let url = c.database("fanout");
        (c, url)
    });
    let (_cluster, url) = cluster.await.expect("cluster");
    let nats = Nats::start("fanout_latency").expect("nats-server installed");
    let dirs = [
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    ];
    let mut bases = Vec::new();
    let mut servers = Vec::new();
    for dir in &dirs {
        let port = free_port();
        let child = Command::new(&binary)
            .arg("serve")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--database-url", url.expose_secret()])
            .args(["--nats-url", &nats.url])
            .args(["--quota-writes-per-minute", "1000000"])
            .env("STRONGROOM_DATA_DIR", dir.path().join("data"))
            .env("STRONGROOM_MASTER_KEY", KEY_A)
            .env("STRONGROOM_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("strongroom serve");
        servers.push(Killed(child));
        wait_listening(port);
        bases.push(format!("http://127.0.0.1:{port}"));
    }
    let (a, b) = (Api::new(&bases[0]), Api::new(&bases[1]));
    for name in ["alice", "bob"] {
        let creds = json!({"username": name, "password": PASSWORD});
        assert_eq!(a.post("/v1/accounts", creds, None).await.status, 201);
    }
    let (alice, _) = a.login("alice", PASSWORD).await;
    for (label, stream_on) in [
        ("same instance (A -> A)", &a),
        ("across instances (A -> B)", &b),
    ] {
        let (bob, _) = stream_on.login("bob", PASSWORD).await;
        let mut stream = SseStream::open(&stream_on.url("/v1/events"), &bob, None).await;
        let mut samples = Vec::with_capacity(messages);
        for n in 0..messages {
            let text = format!("{label} {n}");
            let started = Instant::now();
            let message = json!({"message": text});
            let sent = a
                .post("/v1/users/bob/messages", message, Some(&alice))
                .await;
            assert_eq!(sent.status, 201);
            loop {
                let event = stream.expect(Duration::from_secs(30)).await;
                if event.json()["message"] == text.as_str() {
                    break;
                }
            }
            samples.push(started.elapsed());
        }
        summary(label, samples);
    }
}

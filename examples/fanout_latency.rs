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

use futures_util::StreamExt;
use serde_json::{Value, json};
use strongroom::engine::secrecy::ExposeSecret;
use strongroom::engine::testing::PgCluster;

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const PASSWORD: &str = "correct horse battery";

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

/// The next SSE `data:` line of a stream.
async fn next_data(
    body: &mut (impl futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    buf: &mut String,
) -> Value {
    loop {
        if let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            if let Some(data) = block.lines().find_map(|l| l.strip_prefix("data:")) {
                return serde_json::from_str(data.trim()).expect("json");
            }
            continue;
        }
        let chunk = body.next().await.expect("stream open").expect("chunk");
        buf.push_str(&String::from_utf8_lossy(&chunk));
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
    let nats_port = free_port();
    let _nats = Killed(
        Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &nats_port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server (apt-get install nats-server)"),
    );
    wait_listening(nats_port);
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
            .args(["--nats-url", &format!("nats://127.0.0.1:{nats_port}")])
            .args(["--quota-writes-per-minute", "1000000"])
            .env("STRONGROOM_DATA_DIR", dir.path().join("data"))
            .env("STRONGROOM_MASTER_KEY", KEY)
            .env("STRONGROOM_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("strongroom serve");
        servers.push(Killed(child));
        wait_listening(port);
        bases.push(format!("http://127.0.0.1:{port}"));
    }
    let http = reqwest::Client::new();
    let call = |base: &str, path: &str, token: Option<&str>, body: Value| {
        let mut req = http.post(format!("{base}{path}")).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    for name in ["alice", "bob"] {
        let creds = json!({"username": name, "password": PASSWORD});
        call(&bases[0], "/v1/accounts", None, creds)
            .await
            .expect("account");
    }
    let login = |base: String, name: &'static str| {
        let req = http
            .post(format!("{base}/v1/sessions"))
            .json(&json!({"username": name, "password": PASSWORD}));
        async move {
            let v: Value = req.send().await.expect("login").json().await.expect("json");
            v["access_token"].as_str().expect("token").to_owned()
        }
    };
    let alice = login(bases[0].clone(), "alice").await;
    for (label, stream_base) in [
        ("same instance (A -> A)", &bases[0]),
        ("across instances (A -> B)", &bases[1]),
    ] {
        let bob = login(stream_base.clone(), "bob").await;
        let res = http
            .get(format!("{stream_base}/v1/events"))
            .bearer_auth(&bob)
            .send()
            .await
            .expect("stream");
        let mut body = res.bytes_stream();
        let mut buf = String::new();
        let mut samples = Vec::with_capacity(messages);
        for n in 0..messages {
            let text = format!("{label} {n}");
            let started = Instant::now();
            let sent = call(
                &bases[0],
                "/v1/users/bob/messages",
                Some(&alice),
                json!({"message": text}),
            )
            .await
            .expect("send");
            assert_eq!(sent.status(), 201);
            loop {
                let event = next_data(&mut body, &mut buf).await;
                if event["message"] == text.as_str() {
                    break;
                }
            }
            samples.push(started.elapsed());
        }
        summary(label, samples);
    }
}

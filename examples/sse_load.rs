//! Load harness for live delivery: opens many authenticated SSE streams to a
//! running server on loopback, posts broadcasts and direct messages, and
//! reports connections, delivery latency (p50/p99/max over every stream),
//! events lost, and the server's resident memory.
//!
//! ```sh
//! cargo run --release -- serve &        # the server under test
//! cargo run --release --example sse_load -- --connections 10000
//! # HTTP/2 (h2c with prior knowledge): 100 streams on each connection
//! cargo run --release --example sse_load -- --streams 100000 --http2 --streams-per-connection 100
//! ```
//!
//! Connections come from several loopback source addresses (127.0.0.0/8,
//! ~20 000 each) so ephemeral ports never run short; logins come
//! from their own addresses so the per-address login limit is respected.
//! The harness raises its own open-file limit. Everything stays on
//! loopback and stops by itself.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use serde_json::{Value, json};
use strongroom_testkit::http1::health_check;
use strongroom_testkit::process::{cpu_time, find_server_pid, rss_kib};
use strongroom_testkit::sse::{Item, SseParser};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

/// The server's allocator: this harness shares the machine with the
/// server, and glibc's allocator cost it half its CPU at 100 000 streams.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
struct Args {
    /// Server address (loopback only).
    #[arg(long, default_value = "127.0.0.1:8080")]
    server: SocketAddr,
    /// Concurrent SSE streams to open (over HTTP/1.1, one connection
    /// each).
    #[arg(long, alias = "streams", default_value_t = 1000)]
    connections: usize,
    /// Open the streams over HTTP/2 with prior knowledge (h2c), many to a
    /// connection.
    #[arg(long)]
    http2: bool,
    /// Streams each HTTP/2 connection carries (with --http2).
    #[arg(long, default_value_t = 100)]
    streams_per_connection: usize,
    /// Distinct user accounts the streams are spread over.
    #[arg(long, default_value_t = 100)]
    users: usize,
    /// Broadcasts to send once every stream is up.
    #[arg(long, default_value_t = 5)]
    broadcasts: usize,
    /// Direct messages to send (each to one user's streams).
    #[arg(long, default_value_t = 20)]
    direct: usize,
    /// Send one `GET /healthz` on each HTTP/1.1 connection before its
    /// event stream, as a browser reusing a kept-alive connection would.
    #[arg(long)]
    after_request: bool,
    /// Print a row for every direct message, not only the first.
    #[arg(long)]
    each_direct: bool,
    /// Streams opened concurrently while connecting.
    #[arg(long, default_value_t = 256)]
    connect_parallelism: usize,
    /// Server process id for memory readings (default: found by name).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Seconds to wait for deliveries after the last send.
    #[arg(long, default_value_t = 20)]
    settle: u64,
    /// An admin account to broadcast as (broadcasting needs the admin
    /// role); its password comes from SSE_LOAD_ADMIN_PASSWORD. Create one
    /// with `strongroom user add NAME --role admin`.
    #[arg(long)]
    admin_user: Option<String>,
}

/// Deliveries seen, by message tag: (stream count, latencies in µs).
type Seen = Arc<Mutex<HashMap<String, Vec<u64>>>>;

fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

fn source(i: usize, per_source: usize, base: u8) -> IpAddr {
    let n = i / per_source;
    IpAddr::V4(Ipv4Addr::new(
        127,
        base,
        (n / 250) as u8,
        (n % 250 + 1) as u8,
    ))
}

/// POSTs `body`, waiting out `429 Retry-After` answers.
async fn post_json(client: &reqwest::Client, url: &str, body: &Value) -> Value {
    loop {
        let r = client.post(url).json(body).send().await.expect("request");
        if r.status() == 429 {
            let wait = r
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()?.parse().ok())
                .unwrap_or(1);
            tokio::time::sleep(Duration::from_secs(wait)).await;
            continue;
        }
        assert_eq!(
            r.status(),
            201,
            "{url}: {}",
            r.text().await.unwrap_or_default()
        );
        return r.json().await.expect("json");
    }
}

async fn login(server: SocketAddr, users: usize) -> Vec<(String, String)> {
    let mut tokens = Vec::with_capacity(users);
    let run = now_micros();
    // Source addresses of this run: 127.<10..250>.x.y, five accounts each,
    // well inside the per-address login limit.
    let base = 10 + (run % 240) as u8;
    for i in 0..users {
        let client = reqwest::Client::builder()
            .local_address(source(i, 5, base))
            .build()
            .expect("client");
        let name = format!("load{run}-{i}");
        let creds = json!({"username": name, "password": "load test password"});
        post_json(&client, &format!("http://{server}/v1/accounts"), &creds).await;
        let session = post_json(&client, &format!("http://{server}/v1/sessions"), &creds).await;
        tokens.push((
            name,
            session["access_token"]
                .as_str()
                .expect("access token")
                .to_owned(),
        ));
    }
    tokens
}

/// Opens one stream and records every event it receives until `deadline`.
async fn stream(
    server: SocketAddr,
    src: IpAddr,
    token: String,
    seen: Seen,
    up: Arc<AtomicUsize>,
    deadline: Instant,
    after_request: bool,
) -> Result<(), String> {
    let socket = TcpSocket::new_v4().map_err(|e| e.to_string())?;
    socket
        .bind(SocketAddr::new(src, 0))
        .map_err(|e| format!("bind {src}: {e}"))?;
    let mut conn = socket
        .connect(server)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    if after_request {
        health_check(&mut conn, &server.to_string()).await?;
    }
    let request = format!(
        "GET /v1/events HTTP/1.1\r\nHost: {server}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
    );
    conn.write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let mut headers_done = false;
    let mut parser = SseParser::default();
    // One timer for the whole stream, not one per read.
    let reading = async {
        loop {
            let n = match conn.read(&mut chunk).await {
                Ok(0) => return Err("server closed the stream".into()),
                Ok(n) => n,
                Err(e) => return Err(e.to_string()),
            };
            buf.extend_from_slice(&chunk[..n]);
            if !headers_done {
                let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                if !buf.starts_with(b"HTTP/1.1 200") {
                    return Err(String::from_utf8_lossy(&buf[..end]).into_owned());
                }
                buf.drain(..end + 4);
                headers_done = true;
                up.fetch_add(1, Ordering::SeqCst);
            }
            // Chunk-size lines are fields the parser ignores (no colon), so
            // the chunked framing need not be undone: poem writes an event
            // per chunk.
            record(&mut parser, &buf, &seen);
            buf.clear();
        }
    };
    tokio::time::timeout_at(deadline.into(), reading)
        .await
        .unwrap_or(Ok(()))
}

/// Feeds received bytes to a stream's parser and records the latency of
/// every load event among them.
fn record(parser: &mut SseParser, bytes: &[u8], seen: &Seen) {
    /// The one field of an event's data the harness reads.
    #[derive(serde::Deserialize)]
    struct Data<'a> {
        #[serde(borrow)]
        message: Option<std::borrow::Cow<'a, str>>,
    }
    let received = now_micros();
    for item in parser.push(bytes) {
        let Item::Event(event) = item else { continue };
        let Ok(Data {
            message: Some(text),
        }) = serde_json::from_str(&event.data)
        else {
            continue;
        };
        let mut parts = text.split(' ');
        if let (Some("load"), Some(tag), Some(sent)) = (parts.next(), parts.next(), parts.next()) {
            let latency = received.saturating_sub(sent.parse().unwrap_or(received));
            let mut seen = seen.lock().expect("seen");
            match seen.get_mut(tag) {
                Some(latencies) => latencies.push(latency),
                None => {
                    seen.insert(tag.to_owned(), vec![latency]);
                }
            }
        }
    }
}

/// Opens one HTTP/2 connection and `tokens.len()` streams on it (one per
/// token), recording every event until `deadline`. Counts each stream in
/// `up` once its 200 has arrived and each one refused or never sent in
/// `failures`.
async fn h2_connection(
    server: SocketAddr,
    src: IpAddr,
    tokens: Vec<String>,
    seen: Seen,
    up: Arc<AtomicUsize>,
    failures: Arc<AtomicUsize>,
    deadline: Instant,
) -> Result<(), String> {
    let opened = async {
        let socket = TcpSocket::new_v4().map_err(|e| e.to_string())?;
        socket
            .bind(SocketAddr::new(src, 0))
            .map_err(|e| format!("bind {src}: {e}"))?;
        let tcp = socket
            .connect(server)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        h2::client::handshake(tcp)
            .await
            .map_err(|e| format!("handshake: {e}"))
    };
    let (client, connection) = match opened.await {
        Ok(opened) => opened,
        Err(e) => {
            failures.fetch_add(tokens.len(), Ordering::SeqCst);
            return Err(e);
        }
    };
    let driver = tokio::spawn(connection);
    let mut streams = tokio::task::JoinSet::new();
    let count = tokens.len();
    for (sent, token) in tokens.into_iter().enumerate() {
        let request = http::Request::get(format!("http://{server}/v1/events"))
            .header("authorization", format!("Bearer {token}"))
            .header("accept", "text/event-stream")
            .body(())
            .map_err(|e| e.to_string())?;
        let sending = async {
            let mut client = client.clone().ready().await?;
            client
                .send_request(request, true)
                .map(|(response, _)| response)
        };
        let response = match sending.await {
            Ok(response) => response,
            Err(e) => {
                // The streams not sent fail; those sent go on.
                failures.fetch_add(count - sent, Ordering::SeqCst);
                eprintln!("h2 connection: {e}");
                break;
            }
        };
        let (seen, up, failures) = (seen.clone(), up.clone(), failures.clone());
        streams.spawn(async move {
            let outcome = async {
                let response = response.await.map_err(|e| format!("response: {e}"))?;
                if response.status() != 200 {
                    return Err::<(), _>(format!("status {}", response.status()));
                }
                up.fetch_add(1, Ordering::SeqCst);
                let mut body = response.into_body();
                let mut parser = SseParser::default();
                // Read until the server ends the stream or the connection
                // drops it at the deadline (no timer per read).
                loop {
                    match body.data().await {
                        None => return Err("server ended the stream".to_owned()),
                        Some(Err(e)) => return Err(e.to_string()),
                        Some(Ok(bytes)) => {
                            let _ = body.flow_control().release_capacity(bytes.len());
                            record(&mut parser, &bytes, &seen);
                        }
                    }
                }
            }
            .await;
            if let Err(e) = &outcome
                && failures.fetch_add(1, Ordering::SeqCst) < 5
            {
                eprintln!("h2 stream: {e}");
            }
        });
    }
    // At the deadline, dropping the set ends the streams still open.
    let _ = tokio::time::timeout_at(deadline.into(), async {
        while streams.join_next().await.is_some() {}
    })
    .await;
    drop(streams);
    driver.abort();
    Ok(())
}

/// Waits until every expected delivery is seen, or `until`.
async fn wait_for(seen: &Seen, expected: &[(String, usize)], until: Instant) {
    loop {
        let done = {
            let seen = seen.lock().expect("seen");
            expected
                .iter()
                .all(|(tag, n)| seen.get(tag).map_or(0, Vec::len) >= *n)
        };
        if done || Instant::now() > until {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    assert!(
        args.server.ip().is_loopback(),
        "the harness only targets loopback servers"
    );
    let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(0);
    println!("harness open-file limit: {limit}");
    let pid = args.server_pid.or_else(find_server_pid);
    println!("server pid: {pid:?}");

    let t = Instant::now();
    let tokens = login(args.server, args.users.max(1)).await;
    println!("logged in {} users in {:.1?}", tokens.len(), t.elapsed());
    let rss_idle = rss_kib(pid);

    let seen: Seen = Arc::default();
    let up = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(600);
    let per_source = 20_000;
    let gate = Arc::new(tokio::sync::Semaphore::new(args.connect_parallelism));
    let t = Instant::now();
    let mut tasks = Vec::with_capacity(args.connections);
    let mut streams_of_user = vec![0usize; tokens.len()];
    let mut user_tokens = Vec::with_capacity(args.connections);
    for i in 0..args.connections {
        let user = i % tokens.len();
        streams_of_user[user] += 1;
        user_tokens.push(tokens[user].1.clone());
    }
    if args.http2 {
        let per = args.streams_per_connection.max(1);
        let connections = args.connections.div_ceil(per);
        println!("HTTP/2: {connections} connections, up to {per} streams each");
        for (c, chunk) in user_tokens.chunks(per).map(<[String]>::to_vec).enumerate() {
            let (seen, up, failures, gate) =
                (seen.clone(), up.clone(), failures.clone(), gate.clone());
            let src = source(c, per_source, 0);
            let server = args.server;
            tasks.push(tokio::spawn(async move {
                // One connection at a time per permit until its streams
                // are up.
                let permit = gate.acquire_owned().await.expect("gate");
                let want = chunk.len();
                let before = up.load(Ordering::SeqCst) + failures.load(Ordering::SeqCst);
                let f = failures.clone();
                let upc = up.clone();
                let task = tokio::spawn(h2_connection(
                    server, src, chunk, seen, up, failures, deadline,
                ));
                while upc.load(Ordering::SeqCst) + f.load(Ordering::SeqCst) < before + want
                    && !task.is_finished()
                {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                drop(permit);
                if let Ok(Err(e)) = task.await {
                    eprintln!("connection {c}: {e}");
                }
            }));
        }
    } else {
        for (i, token) in user_tokens.into_iter().enumerate() {
            let (server, after_request) = (args.server, args.after_request);
            let (seen, up, failures, gate) =
                (seen.clone(), up.clone(), failures.clone(), gate.clone());
            let src = source(i, per_source, 0);
            tasks.push(tokio::spawn(async move {
                let permit = gate.acquire_owned().await.expect("gate");
                let before = up.load(Ordering::SeqCst);
                let task = tokio::spawn(stream(
                    server,
                    src,
                    token,
                    seen,
                    up.clone(),
                    deadline,
                    after_request,
                ));
                // Hold the permit until this stream is up (or failed).
                while up.load(Ordering::SeqCst) == before && !task.is_finished() {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                drop(permit);
                if let Ok(Err(e)) = task.await
                    && failures.fetch_add(1, Ordering::SeqCst) < 5
                {
                    eprintln!("stream {i}: {e}");
                }
            }));
        }
    }
    while up.load(Ordering::SeqCst) + failures.load(Ordering::SeqCst) < args.connections
        && t.elapsed() < Duration::from_secs(300)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let connected = up.load(Ordering::SeqCst);
    println!(
        "streams established: {connected} of {} in {:.1?}",
        args.connections,
        t.elapsed()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_connected = rss_kib(pid);
    let cpu_before_sends = cpu_time(pid);
    // This harness shares the machine's cores with the server: its own CPU
    // over the same window is printed beside the server's.
    let own = Some(std::process::id());
    let own_before_sends = cpu_time(own);

    let sender = reqwest::Client::builder()
        .local_address(source(0, 1, 11))
        .build()
        .expect("client");
    let post = |path: String, body: Value, token: String| {
        let sender = sender.clone();
        async move {
            let r = sender
                .post(format!("http://{}{path}", args.server))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .expect("post");
            assert_eq!(
                r.status(),
                201,
                "{path}: {}",
                r.text().await.unwrap_or_default()
            );
        }
    };
    let broadcaster = if args.broadcasts == 0 {
        String::new()
    } else {
        let Some(admin) = &args.admin_user else {
            panic!(
                "broadcasting needs an admin: pass --admin-user NAME (password in \
                 SSE_LOAD_ADMIN_PASSWORD), or --broadcasts 0"
            );
        };
        let password = std::env::var("SSE_LOAD_ADMIN_PASSWORD")
            .expect("SSE_LOAD_ADMIN_PASSWORD holds the admin's password");
        let session = post_json(
            &sender,
            &format!("http://{}/v1/sessions", args.server),
            &json!({"username": admin, "password": password}),
        )
        .await;
        session["access_token"]
            .as_str()
            .expect("access token")
            .to_owned()
    };
    let mut expected: Vec<(String, usize)> = Vec::new();
    for b in 0..args.broadcasts {
        let tag = format!("b{b}");
        post(
            "/v1/broadcasts".into(),
            json!({"message": format!("load {tag} {}", now_micros())}),
            broadcaster.clone(),
        )
        .await;
        expected.push((tag, connected));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Direct messages are timed with every stream idle again: sent while
    // the last broadcast is still being delivered, they would time the
    // broadcast's queue instead.
    let landed = Instant::now();
    wait_for(&seen, &expected, landed + Duration::from_secs(args.settle)).await;
    if args.broadcasts > 0 {
        println!(
            "waited {:.1?} for the broadcasts' last deliveries before the direct messages",
            landed.elapsed()
        );
    }
    for d in 0..args.direct {
        let target = d % tokens.len();
        let tag = format!("d{d}");
        let path = format!("/v1/users/{}/messages", tokens[target].0);
        post(
            path,
            json!({"message": format!("load {tag} {}", now_micros())}),
            tokens[(target + 1) % tokens.len()].1.clone(),
        )
        .await;
        expected.push((tag, streams_of_user[target].min(connected)));
    }
    wait_for(
        &seen,
        &expected,
        Instant::now() + Duration::from_secs(args.settle),
    )
    .await;
    let rss_after = rss_kib(pid);
    let cpu_sending = cpu_time(pid)
        .zip(cpu_before_sends)
        .map(|(after, before)| after.saturating_sub(before));
    let own_sending = cpu_time(own)
        .zip(own_before_sends)
        .map(|(after, before)| after.saturating_sub(before));

    let seen = seen.lock().expect("seen").clone();
    let mut lost = 0usize;
    println!(
        "\n{:<6} {:>9} {:>9} {:>10} {:>10} {:>10}",
        "event", "expected", "received", "p50 ms", "p99 ms", "max ms"
    );
    let mut all_broadcast = Vec::new();
    let mut all_direct = Vec::new();
    for (tag, n) in &expected {
        let mut lat = seen.get(tag).cloned().unwrap_or_default();
        lat.sort_unstable();
        lost += n.saturating_sub(lat.len());
        if tag.starts_with('b') {
            all_broadcast.extend_from_slice(&lat);
        } else {
            all_direct.extend_from_slice(&lat);
        }
        let ms = |v: u64| v as f64 / 1000.0;
        if tag.starts_with('b') || tag == "d0" || args.each_direct {
            println!(
                "{tag:<6} {n:>9} {:>9} {:>10.1} {:>10.1} {:>10.1}",
                lat.len(),
                ms(percentile(&lat, 0.5)),
                ms(percentile(&lat, 0.99)),
                ms(lat.last().copied().unwrap_or(0))
            );
        }
    }
    all_broadcast.sort_unstable();
    let ms = |v: u64| v as f64 / 1000.0;
    println!("\nconnections established: {connected}");
    // p50, p99 and max of sorted latencies, as the summary lines print them.
    let spread = |sorted: &[u64]| {
        format!(
            "p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            ms(percentile(sorted, 0.5)),
            ms(percentile(sorted, 0.99)),
            ms(sorted.last().copied().unwrap_or(0))
        )
    };
    println!(
        "broadcast delivery over all streams: {}",
        spread(&all_broadcast)
    );
    all_direct.sort_unstable();
    println!(
        "direct delivery over all streams ({} messages): {}",
        args.direct,
        spread(&all_direct)
    );
    println!("events lost: {lost}");
    let delivered = (all_broadcast.len() + all_direct.len()).max(1);
    for (whose, cpu) in [("server", cpu_sending), ("harness", own_sending)] {
        if let Some(cpu) = cpu {
            println!(
                "{whose} CPU from the first send to the last delivery: {:.2} s, {:.2} µs per event delivered ({delivered})",
                cpu.as_secs_f64(),
                cpu.as_secs_f64() * 1e6 / delivered as f64
            );
        }
    }
    if let (Some(idle), Some(conn)) = (rss_idle, rss_connected) {
        let per = (conn.saturating_sub(idle) * 1024) as f64 / connected.max(1) as f64;
        println!(
            "server RSS: {idle} KiB before streams, {conn} KiB with {connected} idle streams ({per:.0} B per stream), {} KiB after sends",
            rss_after.unwrap_or(0)
        );
    }
    for task in tasks {
        task.abort();
    }
    std::process::exit(if lost == 0 && connected == args.connections {
        0
    } else {
        1
    });
}

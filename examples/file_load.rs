//! Load harness for files: streams one large file up to a running server
//! and back down over loopback HTTP, checks every byte, then times small
//! range reads of it, and reports throughput and how far the server's
//! resident memory grew (sampled every 20 ms) on each leg.
//!
//! ```sh
//! cargo run --release -- serve --max-file-bytes 2147483648 --quota-bytes 4294967296 &
//! cargo run --release --example file_load -- --size-mib 1024
//! ```
//!
//! The file's bytes are generated as they are sent (never held whole),
//! and the download is checked as it arrives.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use futures_util::StreamExt;
use serde_json::{Value, json};
use strongroom_testkit::process::{find_server_pid, rss_kib};

#[derive(Parser, Debug)]
struct Args {
    /// Server address (loopback).
    #[arg(long, default_value = "127.0.0.1:8080")]
    server: SocketAddr,
    /// Size of the file, in MiB.
    #[arg(long, default_value_t = 1024)]
    size_mib: u64,
    /// Range reads to time after the download.
    #[arg(long, default_value_t = 200)]
    ranges: usize,
    /// The server's pid (default: the running `strongroom serve`).
    #[arg(long)]
    server_pid: Option<u32>,
}

const CHUNK: usize = 256 * 1024;

/// The file's byte at `offset`: a pattern no two nearby segments share.
fn byte_at(offset: u64) -> u8 {
    (offset.wrapping_mul(2_654_435_761) >> 13) as u8 ^ (offset >> 16) as u8
}

fn chunk_at(offset: u64, len: usize) -> Bytes {
    (0..len as u64).map(|i| byte_at(offset + i)).collect()
}

/// Samples the server's RSS until stopped; the peak, in KiB.
struct Peak {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Peak {
    fn start(pid: Option<u32>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(rss_kib(pid).unwrap_or(0)));
        let (s, p) = (stop.clone(), peak.clone());
        let task = tokio::spawn(async move {
            while !s.load(Ordering::Relaxed) {
                if let Some(now) = rss_kib(pid) {
                    p.fetch_max(now, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        Self { stop, peak, task }
    }

    async fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
        self.peak.load(Ordering::Relaxed)
    }
}

async fn token(http: &reqwest::Client, base: &str) -> String {
    let name = format!("load{}", std::process::id());
    let password = "correct horse battery staple";
    let body = json!({"username": name, "password": password});
    let _ = http
        .post(format!("{base}/v1/accounts"))
        .json(&body)
        .send()
        .await;
    let session: Value = http
        .post(format!("{base}/v1/sessions"))
        .json(&body)
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("session");
    session["access_token"]
        .as_str()
        .expect("an access token (is registration open?)")
        .to_owned()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let base = format!("http://{}", args.server);
    let size = args.size_mib * 1024 * 1024;
    let pid = args.server_pid.or_else(find_server_pid);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(3600))
        .build()
        .expect("client");
    let token = token(&http, &base).await;
    let idle = rss_kib(pid);
    println!("server pid {pid:?}, idle RSS {} KiB", idle.unwrap_or(0));

    // Up: generated as it is sent, without a length (chunked).
    let body = futures_util::stream::iter((0..size.div_ceil(CHUNK as u64)).map(move |i| {
        let offset = i * CHUNK as u64;
        Ok::<_, std::io::Error>(chunk_at(offset, CHUNK.min((size - offset) as usize)))
    }));
    let peak = Peak::start(pid);
    let started = Instant::now();
    let stored: Value = http
        .post(format!("{base}/v1/files?ttl_seconds=3600"))
        .bearer_auth(&token)
        .header("X-File-Name", "load.bin")
        .body(reqwest::Body::wrap_stream(body))
        .send()
        .await
        .expect("upload")
        .json()
        .await
        .expect("stored");
    let up = started.elapsed();
    let up_peak = peak.finish().await;
    let id = stored["id"]
        .as_str()
        .unwrap_or_else(|| panic!("upload refused: {stored}"));
    assert_eq!(stored["size"].as_u64(), Some(size), "{stored}");
    let mib = size as f64 / (1024.0 * 1024.0);
    println!(
        "upload:   {mib:.0} MiB in {:.2} s = {:.0} MiB/s; server RSS peak +{} MiB",
        up.as_secs_f64(),
        mib / up.as_secs_f64(),
        up_peak.saturating_sub(idle.unwrap_or(0)) / 1024
    );

    // Down: checked byte by byte as it arrives.
    let rss_before = rss_kib(pid).unwrap_or(0);
    let peak = Peak::start(pid);
    let started = Instant::now();
    let response = http
        .get(format!("{base}/v1/files/{id}"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("download");
    assert_eq!(response.status(), 200);
    let mut stream = response.bytes_stream();
    let mut at = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.expect("body");
        for (i, b) in chunk.iter().enumerate() {
            assert_eq!(*b, byte_at(at + i as u64), "byte {} differs", at + i as u64);
        }
        at += chunk.len() as u64;
    }
    let down = started.elapsed();
    let down_peak = peak.finish().await;
    assert_eq!(at, size, "the download ended early");
    println!(
        "download: {mib:.0} MiB in {:.2} s = {:.0} MiB/s; server RSS peak +{} MiB (over its RSS before the download)",
        down.as_secs_f64(),
        mib / down.as_secs_f64(),
        down_peak.saturating_sub(rss_before) / 1024
    );

    // 20-byte ranges at spread offsets, one request each.
    let mut times = Vec::with_capacity(args.ranges);
    for i in 0..args.ranges as u64 {
        let offset = (i * 7_919 * 65_537 + 12_345) % (size - 20);
        let started = Instant::now();
        let part = http
            .get(format!("{base}/v1/files/{id}"))
            .bearer_auth(&token)
            .header("Range", format!("bytes={offset}-{}", offset + 19))
            .send()
            .await
            .expect("range");
        assert_eq!(part.status(), 206);
        let bytes = part.bytes().await.expect("range body");
        times.push(started.elapsed());
        let expected: Vec<u8> = (0..20).map(|j| byte_at(offset + j)).collect();
        assert_eq!(bytes.as_ref(), expected.as_slice());
    }
    times.sort();
    println!(
        "range:    {} reads of 20 bytes: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        times.len(),
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3,
        times.last().map_or(0.0, |t| t.as_secs_f64() * 1e3)
    );
    let deleted = http
        .delete(format!("{base}/v1/files/{id}"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("delete");
    println!("deleted: {}", deleted.status());
}

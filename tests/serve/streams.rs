//! HTTP/1.1 event streams as they go over the wire: the server answers a
//! plain `GET /v1/events` itself (not through hyper, to keep an idle
//! stream small), first on its connection or behind other requests, so
//! these tests read the raw bytes: the head, chunked framing, the
//! connection closing with the stream, and anything unusual still
//! answered as hyper would.
#![cfg(unix)]

use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use strongroom_testkit::http1::health_check;

use crate::common::binary::Binary;

/// Reads from `conn` until `done` holds for what was read (or the
/// connection ends, or 10 s pass); returns everything read.
async fn read_until(conn: &mut TcpStream, read: &mut Vec<u8>, done: impl Fn(&[u8]) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 4096];
    while !done(read) {
        let n = tokio::time::timeout_at(deadline, conn.read(&mut buf))
            .await
            .expect("the server answered in time")
            .expect("read");
        if n == 0 {
            break;
        }
        read.extend_from_slice(&buf[..n]);
    }
}

/// The head of a response (up to the blank line) and what came after it.
fn split_head(read: &[u8]) -> (String, Vec<u8>) {
    let end = read
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a whole head");
    (
        String::from_utf8(read[..end + 4].to_vec()).expect("head text"),
        read[end + 4..].to_vec(),
    )
}

/// A chunked body's chunks, and whether the last (empty) one came.
fn chunks(mut body: &[u8]) -> (Vec<Vec<u8>>, bool) {
    let mut out = Vec::new();
    loop {
        let Some(line) = body.windows(2).position(|w| w == b"\r\n") else {
            return (out, false);
        };
        let len = usize::from_str_radix(std::str::from_utf8(&body[..line]).expect("hex"), 16)
            .expect("a chunk length");
        if len == 0 {
            return (out, &body[line..] == b"\r\n\r\n");
        }
        if body.len() < line + 2 + len + 2 {
            return (out, false);
        }
        out.push(body[line + 2..line + 2 + len].to_vec());
        assert_eq!(&body[line + 2 + len..line + 4 + len], b"\r\n");
        body = &body[line + 4 + len..];
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Opens the event stream on `conn` (first, or after what it carried
/// before) and follows it to its end as the server's own writer sends it:
/// a chunked head that closes the connection and holds `lines`, `message`
/// stored and delivered, then the server stopped, which ends the stream
/// with its reason and the last chunk.
async fn a_stream_to_its_end(
    server: Binary,
    conn: &mut TcpStream,
    token: &str,
    message: &str,
    lines: &[&str],
) {
    let request = format!(
        "GET /v1/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nAuthorization: Bearer {token}\r\n\r\n"
    );
    conn.write_all(request.as_bytes()).await.expect("write");
    let mut read = Vec::new();
    read_until(conn, &mut read, |r| contains(r, b"\r\n\r\n")).await;
    let (head, _) = split_head(&read);
    let head = head.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200 ok\r\n"), "{head}");
    for line in ["transfer-encoding: chunked", "connection: close"]
        .iter()
        .chain(lines)
    {
        assert!(
            head.contains(&format!("\r\n{line}")),
            "no {line:?} in {head}"
        );
    }

    let r = reqwest::Client::new()
        .post(server.url("/v1/messages"))
        .bearer_auth(token)
        .json(&json!({ "message": message }))
        .send()
        .await
        .expect("store");
    assert_eq!(r.status(), 201);
    read_until(conn, &mut read, |r| contains(r, message.as_bytes())).await;

    // The server stops: the stream says why, ends its body and closes.
    let stopped = tokio::task::spawn_blocking(move || server.stop());
    read_until(conn, &mut read, |_| false).await;
    assert!(stopped.await.expect("stop").status.success());
    let (_, body) = split_head(&read);
    let (frames, ended) = chunks(&body);
    assert!(ended, "no last chunk: {:?}", String::from_utf8_lossy(&body));
    let text = String::from_utf8(frames.concat()).expect("utf-8");
    assert!(text.contains(message), "{text}");
    assert!(text.contains("event: end"), "{text}");
    assert!(text.contains("shutting_down"), "{text}");
}

#[tokio::test]
async fn an_http1_stream_is_chunked_and_ends_with_its_connection() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Binary::start(&dir.path().join("d"), &[], &[]);
    let token = server.api.account("alice").await.0;
    let mut conn = TcpStream::connect(&server.addr).await.expect("connect");
    let lines = [
        "content-type: text/event-stream",
        "cache-control: no-cache",
        "date: ",
    ];
    a_stream_to_its_end(server, &mut conn, &token, "over the wire", &lines).await;
}

#[tokio::test]
async fn a_refused_stream_is_answered_whole_and_closed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Binary::start(&dir.path().join("d"), &[], &[]);
    let mut conn = TcpStream::connect(&server.addr).await.expect("connect");
    conn.write_all(b"GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut read = Vec::new();
    read_until(&mut conn, &mut read, |_| false).await;
    let (head, body) = split_head(&read);
    let lower = head.to_ascii_lowercase();
    assert!(lower.starts_with("http/1.1 401 "), "{head}");
    assert!(lower.contains("\r\nconnection: close\r\n"), "{head}");
    assert!(
        lower.contains(&format!("\r\ncontent-length: {}\r\n", body.len())),
        "{head} with {} bytes of body",
        body.len()
    );
    let problem: serde_json::Value = serde_json::from_slice(&body).expect("problem JSON");
    assert_eq!(problem["status"], 401);
    assert!(server.stop().status.success());
}

#[tokio::test]
async fn a_stream_request_with_another_behind_it_is_answered_as_hyper_would() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Binary::start(&dir.path().join("d"), &[], &[]);
    let mut conn = TcpStream::connect(&server.addr).await.expect("connect");
    conn.write_all(
        b"GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await
    .expect("write");
    let mut read = Vec::new();
    read_until(&mut conn, &mut read, |_| false).await;
    let text = String::from_utf8_lossy(&read);
    assert_eq!(text.matches("HTTP/1.1 ").count(), 2, "{text}");
    assert!(text.starts_with("HTTP/1.1 401 "), "{text}");
    assert!(text.contains("HTTP/1.1 200 "), "{text}");
    assert!(server.stop().status.success());
}

#[tokio::test]
async fn a_stream_behind_other_requests_on_its_connection_is_served_as_a_first_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Binary::start(&dir.path().join("d"), &[], &[]);
    let token = server.api.account("alice").await.0;
    let mut conn = TcpStream::connect(&server.addr).await.expect("connect");
    // Requests kept alive, as a browser's pooled connection has served;
    // then the stream, from its own writer (hyper's would keep the
    // connection open).
    health_check(&mut conn, "x").await.expect("/healthz");
    health_check(&mut conn, "x").await.expect("/healthz");
    a_stream_to_its_end(server, &mut conn, &token, "behind a health check", &[]).await;
}

#[tokio::test]
async fn a_stream_pipelined_behind_another_request_is_answered_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Binary::start(&dir.path().join("d"), &[], &[]);
    let token = server.api.account("alice").await.0;
    let mut conn = TcpStream::connect(&server.addr).await.expect("connect");
    health_check(&mut conn, "x").await.expect("/healthz");
    // Two heads in one write: hyper reads both, and answers both.
    let request = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n"
    );
    conn.write_all(request.as_bytes()).await.expect("write");
    let mut read = Vec::new();
    read_until(&mut conn, &mut read, |r| {
        String::from_utf8_lossy(r).matches("HTTP/1.1 200 ").count() == 2
            && contains(r, b"text/event-stream")
    })
    .await;
    let r = reqwest::Client::new()
        .post(server.url("/v1/messages"))
        .bearer_auth(&token)
        .json(&json!({"message": "pipelined"}))
        .send()
        .await
        .expect("store");
    assert_eq!(r.status(), 201);
    read_until(&mut conn, &mut read, |r| contains(r, b"pipelined")).await;
    assert!(server.stop().status.success());
}

/// Opens an event stream over a raw connection, retrying while the one
/// stream allowed is still counted (up to 2 s).
async fn open_raw(server: &Binary, token: &str) -> TcpStream {
    let request =
        format!("GET /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n");
    for _ in 0..100 {
        let mut conn = TcpStream::connect(&server.addr).await.expect("connect");
        conn.write_all(request.as_bytes()).await.expect("write");
        let mut read = Vec::new();
        read_until(&mut conn, &mut read, |r| contains(r, b"\r\n\r\n")).await;
        if read.starts_with(b"HTTP/1.1 200 ") {
            return conn;
        }
        assert!(
            read.starts_with(b"HTTP/1.1 429 "),
            "{}",
            String::from_utf8_lossy(&read)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("a closed stream was still counted after 2 s");
}

#[tokio::test]
async fn a_client_going_away_frees_its_stream_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Binary::start(&dir.path().join("d"), &["--max-streams-per-user", "1"], &[]);
    let token = server.api.account("alice").await.0;
    let first = open_raw(&server, &token).await;
    // While it is open, a second is refused.
    let r = reqwest::Client::new()
        .get(server.url("/v1/events"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("connect");
    assert_eq!(r.status(), 429);
    // Each close is seen, and the one stream allowed is free again.
    drop(first);
    let second = open_raw(&server, &token).await;
    drop(second);
    let third = open_raw(&server, &token).await;
    drop(third);
    assert!(server.stop().status.success());
}

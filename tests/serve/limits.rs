//! Limits against exhaustion, over real sockets to the `strongroom serve`
//! binary: a client trickling its request head is cut off at the header
//! timeout, a silent connection at the idle timeout, and connections beyond
//! the per-address cap are closed at once.
#![cfg(unix)]

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::binary::Binary;
use strongroom_testkit::http1::read_answer;

/// Whether the server has closed `stream` (a read returns 0 or fails)
/// within `wait`.
fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    stream.set_read_timeout(Some(wait)).expect("timeout");
    let mut buf = [0u8; 512];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return false;
            }
            Err(_) => return true,
        }
    }
}

#[test]
fn a_request_head_sent_one_line_at_a_time_is_cut_off() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Binary::start(&dir.path().join("d"), &["--header-timeout", "1"], &[]);
    let mut slow = TcpStream::connect(&server.addr).expect("connect");
    trickle_a_head(&mut slow);

    // A normal request still works.
    let mut ok = TcpStream::connect(&server.addr).expect("connect");
    ok.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut answer = String::new();
    ok.read_to_string(&mut answer).expect("read");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(server.stop().status.success());
}

#[test]
fn a_head_trickled_after_a_slow_request_is_cut_off_at_the_header_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Binary::start(&dir.path().join("d"), &["--header-timeout", "1"], &[]);
    let mut conn = TcpStream::connect(&server.addr).expect("connect");
    // A request whose body takes longer than the header timeout: the
    // connection's supervisor sees it in flight and next looks at the
    // connection at the idle timeout (60 s), so only hyper's head timer,
    // moved on for the next head, bounds what follows.
    let body = br#"{"message":"slow","ttl_seconds":60}"#;
    write!(
        conn,
        "POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    )
    .expect("write");
    for chunk in body.chunks(8) {
        std::thread::sleep(Duration::from_millis(300));
        conn.write_all(chunk).expect("write");
    }
    conn.set_nonblocking(true).expect("non-blocking");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (head, answered) = runtime.block_on(async move {
        let mut conn = tokio::net::TcpStream::from_std(conn).expect("tokio socket");
        (read_answer(&mut conn).await.expect("an answer"), conn)
    });
    assert!(head.starts_with("http/1.1 401"), "{head}");
    assert!(!head.contains("connection: close"), "{head}");

    let mut conn = answered.into_std().expect("std socket");
    conn.set_nonblocking(false).expect("blocking");
    trickle_a_head(&mut conn);
    assert!(server.stop().status.success());
}

/// Sends the start of a request head on `conn`, then one more header line
/// every 300 ms; asserts that the server closes the connection within 4 s
/// (the tests' header timeout is 1 s).
fn trickle_a_head(conn: &mut TcpStream) {
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .expect("write");
    let started = Instant::now();
    let mut cut_off = false;
    for i in 0..20 {
        std::thread::sleep(Duration::from_millis(300));
        if conn
            .write_all(format!("X-Slow-{i}: y\r\n").as_bytes())
            .is_err()
            || closed_within(conn, Duration::from_millis(1))
        {
            cut_off = true;
            break;
        }
    }
    assert!(cut_off, "a trickled head was still open after 6 s");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_connection_that_sends_nothing_is_closed_at_the_idle_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Binary::start(&dir.path().join("d"), &["--idle-timeout", "1"], &[]);
    let mut silent = TcpStream::connect(&server.addr).expect("connect");
    let started = Instant::now();
    assert!(
        closed_within(&mut silent, Duration::from_secs(5)),
        "still open after 5 s"
    );
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert!(server.stop().status.success());
}

#[test]
fn connections_beyond_the_per_address_cap_are_closed_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Binary::start(
        &dir.path().join("d"),
        &["--max-connections-per-address", "3", "--idle-timeout", "30"],
        &[],
    );
    let mut held: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(&server.addr).expect("connect"))
        .collect();
    // Give the server the time to admit them.
    std::thread::sleep(Duration::from_millis(200));
    let mut fourth = TcpStream::connect(&server.addr).expect("connect");
    assert!(
        closed_within(&mut fourth, Duration::from_secs(2)),
        "the fourth was admitted"
    );
    let closed: Vec<usize> = (0..held.len())
        .filter(|&i| closed_within(&mut held[i], Duration::from_millis(50)))
        .collect();
    if !closed.is_empty() {
        // Seen once under load and not reproduced since: keep what the
        // server said (its refusals are logged with their count).
        let exited = server.stop();
        panic!(
            "admitted connections {closed:?} of 0..3 were closed; server log:\n{}",
            exited.stderr
        );
    }
    held.pop();
    std::thread::sleep(Duration::from_millis(200));
    let mut again = TcpStream::connect(&server.addr).expect("connect");
    again
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut answer = String::new();
    again.read_to_string(&mut answer).expect("read");
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "a freed slot is usable: {answer}"
    );
    let exited = server.stop();
    assert!(
        exited.stderr.contains("connection limit reached"),
        "{}",
        exited.stderr
    );
}

/// An HTTP/2 client speaking h2c with prior knowledge (no upgrade).
fn h2c() -> reqwest::Client {
    reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .expect("client")
}

#[tokio::test]
async fn an_http2_body_without_a_length_is_held_to_the_body_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Binary::start(&dir.path().join("d"), &[], &[]);
    let before = server.resident_kib();
    // 64 MiB, sent in 64 KiB chunks with no Content-Length, to a route
    // that needs no login. Before the fix the server buffered all of it.
    let chunks = futures_util::stream::iter(
        (0..1024).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 64 * 1024])),
    );
    let answer = h2c()
        .post(server.url("/v1/sessions"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .expect("an answer before the stream is reset");
    assert_eq!(answer.version(), reqwest::Version::HTTP_2);
    assert_eq!(answer.status(), 413);
    // The whole answer, then the stream's reset (NO_ERROR: RFC 9113 §8.1).
    let problem: serde_json::Value = answer.json().await.expect("the problem");
    assert_eq!(problem["status"], 413);
    let grown = server.resident_kib().saturating_sub(before);
    assert!(grown < 16 * 1024, "resident memory grew by {grown} KiB");
    // The connection's server still answers.
    let health = h2c().get(server.url("/healthz")).send().await.expect("get");
    assert_eq!(health.status(), 200);
    assert!(server.stop_async().await.status.success());
}

#[tokio::test]
async fn an_http2_body_declared_too_long_is_answered_413() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Binary::start(&dir.path().join("d"), &[], &[]);
    let (token, _) = server.api.account("alice").await;
    for path in ["/v1/sessions", "/v1/messages"] {
        // 10 MB with its Content-Length, ten times the limit.
        let answer = h2c()
            .post(server.url(path))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(vec![b'a'; 10_000_000])
            .send()
            .await;
        let answer = answer.unwrap_or_else(|e| panic!("{path}: no answer: {e:?}"));
        assert_eq!(answer.status(), 413, "{path}");
        let problem: serde_json::Value = answer.json().await.expect("the problem");
        assert_eq!(problem["status"], 413, "{path}");
    }
    assert!(server.stop_async().await.status.success());
}

#[tokio::test]
async fn an_http2_body_trickled_is_cut_off_at_the_body_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Binary::start(&dir.path().join("d"), &["--body-timeout", "1"], &[]);
    // A byte every 300 ms, for as long as the server listens.
    let trickle = futures_util::stream::unfold((), |()| async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        Some((Ok::<_, std::io::Error>(vec![b' ']), ()))
    });
    let started = Instant::now();
    let answer = tokio::time::timeout(
        Duration::from_secs(10),
        h2c()
            .post(server.url("/v1/sessions"))
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(trickle))
            .send(),
    )
    .await
    .expect("answered within 10 s")
    .expect("an answer");
    assert_eq!(answer.status(), 408);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(server.stop_async().await.status.success());
}

#[tokio::test]
async fn http2_connections_announce_their_stream_and_header_limits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Binary::start(
        &dir.path().join("d"),
        &["--max-streams-per-connection", "4"],
        &[],
    );
    let tcp = tokio::net::TcpStream::connect(&server.addr)
        .await
        .expect("connect");
    let (client, mut connection) = h2::client::handshake(tcp).await.expect("handshake");
    // A request makes the client read the server's SETTINGS; the
    // connection is driven here until the answer is in.
    let request = http::Request::get(server.url("/healthz"))
        .body(())
        .expect("request");
    let mut client = client.ready().await.expect("ready");
    let (response, _) = client.send_request(request, true).expect("send");
    let response = tokio::select! {
        response = response => response.expect("response"),
        ended = &mut connection => panic!("the connection ended first: {ended:?}"),
    };
    assert_eq!(response.status(), 200);
    let announced = connection.max_concurrent_send_streams();
    assert_eq!(announced, 4);
    drop((client, connection));
    assert!(server.stop().status.success());
}

#[tokio::test]
async fn request_heads_past_16_kib_are_431_over_http1_and_http2_alike() {
    // hyper's own HTTP/1 bound was its ~400 KiB read buffer: a client
    // could pin that much per connection for the header timeout, while
    // HTTP/2 refused 16 KiB.
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Binary::start(&dir.path().join("d"), &[], &[]);
    let h1 = reqwest::Client::builder()
        .http1_only()
        .build()
        .expect("client");
    for (name, client) in [("HTTP/1.1", h1), ("HTTP/2", h2c())] {
        let with = |bytes: usize| {
            client
                .get(server.url("/healthz"))
                .header("x-padding", "a".repeat(bytes))
                .send()
        };
        let fits = with(12 * 1024).await.expect("answer");
        assert_eq!(fits.status(), 200, "{name}: 12 KiB fits");
        for bytes in [20 * 1024, 200 * 1024] {
            match with(bytes).await {
                Ok(r) => assert_eq!(r.status(), 431, "{name}: {bytes} bytes"),
                // HTTP/2 may refuse a header block this large by ending
                // the connection (its HPACK decoder stops reading).
                Err(e) => assert!(name == "HTTP/2" && bytes > 100 * 1024, "{name}: {e}"),
            }
        }
    }
    assert!(server.stop_async().await.status.success());
}

/// A connection to `port` on 127.0.0.1 made from local address `from`.
async fn connect_from(from: &str, port: u16) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(format!("{from}:0").parse().expect("address"))
        .expect("bind");
    socket
        .connect(format!("127.0.0.1:{port}").parse().expect("address"))
        .await
        .expect("connect")
}

#[tokio::test]
async fn ipv4_clients_of_a_dual_stack_listener_are_each_their_own_address() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Binary::start(
        &dir.path().join("d"),
        &[
            "--listen",
            "[::]:0",
            "--max-connections-per-address",
            "2",
            "--idle-timeout",
            "30",
        ],
        &[],
    );
    let port: u16 = server
        .addr
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    // 127.0.0.1 takes its whole allowance...
    let _held = [
        connect_from("127.0.0.1", port).await,
        connect_from("127.0.0.1", port).await,
    ];
    tokio::time::sleep(Duration::from_millis(200)).await;
    // ...which is not 127.0.0.2's: IPv4-mapped peers are IPv4 addresses,
    // not one IPv6 /64.
    let mut other = connect_from("127.0.0.2", port).await;
    other
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(5), other.read_to_string(&mut answer))
        .await
        .expect("answered")
        .expect("read");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    // (Only 127.0.0.2 is checked: a client of another test may reach
    // this port if it reuses one that test's server had.)
    let exited = server.stop();
    assert!(
        !exited.stderr.contains("client=127.0.0.2"),
        "{}",
        exited.stderr
    );
}

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
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .expect("write");
    let started = Instant::now();
    let mut cut_off = false;
    for i in 0..20 {
        std::thread::sleep(Duration::from_millis(300));
        if slow
            .write_all(format!("X-Slow-{i}: y\r\n").as_bytes())
            .is_err()
            || closed_within(&mut slow, Duration::from_millis(1))
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

//! HTTP/1.1 written by hand on a socket, for what must see or shape the
//! bytes themselves: a kept-alive connection's requests before an event
//! stream (the server's watch between requests), in the stream tests and
//! the load harness.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long an answer may take.
const WITHIN: Duration = Duration::from_secs(10);

/// Sends `GET /healthz` on `conn` and reads its whole answer, which must
/// be a `200` that keeps the connection open for the next request.
pub async fn health_check(conn: &mut TcpStream, host: &str) -> Result<(), String> {
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n");
    conn.write_all(request.as_bytes())
        .await
        .map_err(|e| format!("/healthz: {e}"))?;
    let head = read_answer(conn).await?;
    if !head.starts_with("http/1.1 200 ") {
        return Err(format!("/healthz: {}", head.lines().next().unwrap_or("")));
    }
    if head.lines().any(|line| line == "connection: close") {
        return Err("/healthz closed the connection".into());
    }
    Ok(())
}

/// Reads one answer with a `content-length` from `conn`, body included,
/// and nothing after it; returns its head, lower-cased.
pub async fn read_answer(conn: &mut TcpStream) -> Result<String, String> {
    let deadline = tokio::time::Instant::now() + WITHIN;
    let mut read = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = read.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&read[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .ok_or("an answer without a content-length")?;
            if read.len() >= end + 4 + length {
                return Ok(head);
            }
        }
        let n = tokio::time::timeout_at(deadline, conn.read(&mut chunk))
            .await
            .map_err(|_| format!("no whole answer within {WITHIN:?}"))?
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("the server closed the connection mid-answer".into());
        }
        read.extend_from_slice(&chunk[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A server that answers each request on its one connection with
    /// `answer`.
    async fn answering(answer: &'static [u8]) -> TcpStream {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.expect("accept");
            let mut buf = [0u8; 1024];
            while conn.read(&mut buf).await.is_ok_and(|n| n > 0) {
                let _ = conn.write_all(answer).await;
            }
        });
        TcpStream::connect(address).await.expect("connect")
    }

    #[tokio::test]
    async fn a_kept_alive_200_passes_and_anything_else_says_why() {
        let mut ok = answering(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").await;
        health_check(&mut ok, "x").await.expect("first");
        health_check(&mut ok, "x").await.expect("and again");
        for (answer, says) in [
            (
                &b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n"[..],
                "/healthz: http/1.1 503 service unavailable",
            ),
            (
                b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
                "/healthz closed the connection",
            ),
            (
                b"HTTP/1.1 200 OK\r\n\r\n",
                "an answer without a content-length",
            ),
        ] {
            let mut conn = answering(answer).await;
            let refused = health_check(&mut conn, "x").await.expect_err(says);
            assert_eq!(refused, says);
        }
    }
}

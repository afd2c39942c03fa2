//! A connection as the HTTP layer sees it: the bytes read before the
//! protocol was known, then the socket; it records when bytes last moved
//! either way, for the idle timeout.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Milliseconds since this process first asked.
pub(super) fn now_millis() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// When a connection last moved a byte.
#[derive(Clone, Debug)]
pub(super) struct Activity(Arc<AtomicU64>);

impl Activity {
    pub(super) fn new() -> Self {
        Self(Arc::new(AtomicU64::new(now_millis())))
    }

    fn touch(&self) {
        self.0.store(now_millis(), Ordering::Relaxed);
    }

    /// How long no byte has moved, as of `now` (from [`now_millis`]).
    pub(super) fn idle_for(&self, now: u64) -> Duration {
        Duration::from_millis(now.saturating_sub(self.0.load(Ordering::Relaxed)))
    }
}

/// A connection: `read` (bytes already taken from the socket) comes first.
pub(super) struct Conn<Io> {
    read: Bytes,
    inner: Io,
    activity: Activity,
}

impl<Io> Conn<Io> {
    pub(super) fn new(inner: Io, activity: Activity) -> Self {
        Self {
            read: Bytes::new(),
            inner,
            activity,
        }
    }

    /// Hands `read` out again before anything more from the socket.
    pub(super) fn unread(&mut self, read: Bytes) {
        debug_assert!(self.read.is_empty());
        self.read = read;
    }
}

impl<Io: AsyncRead + Unpin> AsyncRead for Conn<Io> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if !self.read.is_empty() {
            let n = self.read.len().min(buf.remaining());
            buf.put_slice(&self.read[..n]);
            self.read.advance(n);
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        result
    }
}

impl<Io: AsyncWrite + Unpin> AsyncWrite for Conn<Io> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        result
    }

    /// Forwarded, so that hyper writes a response's head and body with one
    /// `writev` instead of first copying the body behind the head.
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn bytes_handed_back_come_before_the_socket() {
        let (client, server) = tokio::io::duplex(64);
        let mut conn = Conn::new(server, Activity::new());
        conn.unread(Bytes::from_static(b"GET / "));
        let mut client = client;
        client.write_all(b"HTTP/1.1").await.expect("write");
        let mut got = [0u8; 14];
        conn.read_exact(&mut got).await.expect("read");
        assert_eq!(&got, b"GET / HTTP/1.1");
    }
}

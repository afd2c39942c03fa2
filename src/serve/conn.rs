//! A connection as the HTTP layer sees it: the bytes read before the
//! protocol was known, then the socket; it records when bytes last moved
//! either way, for the idle timeout, and reads an HTTP/1 connection's
//! next request head through its [`Watch`].

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use strongroom_engine::SecretBytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::clock::now_millis;
use super::watch::{Held, Next, Watch};

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

/// A connection: `read` (bytes already taken from the socket; those from
/// `at` on not yet handed out, and all erased once they are) comes first;
/// an HTTP/1 connection in hyper's hands is watched between requests.
pub(super) struct Conn<Io> {
    read: SecretBytes,
    at: usize,
    inner: Io,
    activity: Activity,
    watch: Option<Watch>,
}

impl<Io> Conn<Io> {
    pub(super) fn new(inner: Io, activity: Activity) -> Self {
        Self {
            read: SecretBytes::default(),
            at: 0,
            inner,
            activity,
            watch: None,
        }
    }

    /// Hands `read` out again before anything more from the socket.
    pub(super) fn unread(&mut self, read: SecretBytes) {
        debug_assert!(self.read.is_empty());
        self.read = read;
        self.at = 0;
    }

    /// Reads each next request's head through `watch` from now on.
    pub(super) fn watch(&mut self, watch: Watch) {
        self.watch = Some(watch);
    }

    /// Ends the watch, returning the event stream's head it held, if any.
    pub(super) fn take_held(&mut self) -> Option<Held> {
        self.watch.take()?.take_held()
    }
}

impl<Io: AsyncRead + Unpin> AsyncRead for Conn<Io> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.read.is_empty() {
            let this = &mut *self;
            if let Some(watch) = &mut this.watch {
                let activity = &this.activity;
                match ready!(watch.poll_read(&mut this.inner, cx, buf, || activity.touch()))? {
                    Next::Pass => {}
                    Next::Filled => return Poll::Ready(Ok(())),
                    Next::Hand(read) => this.unread(read),
                }
            }
        }
        if !self.read.is_empty() {
            let this = &mut *self;
            let n = (this.read.len() - this.at).min(buf.remaining());
            buf.put_slice(&this.read[this.at..][..n]);
            this.at += n;
            if this.at == this.read.len() {
                // Handed out whole: erased now, not when the connection ends.
                this.read = SecretBytes::default();
                this.at = 0;
            }
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
        if let Some(watch) = &mut self.watch {
            watch.wrote();
        }
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
        if let Some(watch) = &mut self.watch {
            watch.wrote();
        }
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
        let result = Pin::new(&mut self.inner).poll_flush(cx);
        if let (Poll::Ready(Ok(())), Some(watch)) = (&result, &mut self.watch) {
            watch.flushed();
        }
        result
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
        conn.unread(SecretBytes::copy(b"GET / "));
        let mut client = client;
        client.write_all(b"HTTP/1.1").await.expect("write");
        let mut got = [0u8; 14];
        conn.read_exact(&mut got).await.expect("read");
        assert_eq!(&got, b"GET / HTTP/1.1");
    }

    #[tokio::test]
    async fn bytes_handed_back_may_go_out_a_few_at_a_time() {
        let (client, server) = tokio::io::duplex(64);
        let mut conn = Conn::new(server, Activity::new());
        conn.unread(SecretBytes::copy(b"GET /v1/events "));
        let mut client = client;
        client.write_all(b"HTTP/1.1").await.expect("write");
        let mut got = Vec::new();
        while got.len() < 23 {
            let mut four = [0u8; 4];
            let n = conn.read(&mut four).await.expect("read");
            got.extend_from_slice(&four[..n]);
        }
        assert_eq!(got, b"GET /v1/events HTTP/1.1");
        assert!(conn.read.is_empty(), "handed out whole, so erased");
    }
}

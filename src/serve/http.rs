//! Serving connections: HTTP/1.1 and HTTP/2 through hyper, each request
//! handed to the poem app. Hyper's header read timeout bounds how long a
//! request head (and, on a kept-alive HTTP/1 connection, the wait for the
//! next one) may take; a connection with no traffic either way for the
//! idle timeout is closed. On shutdown the acceptor stops at once and every
//! connection is asked to finish what it is doing and close.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use poem::endpoint::BoxEndpoint;
use poem::http::uri::Scheme;
use poem::listener::Acceptor;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Endpoint, Response};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Per-connection time limits.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// Longest a request head may take to arrive (HTTP/1: also the longest
    /// a kept-alive connection waits for its next request).
    pub header: Duration,
    /// A connection with no bytes either way this long is closed.
    pub idle: Duration,
}

/// Accepts and serves connections until `stop` is cancelled; returns the
/// tracker of the connections still open.
pub(crate) async fn run<A: Acceptor + 'static>(
    mut acceptor: A,
    app: Arc<BoxEndpoint<'static, Response>>,
    timeouts: Timeouts,
    stop: CancellationToken,
) -> TaskTracker {
    let tracker = TaskTracker::new();
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            accepted = acceptor.accept() => {
                let (io, local, remote, scheme) = match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        // Out of file descriptors and the like: do not spin.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let app = app.clone();
                let stop = stop.clone();
                tracker.spawn(serve_connection(io, app, (local, remote, scheme), timeouts, stop));
            }
        }
    }
    tracker.close();
    tracker
}

/// Serves one connection to its end: closing it gracefully on shutdown,
/// and outright once it has been idle too long.
async fn serve_connection<Io>(
    io: Io,
    app: Arc<BoxEndpoint<'static, Response>>,
    (local, remote, scheme): (LocalAddr, RemoteAddr, Scheme),
    timeouts: Timeouts,
    stop: CancellationToken,
) where
    Io: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
        let app = app.clone();
        let req = (req, local.clone(), remote.clone(), scheme.clone()).into();
        async move {
            let response: hyper::Response<BoxBody<Bytes, std::io::Error>> =
                app.get_response(req).await.into();
            Ok::<_, std::convert::Infallible>(response)
        }
    });
    let activity = Arc::new(AtomicU64::new(now_millis()));
    let io = TokioIo::new(Tracked {
        inner: io,
        activity: activity.clone(),
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header);
    builder.http2().timer(TokioTimer::new());
    let conn = builder.serve_connection_with_upgrades(io, service);
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        let idle = now_millis().saturating_sub(activity.load(Ordering::Relaxed));
        let wait = timeouts.idle.saturating_sub(Duration::from_millis(idle));
        tokio::select! {
            _ = conn.as_mut() => return,
            () = stop.cancelled(), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            () = tokio::time::sleep(wait) => {
                let idle = now_millis().saturating_sub(activity.load(Ordering::Relaxed));
                if Duration::from_millis(idle) >= timeouts.idle {
                    metrics::counter!("strongroom_connections_idle_closed_total").increment(1);
                    return;
                }
            }
        }
    }
}

/// Milliseconds since this process first asked.
fn now_millis() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// A connection that records when bytes last moved.
struct Tracked<Io> {
    inner: Io,
    activity: Arc<AtomicU64>,
}

impl<Io> Tracked<Io> {
    fn touch(&self) {
        self.activity.store(now_millis(), Ordering::Relaxed);
    }
}

impl<Io: AsyncRead + Unpin> AsyncRead for Tracked<Io> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.touch();
        }
        result
    }
}

impl<Io: AsyncWrite + Unpin> AsyncWrite for Tracked<Io> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
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
            self.touch();
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

/// Waits until every connection has closed or `grace` has passed; returns
/// how many were still open then (they are dropped).
pub(crate) async fn drain(tracker: TaskTracker, grace: Duration) -> usize {
    match tokio::time::timeout(grace, tracker.wait()).await {
        Ok(()) => 0,
        Err(_) => tracker.len(),
    }
}

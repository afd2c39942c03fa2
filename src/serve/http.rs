//! Serving connections: HTTP/1.1 and HTTP/2 through hyper, each request
//! handed to the poem app. HTTP/2 is served on both listeners: negotiated
//! by ALPN over TLS, and with prior knowledge (h2c) on the plain one, with
//! the same bounds as HTTP/1: request bodies go through the API's body
//! limit and timeout whatever the protocol; HTTP/2 connections carry at
//! most `max_streams` requests at once and header lists of at most
//! [`MAX_HEADER_LIST`] bytes.
//!
//! Time limits, on both protocols: a connection must start a request
//! within the header timeout of opening, and of its last request
//! finishing (hyper's own header read timeout bounds an HTTP/1 head on top
//! of that); a connection with no traffic either way for the idle timeout
//! is closed. On shutdown the acceptor stops at once and every connection
//! is asked to finish what it is doing and close.
//!
//! The first request of a connection is read here before hyper sees it
//! ([`sniff`]): an HTTP/1.1 event stream is served by [`event_stream`]
//! without hyper's buffers, and anything else goes to hyper with the
//! bytes read, as HTTP/1 or HTTP/2 already told apart.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

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
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::conn::{Activity, Conn, now_millis};
use super::event_stream;
use super::sniff::{self, Opening};

/// The event stream's route, which [`event_stream`] serves on HTTP/1.1.
const EVENT_STREAM_PATH: &str = "/v1/events";

/// Largest HTTP/2 header list a request may send (HTTP/1 heads are
/// bounded by hyper's read buffer).
pub(super) const MAX_HEADER_LIST: u32 = 16 * 1024;

/// Per-connection limits.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// Longest a request head may take to arrive, and longest a connection
    /// may stay open with no request in flight (kept alive between
    /// requests, or opened and never used).
    pub header: Duration,
    /// A connection with no bytes either way this long is closed.
    pub idle: Duration,
    /// Requests one HTTP/2 connection may carry at once (event streams
    /// included).
    pub max_streams: u32,
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
    let activity = Activity::new();
    let mut io = Conn::new(io, activity.clone());
    // The first request must start within the header timeout (and bytes
    // must move within the idle one) like any other.
    let opening = tokio::select! {
        read = tokio::time::timeout(
            timeouts.header.min(timeouts.idle),
            sniff::read(&mut io, EVENT_STREAM_PATH),
        ) => match read {
            Ok(Ok(opening)) => opening,
            Ok(Err(_)) => return,
            Err(_) => {
                metrics::counter!("strongroom_connections_idle_closed_total").increment(1);
                return;
            }
        },
        () = stop.cancelled() => return,
    };
    let http2 = match opening {
        Opening::Closed => return,
        Opening::EventStream(parts) => {
            let addrs = (local, remote, scheme);
            event_stream::serve(io, parts, &app, addrs, &activity, timeouts.idle).await;
            return;
        }
        Opening::Http1(read) => {
            io.unread(read);
            false
        }
        Opening::Http2(read) => {
            io.unread(read);
            true
        }
    };
    let requests = Arc::new(InFlight {
        open: AtomicUsize::new(0),
        last_end: AtomicU64::new(now_millis()),
    });
    let in_flight = requests.clone();
    let service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
        let app = app.clone();
        let req = (req, local.clone(), remote.clone(), scheme.clone()).into();
        let started = Started::new(in_flight.clone());
        // Boxed: hyper keeps the future where it runs it (an HTTP/2
        // stream's task, an HTTP/1 connection's dispatcher) for as long as
        // the response lasts; boxed, its ~2.4 KiB go when the response
        // head is ready instead of staying with an open event stream.
        Box::pin(async move {
            let response: hyper::Response<BoxBody<Bytes, std::io::Error>> =
                app.get_response(req).await.into();
            // The request is in flight until its body (an event stream's
            // too) is done and dropped.
            Ok::<_, std::convert::Infallible>(response.map(|body| {
                BoxBody::new(Guarded {
                    inner: body,
                    _started: started,
                })
            }))
        })
    });
    let io = TokioIo::new(io);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(timeouts.max_streams)
        .max_header_list_size(MAX_HEADER_LIST);
    // Told apart already: hyper is not to read a preface of its own (the
    // bytes it would read first are the ones read above).
    let builder = if http2 {
        builder.http2_only()
    } else {
        builder.http1_only()
    };
    let conn = builder.serve_connection_with_upgrades(io, service);
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        let now = now_millis();
        let mut wait = timeouts.idle.saturating_sub(activity.idle_for(now));
        let unused = requests.unused_for(now);
        if let Some(unused) = unused {
            wait = wait.min(timeouts.header.saturating_sub(unused));
        }
        tokio::select! {
            _ = conn.as_mut() => return,
            () = stop.cancelled(), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            () = tokio::time::sleep(wait) => {
                let now = now_millis();
                if activity.idle_for(now) >= timeouts.idle {
                    metrics::counter!("strongroom_connections_idle_closed_total").increment(1);
                    return;
                }
                if !closing && requests.unused_for(now).is_some_and(|u| u >= timeouts.header) {
                    // Nothing asked of this connection for the header
                    // timeout: close it as HTTP/1 closes a kept-alive one.
                    closing = true;
                    metrics::counter!("strongroom_connections_idle_closed_total").increment(1);
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// The requests of one connection: how many are in flight, and when the
/// last one ended (or the connection opened).
struct InFlight {
    open: AtomicUsize,
    last_end: AtomicU64,
}

impl InFlight {
    /// How long the connection has had no request in flight, if it has
    /// none now.
    fn unused_for(&self, now: u64) -> Option<Duration> {
        (self.open.load(Ordering::Acquire) == 0).then(|| {
            Duration::from_millis(now.saturating_sub(self.last_end.load(Ordering::Acquire)))
        })
    }
}

/// One request in flight, counted until dropped.
struct Started(Arc<InFlight>);

impl Started {
    fn new(requests: Arc<InFlight>) -> Self {
        requests.open.fetch_add(1, Ordering::AcqRel);
        Self(requests)
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        self.0.last_end.store(now_millis(), Ordering::Release);
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request counted as in flight.
struct Guarded {
    inner: BoxBody<Bytes, std::io::Error>,
    _started: Started,
}

impl hyper::body::Body for Guarded {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, std::io::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
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

//! Serving connections: HTTP/1.1 and HTTP/2 through hyper, each request
//! handed to the poem app. HTTP/2 is served on both listeners: negotiated
//! by ALPN over TLS, and with prior knowledge (h2c) on the plain one, with
//! the same bounds as HTTP/1: request bodies go through the API's body
//! limit and timeout whatever the protocol; HTTP/2 connections carry at
//! most `max_streams` requests at once; header lists are at most
//! [`MAX_HEADER_LIST`] bytes on both.
//!
//! Time limits, on both protocols: a connection must start a request
//! within the header timeout of opening, and of its last request
//! finishing (hyper's own header read timeout, on one timer per connection
//! ([`super::head_timer`]), bounds an HTTP/1 head on top of that); a
//! connection with no traffic either way for the idle timeout is closed.
//! On shutdown the acceptor stops at once and every connection is asked
//! to finish what it is doing and close.
//!
//! The first request of a connection is read here before hyper sees it
//! ([`sniff`]): an HTTP/1.1 event stream is served by [`event_stream`]
//! without hyper's buffers, and anything else goes to hyper with the
//! bytes read, as HTTP/1 or HTTP/2 already told apart. On an HTTP/1
//! connection each next request's head is read the same way
//! ([`super::watch`]): an event stream behind other requests takes the
//! connection back from hyper too.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::HttpService;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use poem::endpoint::BoxEndpoint;
use poem::http::uri::Scheme;
use poem::listener::Acceptor;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Endpoint, Response};
use strongroom_engine::SecretBytes;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::clock::now_millis;
use super::conn::{Activity, Conn};
use super::event_stream;
use super::head_timer::HeadTimer;
use super::requests::{InFlight, Started};
use super::sniff::{self, Opening};
use super::watch::Watch;

/// The event stream's route, which [`event_stream`] serves on HTTP/1.1.
const EVENT_STREAM_PATH: &str = "/v1/events";

/// Largest header list a request may send: over HTTP/2 its size as RFC
/// 9113 counts it, over HTTP/1 the bytes of its head (hyper's read buffer
/// holds at most this much; hyper's own default, ~400 KiB, let a slow
/// client pin that much per connection). Past it: 431.
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
    let addrs = (local, remote, scheme);
    let (read, http2) = match opening {
        Opening::Closed => return,
        Opening::EventStream(parts) => {
            event_stream::serve(io, parts, &app, addrs, &activity, timeouts.idle).await;
            return;
        }
        Opening::Http1(read) => (read, false),
        Opening::Http2(read) => (read, true),
    };
    io.unread(read);
    let requests = InFlight::new();
    let service = AppService {
        app: app.clone(),
        addrs: addrs.clone(),
        requests: requests.clone(),
    };
    let supervisor = Supervisor {
        activity: &activity,
        requests: &requests,
        timeouts,
        stop: &stop,
        held: None,
        closing: false,
        giving: false,
    };
    // Boxed, each: what hyper keeps per connection goes when it is done
    // with it, not when the connection ends.
    if http2 {
        Box::pin(serve_http2(io, service, supervisor)).await;
        return;
    }
    let Some((io, head)) = Box::pin(serve_http1(io, service, supervisor)).await else {
        return;
    };
    event_stream::serve(io, head, &app, addrs, &activity, timeouts.idle).await;
}

/// Serves an HTTP/2 connection to its end.
async fn serve_http2<Io>(io: Conn<Io>, service: AppService, mut supervisor: Supervisor<'_>)
where
    Io: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(supervisor.timeouts.max_streams)
        .max_header_list_size(MAX_HEADER_LIST);
    // Told apart already: hyper is not to read a preface of its own (the
    // bytes it would read first are the ones read before).
    let builder = builder.http2_only();
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    tokio::pin!(conn);
    loop {
        tokio::select! {
            _ = conn.as_mut() => return,
            step = supervisor.next() => match step {
                Step::Dropped => return,
                Step::Close => conn.as_mut().graceful_shutdown(),
            },
        }
    }
}

/// Serves an HTTP/1 connection through hyper, reading each next request's
/// head first: returns the connection and the request when that is an
/// event stream's (hyper's part in the connection is over by then).
async fn serve_http1<Io>(
    mut io: Conn<Io>,
    mut service: AppService,
    mut supervisor: Supervisor<'_>,
) -> Option<(Conn<Io>, http::request::Parts)>
where
    Io: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let mut after = 0;
    loop {
        // A fresh one for each hyper connection: a notice left from the
        // last is not for this one.
        let held = Arc::new(Notify::new());
        supervisor.held = Some(held.clone());
        io.watch(Watch::new(
            supervisor.requests.clone(),
            EVENT_STREAM_PATH,
            after,
            held,
        ));
        let mut conn = Http1(
            http1::Builder::new()
                .timer(HeadTimer::new())
                .header_read_timeout(supervisor.timeouts.header)
                .max_buf_size(MAX_HEADER_LIST as usize)
                .serve_connection(TokioIo::new(io), service),
        );
        loop {
            tokio::select! {
                () = &mut conn => break,
                step = supervisor.next() => match step {
                    Step::Dropped => return None,
                    Step::Close => Pin::new(&mut conn.0).graceful_shutdown(),
                },
            }
        }
        let http1::Parts {
            io: back,
            read_buf,
            service: used,
            ..
        } = conn.0.into_parts();
        let mut back = back.into_inner();
        let head = back.take_held();
        let (true, Some(head)) = (supervisor.giving, head) else {
            let _ = tokio::io::AsyncWriteExt::shutdown(&mut back).await;
            return None;
        };
        if read_buf.is_empty() {
            return Some((back, head.parts));
        }
        // hyper had read ahead (a pipelined request): its bytes and the
        // held head go back to it, in the order they came.
        let mut again = SecretBytes::with_capacity(read_buf.len() + head.raw.len());
        again.extend_from_slice(&read_buf);
        again.extend_from_slice(&head.raw);
        back.unread(again);
        after = supervisor.requests.started();
        supervisor.closing = false;
        supervisor.giving = false;
        io = back;
        service = used;
    }
}

/// The app as hyper's service: each request with its connection's
/// addresses, counted in flight until its response body is done.
#[derive(Clone)]
struct AppService {
    app: Arc<BoxEndpoint<'static, Response>>,
    addrs: (LocalAddr, RemoteAddr, Scheme),
    requests: Arc<InFlight>,
}

type AppResponse = hyper::Response<BoxBody<Bytes, std::io::Error>>;

impl hyper::service::Service<http::Request<Incoming>> for AppService {
    type Response = AppResponse;
    type Error = std::convert::Infallible;
    /// Boxed: hyper keeps the future where it runs it (an HTTP/2 stream's
    /// task, an HTTP/1 connection's dispatcher) for as long as the
    /// response lasts; boxed, its ~2.4 KiB go when the response head is
    /// ready instead of staying with an open event stream.
    type Future = Pin<Box<dyn Future<Output = Result<AppResponse, Self::Error>> + Send>>;

    fn call(&self, req: http::Request<Incoming>) -> Self::Future {
        let app = self.app.clone();
        let (local, remote, scheme) = self.addrs.clone();
        let req = (req, local, remote, scheme).into();
        let started = Started::new(self.requests.clone());
        Box::pin(async move {
            let response: AppResponse = app.get_response(req).await.into();
            // The request is in flight until its body (an event stream's
            // too) is done and dropped.
            Ok(response.map(|body| {
                BoxBody::new(Guarded {
                    inner: body,
                    _started: started,
                })
            }))
        })
    }
}

/// What [`Supervisor::next`] asks of the connection.
enum Step {
    /// Idle past the idle timeout: to be dropped as it is.
    Dropped,
    /// To be closed gracefully: shutdown, no request started for the
    /// header timeout, or (`giving`) for the event stream whose head is
    /// held.
    Close,
}

/// What a served connection is watched with, and what it has been told.
struct Supervisor<'a> {
    activity: &'a Activity,
    requests: &'a Arc<InFlight>,
    timeouts: Timeouts,
    stop: &'a CancellationToken,
    /// Told when an event stream's head is held for this connection.
    held: Option<Arc<Notify>>,
    /// Told to close (or to give the connection away).
    closing: bool,
    /// Told to give the connection to an event stream.
    giving: bool,
}

impl Supervisor<'_> {
    /// Waits until something is to be done with the connection (which the
    /// caller runs meanwhile).
    async fn next(&mut self) -> Step {
        let timeouts = self.timeouts;
        loop {
            let now = now_millis();
            let mut wait = timeouts.idle.saturating_sub(self.activity.idle_for(now));
            if let Some(unused) = self.requests.unused_for(now) {
                wait = wait.min(timeouts.header.saturating_sub(unused));
            }
            let held = self.held.as_deref().filter(|_| !self.closing);
            tokio::select! {
                () = self.stop.cancelled(), if !self.closing => {
                    self.closing = true;
                    return Step::Close;
                }
                () = async { if let Some(held) = held { held.notified().await } }, if held.is_some() => {
                    self.closing = true;
                    self.giving = true;
                    return Step::Close;
                }
                () = tokio::time::sleep(wait) => {
                    let now = now_millis();
                    if self.activity.idle_for(now) >= timeouts.idle {
                        metrics::counter!("strongroom_connections_idle_closed_total").increment(1);
                        return Step::Dropped;
                    }
                    if !self.closing
                        && self.requests.unused_for(now).is_some_and(|u| u >= timeouts.header)
                    {
                        // Nothing asked of this connection for the header
                        // timeout: close it as HTTP/1 closes a kept-alive one.
                        self.closing = true;
                        metrics::counter!("strongroom_connections_idle_closed_total").increment(1);
                        return Step::Close;
                    }
                }
            }
        }
    }
}

/// hyper's HTTP/1 connection, run so that it gives its socket back when it
/// ends instead of shutting it.
struct Http1<I, S: HttpService<Incoming>>(http1::Connection<I, S>);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<I, S, B> Future for Http1<I, S>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    S: HttpService<Incoming, ResBody = B> + Unpin,
    S::Future: Unpin,
    S::Error: Into<BoxError>,
    B: hyper::body::Body + 'static,
    B::Error: Into<BoxError>,
{
    /// Ended, or failed: either way the socket is the caller's again.
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.poll_without_shutdown(cx).map(|_| ())
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

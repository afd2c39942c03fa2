//! The TCP side: binding (with an error that names the address), and an
//! acceptor that caps connections — in all, and per client address — so
//! idle sockets cannot exhaust file descriptors. Trusted proxies are not
//! capped per address (every client behind them shares their address).

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use poem::http::uri::Scheme;
use poem::listener::{Acceptor, TcpAcceptor};
use poem::web::{LocalAddr, RemoteAddr};
use strongroom_facade::IpNet;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Why the server could not start listening.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr}: {reason}")]
pub struct BindError {
    addr: SocketAddr,
    reason: String,
}

/// Binds `addr`; the error names the address and says why in plain words.
pub(crate) async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, BindError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| BindError {
            addr,
            reason: match e.kind() {
                io::ErrorKind::AddrInUse => "address already in use".to_owned(),
                io::ErrorKind::AddrNotAvailable => "address not available on this host".to_owned(),
                io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
                _ => e.to_string(),
            },
        })
}

/// Connection caps.
#[derive(Clone, Debug)]
pub struct ConnectionLimits {
    /// Connections open at once, in all.
    pub total: usize,
    /// Connections open at once from one address.
    pub per_address: usize,
    /// Peers exempt from the per-address cap.
    pub trusted_proxies: Vec<IpNet>,
}

#[derive(Default)]
struct Counts {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// An acceptor that admits connections within [`ConnectionLimits`] and
/// closes the rest at once.
pub(crate) struct CappedAcceptor {
    inner: TcpAcceptor,
    limits: ConnectionLimits,
    counts: Arc<Mutex<Counts>>,
    refusals: Refusals,
}

/// Refusals are logged at most once a second, with how many there were,
/// so a connection flood does not become a log flood.
#[derive(Default)]
struct Refusals {
    since_logged: u64,
    last_logged: Option<Instant>,
}

impl Refusals {
    fn refused(&mut self, ip: IpAddr) {
        metrics::counter!("strongroom_connections_refused_total").increment(1);
        self.since_logged += 1;
        let due = self
            .last_logged
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(1));
        if due {
            tracing::warn!(
                client = %ip,
                refused = self.since_logged,
                "connections refused: connection limit reached"
            );
            self.since_logged = 0;
            self.last_logged = Some(Instant::now());
        }
    }
}

impl CappedAcceptor {
    pub(crate) fn new(
        listener: tokio::net::TcpListener,
        limits: ConnectionLimits,
    ) -> io::Result<Self> {
        Ok(Self {
            inner: TcpAcceptor::from_tokio(listener)?,
            limits,
            counts: Arc::default(),
            refusals: Refusals::default(),
        })
    }

    fn admit(&self, ip: IpAddr) -> Option<Admitted> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if counts.total >= self.limits.total {
            return None;
        }
        let capped = !self.limits.trusted_proxies.iter().any(|n| n.contains(&ip));
        let ip = cap_key(ip);
        let from_here = counts.by_address.entry(ip).or_default();
        if capped && *from_here >= self.limits.per_address {
            return None;
        }
        *from_here += 1;
        counts.total += 1;
        metrics::gauge!("strongroom_connections_open").set(counts.total as f64);
        Some(Admitted {
            ip,
            counts: self.counts.clone(),
        })
    }
}

impl Acceptor for CappedAcceptor {
    type Io = Counted;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.inner.local_addr()
    }

    async fn accept(&mut self) -> io::Result<(Self::Io, LocalAddr, RemoteAddr, Scheme)> {
        loop {
            let (stream, local, remote, scheme) = self.inner.accept().await?;
            // Canonical: an IPv4 client of a dual-stack listener arrives as
            // ::ffff:a.b.c.d and is capped as a.b.c.d, not in one /64 with
            // every other IPv4 client.
            let Some(ip) = remote.as_socket_addr().map(|a| a.ip().to_canonical()) else {
                continue;
            };
            match self.admit(ip) {
                Some(admitted) => {
                    // Each write goes out at once. With Nagle's algorithm a
                    // small write waits while an earlier segment is unacked,
                    // and a client that has nothing to send acknowledges
                    // late (40 ms on Linux): the second event frame written
                    // to an HTTP/2 connection in a row waited that long.
                    if let Err(e) = stream.set_nodelay(true) {
                        tracing::debug!(error = %e, "TCP_NODELAY not set");
                    }
                    let io = Counted {
                        stream,
                        _admitted: admitted,
                    };
                    return Ok((io, local, remote, scheme));
                }
                None => self.refusals.refused(ip),
            }
        }
    }
}

/// The address a per-address cap counts under: an IPv4 address, or the /64
/// of an IPv6 one (one host usually holds a whole /64, and could otherwise
/// open its cap on each of 2^64 addresses).
fn cap_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !(u64::MAX as u128)).into()),
    }
}

/// A connection's place in the counts, given back when it closes.
struct Admitted {
    ip: IpAddr,
    counts: Arc<Mutex<Counts>>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.by_address.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                counts.by_address.remove(&self.ip);
            }
        }
        metrics::gauge!("strongroom_connections_open").set(counts.total as f64);
    }
}

/// A TCP stream that counts as open until dropped.
pub(crate) struct Counted {
    stream: TcpStream,
    _admitted: Admitted,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_share_their_64_and_ipv4_stand_alone() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:ffff:1:2:3".parse().expect("ip");
        let other: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(cap_key(a), cap_key(b));
        assert_ne!(cap_key(a), cap_key(other));
        let v4: IpAddr = "192.0.2.7".parse().expect("ip");
        assert_eq!(cap_key(v4), v4);
        let mapped: IpAddr = "::ffff:192.0.2.8".parse().expect("ip");
        assert_eq!(
            cap_key(mapped.to_canonical()),
            "192.0.2.8".parse::<IpAddr>().expect("ip")
        );
    }

    #[tokio::test]
    async fn accepted_connections_send_each_write_at_once() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let limits = ConnectionLimits {
            total: 4,
            per_address: 4,
            trusted_proxies: Vec::new(),
        };
        let mut acceptor = CappedAcceptor::new(listener, limits).expect("acceptor");
        let _client = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let (io, ..) = acceptor.accept().await.expect("accept");
        assert!(io.stream.nodelay().expect("nodelay"), "Nagle is off");
    }
}

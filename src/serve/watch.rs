//! Between the requests of an HTTP/1 connection that hyper serves: the
//! next request's head is read here before hyper sees it, as the first
//! one was ([`super::sniff`]). An event stream's whole head is held back,
//! and the connection leaves hyper to serve it (hyper keeps 16 KiB of
//! buffers for as long as it serves a connection, an idle stream included:
//! docs/performance.md); any other head goes to hyper as it came.
//!
//! hyper gives a connection back only once it has ended, and may still
//! hold bytes of its own then: the response before the held head, not
//! yet written (so the stream waits until hyper has flushed), or a
//! pipelined request it read ahead (so the connection goes back to hyper
//! with those bytes and the held head, in order).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use strongroom_engine::SecretBytes;
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::Notify;
use zeroize::Zeroize;

use super::requests::InFlight;
use super::sniff::{self, Kind};

/// An event stream's head, read whole and kept from hyper.
pub(super) struct Held {
    /// Its bytes as they came, for hyper if the stream cannot leave it.
    pub(super) raw: SecretBytes,
    /// The request it makes.
    pub(super) parts: http::request::Parts,
}

/// What the connection's reader does next.
pub(super) enum Next {
    /// Reads from the socket for hyper: a request is under way.
    Pass,
    /// Done: what was read from the socket is in hyper's buffer already
    /// (nothing, when the socket ended).
    Filled,
    /// Hands these bytes to hyper first.
    Hand(SecretBytes),
}

enum State {
    /// Bytes went to hyper after `after` requests had started: the next
    /// head is watched for once a later request has started and ended.
    Handed { after: u64 },
    /// Reading the next head, since `at` requests had started.
    Reading { at: u64, read: SecretBytes },
    /// An event stream's head: hyper gets nothing more.
    Held(Box<Held>),
}

/// The watch on one HTTP/1 connection.
pub(super) struct Watch {
    requests: Arc<InFlight>,
    path: &'static str,
    state: State,
    /// hyper wrote since it last flushed: a response may sit in its
    /// buffer.
    unflushed: bool,
    /// Told once a head is held and hyper has flushed everything before it.
    held: Arc<Notify>,
}

impl Watch {
    /// Watches for the event stream at `path`, from the request after the
    /// `after`th; `held` is told when one is held.
    pub(super) fn new(
        requests: Arc<InFlight>,
        path: &'static str,
        after: u64,
        held: Arc<Notify>,
    ) -> Self {
        Self {
            requests,
            path,
            state: State::Handed { after },
            unflushed: false,
            held,
        }
    }

    /// What hyper's read into `buf` gets, reading from `io` when a new
    /// head is due; `moved` is called when bytes came. A head that cannot
    /// be the event stream's is read straight into `buf`; one that may be
    /// is taken back out of it and read whole here first.
    pub(super) fn poll_read<Io: AsyncRead + Unpin>(
        &mut self,
        io: &mut Io,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
        moved: impl Fn(),
    ) -> Poll<std::io::Result<Next>> {
        loop {
            match &mut self.state {
                State::Handed { after } => match self.requests.idle_after() {
                    Some(started) if started > *after => {
                        self.state = State::Reading {
                            at: started,
                            read: SecretBytes::default(),
                        };
                    }
                    _ => return Poll::Ready(Ok(Next::Pass)),
                },
                State::Reading { at, read } => {
                    let at = *at;
                    // hyper began a request from bytes it had read ahead
                    // (pipelined): what it asks for now is that request's.
                    if self.requests.idle_after() != Some(at) {
                        let read = std::mem::take(read);
                        self.state = State::Handed { after: at };
                        return Poll::Ready(Ok(if read.is_empty() {
                            Next::Pass
                        } else {
                            Next::Hand(read)
                        }));
                    }
                    let n = if read.is_empty() {
                        let before = buf.filled().len();
                        ready!(Pin::new(&mut *io).poll_read(cx, buf))?;
                        let got = &buf.filled()[before..];
                        if got.is_empty() || !may_open(got, self.path) {
                            if !got.is_empty() {
                                moved();
                            }
                            self.state = State::Handed { after: at };
                            return Poll::Ready(Ok(Next::Filled));
                        }
                        read.extend_from_slice(got);
                        buf.set_filled(before);
                        read.len()
                    } else {
                        let mut chunk = [0u8; 1024];
                        let mut more = ReadBuf::new(&mut chunk);
                        ready!(Pin::new(&mut *io).poll_read(cx, &mut more))?;
                        let n = more.filled().len();
                        read.extend_from_slice(&chunk[..n]);
                        chunk[..n].zeroize();
                        n
                    };
                    if n > 0 {
                        moved();
                    }
                    match sniff::verdict(read, n == 0, self.path) {
                        Some(Kind::EventStream(parts)) => {
                            let raw = std::mem::take(read);
                            self.state = State::Held(Box::new(Held { raw, parts: *parts }));
                            if !self.unflushed {
                                self.held.notify_one();
                            }
                            return Poll::Pending;
                        }
                        None => {}
                        // Any other head: hyper's.
                        Some(_) => {
                            let read = std::mem::take(read);
                            self.state = State::Handed { after: at };
                            return Poll::Ready(Ok(Next::Hand(read)));
                        }
                    }
                }
                // The connection is leaving hyper: its reads wait.
                State::Held(_) => return Poll::Pending,
            }
        }
    }

    /// hyper wrote (or tried to).
    pub(super) fn wrote(&mut self) {
        self.unflushed = true;
    }

    /// hyper flushed: its buffer was empty (it flushes the socket only
    /// once it has written everything it held).
    pub(super) fn flushed(&mut self) {
        self.unflushed = false;
        if matches!(self.state, State::Held(_)) {
            self.held.notify_one();
        }
    }

    /// The held head, if there is one.
    pub(super) fn take_held(self) -> Option<Held> {
        match self.state {
            State::Held(held) => Some(*held),
            _ => None,
        }
    }
}

/// Whether `read`, the first bytes of a request, may begin `GET {path}`.
fn may_open(read: &[u8], path: &str) -> bool {
    let (method, rest) = read.split_at(read.len().min(4));
    let n = rest.len().min(path.len());
    method == &b"GET "[..method.len()] && rest[..n] == path.as_bytes()[..n]
}

#[cfg(test)]
mod tests {
    use super::may_open;

    #[test]
    fn only_the_start_of_a_get_of_the_path_may_open_a_stream() {
        for start in [
            "G",
            "GET",
            "GET ",
            "GET /v1",
            "GET /v1/events",
            "GET /v1/events?x HTTP/1.1",
        ] {
            assert!(may_open(start.as_bytes(), "/v1/events"), "{start}");
        }
        for other in [
            "P",
            "POST /v1/events",
            "GET /v1/messages",
            "GET /healthz HTTP/1.1",
            "get /v1/events",
        ] {
            assert!(!may_open(other.as_bytes(), "/v1/events"), "{other}");
        }
    }
}

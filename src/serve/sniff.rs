//! The first request of a connection, read before hyper sees it (and the
//! grammar the watch between HTTP/1 requests reads the next by): HTTP/2's
//! preface, an HTTP/1.1 event stream (served by [`super::event_stream`]
//! without hyper's buffers), or any other HTTP/1 request, handed to hyper
//! with the bytes read so far. What is read here is erased once used: a
//! head carries tokens and a request's first bytes of body.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Uri, Version};
use strongroom_engine::SecretBytes;
use tokio::io::{AsyncRead, AsyncReadExt};

/// What an HTTP/2 client with prior knowledge sends first (RFC 9113 3.4).
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Most bytes read before the connection goes to hyper whatever they are:
/// a longer head is never an event stream's, and hyper bounds it.
const MOST: usize = 4096;

/// Most header lines an event stream's head may have.
const MAX_HEADERS: usize = 32;

/// How a connection opened.
#[derive(Debug)]
pub(super) enum Opening {
    /// Closed before sending a byte.
    Closed,
    /// HTTP/2; the bytes read so far.
    Http2(SecretBytes),
    /// HTTP/1 other than an event stream (or not HTTP at all, for hyper to
    /// refuse); the bytes read so far.
    Http1(SecretBytes),
    /// A whole HTTP/1.1 `GET` of the event stream at `path`, with nothing
    /// after it and nothing that would make it carry a body or switch
    /// protocols.
    EventStream(http::request::Parts),
}

/// Reads until it knows how `io` opened.
pub(super) async fn read<Io: AsyncRead + Unpin>(
    io: &mut Io,
    path: &str,
) -> std::io::Result<Opening> {
    let mut buf = SecretBytes::from(vec![0; MOST]);
    let mut filled = 0;
    loop {
        let n = io.read(&mut buf[filled..]).await?;
        if n == 0 && filled == 0 {
            return Ok(Opening::Closed);
        }
        filled += n;
        let Some(kind) = verdict(&buf[..filled], n == 0, path) else {
            continue;
        };
        buf.truncate(filled);
        return Ok(match kind {
            Kind::Http2 => Opening::Http2(buf),
            Kind::Http1 => Opening::Http1(buf),
            Kind::EventStream(parts) => Opening::EventStream(*parts),
        });
    }
}

/// How a head read so far opens a connection or a request.
pub(super) enum Kind {
    Http2,
    Http1,
    EventStream(Box<http::request::Parts>),
}

/// What `read` opens with, or `None` while more bytes may tell; half a
/// head and then the end (`ended`), or as much as a head may be, is
/// hyper's to answer.
pub(super) fn verdict(read: &[u8], ended: bool, path: &str) -> Option<Kind> {
    classify(read, path).or_else(|| (ended || read.len() >= MOST).then_some(Kind::Http1))
}

/// What `read` opens with, or `None` while it needs more bytes to tell.
fn classify(read: &[u8], path: &str) -> Option<Kind> {
    let n = read.len().min(PREFACE.len());
    if read[..n] == PREFACE[..n] {
        return (n == PREFACE.len()).then_some(Kind::Http2);
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(read) {
        Ok(httparse::Status::Complete(len)) if len == read.len() => Some(
            event_stream(&req, path)
                .map(|parts| Kind::EventStream(Box::new(parts)))
                .unwrap_or(Kind::Http1),
        ),
        Ok(httparse::Status::Partial) => None,
        // Pipelined, too many headers, or malformed: hyper's to answer.
        Ok(httparse::Status::Complete(_)) | Err(_) => Some(Kind::Http1),
    }
}

/// `req` as a request for the event stream at `path`, if it is one.
fn event_stream(req: &httparse::Request<'_, '_>, path: &str) -> Option<http::request::Parts> {
    if req.method != Some("GET") || req.version != Some(1) {
        return None;
    }
    let target = req.path?;
    if target.split_once('?').map_or(target, |(p, _)| p) != path {
        return None;
    }
    let mut request = http::Request::new(());
    *request.method_mut() = Method::GET;
    *request.version_mut() = Version::HTTP_11;
    *request.uri_mut() = Uri::try_from(target).ok()?;
    let headers = request.headers_mut();
    for header in req.headers.iter() {
        let name = HeaderName::from_bytes(header.name.as_bytes()).ok()?;
        // A body, `Expect: 100-continue` or an upgrade: not a plain GET.
        if [
            http::header::CONTENT_LENGTH,
            http::header::TRANSFER_ENCODING,
            http::header::EXPECT,
            http::header::UPGRADE,
        ]
        .contains(&name)
        {
            return None;
        }
        // A value (a token, a cookie) is erased when the request drops it.
        let value = Bytes::from_owner(SecretBytes::copy(header.value));
        headers.append(name, HeaderValue::from_maybe_shared(value).ok()?);
    }
    Some(request.into_parts().0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opening(bytes: &[u8]) -> Opening {
        let (mut client, mut server) = tokio::io::duplex(MOST * 2);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(async {
            tokio::io::AsyncWriteExt::write_all(&mut client, bytes)
                .await
                .expect("write");
            drop(client);
            read(&mut server, "/v1/events").await.expect("read")
        })
    }

    #[test]
    fn an_event_stream_get_is_recognised_with_its_headers() {
        let Opening::EventStream(parts) = opening(
            b"GET /v1/events?after=5 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nLast-Event-ID: 7\r\n\r\n",
        ) else {
            panic!("not an event stream");
        };
        assert_eq!(parts.uri, "/v1/events?after=5");
        assert_eq!(parts.headers["authorization"], "Bearer t");
        assert_eq!(parts.headers["last-event-id"], "7");
        assert_eq!(parts.version, Version::HTTP_11);
    }

    #[test]
    fn everything_else_goes_to_hyper_with_the_bytes_read() {
        for head in [
            &b"GET /v1/events/tickets HTTP/1.1\r\nHost: x\r\n\r\n"[..],
            b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
            b"GET /v1/events HTTP/1.0\r\nHost: x\r\n\r\n",
            b"GET /v1/events HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
            b"GET /v1/events HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"GET /v1/events HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
            // Pipelined: a second request behind the first.
            b"GET /v1/events HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n",
            b"GET /v1/events HTTP/1.1\r\nBad Header: x\r\n\r\n",
            // The end before a whole head.
            b"GET /v1/ev",
        ] {
            match opening(head) {
                Opening::Http1(read) => assert_eq!(&read[..], head),
                other => panic!("{head:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_long_head_goes_to_hyper_after_as_much_as_is_read() {
        let mut head = b"GET /v1/events HTTP/1.1\r\nX-Pad: ".to_vec();
        head.resize(MOST + 100, b'a');
        match opening(&head) {
            Opening::Http1(read) => assert_eq!(&read[..], &head[..MOST]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_http2_preface_is_told_from_its_first_bytes() {
        match opening(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0") {
            Opening::Http2(read) => assert_eq!(&read[..], b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(opening(b""), Opening::Closed));
    }
}

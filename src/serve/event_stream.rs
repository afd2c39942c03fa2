//! An HTTP/1.1 event stream served without hyper: an idle stream then
//! holds its task, its events' queue and the socket, not hyper's 8 KiB
//! read and 8 KiB write buffers (most of an idle HTTP/1 stream's memory,
//! measured in docs/performance.md).
//!
//! [`super::sniff`] hands over only a whole `GET` of the event stream with
//! no body and nothing behind it. The app answers it as it would through
//! hyper; the answer goes out with `connection: close` (chunked when its
//! length is not known), so the connection ends with the stream and no
//! second request is ever read here. Bytes the client sends meanwhile are
//! read and dropped, which is how its going away is seen at once.

use std::io::Write as _;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::StatusCode;
use http::header::{CONNECTION, CONTENT_LENGTH, DATE, TRANSFER_ENCODING};
use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use poem::endpoint::BoxEndpoint;
use poem::http::uri::Scheme;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Body, Endpoint, RequestParts, Response};
use strongroom_engine::SecretBytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::clock::now_millis;
use super::conn::Activity;

/// Answers `parts` and streams the answer until it ends, the client goes
/// away, or no byte has moved for `idle`.
pub(super) async fn serve<Io>(
    mut io: Io,
    parts: http::request::Parts,
    app: &BoxEndpoint<'static, Response>,
    (local, remote, scheme): (LocalAddr, RemoteAddr, Scheme),
    activity: &Activity,
    idle: Duration,
) where
    Io: AsyncRead + AsyncWrite + Unpin,
{
    let request = poem::Request::from_parts(
        RequestParts::from((parts, local, remote, scheme)),
        Body::empty(),
    );
    // Boxed, so that the connection's task does not keep room for the
    // app's future (~2.4 KiB) for as long as the stream is open.
    let response: hyper::Response<BoxBody<Bytes, std::io::Error>> =
        Box::pin(app.get_response(request)).await.into();
    let (head, mut body) = response.into_parts();
    let bodiless = head.status.is_informational()
        || head.status == StatusCode::NO_CONTENT
        || head.status == StatusCode::NOT_MODIFIED;
    let length = match head.headers.get(CONTENT_LENGTH) {
        Some(_) => None,
        None if bodiless => None,
        None => hyper::body::Body::size_hint(&body).exact(),
    };
    let chunked = !bodiless && length.is_none() && !head.headers.contains_key(CONTENT_LENGTH);
    if !send(&mut io, &head_bytes(&head, length, chunked), idle).await {
        return;
    }
    if !bodiless {
        let mut probe = [0u8; 64];
        loop {
            let left = idle.saturating_sub(activity.idle_for(now_millis()));
            tokio::select! {
                frame = body.frame() => match frame {
                    // Ended: say so below.
                    None => break,
                    // Cut short: close without the last chunk, so the
                    // client sees the answer was not whole.
                    Some(Err(_)) => return,
                    Some(Ok(frame)) => {
                        let Ok(data) = frame.into_data() else { continue };
                        if data.is_empty() {
                            continue;
                        }
                        let sent = if chunked {
                            send(&mut io, &chunk(&data), idle).await
                        } else {
                            send(&mut io, &data, idle).await
                        };
                        if !sent {
                            return;
                        }
                    }
                },
                read = io.read(&mut probe) => match read {
                    // Gone.
                    Ok(0) | Err(_) => return,
                    // Anything more is not read as a request: dropped.
                    Ok(_) => {}
                },
                () = tokio::time::sleep(left) => {
                    if activity.idle_for(now_millis()) >= idle {
                        metrics::counter!("strongroom_connections_idle_closed_total").increment(1);
                        return;
                    }
                }
            }
        }
        if chunked && !send(&mut io, b"0\r\n\r\n", idle).await {
            return;
        }
    }
    let _ = io.shutdown().await;
}

/// Writes all of `bytes`; false when the connection failed or took no
/// byte for `idle`.
async fn send<Io: AsyncWrite + Unpin>(io: &mut Io, bytes: &[u8], idle: Duration) -> bool {
    matches!(
        tokio::time::timeout(idle, async {
            io.write_all(bytes).await?;
            io.flush().await
        })
        .await,
        Ok(Ok(()))
    )
}

/// The response head as HTTP/1.1 writes it.
fn head_bytes(head: &http::response::Parts, length: Option<u64>, chunked: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    let status = head.status;
    let _ = write!(
        out,
        "HTTP/1.1 {} {}\r\n",
        status.as_str(),
        status.canonical_reason().unwrap_or("")
    );
    for (name, value) in &head.headers {
        if name == CONNECTION || name == TRANSFER_ENCODING {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !head.headers.contains_key(DATE) {
        let _ = write!(
            out,
            "date: {}\r\n",
            httpdate::fmt_http_date(SystemTime::now())
        );
    }
    if let Some(length) = length {
        let _ = write!(out, "content-length: {length}\r\n");
    }
    if chunked {
        out.extend_from_slice(b"transfer-encoding: chunked\r\n");
    }
    out.extend_from_slice(b"connection: close\r\n\r\n");
    out
}

/// `data` as one chunk of a chunked body, in one allocation erased when
/// dropped: an event's data holds message text.
fn chunk(data: &[u8]) -> SecretBytes {
    // Room for the longest length in hex and both line ends: no growth
    // leaves an unerased copy behind.
    let mut out = Vec::with_capacity(data.len() + 2 * std::mem::size_of::<usize>() + 4);
    let _ = write!(out, "{:x}\r\n", data.len());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    SecretBytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_says_how_its_body_ends_and_that_the_connection_closes() {
        let (mut head, ()) = http::Response::new(()).into_parts();
        head.headers
            .insert("content-type", "text/event-stream".parse().expect("value"));
        head.headers
            .insert(CONNECTION, "keep-alive".parse().expect("value"));
        let text = String::from_utf8(head_bytes(&head, None, true)).expect("utf-8");
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(
            text.contains("\r\ncontent-type: text/event-stream\r\n"),
            "{text}"
        );
        assert!(text.contains("\r\ndate: "), "{text}");
        assert!(
            text.ends_with("\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"),
            "{text}"
        );
        assert!(!text.contains("keep-alive"), "{text}");

        head.status = StatusCode::UNAUTHORIZED;
        let text = String::from_utf8(head_bytes(&head, Some(12), false)).expect("utf-8");
        assert!(text.starts_with("HTTP/1.1 401 Unauthorized\r\n"), "{text}");
        assert!(text.contains("\r\ncontent-length: 12\r\n"), "{text}");
        assert!(!text.contains("chunked"), "{text}");
    }

    #[test]
    fn a_chunk_is_its_length_in_hex_then_the_bytes() {
        assert_eq!(&*chunk(b"data: x\n\n"), b"9\r\ndata: x\n\n\r\n");
        assert_eq!(&chunk(&[b'a'; 300])[..5], b"12c\r\n");
    }
}

//! Reads every request body before a handler sees it, whatever the
//! protocol (HTTP/1.1 or HTTP/2, plain or TLS): at most a size limit (413,
//! whether or not the client sent `Content-Length`), within a time limit
//! (408: a client trickling its body cannot hold a connection and a
//! handler open).

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use poem::error::ReadBodyError;
use poem::http::{StatusCode, header};
use poem::{Body, IntoResponse, Request, Response};

use crate::http::problem::{self, Problem};
use crate::wire::zeroized;

pub(crate) struct BodyLimit {
    pub(crate) max: usize,
    pub(crate) timeout: Duration,
}

impl BodyLimit {
    /// Reads `req`'s body into memory within the limits, or answers the
    /// request instead.
    pub(crate) async fn admit(&self, req: &mut Request) -> Result<(), Response> {
        let too_large = || {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body is larger than {} bytes", self.max),
            )
            .into_response()
        };
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > self.max as u64) {
            return Err(too_large());
        }
        // Skipped only when the body is known to be empty: the protocol
        // says so (HTTP/1 without Content-Length or Transfer-Encoding, an
        // HTTP/2 stream ended with its headers, Content-Length: 0). An
        // HTTP/2 body has no Transfer-Encoding and need not declare a
        // length, so those headers alone would let it skip the limit.
        let body = req.take_body();
        if body.is_empty() {
            req.set_body(body);
            return Ok(());
        }
        match tokio::time::timeout(self.timeout, read_whole(body, self.max)).await {
            Ok(Ok(bytes)) => {
                req.set_body(Body::from_bytes(bytes));
                Ok(())
            }
            Ok(Err(ReadBodyError::PayloadTooLarge)) => Err(too_large()),
            Ok(Err(e)) => Err(problem::from_error(e.into()).await),
            Err(_) => Err(Problem::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "request body not received within {} s",
                    self.timeout.as_secs()
                ),
            )
            .into_response()),
        }
    }
}

/// `body` whole, if it holds at most `max` bytes, in one allocation of its
/// exact length that is erased when dropped: bodies hold passwords and
/// message text. The chunks stay as the connection gave them until the
/// end, then are copied once; poem's own reader staged them in a 4 KiB
/// buffer inside the request's future and a growing buffer, both freed
/// unerased.
async fn read_whole(body: Body, max: usize) -> Result<Bytes, ReadBodyError> {
    let mut stream = body.into_bytes_stream();
    let mut chunks = Vec::new();
    let mut len = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        len += chunk.len();
        if len > max {
            return Err(ReadBodyError::PayloadTooLarge);
        }
        chunks.push(chunk);
    }
    let mut whole = Vec::with_capacity(len);
    for chunk in chunks {
        whole.extend_from_slice(&chunk);
        zeroized::erase_if_unique(chunk);
    }
    Ok(zeroized::bytes(whole))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunked(parts: &[&'static [u8]]) -> Body {
        let chunks = parts
            .iter()
            .map(|p| Ok::<_, std::io::Error>(Bytes::from_static(p)));
        Body::from_bytes_stream(futures_util::stream::iter(chunks.collect::<Vec<_>>()))
    }

    #[tokio::test]
    async fn a_body_in_chunks_reads_whole_up_to_the_limit() {
        let whole = read_whole(chunked(&[b"{\"mess", b"age\":", b"\"hi\"}"]), 16)
            .await
            .expect("within the limit");
        assert_eq!(&whole[..], b"{\"message\":\"hi\"}");
        assert!(matches!(
            read_whole(chunked(&[b"0123456789", b"0123456"]), 16).await,
            Err(ReadBodyError::PayloadTooLarge)
        ));
    }
}

//! `GET /v1/files/{id}`'s answer: the plaintext streamed a few segments
//! at a time (memory stays bounded whatever the file's size) under the
//! file's own `Content-Type`, with `Content-Length`, `Accept-Ranges` and,
//! for a range, `Content-Range` and 206; or, for a range past the end,
//! 416 with the file's length (`Content-Range: bytes */size`, RFC 9110
//! §15.5.17). Written by hand: poem-openapi's derived responses fix the
//! media type of a payload.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::{StreamExt, stream};
use poem::http::{HeaderValue, StatusCode, header};
use poem::{Body, IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::registry::{
    MetaHeader, MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry,
};
use poem_openapi::types::Type;
use strongroom_engine::files::FileReader;
use strongroom_engine::{RecordError, SecretBytes};

use crate::files::range::content_disposition;
use crate::http::problem::{PROBLEM_JSON, Problem, internal};
use crate::wire::zeroized;

/// Plaintext bytes read per step of the stream (16 segments).
const STEP: u64 = 16 * 64 * 1024;

/// A file's bytes, whole or a range of them, or the refusal of a range.
pub(crate) enum Download {
    /// Bytes `start..end` of the file; `partial` when a range asked for
    /// them. `head`: the first of them, read before the answer began (see
    /// [`Download::read`]). `reads_block`: reads wait on the network (then
    /// they run on a blocking thread).
    Stream {
        reader: Arc<FileReader>,
        head: Bytes,
        start: u64,
        end: u64,
        partial: bool,
        reads_block: bool,
    },
    /// A range wholly past the end of a file of `size` bytes.
    Unsatisfiable { size: u64 },
}

impl Download {
    /// Bytes `start..end` (`partial`: a range asked for them) of the file
    /// `reader` opened, with the first step of them (up to 1 MiB) read
    /// now, before anything is answered: a file deleted or expired since
    /// it was opened is refused here (`NotFound`) instead of cutting its
    /// answer short, and a file of up to a step is answered whole or not
    /// at all. (A larger one deleted mid-download still ends its answer
    /// early: the connection is closed, so the client sees it incomplete.)
    /// `refused` answers a read the engine refused.
    pub(crate) async fn read(
        reader: FileReader,
        (start, end, partial): (u64, u64, bool),
        reads_block: bool,
        refused: impl FnOnce(RecordError) -> Problem,
    ) -> Result<Self, Problem> {
        let reader = Arc::new(reader);
        let until = step_end(start, end);
        let head = if start < until {
            match step(reader.clone(), start, until, reads_block).await {
                Ok(Ok(head)) => head,
                Ok(Err(e)) => return Err(refused(e)),
                Err(e) => return Err(internal("file read", &e)),
            }
        } else {
            Bytes::new()
        };
        Ok(Download::Stream {
            reader,
            head,
            start,
            end,
            partial,
            reads_block,
        })
    }

    /// The whole file (see [`Download::read`]).
    pub(crate) async fn whole(
        reader: FileReader,
        reads_block: bool,
        refused: impl FnOnce(RecordError) -> Problem,
    ) -> Result<Self, Problem> {
        let end = reader.info().size;
        Self::read(reader, (0, end, false), reads_block, refused).await
    }
}

/// Where the step that starts at `at` ends: steps end on segment
/// boundaries, so each opens whole segments once.
fn step_end(at: u64, end: u64) -> u64 {
    ((at / STEP + 1) * STEP).min(end)
}

/// Reads `start..end` of the file (one step), off the executor if reads
/// block (the outer error: that thread was lost).
async fn step(
    reader: Arc<FileReader>,
    start: u64,
    end: u64,
    reads_block: bool,
) -> Result<Result<Bytes, RecordError>, tokio::task::JoinError> {
    let read = move || {
        // Erased once hyper has written it.
        let mut out = SecretBytes::with_capacity((end - start) as usize);
        reader
            .read(start, end, &mut |b| out.extend_from_slice(b))
            .map(|()| zeroized::bytes(out))
    };
    if reads_block {
        tokio::task::spawn_blocking(read).await
    } else {
        Ok(read())
    }
}

/// A read that failed after the answer began: the connection ends, so the
/// client sees the body incomplete.
fn ended_early(e: &dyn std::fmt::Display) -> std::io::Error {
    tracing::warn!(error = %e, "file read ended early");
    std::io::Error::other("the file could not be read to its end")
}

impl IntoResponse for Download {
    fn into_response(self) -> Response {
        let (reader, head, start, end, partial, reads_block) = match self {
            Download::Stream {
                reader,
                head,
                start,
                end,
                partial,
                reads_block,
            } => (reader, head, start, end, partial, reads_block),
            Download::Unsatisfiable { size } => {
                let mut response = Problem::new(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    format!("the file has {size} bytes"),
                )
                .into_response();
                if let Ok(range) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    response.headers_mut().insert(header::CONTENT_RANGE, range);
                }
                return response;
            }
        };
        let info = reader.info();
        let size = info.size;
        let media = HeaderValue::from_str(&info.label.media_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream"));
        let disposition = HeaderValue::from_str(&content_disposition(&info.label.name))
            .unwrap_or(HeaderValue::from_static("attachment"));
        let rest = stream::try_unfold(start + head.len() as u64, move |at| {
            let reader = reader.clone();
            async move {
                if at >= end {
                    return Ok::<_, std::io::Error>(None);
                }
                let until = step_end(at, end);
                let bytes = match step(reader, at, until, reads_block).await {
                    Ok(Ok(bytes)) => bytes,
                    Ok(Err(e)) => return Err(ended_early(&e)),
                    Err(e) => return Err(ended_early(&e)),
                };
                Ok(Some((bytes, until)))
            }
        });
        let chunks = stream::once(async move { Ok(head) }).chain(rest);
        let mut response = Response::builder()
            .status(if partial {
                StatusCode::PARTIAL_CONTENT
            } else {
                StatusCode::OK
            })
            .header(header::CONTENT_TYPE, media)
            .header(header::CONTENT_LENGTH, end - start)
            .header(header::CONTENT_DISPOSITION, disposition)
            .header(header::ACCEPT_RANGES, "bytes")
            // Whatever the uploader claimed the type to be, nothing of it
            // runs in this origin.
            .header(header::CONTENT_SECURITY_POLICY, "sandbox")
            .header(header::CACHE_CONTROL, "private, no-store")
            .body(Body::from_bytes_stream(chunks));
        if partial
            && let Ok(range) = HeaderValue::from_str(&format!("bytes {start}-{}/{size}", end - 1))
        {
            response.headers_mut().insert(header::CONTENT_RANGE, range);
        }
        response
    }
}

fn header(name: &str, description: &'static str) -> MetaHeader {
    MetaHeader {
        name: name.to_owned(),
        description: Some(description.to_owned()),
        required: true,
        deprecated: false,
        schema: String::schema_ref(),
    }
}

fn binary() -> MetaSchemaRef {
    MetaSchemaRef::Inline(Box::new(MetaSchema {
        format: Some("binary"),
        ..MetaSchema::new("string")
    }))
}

impl ApiResponse for Download {
    fn meta() -> MetaResponses {
        let common = || {
            vec![
                header("CONTENT-LENGTH", "Bytes in this answer."),
                header(
                    "CONTENT-DISPOSITION",
                    "`attachment`, with the file's name (`filename*`, RFC 8187).",
                ),
                header("ACCEPT-RANGES", "`bytes`: single ranges are served."),
            ]
        };
        let content = || {
            vec![MetaMediaType {
                content_type: "*/*",
                schema: binary(),
            }]
        };
        let mut partial = common();
        partial.push(header(
            "CONTENT-RANGE",
            "`bytes first-last/size` of the range sent.",
        ));
        MetaResponses {
            responses: vec![
                MetaResponse {
                    description: "The whole file, with its own media type as `Content-Type`.",
                    status: Some(200),
                    status_range: None,
                    content: content(),
                    headers: common(),
                },
                MetaResponse {
                    description: "The requested range (one `Range: bytes=…` range).",
                    status: Some(206),
                    status_range: None,
                    content: content(),
                    headers: partial,
                },
                MetaResponse {
                    description: "The range starts past the end of the file.",
                    status: Some(416),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: PROBLEM_JSON,
                        schema: Problem::schema_ref(),
                    }],
                    headers: vec![header(
                        "CONTENT-RANGE",
                        "`bytes */size`: the file's length.",
                    )],
                },
            ],
        }
    }

    fn register(registry: &mut Registry) {
        Problem::register(registry);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use strongroom_engine::SecretString;
    use strongroom_engine::files::FileLabel;

    use super::*;
    use crate::files::upload::file_problem;

    #[tokio::test]
    async fn a_file_gone_since_it_was_opened_is_refused_before_anything_is_answered() {
        let (_dir, clock, engine) = strongroom_testkit::http::engine();
        let password = SecretString::from(strongroom_testkit::PASSWORD);
        let alice = engine
            .accounts()
            .create("alice", &password)
            .expect("user")
            .id;
        let label = FileLabel::new("a.txt", Some("text/plain"));
        let ttl = Some(Duration::from_secs(60));
        let content = b"ten bytes!";
        let file = engine
            .files()
            .put(alice, alice, label, content, ttl)
            .expect("file")
            .id;
        let open = || engine.files().open(alice, file).expect("open");
        // Opened while it was there: read whole before the answer.
        let Ok(Download::Stream { head, .. }) = Download::whole(open(), false, file_problem).await
        else {
            panic!("the file is there");
        };
        assert_eq!(head.as_ref(), content);
        // Opened, then expired (or deleted) before its bytes were read: a
        // 404, where the answer's body used to end after its headers.
        let reader = open();
        clock.advance(Duration::from_secs(61));
        let refused = Download::whole(reader, false, file_problem).await;
        assert_eq!(refused.err().map(|p| p.status), Some(404));
    }
}

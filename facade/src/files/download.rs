//! `GET /v1/files/{id}`'s answer: the plaintext streamed a few segments
//! at a time (memory stays bounded whatever the file's size) under the
//! file's own `Content-Type`, with `Content-Length`, `Accept-Ranges` and,
//! for a range, `Content-Range` and 206; or, for a range past the end,
//! 416 with the file's length (`Content-Range: bytes */size`, RFC 9110
//! §15.5.17). Written by hand: poem-openapi's derived responses fix the
//! media type of a payload.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream;
use poem::http::{HeaderValue, StatusCode, header};
use poem::{Body, IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::registry::{
    MetaHeader, MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry,
};
use poem_openapi::types::Type;
use strongroom_engine::SecretBytes;
use strongroom_engine::files::FileReader;

use crate::files::range::content_disposition;
use crate::http::problem::{PROBLEM_JSON, Problem};
use crate::wire::zeroized;

/// Plaintext bytes read per step of the stream (16 segments).
const STEP: u64 = 16 * 64 * 1024;

/// A file's bytes, whole or a range of them, or the refusal of a range.
pub(crate) enum Download {
    /// Bytes `start..end` of the file; `partial` when a range asked for
    /// them. `reads_block`: reads wait on the network (then they run on a
    /// blocking thread).
    Stream {
        reader: Arc<FileReader>,
        start: u64,
        end: u64,
        partial: bool,
        reads_block: bool,
    },
    /// A range wholly past the end of a file of `size` bytes.
    Unsatisfiable { size: u64 },
}

impl Download {
    /// The whole file.
    pub(crate) fn whole(reader: FileReader, reads_block: bool) -> Self {
        let end = reader.info().size;
        Download::Stream {
            reader: Arc::new(reader),
            start: 0,
            end,
            partial: false,
            reads_block,
        }
    }
}

/// Reads `start..end` of the file (one step), off the executor if reads
/// block.
async fn step(
    reader: Arc<FileReader>,
    start: u64,
    end: u64,
    reads_block: bool,
) -> std::io::Result<Bytes> {
    let read = move || {
        // Erased once hyper has written it.
        let mut out = SecretBytes::with_capacity((end - start) as usize);
        reader
            .read(start, end, &mut |b| out.extend_from_slice(b))
            .map(|()| zeroized::bytes(out))
            .map_err(|e| {
                tracing::warn!(error = %e, "file read ended early");
                std::io::Error::other("the file could not be read to its end")
            })
    };
    if reads_block {
        tokio::task::spawn_blocking(read)
            .await
            .map_err(std::io::Error::other)?
    } else {
        read()
    }
}

impl IntoResponse for Download {
    fn into_response(self) -> Response {
        let (reader, start, end, partial, reads_block) = match self {
            Download::Stream {
                reader,
                start,
                end,
                partial,
                reads_block,
            } => (reader, start, end, partial, reads_block),
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
        let chunks = stream::try_unfold(start, move |at| {
            let reader = reader.clone();
            async move {
                if at >= end {
                    return Ok::<_, std::io::Error>(None);
                }
                // Steps end on segment boundaries, so each opens whole
                // segments once.
                let until = ((at / STEP + 1) * STEP).min(end);
                let bytes = step(reader, at, until, reads_block).await?;
                Ok(Some((bytes, until)))
            }
        });
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

//! Files: upload (streamed, sealed as it arrives), send to another user,
//! list, download (whole or one range, streamed), delete. The owner is
//! always the authenticated caller; files use the `messages:*` scopes.

pub(crate) mod download;
mod range;
pub(crate) mod upload;
mod wire;

use std::time::Duration;

use poem::Request;
use poem::http::{StatusCode, header};
use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiResponse, OpenApi};
use strongroom_engine::credits::Chargeable;
use strongroom_engine::files::FileLabel;
use strongroom_engine::{FileId, Scope, UserId};

use crate::files::download::Download;
use crate::files::range::Wanted;
use crate::files::upload::{file_problem, receive};
use crate::files::wire::{StoredFile, StoredFilePage};
use crate::http::auth::Caller;
use crate::http::guard;
use crate::http::paging;
use crate::http::problem::{Answer, Problem, account_problem, answer, errors, or_answer, says};
use crate::http::state::State;
use crate::tags::ApiTags;

#[derive(ApiResponse)]
pub(crate) enum UploadResponse {
    /// Stored durably.
    #[oai(status = 201)]
    Created(Json<StoredFile>),
}
errors! {
    UploadErrors {
        400 => "`ttl_seconds` out of range, or the body ended early.",
        401 => says::UNAUTHORIZED,
        403 => says::LACKS_WRITE,
        404 => "No such recipient.",
        408 => "No part of the body arrived for the server's body timeout.",
        413 => "The file is larger than the server's largest file, or would take\nthe sender past their storage quota (the detail says which).\nNothing of it is kept.",
        429 retry => says::WRITES_THROTTLED,
    }
}

#[derive(ApiResponse)]
pub(crate) enum ListResponse {
    /// A page of the caller's files, newest first.
    #[oai(status = 200)]
    Ok(Json<StoredFilePage>),
}
errors! {
    ListErrors {
        400 => "Bad `limit`, or a `cursor` that is not a UUID.",
        401 => says::UNAUTHORIZED,
        403 => says::LACKS_READ,
    }
}
errors! {
    DownloadErrors {
        401 => says::UNAUTHORIZED,
        403 => says::LACKS_READ,
        404 => "No such file for the caller (absent, expired, or someone else's).",
    }
}

#[derive(ApiResponse)]
pub(crate) enum DeleteResponse {
    /// Deleted.
    #[oai(status = 204)]
    NoContent,
}
errors! {
    DeleteErrors {
        401 => says::UNAUTHORIZED,
        403 => says::LACKS_WRITE,
        404 => "No such file for the caller (absent, expired, or someone else's).",
        429 retry => says::WRITES_THROTTLED,
    }
}

fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "file not found")
}

/// The file's label from the request: `X-File-Name` (percent-encoded
/// UTF-8, sanitised) and `Content-Type`.
fn label(req: &Request, name: Option<&str>) -> FileLabel {
    let name = name
        .map(|n| {
            percent_encoding::percent_decode_str(n)
                .decode_utf8_lossy()
                .into_owned()
        })
        .unwrap_or_default();
    let media = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    FileLabel::new(&name, media)
}

/// What every upload checks before anything is looked up or stored: the
/// ttl and a declared length over the limit.
fn admissible(state: &State, req: &Request, ttl: Option<u64>) -> Result<Option<Duration>, Problem> {
    let limits = state.engine.limits();
    let ttl = ttl.map(Duration::from_secs);
    limits.check_record(0, ttl).map_err(file_problem)?;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limits.max_file_len) {
        return Err(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("file is larger than {} bytes", limits.max_file_len),
        ));
    }
    Ok(ttl)
}

/// Begins an upload from `sender` for `owner`, streams `body` into it and
/// answers with the stored file.
async fn store(
    acting: &State,
    sender: UserId,
    owner: UserId,
    label: FileLabel,
    ttl: Option<Duration>,
    body: poem::Body,
) -> Answer<UploadResponse, UploadErrors> {
    let upload = acting
        .blocking(move |e| e.files().begin(sender, owner, label, ttl))
        .await?;
    let upload = or_answer!(upload.map_err(file_problem));
    let idle = acting.config.body_timeout;
    let info = or_answer!(receive(upload, body, idle).await);
    tracing::info!(id = %info.id, sender = %sender, owner = %owner, bytes = info.size, "file stored");
    Ok(UploadResponse::Created(Json(info.into())))
}

pub(crate) struct FilesApi;

#[OpenApi(tag = "ApiTags::Files")]
impl FilesApi {
    /// Upload a file for yourself.
    ///
    /// Send the file's bytes as the raw body, its media type as
    /// `Content-Type` and its name as `X-File-Name` (percent-encoded
    /// UTF-8). The body streams through the server, sealed in 64 KiB
    /// segments as it arrives; nothing is kept unless it all arrives.
    /// Scope: `messages:write`; counts against your storage quota (sealed
    /// size) and writes per minute.
    #[oai(path = "/v1/files", method = "post", operation_id = "upload_file")]
    async fn upload_own(
        &self,
        state: Data<&State>,
        caller: Caller,
        req: &Request,
        /// Seconds until the file disappears: 1 to the server's maximum (7
        /// days by default). Default: the server's default (600).
        ttl_seconds: Query<Option<u64>>,
        /// The file's name, percent-encoded UTF-8 (`report%20Q3.pdf`).
        #[oai(name = "X-File-Name")]
        file_name: Header<Option<String>>,
        body: Binary<poem::Body>,
    ) -> Answer<UploadResponse, UploadErrors> {
        let ttl = or_answer!(admissible(&state, req, ttl_seconds.0));
        let (me, acting) = or_answer!(guard::writer(&state, &caller, Scope::MessagesWrite).await?);
        let label = label(req, file_name.0.as_deref());
        store(&acting, me, me, label, ttl, body.0).await
    }

    /// Send a file to another user.
    ///
    /// Like `POST /v1/files`, but the file is stored for `username`, sealed
    /// under their key, with you recorded as its sender. Scope:
    /// `messages:write`; counts against your (the sender's) quota.
    #[oai(
        path = "/v1/users/:username/files",
        method = "post",
        operation_id = "send_file"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn send(
        &self,
        state: Data<&State>,
        caller: Caller,
        req: &Request,
        /// The recipient's username.
        username: Path<String>,
        /// Seconds until the file disappears (as for `POST /v1/files`).
        ttl_seconds: Query<Option<u64>>,
        /// The file's name, percent-encoded UTF-8.
        #[oai(name = "X-File-Name")]
        file_name: Header<Option<String>>,
        body: Binary<poem::Body>,
    ) -> Answer<UploadResponse, UploadErrors> {
        // Judged before the recipient is looked up, so that 400/413 vs 404
        // tells nothing about which usernames exist.
        let ttl = or_answer!(admissible(&state, req, ttl_seconds.0));
        let (me, acting) = or_answer!(guard::writer(&state, &caller, Scope::MessagesWrite).await?);
        let recipient = state.read(move |e| e.accounts().find(&username.0)).await?;
        let recipient = match recipient {
            Ok(Some(recipient)) => recipient,
            Ok(None) => return answer(Problem::unknown_user()),
            Err(e) => return answer(account_problem(e)),
        };
        let label = label(req, file_name.0.as_deref());
        store(&acting, me, recipient, label, ttl, body.0).await
    }

    /// List your files, newest first.
    ///
    /// Scope: `messages:read`.
    #[oai(path = "/v1/files", method = "get", operation_id = "list_files")]
    async fn list(
        &self,
        state: Data<&State>,
        caller: Caller,
        /// Page size, 1 to the server's largest page (100 by default;
        /// default 50).
        limit: Query<Option<u64>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Answer<ListResponse, ListErrors> {
        let owner = or_answer!(caller.require(Scope::MessagesRead));
        let max = state.engine.limits().max_page;
        let (limit, cursor) = or_answer!(paging::page::<FileId>(limit.0, cursor.0.as_deref(), max));
        let page = state
            .read(move |e| e.files().list(owner, cursor, limit))
            .await?;
        match page {
            Ok(page) => Ok(ListResponse::Ok(Json(page.into()))),
            Err(e) => answer(file_problem(e)),
        }
    }

    /// Download one of your files.
    ///
    /// The plaintext streams back under the file's media type, as an
    /// attachment named after it. One `Range: bytes=…` range is answered
    /// with 206 (only the segments it touches are opened); several ranges
    /// or other units are answered whole. Scope: `messages:read`.
    #[oai(path = "/v1/files/:id", method = "get", operation_id = "download_file")]
    async fn download(
        &self,
        state: Data<&State>,
        caller: Caller,
        /// The file's id.
        id: Path<String>,
        /// One byte range, `bytes=first-last`, `bytes=first-` or
        /// `bytes=-suffix`.
        #[oai(name = "Range")]
        range: Header<Option<String>>,
    ) -> Answer<Download, DownloadErrors> {
        let owner = or_answer!(caller.require(Scope::MessagesRead));
        let Ok(id) = id.0.parse::<FileId>() else {
            return answer(not_found());
        };
        let charged = state
            .engine
            .credits()
            .config()
            .price(Chargeable::FileDownload)
            > 0;
        let reader = state.read(move |e| e.files().open(owner, id)).await?;
        let mut reader = or_answer!(reader.map_err(file_problem));
        let size = reader.info().size;
        let (start, end, partial) = match range::wanted(range.0.as_deref(), size) {
            Wanted::Whole => (0, size, false),
            Wanted::Part { start, end } => (start, end, true),
            // Nothing sent, nothing charged.
            Wanted::Unsatisfiable => return Ok(Download::Unsatisfiable { size }),
        };
        if charged {
            // The charge commits before the first byte is read.
            let acting = state.acting(caller.origin());
            let paid = acting
                .blocking(move |e| e.files().download(owner, id))
                .await?;
            reader = or_answer!(paid.map_err(file_problem));
        }
        let reads_block = state.engine.reads_block();
        let download = Download::read(reader, (start, end, partial), reads_block, file_problem);
        let download = or_answer!(download.await);
        tracing::info!(id = %id, user = %owner, bytes = end - start, "file read");
        Ok(download)
    }

    /// Delete one of your files.
    ///
    /// Scope: `messages:write`; counts against your writes per minute.
    #[oai(
        path = "/v1/files/:id",
        method = "delete",
        operation_id = "delete_file"
    )]
    async fn delete(
        &self,
        state: Data<&State>,
        caller: Caller,
        /// The file's id.
        id: Path<String>,
    ) -> Answer<DeleteResponse, DeleteErrors> {
        let (owner, acting) =
            or_answer!(guard::writer(&state, &caller, Scope::MessagesWrite).await?);
        let Ok(id) = id.0.parse::<FileId>() else {
            return answer(not_found());
        };
        match acting
            .blocking(move |e| e.files().delete(owner, id))
            .await?
        {
            Ok(()) => {
                tracing::info!(id = %id, user = %owner, "file deleted");
                Ok(DeleteResponse::NoContent)
            }
            Err(e) => answer(file_problem(e)),
        }
    }
}

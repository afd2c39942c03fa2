//! Messages: store for oneself, send to another user, list, read, delete.
//! The owner is always the authenticated caller.

use std::collections::HashMap;
use std::time::Duration;

use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use strongroom_engine::{Engine, Receipt, Record, RecordId, UserId, envelope};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::Caller;
use crate::convert::{datetime, record_uuid, user_uuid};
use crate::problem::Problem;
use crate::responses::{answer, problem_variants, record_problem};
use crate::state::State;
use crate::tags::ApiTags;
use crate::text::Text;

/// Default page size of `GET /v1/messages`.
pub const DEFAULT_PAGE: u32 = 50;
/// Largest page size of `GET /v1/messages`.
pub const MAX_PAGE: u32 = 100;

/// A message to store.
#[derive(Object)]
#[oai(example)]
pub(crate) struct NewMessage {
    /// The text, UTF-8, at most 64 KiB (65 536 bytes).
    message: Text,
    /// Seconds until the message disappears: 1 to the server's maximum
    /// (7 days by default). Default: 600.
    #[oai(validator(minimum(value = "1"), maximum(value = "604800")))]
    ttl_seconds: Option<u64>,
}

impl NewMessage {
    /// The text and the requested ttl.
    pub(crate) fn into_parts(self) -> (String, Option<Duration>) {
        (self.message.0, ttl(self.ttl_seconds))
    }
}

impl poem_openapi::types::Example for NewMessage {
    fn example() -> Self {
        Self {
            message: Text("the vault code is 7-3-1".into()),
            ttl_seconds: Some(600),
        }
    }
}

/// A stored message, as sealed.
#[derive(Object)]
pub(crate) struct StoredMessage {
    /// The message's id.
    id: Uuid,
    /// The stored envelope, standard base64: version (1) ‖ key version (4)
    /// ‖ nonce (12) ‖ ciphertext ‖ tag (16).
    ciphertext: String,
    /// When it was stored (RFC 3339, UTC).
    created_at: OffsetDateTime,
    /// When it disappears (RFC 3339, UTC).
    expires_at: OffsetDateTime,
}

impl From<Receipt> for StoredMessage {
    fn from(r: Receipt) -> Self {
        Self {
            id: record_uuid(r.meta.id),
            ciphertext: envelope::to_base64(&r.envelope),
            created_at: datetime(r.meta.created_at),
            expires_at: datetime(r.meta.expires_at),
        }
    }
}

/// A decrypted message.
#[derive(Object)]
pub(crate) struct Message {
    /// The message's id.
    id: Uuid,
    /// Username of who stored it; absent if that account no longer exists.
    #[oai(skip_serializing_if_is_none)]
    sender: Option<String>,
    /// Id of who stored it.
    sender_id: Uuid,
    /// The text.
    message: String,
    /// When it was stored (RFC 3339, UTC).
    created_at: OffsetDateTime,
    /// When it disappears (RFC 3339, UTC).
    expires_at: OffsetDateTime,
}

/// One page of messages, newest first.
#[derive(Object)]
pub(crate) struct MessagePage {
    /// The messages on this page.
    messages: Vec<Message>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    next_cursor: Option<String>,
}

#[derive(ApiResponse)]
pub(crate) enum StoreResponse {
    /// Stored durably.
    #[oai(status = 201)]
    Created(Json<StoredMessage>),
    /// Message too long, or ttl out of range.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// Missing, invalid or expired bearer token.
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>),
    /// No such recipient.
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
}
problem_variants!(StoreResponse { 400 => BadRequest, 401 => Unauthorized, 404 => NotFound });

#[derive(ApiResponse)]
pub(crate) enum ListResponse {
    /// A page of the caller's unexpired messages, newest first.
    #[oai(status = 200)]
    Ok(Json<MessagePage>),
    /// Bad `limit` or `cursor`.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// Missing, invalid or expired bearer token.
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>),
}
problem_variants!(ListResponse { 400 => BadRequest, 401 => Unauthorized });

#[derive(ApiResponse)]
pub(crate) enum GetResponse {
    /// The message.
    #[oai(status = 200)]
    Ok(Json<Message>),
    /// Missing, invalid or expired bearer token.
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>),
    /// No such message for the caller (absent, expired, or someone else's).
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
}
problem_variants!(GetResponse { 401 => Unauthorized, 404 => NotFound });

#[derive(ApiResponse)]
pub(crate) enum DeleteResponse {
    /// Deleted.
    #[oai(status = 204)]
    NoContent,
    /// Missing, invalid or expired bearer token.
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>),
    /// No such message for the caller (absent, expired, or someone else's).
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
}
problem_variants!(DeleteResponse { 401 => Unauthorized, 404 => NotFound });

fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "message not found")
}

fn ttl(seconds: Option<u64>) -> Option<Duration> {
    seconds.map(Duration::from_secs)
}

/// Decrypted records as messages, resolving each sender's name once.
pub(crate) fn messages(engine: &Engine, records: Vec<Record>) -> Vec<Message> {
    let mut names: HashMap<UserId, Option<String>> = HashMap::new();
    records
        .into_iter()
        .map(|r| {
            let sender = names
                .entry(r.meta.sender)
                .or_insert_with(|| engine.user(r.meta.sender).ok().map(|u| u.username))
                .clone();
            Message {
                id: record_uuid(r.meta.id),
                sender,
                sender_id: user_uuid(r.meta.sender),
                // Stored only from valid UTF-8 strings; lossy is a no-op.
                message: String::from_utf8_lossy(&r.plaintext).into_owned(),
                created_at: datetime(r.meta.created_at),
                expires_at: datetime(r.meta.expires_at),
            }
        })
        .collect()
}

pub(crate) struct MessagesApi;

/// Stores a message and answers with its receipt.
async fn store(
    state: &State,
    sender: UserId,
    recipient: UserId,
    body: NewMessage,
) -> poem::Result<StoreResponse> {
    let len = body.message.0.len();
    let result = state
        .blocking(move |e| {
            e.send(
                sender,
                recipient,
                body.message.0.as_bytes(),
                ttl(body.ttl_seconds),
            )
        })
        .await?;
    match result {
        Ok(receipt) => {
            tracing::info!(id = %receipt.meta.id, sender = %sender, recipient = %recipient, bytes = len, "message stored");
            Ok(StoreResponse::Created(Json(receipt.into())))
        }
        Err(e) => answer(record_problem(e)),
    }
}

#[OpenApi(tag = "ApiTags::Messages")]
impl MessagesApi {
    /// Store a message for yourself.
    #[oai(path = "/v1/messages", method = "post", operation_id = "store_message")]
    async fn store_own(
        &self,
        state: Data<&State>,
        caller: Caller,
        body: Json<NewMessage>,
    ) -> poem::Result<StoreResponse> {
        let me = caller.0.session.user;
        store(&state, me, me, body.0).await
    }

    /// Send a message to another user.
    ///
    /// The message is stored for `username`, encrypted under their key, with
    /// you recorded as its sender.
    #[oai(
        path = "/v1/users/:username/messages",
        method = "post",
        operation_id = "send_message"
    )]
    async fn send(
        &self,
        state: Data<&State>,
        caller: Caller,
        /// The recipient's username.
        username: Path<String>,
        body: Json<NewMessage>,
    ) -> poem::Result<StoreResponse> {
        let recipient = state.blocking(move |e| e.user_id(&username.0)).await?;
        match recipient {
            Ok(Some(recipient)) => store(&state, caller.0.session.user, recipient, body.0).await,
            Ok(None) => answer(Problem::new(StatusCode::NOT_FOUND, "user not found")),
            Err(e) => answer(crate::responses::account_problem(e)),
        }
    }

    /// List your messages, newest first.
    #[oai(path = "/v1/messages", method = "get", operation_id = "list_messages")]
    async fn list(
        &self,
        state: Data<&State>,
        caller: Caller,
        /// Page size, 1–100 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> poem::Result<ListResponse> {
        let limit = limit.0.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return answer(Problem::new(
                StatusCode::BAD_REQUEST,
                format!("limit must be between 1 and {MAX_PAGE}"),
            ));
        }
        let cursor = match cursor.0.as_deref().map(str::parse::<RecordId>) {
            None => None,
            Some(Ok(id)) => Some(id),
            Some(Err(_)) => {
                return answer(Problem::new(
                    StatusCode::BAD_REQUEST,
                    "cursor is not a valid next_cursor",
                ));
            }
        };
        let owner = caller.0.session.user;
        let result = state
            .blocking(move |e| {
                e.list(owner, cursor, limit as usize)
                    .map(|page| (messages(e, page.records), page.next_cursor))
            })
            .await?;
        match result {
            Ok((messages, next)) => Ok(ListResponse::Ok(Json(MessagePage {
                messages,
                next_cursor: next.map(|c| c.to_string()),
            }))),
            Err(e) => answer(record_problem(e)),
        }
    }

    /// Read one of your messages.
    #[oai(
        path = "/v1/messages/:id",
        method = "get",
        operation_id = "get_message"
    )]
    async fn get(
        &self,
        state: Data<&State>,
        caller: Caller,
        /// The message's id.
        id: Path<String>,
    ) -> poem::Result<GetResponse> {
        // An id that cannot exist answers exactly like one that does not.
        let Ok(id) = id.0.parse::<RecordId>() else {
            return answer(not_found());
        };
        let owner = caller.0.session.user;
        let result = state
            .blocking(move |e| e.get(owner, id).map(|r| messages(e, vec![r])))
            .await?;
        match result {
            Ok(mut found) => {
                tracing::info!(id = %id, user = %owner, "message read");
                match found.pop() {
                    Some(message) => Ok(GetResponse::Ok(Json(message))),
                    None => answer(not_found()),
                }
            }
            Err(e) => answer(record_problem(e)),
        }
    }

    /// Delete one of your messages.
    #[oai(
        path = "/v1/messages/:id",
        method = "delete",
        operation_id = "delete_message"
    )]
    async fn delete(
        &self,
        state: Data<&State>,
        caller: Caller,
        /// The message's id.
        id: Path<String>,
    ) -> poem::Result<DeleteResponse> {
        let Ok(id) = id.0.parse::<RecordId>() else {
            return answer(not_found());
        };
        let owner = caller.0.session.user;
        match state.blocking(move |e| e.delete(owner, id)).await? {
            Ok(()) => {
                tracing::info!(id = %id, user = %owner, "message deleted");
                Ok(DeleteResponse::NoContent)
            }
            Err(e) => answer(record_problem(e)),
        }
    }
}

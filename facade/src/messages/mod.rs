//! Messages: store for oneself, send to another user, list, read, delete.
//! The owner is always the authenticated caller.

pub(crate) mod wire;

use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::{ApiResponse, OpenApi};
use strongroom_engine::{RecordId, Scope, UserId};

use crate::http::auth::Caller;
use crate::http::guard;
use crate::http::paging;
use crate::http::problem::{
    Answer, Problem, account_problem, answer, errors, or_answer, record_problem, says,
};
use crate::http::state::State;
use crate::messages::wire::{Message, MessagePage, NewMessage, StoredMessage};
use crate::tags::ApiTags;
use crate::wire::FastJson;
use crate::wire::json_body::JsonBody;

#[derive(ApiResponse)]
pub(crate) enum StoreResponse {
    /// Stored durably.
    #[oai(status = 201)]
    Created(FastJson<StoredMessage>),
}
errors! {
    StoreErrors {
        400 => "Message too long, or ttl out of range.",
        401 => says::UNAUTHORIZED,
        403 => "The credential lacks the scope this operation needs, or the sender\nis over their storage quota (the detail says which).",
        404 => "No such recipient.",
        429 retry => says::WRITES_THROTTLED,
    }
}

#[derive(ApiResponse)]
pub(crate) enum ListResponse {
    /// A page of the caller's unexpired messages, newest first.
    #[oai(status = 200)]
    Ok(FastJson<MessagePage>),
}
errors! {
    ListErrors {
        400 => "Bad `limit`, or a `cursor` that is not a UUID.",
        401 => says::UNAUTHORIZED,
        403 => says::LACKS_READ,
        404 => "`cursor` is a UUID but not a `next_cursor` this server issued.",
    }
}

#[derive(ApiResponse)]
pub(crate) enum GetResponse {
    /// The message.
    #[oai(status = 200)]
    Ok(FastJson<Message>),
}
errors! {
    GetErrors {
        401 => says::UNAUTHORIZED,
        403 => says::LACKS_READ,
        404 => says::NO_MESSAGE,
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
        404 => says::NO_MESSAGE,
        429 retry => says::WRITES_THROTTLED,
    }
}

fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "message not found")
}

pub(crate) struct MessagesApi;

/// Stores a message and answers with its receipt (`state` acts for the
/// sender).
async fn store(
    state: &State,
    sender: UserId,
    recipient: UserId,
    body: NewMessage,
) -> Answer<StoreResponse, StoreErrors> {
    let (text, ttl) = body.into_parts();
    let len = text.len();
    // Queued here (validation only); the request then waits for its
    // group commit without holding a thread.
    let result = match state
        .engine
        .records()
        .send_queued(sender, recipient, &text, ttl)
    {
        Ok(queued) => state.commit(queued).await?,
        Err(e) => Err(e),
    };
    match result {
        Ok(receipt) => {
            tracing::info!(id = %receipt.meta.id, sender = %sender, recipient = %recipient, bytes = len, "message stored");
            Ok(StoreResponse::Created(FastJson(receipt.into())))
        }
        Err(e) => answer(record_problem(e)),
    }
}

#[OpenApi(tag = "ApiTags::Messages")]
impl MessagesApi {
    /// Store a message for yourself.
    ///
    /// Scope: `messages:write`. Counts against your storage quota and
    /// writes per minute.
    #[oai(path = "/v1/messages", method = "post", operation_id = "store_message")]
    async fn store_own(
        &self,
        state: Data<&State>,
        caller: Caller,
        body: JsonBody<NewMessage>,
    ) -> Answer<StoreResponse, StoreErrors> {
        match guard::writer(&state, &caller, Scope::MessagesWrite).await? {
            Ok((me, acting)) => store(&acting, me, me, body.0).await,
            Err(p) => answer(p),
        }
    }

    /// Send a message to another user.
    ///
    /// The message is stored for `username`, encrypted under their key, with
    /// you recorded as its sender. Scope: `messages:write`; counts against
    /// your (the sender's) quota.
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
        body: JsonBody<NewMessage>,
    ) -> Answer<StoreResponse, StoreErrors> {
        // The body is judged before the recipient is looked up: otherwise
        // 400 vs 404 on a bad body would tell which usernames exist.
        let (len, ttl) = body.0.shape();
        if let Err(e) = state.engine.limits().check_record(len, ttl) {
            return answer(record_problem(e));
        }
        let (me, acting) = or_answer!(guard::writer(&state, &caller, Scope::MessagesWrite).await?);
        let recipient = state.read(move |e| e.accounts().find(&username.0)).await?;
        match recipient {
            Ok(Some(recipient)) => store(&acting, me, recipient, body.0).await,
            Ok(None) => answer(Problem::unknown_user()),
            Err(e) => answer(account_problem(e)),
        }
    }

    /// List your messages, newest first.
    ///
    /// Scope: `messages:read`.
    #[oai(path = "/v1/messages", method = "get", operation_id = "list_messages")]
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
        let (limit, cursor) =
            or_answer!(paging::page::<RecordId>(limit.0, cursor.0.as_deref(), max));
        let result = state
            .read(move |e| {
                e.records()
                    .list(owner, cursor, limit)
                    .map(|page| MessagePage {
                        messages: page.records.into_iter().map(Message::from).collect(),
                        next_cursor: page.next_cursor.map(|c| c.to_string()),
                    })
            })
            .await?;
        match result {
            Ok(page) => Ok(ListResponse::Ok(FastJson(page))),
            Err(e) => answer(record_problem(e)),
        }
    }

    /// Read one of your messages.
    ///
    /// Scope: `messages:read`.
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
    ) -> Answer<GetResponse, GetErrors> {
        let owner = or_answer!(caller.require(Scope::MessagesRead));
        // An id that cannot exist answers exactly like one that does not.
        let Ok(id) = id.0.parse::<RecordId>() else {
            return answer(not_found());
        };
        let result = state
            .read(move |e| e.records().get(owner, id).map(Message::from))
            .await?;
        match result {
            Ok(message) => {
                tracing::info!(id = %id, user = %owner, "message read");
                Ok(GetResponse::Ok(FastJson(message)))
            }
            Err(e) => answer(record_problem(e)),
        }
    }

    /// Delete one of your messages.
    ///
    /// Scope: `messages:write`; counts against your writes per minute.
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
    ) -> Answer<DeleteResponse, DeleteErrors> {
        let (owner, acting) =
            or_answer!(guard::writer(&state, &caller, Scope::MessagesWrite).await?);
        let Ok(id) = id.0.parse::<RecordId>() else {
            return answer(not_found());
        };
        match acting
            .blocking(move |e| e.records().delete(owner, id))
            .await?
        {
            Ok(()) => {
                tracing::info!(id = %id, user = %owner, "message deleted");
                Ok(DeleteResponse::NoContent)
            }
            Err(e) => answer(record_problem(e)),
        }
    }
}

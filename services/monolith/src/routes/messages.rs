//! `/messages`, `/messages/{id}`, `/messages/latest` and `/users/{id}/messages`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::IntoResponse;
use kit::extract::{Json, Path, Query};
use kit::ids::{MAX_IDS, MessageId, UserId};
use kit::problem::Problem;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::{
    Before, MESSAGES_LIMIT, Message, MessageText, NewMessage, PER_AUTHOR, bounded,
};
use crate::error::ApiError;
use crate::state::AppState;

/// Body of `POST /messages`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"author_id": 7, "text": "coffee later"}))]
pub struct CreateMessage {
    /// The author's user id.
    pub author_id: UserId,
    /// The text: 1 to 1000 characters, not only whitespace.
    #[schema(min_length = 1, max_length = 1000)]
    pub text: String,
}

/// Query of `GET /users/{id}/messages`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Most messages in the page.
    #[param(minimum = 1, maximum = 500, default = 50)]
    pub limit: Option<u32>,
    /// Only messages older than this one (the previous page's `next_before`).
    #[param(value_type = Option<MessageId>)]
    pub before: Option<MessageId>,
}

/// Query of `GET /messages/latest`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LatestQuery {
    /// Comma-separated author ids (`authors=1,2,3`), 1 to 500 items; duplicates are ignored.
    #[param(required = true, value_type = Vec<UserId>, style = Form, explode = false,
        min_items = 1, max_items = 500, example = json!([1, 2, 3]))]
    pub authors: Option<String>,
    /// Messages per author, newest first.
    #[param(minimum = 1, maximum = 10, default = 1)]
    pub per_author: Option<u32>,
}

/// A page of an author's messages.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessagePage {
    /// Whose messages these are.
    pub author_id: UserId,
    /// Newest first.
    pub messages: Vec<Message>,
    /// The id of this page's last message when more follow (pass it as `before`); `null`
    /// on the last page.
    pub next_before: Option<MessageId>,
}

/// The latest messages of many authors.
#[derive(Debug, Serialize, ToSchema)]
pub struct LatestMessages {
    /// One item per requested author, in the order requested (duplicates once).
    pub latest: Vec<AuthorMessages>,
}

/// One author's latest messages.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorMessages {
    /// The author.
    pub author_id: UserId,
    /// Up to `per_author` messages, newest first; empty when the author has none.
    pub messages: Vec<Message>,
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_message))
        .routes(routes!(list_latest_messages))
        .routes(routes!(get_message, delete_message))
        .routes(routes!(list_user_messages))
}

/// Post a message.
#[utoipa::path(
    post,
    path = "/messages",
    tag = "messages",
    operation_id = "createMessage",
    request_body = CreateMessage,
    responses(
        (status = 201, description = "Created; `Location` is the new message's URL",
            body = Message,
            headers(("Location" = String, description = "`/messages/{id}` of the new message"))),
        (status = 422, description = "A field breaks a rule, or no user has `author_id`; \
            `errors` names each field", body = Problem,
            content_type = "application/problem+json"),
    )
)]
async fn create_message(
    State(state): State<AppState>,
    Json(body): Json<CreateMessage>,
) -> Result<impl IntoResponse, ApiError> {
    let text = MessageText::parse(body.text)
        .map_err(|err| Problem::validation().with_field_error("text", err.to_string()))?;
    let new_message = NewMessage {
        author_id: body.author_id,
        text,
    };
    let message = state
        .store
        .create_message(&new_message)
        .await?
        .ok_or_else(|| {
            Problem::validation().with_field_error(
                "author_id",
                format!("no user with id {}", new_message.author_id),
            )
        })?;
    let location = format!("/messages/{}", message.id);
    Ok((StatusCode::CREATED, [(LOCATION, location)], Json(message)))
}

/// Read a message.
#[utoipa::path(
    get,
    path = "/messages/{id}",
    tag = "messages",
    operation_id = "getMessage",
    params(("id" = MessageId, Path, description = "The message's id")),
    responses(
        (status = 200, description = "The message", body = Message),
        (status = 404, description = "No message has this id", body = Problem,
            content_type = "application/problem+json"),
    )
)]
async fn get_message(
    State(state): State<AppState>,
    Path(id): Path<MessageId>,
) -> Result<Json<Message>, ApiError> {
    let message = state
        .store
        .get_message(id)
        .await?
        .ok_or(ApiError::MessageNotFound(id))?;
    Ok(Json(message))
}

/// Delete a message.
#[utoipa::path(
    delete,
    path = "/messages/{id}",
    tag = "messages",
    operation_id = "deleteMessage",
    params(("id" = MessageId, Path, description = "The message's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No message has this id", body = Problem,
            content_type = "application/problem+json"),
    )
)]
async fn delete_message(
    State(state): State<AppState>,
    Path(id): Path<MessageId>,
) -> Result<StatusCode, ApiError> {
    if state.store.delete_message(id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::MessageNotFound(id))
    }
}

/// List an author's messages, newest first.
///
/// Paged with `before`. An author without messages, or unknown, has an empty page.
#[utoipa::path(
    get,
    path = "/users/{id}/messages",
    tag = "messages",
    operation_id = "listUserMessages",
    params(("id" = UserId, Path, description = "The author's user id"), PageQuery),
    responses(
        (status = 200, description = "A page of messages, newest first", body = MessagePage),
        (status = 400, description = "`limit` is not between 1 and 500, or `before` is not a \
            positive 64-bit integer", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_user_messages(
    State(state): State<AppState>,
    Path(id): Path<UserId>,
    Query(query): Query<PageQuery>,
) -> Result<Json<MessagePage>, ApiError> {
    let limit = bounded("limit", query.limit, MESSAGES_LIMIT)
        .map_err(|err| Problem::bad_request(err.to_string()))?;
    let before = query.before.map_or(Before::Newest, Before::Message);
    let (messages, next_before) = state.store.message_page(id, before, limit).await?;
    Ok(Json(MessagePage {
        author_id: id,
        messages,
        next_before,
    }))
}

/// Read the latest messages of many authors at once.
///
/// One item per requested author, in the order requested; an author without messages (or
/// unknown) has an empty list.
#[utoipa::path(
    get,
    path = "/messages/latest",
    tag = "messages",
    operation_id = "listLatestMessages",
    params(LatestQuery),
    responses(
        (status = 200, description = "Each author's latest messages", body = LatestMessages),
        (status = 400, description = "`authors` is absent, empty, lists more than 500 items, \
            or has an item that is not a positive 64-bit integer (`invalid-id-list`); or \
            `per_author` is not between 1 and 10", body = Problem,
            content_type = "application/problem+json"),
    )
)]
async fn list_latest_messages(
    State(state): State<AppState>,
    Query(query): Query<LatestQuery>,
) -> Result<Json<LatestMessages>, ApiError> {
    let authors: Vec<UserId> =
        kit::ids::parse_id_list("authors", query.authors.as_deref(), MAX_IDS)
            .map_err(|err| Problem::invalid_id_list(err.to_string()))?;
    let per_author = bounded("per_author", query.per_author, PER_AUTHOR)
        .map_err(|err| Problem::bad_request(err.to_string()))?;
    let mut found = state.store.latest_messages(&authors, per_author).await?;
    let latest = authors
        .into_iter()
        .map(|author_id| AuthorMessages {
            author_id,
            messages: found.remove(&author_id).unwrap_or_default(),
        })
        .collect();
    Ok(Json(LatestMessages { latest }))
}

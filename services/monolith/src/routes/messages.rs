//! `/messages`, `/messages/latest`, `/messages/{id}` and `/users/{id}/messages`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::IntoResponse;
use kit::auth::MaybeAuthenticatedUser;
use kit::extract::{Json, ListQuery, Path, Query};
use kit::feed::Position;
use kit::fields::FieldErrors;
use kit::ids::{MAX_IDS, MessageId, UserId};
use kit::problem::Problem;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::{
    AuthorMessages, LatestPerAuthor, MESSAGE_TEXT, Message, MessagePage, MessagesPerPage,
    NewMessage, author, before_cursor,
};
use crate::error::ApiError;
use crate::state::{AppState, USER_WAIT};
use crate::store::Cursor;

/// Body of `POST /messages`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"author_id": 3, "text": "finally shipped the release"}))]
pub struct CreateMessage {
    /// The author's user id; the user must exist.
    // Any JSON integer (`3.0` too, as the schema's `integer` allows); the id rules follow.
    #[serde(default, deserialize_with = "kit::ids::json_integer")]
    #[schema(value_type = UserId, required = true)]
    pub(crate) author_id: Option<i64>,
    /// The text: 1 to 1000 characters (not bytes), not only whitespace, no NUL character.
    // The pattern says what `MessageText::parse` checks beyond the length: a character
    // that is not white space (spelled out as in the name pattern) and no NUL. The messages
    // service publishes the same.
    #[serde(default)]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 1000,
        pattern = r"^[^\u0000]*[^\u0000\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000]*$")]
    pub(crate) text: Option<String>,
}

/// Query of an author's messages.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Messages per page, 1 to 500.
    #[param(value_type = Option<i32>, minimum = 1, maximum = 500, default = 50, example = 20)]
    pub(crate) limit: Option<String>,
    /// A message id (`next_before` of the previous page): the page holds the author's
    /// messages strictly older than that message, by `created_at` and then id. When that
    /// message no longer exists, the page holds the author's messages with a lower id.
    /// Absent: the page starts at the newest message.
    #[param(value_type = Option<i64>, format = Int64, minimum = 1, maximum = 9223372036854775807_i64,
        example = 1234)]
    pub(crate) before: Option<String>,
}

/// Query of the bulk read of latest messages.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LatestQuery {
    /// Comma-separated author ids (`authors=1,2,3`), 1 to 500 items; duplicates are
    /// ignored, the first occurrence keeping its place.
    #[param(required = true, value_type = Vec<UserId>, style = Form, explode = false,
        min_items = 1, max_items = 500, example = json!([1, 2, 3]))]
    pub(crate) authors: Option<String>,
    /// Newest messages per author, 1 to 10.
    #[param(value_type = Option<i32>, minimum = 1, maximum = 10, default = 1, example = 3)]
    pub(crate) per_author: Option<String>,
}

/// Answer of the bulk read: one entry per requested author, in the order requested.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = latest_example)]
pub struct LatestMessages {
    /// Each distinct requested author, in request order (a repeated id appears once, where
    /// it first appeared), with its newest messages; an author without messages has `[]`.
    pub(crate) latest: Vec<AuthorMessages>,
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    // `/messages/latest` is a static segment: the router prefers it to `/messages/{id}`
    // whatever the order of declaration, so `latest` is never parsed as an id.
    OpenApiRouter::new()
        .routes(routes!(create_message))
        .routes(routes!(list_latest_messages))
        .routes(routes!(get_message, delete_message))
        .routes(routes!(list_user_messages))
}

/// Create a message.
#[utoipa::path(
    post,
    path = "/messages",
    tag = "messages",
    operation_id = "createMessage",
    request_body = CreateMessage,
    responses(
        (status = 201, description = "Created; `Location` is the new message's URL",
            body = Message,
            headers(
                ("Location" = String, description = "`/messages/{id}` of the new message"),
                ("X-Change-Position" = String, description = "The write's position in the change feed, `monolith:SEQ`"),
            )),
        (status = 403, description = "The caller the gateway authenticated is not `author_id`: \
            a message is posted by its author only",
            body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`author_id` is missing, not a positive 64-bit integer \
            or names no user, `text` is missing, blank, longer than 1000 characters or holds a \
            NUL, or the body has an unknown field; `errors` names each offending field",
            body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create_message(
    State(state): State<AppState>,
    caller: MaybeAuthenticatedUser,
    Json(body): Json<CreateMessage>,
) -> Result<impl IntoResponse, ApiError> {
    let new_message = body.checked()?;
    let author = new_message.author_id;
    caller.may_act_for(author, &format!("post as `author_id` {author}"))?;
    let author_id = new_message.author_id;
    // An author created on the users service a moment ago may still be on its way here.
    let deadline = Instant::now() + USER_WAIT;
    let (message, position) = loop {
        match state.store.create_message(&new_message).await? {
            Some(created) => break created,
            None if state.users_arrived(deadline).await => {}
            None => {
                return Err(Problem::validation()
                    .with_field_error("author_id", format!("no user with id {author_id}"))
                    .into());
            }
        }
    };
    let location = format!("/messages/{}", message.id);
    Ok((
        StatusCode::CREATED,
        position,
        [(LOCATION, location)],
        Json(message),
    ))
}

/// Read the newest messages of many authors at once.
///
/// Never answers 404: an author without messages (or that does not exist) gets `[]`.
#[utoipa::path(
    get,
    path = "/messages/latest",
    tag = "messages",
    operation_id = "listLatestMessages",
    params(LatestQuery),
    responses(
        (status = 200, description = "Each requested author's newest messages, newest first",
            body = LatestMessages),
        (status = 400, description = "`authors` is absent, empty, lists more than 500 items, \
            or has an item that is not a positive 64-bit integer (code `invalid-id-list`); or \
            `per_author` is not an integer from 1 to 10 (code `bad-request`). `detail` names \
            the parameter and what is allowed",
            body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_latest_messages(
    State(state): State<AppState>,
    ListQuery(query): ListQuery<LatestQuery>,
) -> Result<Json<LatestMessages>, ApiError> {
    let authors: Vec<UserId> =
        kit::ids::parse_id_list("authors", query.authors.as_deref(), MAX_IDS)
            .map_err(|err| Problem::invalid_id_list(err.to_string()))?;
    let per_author =
        LatestPerAuthor::parse("per_author", query.per_author.as_deref()).map_err(Problem::from)?;
    let rows = state
        .store
        .latest_messages(&authors, per_author.get())
        .await?;
    Ok(Json(LatestMessages {
        latest: AuthorMessages::in_request_order(&authors, rows),
    }))
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
        (status = 204, description = "Deleted", headers(("X-Change-Position" = String, description = "The write's position in the change feed, `monolith:SEQ`"))),
        (status = 403, description = "The caller the gateway authenticated is not the \
            message's author", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No message has this id", body = Problem,
            content_type = "application/problem+json"),
    )
)]
async fn delete_message(
    State(state): State<AppState>,
    caller: MaybeAuthenticatedUser,
    Path(id): Path<MessageId>,
) -> Result<(Position, StatusCode), ApiError> {
    // Only a caller the gateway named must be the author; internal calls delete as before.
    if caller.0.is_some() {
        let message = state
            .store
            .get_message(id)
            .await?
            .ok_or(ApiError::MessageNotFound(id))?;
        caller.may_act_for(message.author_id, &format!("delete message {id}"))?;
    }
    let position = state
        .store
        .delete_message(id)
        .await?
        .ok_or(ApiError::MessageNotFound(id))?;
    Ok((position, StatusCode::NO_CONTENT))
}

/// Read an author's messages, newest first, a page at a time.
///
/// Never answers 404: an author without messages (or that does not exist) gets an empty
/// page. Follow `next_before` until it is `null`; a cursor whose message was deleted
/// in between still works.
#[utoipa::path(
    get,
    path = "/users/{id}/messages",
    tag = "messages",
    operation_id = "listUserMessages",
    params(("id" = UserId, Path, description = "The author's user id"), PageQuery),
    responses(
        (status = 200, description = "A page of the author's messages", body = MessagePage),
        (status = 400, description = "The id, `limit` (an integer from 1 to 500) or `before` \
            (a message id from 1 to 9223372036854775807) cannot be used; `detail` names the \
            parameter and what is allowed",
            body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_user_messages(
    State(state): State<AppState>,
    Path(author): Path<UserId>,
    Query(query): Query<PageQuery>,
) -> Result<Json<MessagePage>, ApiError> {
    let limit = MessagesPerPage::parse("limit", query.limit.as_deref()).map_err(Problem::from)?;
    let before = query
        .before
        .as_deref()
        .map(before_cursor)
        .transpose()
        .map_err(Problem::bad_request)?;
    let cursor = match before {
        Some(before) => state.store.cursor(before).await?,
        None => Cursor::Newest,
    };
    // One more than asked for: its presence says whether another page follows.
    let rows = state
        .store
        .message_page(author, cursor, limit.get() + 1)
        .await?;
    Ok(Json(MessagePage::from_lookahead(author, rows, limit.get())))
}

/// The example of [`LatestMessages`]: author 3's latest, and author 5 without messages.
fn latest_example() -> LatestMessages {
    LatestMessages {
        latest: crate::domain::latest_example(),
    }
}

// === impl CreateMessage ===

impl CreateMessage {
    /// The message to post, once every field keeps its rule (whether the author exists,
    /// the database tells).
    fn checked(self) -> Result<NewMessage, Problem> {
        let mut errors = FieldErrors::new();
        let author_id = errors.check("author_id", author(self.author_id));
        match &self.text {
            Some(text) => {
                errors.check("text", MESSAGE_TEXT.check(text));
            }
            None => errors.refuse("text", "is required: 1 to 1000 characters"),
        }
        errors
            .finish(author_id.zip(self.text))
            .map(|(author_id, text)| NewMessage { author_id, text })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: &str) -> CreateMessage {
        kit::extract::parse_json(json.as_bytes()).unwrap()
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let problem = body(r#"{"author_id": 0, "text": "  "}"#)
            .checked()
            .unwrap_err();
        assert_eq!(problem.status, 422);
        assert!(
            problem.errors["author_id"][0].contains("`0`"),
            "{problem:?}"
        );
        assert_eq!(
            problem.errors["text"],
            ["must not be empty or only whitespace"]
        );
        let problem = body("{}").checked().unwrap_err();
        assert!(problem.errors["author_id"][0].starts_with("is required"));
        assert_eq!(
            problem.errors["text"],
            ["is required: 1 to 1000 characters"]
        );
    }

    #[test]
    fn the_published_text_pattern_is_the_text_rule() {
        let spec = serde_json::to_value(crate::openapi()).unwrap();
        let pattern =
            spec["components"]["schemas"]["CreateMessage"]["properties"]["text"]["pattern"]
                .as_str()
                .unwrap();
        kit::test_util::assert_pattern_is_the_rule("text", pattern, |text| {
            MESSAGE_TEXT.check(text).is_ok()
        });
    }

    #[test]
    fn an_author_id_is_any_json_integer_and_the_text_is_kept() {
        let new = body(r#"{"author_id": 3.0, "text": " hi\nthere "}"#)
            .checked()
            .unwrap();
        assert_eq!(new.author_id, UserId::new(3));
        assert_eq!(new.text, " hi\nthere ");
        let err = kit::extract::parse_json::<CreateMessage>(br#"{"author_id": 3.5, "text": "hi"}"#)
            .unwrap_err();
        assert!(err.errors.contains_key("author_id"), "{err:?}");
    }
}

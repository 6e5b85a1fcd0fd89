//! `/messages`, `/messages/latest`, `/messages/{id}` and `/users/{id}/messages`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::IntoResponse;
use kit::auth::MaybeAuthenticatedUser;
use kit::extract::{Json, ListQuery, Path, Query};
use kit::feed::Position;
use kit::feed::known::Lookup;
use kit::fields::FieldErrors;
use kit::ids::{IdError, MAX_IDS, MessageId, UserId};
use kit::problem::Problem;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::{
    AuthorMessages, Message, MessagePage, MessageText, NewMessage, PageLimit, PerAuthor,
    group_by_author,
};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::Cursor;

/// Body of `POST /messages`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"author_id": 3, "text": "finally shipped the release"}))]
pub struct CreateMessage {
    /// The author's user id. With `--users-url`, a user the users feed holds (the users
    /// service itself is never asked); without it, any id.
    // Any JSON integer (`3.0` too, as the schema's `integer` allows); the id rules follow.
    #[serde(default, deserialize_with = "kit::ids::json_integer")]
    #[schema(value_type = UserId, required = true)]
    pub author_id: Option<i64>,
    /// The text: 1 to 1000 characters (not bytes), not only whitespace, no NUL character.
    // The pattern says what `MessageText::parse` checks beyond the length: a character
    // that is not white space (Rust's `char::is_whitespace`, spelled out so every regex
    // engine reads it alike) and no NUL.
    #[serde(default)]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 1000,
        pattern = r"^[^\u0000]*[^\u0000\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000]*$")]
    pub text: Option<String>,
}

/// Query of an author's messages.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Messages per page, 1 to 500.
    #[param(value_type = Option<i32>, minimum = 1, maximum = 500, default = 50, example = 20)]
    pub limit: Option<String>,
    /// A message id (`next_before` of the previous page): the page holds the author's
    /// messages strictly older than that message, by `created_at` and then id. When that
    /// message no longer exists, the page holds the author's messages with a lower id.
    /// Absent: the page starts at the newest message.
    #[param(value_type = Option<i64>, format = Int64, minimum = 1, maximum = 9223372036854775807_i64,
        example = 1234)]
    pub before: Option<String>,
}

/// Query of the bulk read of latest messages.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LatestQuery {
    /// Comma-separated author ids (`authors=1,2,3`), 1 to 500 items; duplicates are
    /// ignored, the first occurrence keeping its place.
    #[param(required = true, value_type = Vec<UserId>, style = Form, explode = false,
        min_items = 1, max_items = 500, example = json!([1, 2, 3]))]
    pub authors: Option<String>,
    /// Newest messages per author, 1 to 10.
    #[param(value_type = Option<i32>, minimum = 1, maximum = 10, default = 1, example = 3)]
    pub per_author: Option<String>,
}

/// Answer of the bulk read: one entry per requested author, in the order requested.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"latest": [
    {"author_id": 3, "messages": [
        {"id": 7, "author_id": 3, "text": "finally shipped the release", "created_at": "2025-12-24T18:30:00Z"}
    ]},
    {"author_id": 5, "messages": []}
]}))]
pub struct LatestMessages {
    /// Each distinct requested author, in request order (a repeated id appears once, where
    /// it first appeared), with its newest messages; an author without messages has `[]`.
    pub latest: Vec<AuthorMessages>,
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
///
/// With `--users-url`, the author must be in the users feed: an author created a moment
/// ago is waited for, up to `--known-users-wait`; when the feed is not applied up to its
/// head by then, the answer is 503 with `Retry-After`.
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
                ("X-Change-Position" = String, description = "The position of the message's \
                    event in the messages feed, `messages:SEQ`"),
            )),
        (status = 403, description = "The caller the gateway authenticated is not `author_id`: \
            a message is posted by its author only",
            body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`author_id` is missing, not a positive 64-bit integer \
            or (with `--users-url`) names no user, `text` is missing, blank, longer than 1000 \
            characters or holds a NUL, or the body has an unknown field; `errors` names each \
            offending field",
            body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create_message(
    State(state): State<AppState>,
    caller: MaybeAuthenticatedUser,
    Json(body): Json<CreateMessage>,
) -> Result<impl IntoResponse, ApiError> {
    let new_message = parse_new_message(body)?;
    let author = new_message.author_id;
    caller.may_act_for(author, &format!("post as `author_id` {author}"))?;
    if let Some(users) = &state.users {
        match users.check(&author.to_string()).await? {
            Lookup::Known => {}
            Lookup::Unknown => {
                return Err(Problem::validation()
                    .with_field_error("author_id", format!("no user with id {author}"))
                    .into());
            }
            Lookup::Behind => return Err(ApiError::UsersBehind(author)),
        }
    }
    let (message, position) = state.store.create(&new_message).await?;
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
/// Never answers 404: an author without messages (or unknown to this service) gets `[]`.
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
        PerAuthor::parse("per_author", query.per_author.as_deref()).map_err(Problem::from)?;
    let found = state.store.latest(&authors, per_author.get()).await?;
    Ok(Json(LatestMessages {
        latest: group_by_author(&authors, found),
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
    let message = state.store.get(id).await?.ok_or(ApiError::NotFound(id))?;
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
        (status = 204, description = "Deleted",
            headers(("X-Change-Position" = String, description = "The position of the \
                message's deletion in the messages feed, `messages:SEQ`"))),
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
) -> Result<(StatusCode, Option<Position>, ()), ApiError> {
    // Only a caller the gateway named must be the author; internal calls delete as before.
    if caller.0.is_some() {
        let message = state.store.get(id).await?.ok_or(ApiError::NotFound(id))?;
        caller.may_act_for(message.author_id, &format!("delete message {id}"))?;
    }
    match state.store.delete(id).await? {
        Some(position) => Ok((StatusCode::NO_CONTENT, position, ())),
        None => Err(ApiError::NotFound(id)),
    }
}

/// Read an author's messages, newest first, a page at a time.
///
/// Never answers 404: an author without messages (or unknown to this service) gets an
/// empty page. Follow `next_before` until it is `null`; a cursor whose message was deleted
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
    let limit = PageLimit::parse("limit", query.limit.as_deref()).map_err(Problem::from)?;
    let before = query.before.as_deref().map(parse_before).transpose()?;
    let cursor = match before {
        Some(before) => state.store.cursor(before).await?,
        None => Cursor::Newest,
    };
    // One more than asked for: its presence says whether another page follows.
    let rows = state.store.page(author, cursor, limit.get() + 1).await?;
    Ok(Json(MessagePage::from_lookahead(author, rows, limit)))
}

fn parse_before(text: &str) -> Result<MessageId, Problem> {
    text.parse().map_err(|err: IdError| {
        Problem::bad_request(format!(
            "`before` must be a message id, an integer from 1 to {}: {err}",
            i64::MAX
        ))
    })
}

fn parse_new_message(body: CreateMessage) -> Result<NewMessage, Problem> {
    let mut errors = FieldErrors::new();
    let author_id = errors.check(
        "author_id",
        match body.author_id {
            Some(id) if id > 0 => Ok(UserId::new(id)),
            Some(id) => Err(IdError::NotPositive(id.to_string()).to_string()),
            None => Err("is required: the author's user id, a positive 64-bit integer".to_owned()),
        },
    );
    let text = errors.check(
        "text",
        match body.text {
            Some(text) => MessageText::parse(text).map_err(|err| err.to_string()),
            None => Err("is required: 1 to 1000 characters".to_owned()),
        },
    );
    errors
        .finish(author_id.zip(text))
        .map(|(author_id, text)| NewMessage { author_id, text })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: &str) -> CreateMessage {
        kit::extract::parse_json(json.as_bytes()).unwrap()
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let problem = parse_new_message(body(r#"{"author_id": 0, "text": "  "}"#)).unwrap_err();
        assert_eq!(problem.status, 422);
        assert!(
            problem.errors["author_id"][0].contains("`0`"),
            "{problem:?}"
        );
        assert!(problem.errors["text"][0].contains("empty"), "{problem:?}");

        let problem = parse_new_message(body("{}")).unwrap_err();
        assert!(problem.errors["author_id"][0].contains("required"));
        assert!(problem.errors["text"][0].contains("required"));

        let problem = parse_new_message(body(r#"{"author_id": -4, "text": "ok"}"#)).unwrap_err();
        assert_eq!(problem.errors.len(), 1);
        assert!(problem.errors["author_id"][0].contains("`-4`"));
    }

    #[test]
    fn the_published_text_pattern_is_what_the_server_checks() {
        let spec = serde_json::to_value(crate::openapi()).unwrap();
        let pattern =
            spec["components"]["schemas"]["CreateMessage"]["properties"]["text"]["pattern"]
                .as_str()
                .unwrap();
        kit::test_util::assert_pattern_is_the_rule("text", pattern, |text| {
            MessageText::parse(text.to_owned()).is_ok()
        });
    }

    #[test]
    fn an_author_id_is_any_json_integer() {
        let new = parse_new_message(body(r#"{"author_id": 3.0, "text": "hi"}"#)).unwrap();
        assert_eq!(new.author_id, UserId::new(3));
        let err = kit::extract::parse_json::<CreateMessage>(br#"{"author_id": 3.5, "text": "hi"}"#)
            .unwrap_err();
        assert_eq!(err.status, 422);
        assert!(err.errors.contains_key("author_id"), "{err:?}");
    }

    #[test]
    fn a_good_body_keeps_its_text() {
        let new = parse_new_message(body(r#"{"author_id": 3, "text": " hi\nthere "}"#)).unwrap();
        assert_eq!(new.author_id, UserId::new(3));
        assert_eq!(new.text.as_str(), " hi\nthere ");
    }

    #[test]
    fn before_names_the_parameter_and_the_range() {
        assert_eq!(parse_before("12").unwrap(), MessageId::new(12));
        for bad in ["0", "abc", "-1", "", "9223372036854775808"] {
            let problem = parse_before(bad).unwrap_err();
            let detail = problem.detail.unwrap();
            assert!(
                detail.starts_with("`before` must be a message id"),
                "{detail}"
            );
            assert!(detail.contains("1 to 9223372036854775807"), "{detail}");
            assert!(detail.contains(&format!("`{bad}`")), "{detail}");
        }
    }
}

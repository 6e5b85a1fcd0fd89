//! `/users` and `/users/{id}`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::IntoResponse;
use kit::extract::{Json, ListQuery, Path};
use kit::feed::Position;
use kit::fields::FieldErrors;
use kit::ids::{MAX_IDS, UserId};
use kit::problem::Problem;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::{AvatarUrl, NewUser, User, UserChanges, UserName};
use crate::error::ApiError;
use crate::state::AppState;

/// Body of `POST /users`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Ada Okafor", "avatar_url": "https://avatars.example.com/u/42.png"}))]
pub struct CreateUser {
    /// Display name: 1 to 100 characters, not only whitespace, no control characters.
    // The pattern says what `UserName::parse` checks beyond the length: a character that
    // is not white space (Rust's `char::is_whitespace`, spelled out so every regex engine
    // reads it alike) and no control character.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub name: String,
    /// Absolute http(s) URL of the avatar image; omit or `null` for none.
    #[serde(default)]
    #[schema(format = Uri, max_length = 2048, pattern = "^[Hh][Tt][Tt][Pp][Ss]?://")]
    pub avatar_url: Option<String>,
}

/// Body of `PATCH /users/{id}`: only the fields present change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"avatar_url": null}))]
pub struct UpdateUser {
    /// New display name (same rules as on creation); cannot be `null`.
    #[serde(default, deserialize_with = "kit::fields::present")]
    #[schema(value_type = String, required = false, min_length = 1, max_length = 100,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u001F\u007F-\u009F]*$")]
    pub name: Option<Option<String>>,
    /// New avatar URL, or `null` to remove the avatar.
    #[serde(default, deserialize_with = "kit::fields::present")]
    #[schema(value_type = Option<String>, format = Uri, max_length = 2048,
        pattern = "^[Hh][Tt][Tt][Pp][Ss]?://")]
    pub avatar_url: Option<Option<String>>,
}

/// Query of the bulk read.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IdsQuery {
    /// Comma-separated user ids (`ids=1,2,3`), 1 to 500 items; duplicates are ignored.
    #[param(required = true, value_type = Vec<UserId>, style = Form, explode = false,
        min_items = 1, max_items = 500, example = json!([1, 2, 3]))]
    pub ids: Option<String>,
}

/// Answer of the bulk read: found users and missing ids, each in the order requested.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsersByIds {
    /// The users found, in the order their ids were requested.
    pub users: Vec<User>,
    /// Requested ids with no user (never created, or deleted), in the order requested.
    pub missing: Vec<UserId>,
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_user, list_users_by_ids))
        .routes(routes!(get_user, update_user, delete_user))
}

/// Create a user.
#[utoipa::path(
    post,
    path = "/users",
    tag = "users",
    operation_id = "createUser",
    request_body = CreateUser,
    responses(
        (status = 201, description = "Created; `Location` is the new user's URL", body = User,
            headers(
                ("Location" = String, description = "`/users/{id}` of the new user"),
                ("X-Change-Position" = String, description = "The write's position in \
                the users feed, `users:SEQ`: its event is at that position of `GET /changes`"),
            )),
    )
)]
async fn create_user(
    State(state): State<AppState>,
    Json(body): Json<CreateUser>,
) -> Result<impl IntoResponse, ApiError> {
    let new_user = parse_new_user(body)?;
    let (user, position) = state.store.create(&new_user).await?;
    let location = format!("/users/{}", user.id);
    Ok((
        StatusCode::CREATED,
        position,
        [(LOCATION, location)],
        Json(user),
    ))
}

/// Read many users at once.
///
/// Never answers 404: ids without a user (never created, or deleted a moment ago) are
/// listed in `missing`, so a composer can tell a deleted user from a failed read.
#[utoipa::path(
    get,
    path = "/users",
    tag = "users",
    operation_id = "listUsersByIds",
    params(IdsQuery),
    responses(
        (status = 200, description = "The users found and the ids missing", body = UsersByIds),
        (status = 400, description = "`ids` is absent, empty, lists more than 500 items, or has \
            an item that is not a positive 64-bit integer; `detail` names it",
            body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_users_by_ids(
    State(state): State<AppState>,
    ListQuery(query): ListQuery<IdsQuery>,
) -> Result<Json<UsersByIds>, ApiError> {
    let ids: Vec<UserId> = kit::ids::parse_id_list("ids", query.ids.as_deref(), MAX_IDS)
        .map_err(|err| Problem::invalid_id_list(err.to_string()))?;
    let found = state.store.get_many(&ids).await?;
    Ok(Json(in_request_order(&ids, found)))
}

/// Read a user.
#[utoipa::path(
    get,
    path = "/users/{id}",
    tag = "users",
    operation_id = "getUser",
    params(("id" = UserId, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The user", body = User),
        (status = 404, description = "No user has this id", body = Problem,
            content_type = "application/problem+json"),
    )
)]
async fn get_user(
    State(state): State<AppState>,
    Path(id): Path<UserId>,
) -> Result<Json<User>, ApiError> {
    let user = state.store.get(id).await?.ok_or(ApiError::NotFound(id))?;
    Ok(Json(user))
}

/// Change some of a user's fields.
#[utoipa::path(
    patch,
    path = "/users/{id}",
    tag = "users",
    operation_id = "updateUser",
    params(("id" = UserId, Path, description = "The user's id")),
    request_body(content = UpdateUser, content_type = "application/json"),
    responses(
        (status = 200, description = "The user after the change", body = User,
            headers(("X-Change-Position" = String, description = "The write's position in \
                the users feed, `users:SEQ`: its event is at that position of `GET /changes`"))),
        (status = 404, description = "No user has this id", body = Problem,
            content_type = "application/problem+json"),
    )
)]
async fn update_user(
    State(state): State<AppState>,
    Path(id): Path<UserId>,
    Json(body): Json<UpdateUser>,
) -> Result<(Option<Position>, Json<User>), ApiError> {
    let changes = parse_changes(body)?;
    let (user, position) = state
        .store
        .update(id, &changes)
        .await?
        .ok_or(ApiError::NotFound(id))?;
    Ok((position, Json(user)))
}

/// Delete a user.
#[utoipa::path(
    delete,
    path = "/users/{id}",
    tag = "users",
    operation_id = "deleteUser",
    params(("id" = UserId, Path, description = "The user's id")),
    responses(
        (status = 204, description = "Deleted. The friends and messages services that follow \
            the users feed then delete the user's friendships and messages",
            headers(("X-Change-Position" = String, description = "The write's position in \
                the users feed, `users:SEQ`: its event is at that position of `GET /changes`"))),
        (status = 404, description = "No user has this id", body = Problem,
            content_type = "application/problem+json"),
    )
)]
async fn delete_user(
    State(state): State<AppState>,
    Path(id): Path<UserId>,
) -> Result<(StatusCode, Option<Position>, ()), ApiError> {
    match state.store.delete(id).await? {
        Some(position) => Ok((StatusCode::NO_CONTENT, position, ())),
        None => Err(ApiError::NotFound(id)),
    }
}

/// Orders `found` as `ids` asks and lists the ids not found.
fn in_request_order(ids: &[UserId], found: Vec<User>) -> UsersByIds {
    let mut by_id: std::collections::HashMap<UserId, User> =
        found.into_iter().map(|u| (u.id, u)).collect();
    let mut users = Vec::with_capacity(ids.len());
    let mut missing = Vec::new();
    for id in ids {
        match by_id.remove(id) {
            Some(user) => users.push(user),
            None => missing.push(*id),
        }
    }
    UsersByIds { users, missing }
}

fn parse_new_user(body: CreateUser) -> Result<NewUser, Problem> {
    let mut errors = FieldErrors::new();
    let name = errors.check("name", UserName::parse(body.name));
    let avatar_url = errors.check(
        "avatar_url",
        body.avatar_url.map(AvatarUrl::parse).transpose(),
    );
    errors
        .finish(name.zip(avatar_url))
        .map(|(name, avatar_url)| NewUser { name, avatar_url })
}

fn parse_changes(body: UpdateUser) -> Result<UserChanges, Problem> {
    let mut errors = FieldErrors::new();
    let name = errors.check(
        "name",
        match body.name {
            None => Ok(None),
            Some(None) => Err("cannot be null: every user has a name".to_owned()),
            Some(Some(name)) => UserName::parse(name).map(Some).map_err(|e| e.to_string()),
        },
    );
    let avatar_url = errors.check(
        "avatar_url",
        body.avatar_url
            .map(|url| url.map(AvatarUrl::parse).transpose())
            .transpose(),
    );
    errors
        .finish(name.zip(avatar_url))
        .map(|(name, avatar_url)| UserChanges { name, avatar_url })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit::timestamp::Timestamp;

    fn user(id: i64) -> User {
        User {
            id: UserId::new(id),
            name: format!("u{id}"),
            avatar_url: None,
            created_at: Timestamp::from_micros(0),
        }
    }

    #[test]
    fn bulk_answer_follows_request_order() {
        let ids = [3, 1, 9, 2].map(UserId::new);
        let answer = in_request_order(&ids, vec![user(1), user(2), user(3)]);
        let got: Vec<i64> = answer.users.iter().map(|u| u.id.get()).collect();
        assert_eq!(got, vec![3, 1, 2]);
        assert_eq!(answer.missing, vec![UserId::new(9)]);
    }

    #[test]
    fn patch_tells_null_from_absent() {
        let body: UpdateUser = serde_json::from_str(r#"{"avatar_url": null}"#).unwrap();
        let changes = parse_changes(body).unwrap();
        assert_eq!(changes.avatar_url, Some(None));
        assert_eq!(changes.name, None);

        let body: UpdateUser = serde_json::from_str("{}").unwrap();
        assert_eq!(parse_changes(body).unwrap(), UserChanges::default());

        let body: UpdateUser = serde_json::from_str(r#"{"name": null}"#).unwrap();
        let problem = parse_changes(body).unwrap_err();
        assert!(problem.errors.contains_key("name"));
    }

    #[test]
    fn the_published_name_pattern_is_what_the_server_checks() {
        let spec = serde_json::to_value(crate::openapi()).unwrap();
        for body in ["CreateUser", "UpdateUser"] {
            let pattern = spec["components"]["schemas"][body]["properties"]["name"]["pattern"]
                .as_str()
                .unwrap();
            kit::test_util::assert_pattern_is_the_rule(body, pattern, |name| {
                UserName::parse(name.to_owned()).is_ok()
            });
        }
    }

    #[test]
    fn every_bad_field_is_named() {
        let body = CreateUser {
            name: String::new(),
            avatar_url: Some("ftp://x".into()),
        };
        let problem = parse_new_user(body).unwrap_err();
        assert_eq!(problem.status, 422);
        assert!(problem.errors.contains_key("name"));
        assert!(problem.errors.contains_key("avatar_url"));
    }
}

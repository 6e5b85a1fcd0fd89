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

use crate::domain::{NAME, NewUser, User, UserChange, check_avatar_url};
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
    // reads it alike) and no control character. The users service publishes the same.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub(crate) name: String,
    /// Absolute http(s) URL of the avatar image; omit or `null` for none.
    #[serde(default)]
    #[schema(format = Uri, max_length = 2048, pattern = "^[Hh][Tt][Tt][Pp][Ss]?://")]
    pub(crate) avatar_url: Option<String>,
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
    pub(crate) name: Option<Option<String>>,
    /// New avatar URL, or `null` to remove the avatar.
    #[serde(default, deserialize_with = "kit::fields::present")]
    #[schema(value_type = Option<String>, format = Uri, max_length = 2048,
        pattern = "^[Hh][Tt][Tt][Pp][Ss]?://")]
    pub(crate) avatar_url: Option<Option<String>>,
}

/// Query of the bulk read.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IdsQuery {
    /// Comma-separated user ids (`ids=1,2,3`), 1 to 500 items; duplicates are ignored.
    #[param(required = true, value_type = Vec<UserId>, style = Form, explode = false,
        min_items = 1, max_items = 500, example = json!([1, 2, 3]))]
    pub(crate) ids: Option<String>,
}

/// Answer of the bulk read: found users and missing ids, each in the order requested.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsersByIds {
    /// The users found, in the order their ids were requested.
    pub(crate) users: Vec<User>,
    /// Requested ids with no user (never created, or deleted), in the order requested.
    pub(crate) missing: Vec<UserId>,
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
                ("X-Change-Position" = String, description = "The write's position in the change feed, `monolith:SEQ`"),
            )),
    )
)]
async fn create_user(
    State(state): State<AppState>,
    Json(body): Json<CreateUser>,
) -> Result<impl IntoResponse, ApiError> {
    let (user, position) = state.store.create_user(&body.checked()?).await?;
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
    let (users, missing) = state.store.users_in_request_order(&ids).await?;
    Ok(Json(UsersByIds { users, missing }))
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
    let user = state
        .store
        .get_user(id)
        .await?
        .ok_or(ApiError::UserNotFound(id))?;
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
            headers(("X-Change-Position" = String, description = "The write's position in the change feed, `monolith:SEQ`"))),
        (status = 404, description = "No user has this id", body = Problem,
            content_type = "application/problem+json"),
    )
)]
async fn update_user(
    State(state): State<AppState>,
    Path(id): Path<UserId>,
    Json(body): Json<UpdateUser>,
) -> Result<(Position, Json<User>), ApiError> {
    let (user, position) = state
        .store
        .update_user(id, &body.checked()?)
        .await?
        .ok_or(ApiError::UserNotFound(id))?;
    Ok((position, Json(user)))
}

/// Delete a user.
///
/// Their friendships (both directions) and their messages are deleted with them, in the
/// same transaction; the change feed gets a tombstone for each.
#[utoipa::path(
    delete,
    path = "/users/{id}",
    tag = "users",
    operation_id = "deleteUser",
    params(("id" = UserId, Path, description = "The user's id")),
    responses(
        (status = 204, description = "Deleted", headers(("X-Change-Position" = String, description = "The write's position in the change feed, `monolith:SEQ`"))),
        (status = 404, description = "No user has this id", body = Problem,
            content_type = "application/problem+json"),
    )
)]
async fn delete_user(
    State(state): State<AppState>,
    Path(id): Path<UserId>,
) -> Result<(Position, StatusCode), ApiError> {
    let position = state
        .store
        .delete_user(id)
        .await?
        .ok_or(ApiError::UserNotFound(id))?;
    Ok((position, StatusCode::NO_CONTENT))
}

// === impl CreateUser ===

impl CreateUser {
    /// The user to create, once every field keeps its rule.
    fn checked(self) -> Result<NewUser, Problem> {
        let mut errors = FieldErrors::new();
        errors.check("name", NAME.check(&self.name));
        if let Some(url) = &self.avatar_url {
            errors.check("avatar_url", check_avatar_url(url));
        }
        errors.finish(Some(NewUser {
            name: self.name,
            avatar_url: self.avatar_url,
        }))
    }
}

// === impl UpdateUser ===

impl UpdateUser {
    /// The changes to make, once every field present keeps its rule.
    fn checked(self) -> Result<Vec<UserChange>, Problem> {
        let mut errors = FieldErrors::new();
        let name = match self.name {
            Some(Some(name)) => errors
                .check("name", NAME.check(&name))
                .map(|()| UserChange::Name(name)),
            Some(None) => {
                errors.refuse("name", "cannot be null: every user has a name");
                None
            }
            None => None,
        };
        let avatar_url = match self.avatar_url {
            Some(Some(url)) => errors
                .check("avatar_url", check_avatar_url(&url))
                .map(|()| UserChange::AvatarUrl(Some(url))),
            Some(None) => Some(UserChange::AvatarUrl(None)),
            None => None,
        };
        errors.finish(Some(name.into_iter().chain(avatar_url).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(json: &str) -> Result<Vec<UserChange>, Problem> {
        kit::extract::parse_json::<UpdateUser>(json.as_bytes())
            .unwrap()
            .checked()
    }

    #[test]
    fn a_patch_tells_null_from_absent() {
        assert_eq!(patch("{}").unwrap(), []);
        assert_eq!(
            patch(r#"{"avatar_url": null}"#).unwrap(),
            [UserChange::AvatarUrl(None)]
        );
        assert_eq!(
            patch(r#"{"name": "Bo", "avatar_url": "https://b.example/b.png"}"#).unwrap(),
            [
                UserChange::Name("Bo".to_owned()),
                UserChange::AvatarUrl(Some("https://b.example/b.png".to_owned()))
            ]
        );
        let problem = patch(r#"{"name": null}"#).unwrap_err();
        assert_eq!(
            problem.errors["name"],
            ["cannot be null: every user has a name"]
        );
    }

    #[test]
    fn the_published_name_pattern_is_the_name_rule() {
        let spec = serde_json::to_value(crate::openapi()).unwrap();
        for body in ["CreateUser", "UpdateUser"] {
            let pattern = spec["components"]["schemas"][body]["properties"]["name"]["pattern"]
                .as_str()
                .unwrap();
            kit::test_util::assert_pattern_is_the_rule(body, pattern, |name| {
                NAME.check(name).is_ok()
            });
        }
    }

    #[test]
    fn every_bad_field_is_named() {
        let body = CreateUser {
            name: String::new(),
            avatar_url: Some("ftp://x".into()),
        };
        let problem = body.checked().unwrap_err();
        assert_eq!(problem.status, 422);
        assert_eq!(
            problem.errors["name"],
            ["must not be empty or only whitespace"]
        );
        assert_eq!(
            problem.errors["avatar_url"],
            ["must use http or https, not `ftp`"]
        );
    }
}

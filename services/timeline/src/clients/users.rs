use kit::ids::UserId;
use serde::Deserialize;
use tokio::time::Instant;

use super::{CallError, Downstream, Propagate, id_list};

/// The fields of a profile this service reads.
#[derive(Debug, Clone, Deserialize)]
pub struct ProfileView {
    /// The user's id.
    pub id: UserId,
    /// Display name.
    pub name: String,
    /// Avatar URL, if any.
    #[serde(default)]
    pub avatar_url: Option<String>,
}

/// The bulk read's answer.
#[derive(Debug, Clone, Deserialize)]
pub struct UsersView {
    /// Profiles found.
    pub users: Vec<ProfileView>,
    /// Ids with no user.
    #[serde(default)]
    pub missing: Vec<UserId>,
}

/// `GET /users?ids=…` for at most 500 ids.
pub async fn users_by_ids(
    users: &Downstream,
    ids: &[UserId],
    propagate: &Propagate,
    deadline: Instant,
) -> Result<UsersView, CallError> {
    users
        .get_json("/users", &[("ids", id_list(ids))], propagate, deadline)
        .await
}

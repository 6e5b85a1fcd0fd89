use kit::ids::UserId;
use kit::timestamp::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

use super::{AvatarUrl, UserName};

/// A user's public profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 42,
    "name": "Ada Okafor",
    "avatar_url": "https://avatars.example.com/u/42.png",
    "created_at": "2025-01-01T00:00:42Z"
}))]
pub struct User {
    /// The user's id.
    pub id: UserId,
    /// Display name, 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// Absolute http(s) URL of the avatar image; `null` when the user has none.
    #[schema(format = Uri, max_length = 2048)]
    pub avatar_url: Option<String>,
    /// When the user was created.
    pub created_at: Timestamp,
}

/// A validated request to create a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// The display name.
    pub name: UserName,
    /// The avatar, if any.
    pub avatar_url: Option<AvatarUrl>,
}

/// A validated partial update: `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChanges {
    /// A new display name.
    pub name: Option<UserName>,
    /// `Some(None)` removes the avatar; `Some(Some(url))` replaces it.
    pub avatar_url: Option<Option<AvatarUrl>>,
}

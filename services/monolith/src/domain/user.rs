use kit::ids::UserId;
use kit::timestamp::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

/// A user's public profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema, sqlx::FromRow)]
#[schema(example = super::examples::user)]
pub struct User {
    /// The user's id.
    pub(crate) id: UserId,
    /// Display name, 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub(crate) name: String,
    /// Absolute http(s) URL of the avatar image; `null` when the user has none.
    #[schema(format = Uri, max_length = 2048)]
    pub(crate) avatar_url: Option<String>,
    /// When the user was created.
    pub(crate) created_at: Timestamp,
}

/// A user to create, its fields checked: a [`NAME`](super::NAME) and an avatar URL, if
/// any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// The display name.
    pub name: String,
    /// The avatar's URL.
    pub avatar_url: Option<String>,
}

/// A change to a user, its fields checked: `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChanges {
    /// A new display name.
    pub name: Option<String>,
    /// `Some(None)` removes the avatar; `Some(Some(url))` replaces it.
    pub avatar_url: Option<Option<String>>,
}

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

/// One field a change to a user sets, its value checked; a PATCH body is a list of them,
/// and the fields it leaves out stay as they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserChange {
    /// A new display name.
    Name(String),
    /// A new avatar URL, or `None` to remove the avatar.
    AvatarUrl(Option<String>),
}

// === impl UserChange ===

impl UserChange {
    /// The column the change sets.
    pub fn column(&self) -> &'static str {
        match self {
            Self::Name(_) => "name",
            Self::AvatarUrl(_) => "avatar_url",
        }
    }

    /// The column's new value (`None`: NULL).
    pub fn value(&self) -> Option<&str> {
        match self {
            Self::Name(name) => Some(name),
            Self::AvatarUrl(url) => url.as_deref(),
        }
    }
}

use kit::ids::{MessageId, UserId};
use kit::timestamp::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

/// Default and bounds of `per_friend`.
pub const PER_FRIEND: (u32, u32, u32) = (1, 1, 10);
/// Default and bounds of `limit`.
pub const LIMIT: (u32, u32, u32) = (50, 1, 500);

/// Validated query parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimelineParams {
    /// Messages per friend, 1..=10.
    pub per_friend: u32,
    /// Entries at most, 1..=500.
    pub limit: u32,
}

/// A user's timeline: each friend's latest messages, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({
    "user_id": 1,
    "entries": [{
        "friend": {"id": 7, "name": "Grace Okafor", "avatar_url": "https://avatars.example.com/u/7.png"},
        "messages": [{"id": 99, "text": "coffee later", "created_at": "2025-12-31T23:59:00Z"}]
    }],
    "missing_friends": [12],
    "degraded": [],
    "generated_at": "2026-01-01T00:00:00.123456Z"
}))]
pub struct Timeline {
    /// Whose timeline this is.
    pub user_id: UserId,
    /// Friends with their latest messages, ordered by each friend's newest message (newest
    /// first, ties by higher message id); friends without messages follow by ascending id.
    pub entries: Vec<Entry>,
    /// Friends whose profile no longer exists (deleted a moment ago), ascending. They are
    /// left out of `entries`.
    pub missing_friends: Vec<UserId>,
    /// What could not be read in time or at all; empty when the answer is complete.
    pub degraded: Vec<Degradation>,
    /// When this answer was composed.
    pub generated_at: Timestamp,
}

/// One friend and their latest messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Entry {
    /// The friend's profile.
    pub friend: Friend,
    /// Up to `per_friend` messages, newest first; empty when the friend has none (or when
    /// `degraded` names `messages`).
    pub messages: Vec<EntryMessage>,
}

/// A friend's public profile as shown on a timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Friend {
    /// The friend's user id.
    pub id: UserId,
    /// Display name; `null` only when `degraded` names `users` and no cached profile exists.
    pub name: Option<String>,
    /// Avatar URL; `null` when the friend has none (or the profile is unknown, see `name`).
    #[schema(format = Uri)]
    pub avatar_url: Option<String>,
}

/// A message on a timeline (its author is the entry's friend).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct EntryMessage {
    /// The message's id.
    pub id: MessageId,
    /// Its text.
    pub text: String,
    /// When it was written.
    pub created_at: Timestamp,
}

/// A part of the answer that is missing or old because a downstream failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Degradation {
    /// The users service failed or was late: profiles come from the cache or are `null`.
    Users,
    /// The messages service failed or was late: entries have no messages.
    Messages,
    /// Some profiles shown are past their cache TTL (served because `users` failed).
    StaleProfiles,
}

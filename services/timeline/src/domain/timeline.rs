use kit::ids::{MessageId, UserId};
use kit::params::{Bounded, BoundedError};
use kit::timestamp::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

/// Messages per friend: 1 to 10, 1 by default.
pub type PerFriend = Bounded<1, 10, 1>;

/// Entries (friends) at most: 1 to 500, 50 by default.
pub type TimelineLimit = Bounded<1, 500, 50>;

/// Validated query parameters; the default is what a query without them gets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimelineParams {
    /// Messages per friend.
    pub per_friend: PerFriend,
    /// Entries at most.
    pub limit: TimelineLimit,
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

/// What is missing or old in an answer because a downstream failed, or how it was made
/// when that is worse than usual: `users` (profiles could not be read: cached or `null`),
/// `messages` (latest messages could not be read: entries without messages),
/// `stale_profiles` (cached profiles past their TTL stand in), `view` (the timeline
/// service's live view of the services' change feeds lags behind them or cannot reach one,
/// so the answer was composed from the services instead: as fresh as they are, slower).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Degradation {
    /// The users service failed or was late: profiles come from the cache or are `null`.
    Users,
    /// The messages service failed or was late: entries have no messages.
    Messages,
    /// Some profiles shown are past their cache TTL (served because `users` failed).
    StaleProfiles,
    /// The timeline service's live view (built from the services' change feeds) is behind
    /// them or cannot reach one, so this answer was composed from the services instead: it
    /// is as fresh as they are, but slower to make.
    View,
}

// === impl TimelineParams ===

impl TimelineParams {
    /// Parses the raw `per_friend` and `limit` query values (absent: the defaults); the
    /// first bad one, in that order, is the error.
    pub fn parse(per_friend: Option<&str>, limit: Option<&str>) -> Result<Self, BoundedError> {
        Ok(Self {
            per_friend: PerFriend::parse("per_friend", per_friend)?,
            limit: TimelineLimit::parse("limit", limit)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_parameters_take_their_defaults() {
        let params = TimelineParams::parse(None, None).unwrap();
        assert_eq!(params, TimelineParams::default());
        assert_eq!((params.per_friend.get(), params.limit.get()), (1, 50));
        let params = TimelineParams::parse(Some("10"), Some("500")).unwrap();
        assert_eq!((params.per_friend.get(), params.limit.get()), (10, 500));
    }

    #[test]
    fn the_first_bad_parameter_is_named_with_its_range() {
        let per_friend = "`per_friend` must be an integer from 1 to 10 (default 1); got";
        let limit = "`limit` must be an integer from 1 to 500 (default 50); got";
        for (given, detail) in [
            ((Some("0"), None), format!("{per_friend} `0`")),
            ((Some("11"), Some("0")), format!("{per_friend} `11`")),
            ((None, Some("501")), format!("{limit} `501`")),
            ((Some("2"), Some("abc")), format!("{limit} `abc`")),
        ] {
            let err = TimelineParams::parse(given.0, given.1).unwrap_err();
            assert_eq!(err.to_string(), detail, "{given:?}");
        }
    }
}

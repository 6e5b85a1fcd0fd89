use kit::ids::{MessageId, UserId};
use kit::timestamp::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

/// A user's timeline: each friend's latest messages, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = super::examples::timeline)]
pub struct Timeline {
    /// Whose timeline this is.
    pub(crate) user_id: UserId,
    /// Friends with their latest messages, ordered by each friend's newest message (newest
    /// first, ties by higher message id); friends without messages follow by ascending id.
    pub(crate) entries: Vec<Entry>,
    /// Friends whose profile no longer exists (deleted a moment ago), ascending. They are
    /// left out of `entries`.
    pub(crate) missing_friends: Vec<UserId>,
    /// What could not be read in time or at all; empty when the answer is complete.
    pub(crate) degraded: Vec<Degradation>,
    /// When this answer was composed.
    pub(crate) generated_at: Timestamp,
}

/// A part of the answer that is missing or old because a downstream failed.
// The monolith has no downstream and never names one; its answers share the timeline
// service's shape, so the schema is the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Degradation {
    /// The users service failed or was late.
    Users,
    /// The messages service failed or was late.
    Messages,
    /// Some profiles shown are past their cache TTL.
    StaleProfiles,
    /// The timeline service's live view lags the services' feeds.
    View,
}

/// One friend and their latest messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Entry {
    /// The friend's profile.
    pub(crate) friend: Friend,
    /// Up to `per_friend` messages, newest first; empty when the friend has none (or when
    /// `degraded` names `messages`).
    pub(crate) messages: Vec<EntryMessage>,
}

/// A friend's public profile as shown on a timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Friend {
    /// The friend's user id.
    pub(crate) id: UserId,
    /// Display name; `null` only when `degraded` names `users` and no cached profile exists.
    pub(crate) name: Option<String>,
    /// Avatar URL; `null` when the friend has none (or the profile is unknown, see `name`).
    #[schema(format = Uri)]
    pub(crate) avatar_url: Option<String>,
}

/// A message on a timeline (its author is the entry's friend).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct EntryMessage {
    /// The message's id.
    pub(crate) id: MessageId,
    /// Its text.
    pub(crate) text: String,
    /// When it was written.
    pub(crate) created_at: Timestamp,
}

// === impl Timeline ===

impl Timeline {
    /// `user_id`'s timeline of `entries`, composed now: complete, since one database holds
    /// every friend's profile and messages.
    pub fn complete(user_id: UserId, entries: Vec<Entry>) -> Self {
        Self {
            user_id,
            entries,
            missing_friends: Vec::new(),
            degraded: Vec::new(),
            generated_at: Timestamp::now(),
        }
    }
}

// === impl Entry ===

impl Entry {
    /// `friend`'s entry, without messages yet.
    pub fn new(id: UserId, name: Option<String>, avatar_url: Option<String>) -> Self {
        Self {
            friend: Friend {
                id,
                name,
                avatar_url,
            },
            messages: Vec::new(),
        }
    }

    /// The friend's id.
    pub fn friend_id(&self) -> UserId {
        self.friend.id
    }

    /// Adds a message, after those already there (older, then).
    pub fn push(&mut self, id: MessageId, text: String, created_at: Timestamp) {
        self.messages.push(EntryMessage {
            id,
            text,
            created_at,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_monolith_timeline_is_never_degraded() {
        let timeline = Timeline::complete(UserId::new(1), Vec::new());
        let json = serde_json::to_value(&timeline).unwrap();
        assert_eq!(json["missing_friends"], serde_json::json!([]));
        assert_eq!(json["degraded"], serde_json::json!([]));
        assert_eq!(
            serde_json::to_value(Degradation::StaleProfiles).unwrap(),
            "stale_profiles"
        );
    }
}

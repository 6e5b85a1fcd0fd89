//! The feeds' events as the view reads them: tolerant views of their `data` (unknown fields
//! ignored), turned into [`ViewChange`]s. An event that cannot be read is skipped with a
//! reason, never a panic: the feed is outside input.

use std::sync::Arc;

use kit::feed::Event;
use kit::ids::{MessageId, UserId};
use kit::timestamp::Timestamp;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::domain::{EntryMessage, Part, Profile, ViewChange};

/// Why an event is skipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Skip {
    /// Not `ENTITY.upserted` or `ENTITY.deleted` of the part's entity.
    #[error("type `{0}` is not one this feed's part of the view reads")]
    Kind(String),
    /// The subject is not a key of the entity.
    #[error("subject `{0}` is not a key of this entity")]
    Subject(String),
    /// The data is absent or not the entity's shape.
    #[error("unreadable data: {0}")]
    Data(String),
}

/// `data` of a `friendship.upserted` event.
#[derive(Debug, Deserialize)]
struct FriendshipData {
    user_id: UserId,
    friend_id: UserId,
}

/// `data` of a `message.upserted` event.
#[derive(Debug, Deserialize)]
struct MessageData {
    id: MessageId,
    author_id: UserId,
    text: String,
    created_at: Timestamp,
}

/// What `event` of `part`'s feed changes.
pub fn change(part: Part, event: &Event) -> Result<ViewChange, Skip> {
    let kind = || Skip::Kind(event.kind.clone());
    let (entity, action) = event.kind.split_once('.').ok_or_else(kind)?;
    if entity != part.entity() {
        return Err(kind());
    }
    let deleted = match action {
        "upserted" => false,
        "deleted" => true,
        _ => return Err(kind()),
    };
    Ok(match (part, deleted) {
        (Part::Users, false) => ViewChange::UserUpserted(Arc::new(data::<Profile>(event)?)),
        (Part::Users, true) => ViewChange::UserDeleted(subject(event)?),
        (Part::Friends, false) => {
            let pair: FriendshipData = data(event)?;
            ViewChange::FriendshipUpserted(pair.user_id, pair.friend_id)
        }
        (Part::Friends, true) => {
            let (low, high) = pair(&event.subject)?;
            ViewChange::FriendshipDeleted(low, high)
        }
        (Part::Messages, false) => {
            let message: MessageData = data(event)?;
            ViewChange::MessageUpserted {
                author: message.author_id,
                message: EntryMessage {
                    id: message.id,
                    text: message.text,
                    created_at: message.created_at,
                },
            }
        }
        (Part::Messages, true) => ViewChange::MessageDeleted(subject(event)?),
    })
}

fn data<T: DeserializeOwned>(event: &Event) -> Result<T, Skip> {
    event
        .data_as::<T>()
        .map_err(|err| Skip::Data(err.to_string()))?
        .ok_or_else(|| Skip::Data("an upsert without data".to_owned()))
}

fn subject<T: std::str::FromStr>(event: &Event) -> Result<T, Skip> {
    event
        .subject
        .parse()
        .map_err(|_| Skip::Subject(event.subject.clone()))
}

/// `LOW-HIGH`, the key of a friendship.
fn pair(subject: &str) -> Result<(UserId, UserId), Skip> {
    let bad = || Skip::Subject(subject.to_owned());
    let (low, high) = subject.split_once('-').ok_or_else(bad)?;
    Ok((
        low.parse().map_err(|_| bad())?,
        high.parse().map_err(|_| bad())?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, subject: &str, data: Option<serde_json::Value>) -> Event {
        let mut json = serde_json::json!({
            "specversion": "1.0", "id": "x-1", "source": "s", "type": kind,
            "subject": subject, "time": "2026-01-01T00:00:00Z", "seq": 1, "version": 1,
            "origin": "s"
        });
        if let Some(data) = data {
            json["data"] = data;
        }
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn users_are_read_tolerantly() {
        let upsert = event(
            "user.upserted",
            "7",
            Some(
                serde_json::json!({"id": 7, "name": "Grace", "avatar_url": null,
                "created_at": "2025-01-01T00:00:00Z", "bio": "new field"}),
            ),
        );
        let ViewChange::UserUpserted(profile) = change(Part::Users, &upsert).unwrap() else {
            panic!("an upsert")
        };
        assert_eq!(
            (profile.id, profile.name.as_str()),
            (UserId::new(7), "Grace")
        );
        assert_eq!(
            change(Part::Users, &event("user.deleted", "7", None)),
            Ok(ViewChange::UserDeleted(UserId::new(7)))
        );
    }

    #[test]
    fn friendships_come_from_data_and_deletions_from_the_subject() {
        let upsert = event(
            "friendship.upserted",
            "3-17",
            Some(
                serde_json::json!({"user_id": 3, "friend_id": 17, "created_at": "2025-01-01T00:00:00Z"}),
            ),
        );
        assert_eq!(
            change(Part::Friends, &upsert),
            Ok(ViewChange::FriendshipUpserted(
                UserId::new(3),
                UserId::new(17)
            ))
        );
        assert_eq!(
            change(Part::Friends, &event("friendship.deleted", "3-17", None)),
            Ok(ViewChange::FriendshipDeleted(
                UserId::new(3),
                UserId::new(17)
            ))
        );
    }

    #[test]
    fn messages_carry_their_author() {
        let upsert = event(
            "message.upserted",
            "99",
            Some(serde_json::json!({"id": 99, "author_id": 4, "text": "hi",
                "created_at": "2025-12-31T23:59:00Z"})),
        );
        let ViewChange::MessageUpserted { author, message } =
            change(Part::Messages, &upsert).unwrap()
        else {
            panic!("an upsert")
        };
        assert_eq!((author, message.id), (UserId::new(4), MessageId::new(99)));
        assert_eq!(
            change(Part::Messages, &event("message.deleted", "99", None)),
            Ok(ViewChange::MessageDeleted(MessageId::new(99)))
        );
    }

    #[test]
    fn malformed_events_are_skipped_with_a_reason() {
        let cases = [
            (Part::Users, event("user.renamed", "7", None)),
            (Part::Users, event("message.deleted", "7", None)),
            (Part::Users, event("user", "7", None)),
            (Part::Users, event("user.upserted", "7", None)),
            (
                Part::Users,
                event("user.upserted", "7", Some(serde_json::json!({"id": 7}))),
            ),
            (Part::Users, event("user.deleted", "seven", None)),
            (Part::Users, event("user.deleted", "0", None)),
            (Part::Friends, event("friendship.deleted", "3", None)),
            (Part::Friends, event("friendship.deleted", "3-x", None)),
            (Part::Friends, event("friendship.deleted", "-3-4", None)),
            (
                Part::Friends,
                event(
                    "friendship.upserted",
                    "3-4",
                    Some(serde_json::json!({"user_id": 3})),
                ),
            ),
            (
                Part::Messages,
                event(
                    "message.upserted",
                    "9",
                    Some(serde_json::json!({"id": 9, "text": "x"})),
                ),
            ),
            (Part::Messages, event("message.deleted", "", None)),
        ];
        for (part, event) in cases {
            let skipped = change(part, &event);
            assert!(
                skipped.is_err(),
                "{} {}: {skipped:?}",
                event.kind,
                event.subject
            );
        }
    }
}

//! The examples the OpenAPI description shows, built from the types they illustrate so
//! each is a value the monolith could answer with.

use kit::ids::{MessageId, UserId};
use kit::timestamp::Timestamp;

use super::{AuthorMessages, Entry, FriendList, Message, MessagePage, Timeline, User};

/// `seconds` since the Unix epoch, plus `micros`.
fn at(seconds: i64, micros: i64) -> Timestamp {
    Timestamp::from_micros(seconds * 1_000_000 + micros)
}

fn posted(id: i64, text: &str, seconds: i64) -> Message {
    Message {
        id: MessageId::new(id),
        author_id: UserId::new(3),
        text: text.to_owned(),
        created_at: at(seconds, 0),
    }
}

pub(super) fn user() -> User {
    User {
        id: UserId::new(42),
        name: "Ada Okafor".to_owned(),
        avatar_url: Some("https://avatars.example.com/u/42.png".to_owned()),
        // 2025-01-01T00:00:42Z
        created_at: at(1_735_689_642, 0),
    }
}

pub(super) fn message() -> Message {
    // 2025-12-24T18:30:00Z
    posted(7, "finally shipped the release", 1_766_601_000)
}

pub(super) fn message_page() -> MessagePage {
    MessagePage {
        author_id: UserId::new(3),
        // 2025-12-30T09:00:00Z
        messages: vec![posted(9, "see you at the lake", 1_767_085_200), message()],
        next_before: Some(MessageId::new(7)),
    }
}

pub(super) fn author_messages() -> AuthorMessages {
    AuthorMessages {
        author_id: UserId::new(3),
        messages: vec![message()],
    }
}

/// The bulk read's answer: author 3's latest, and author 5 without messages.
pub(crate) fn latest() -> Vec<AuthorMessages> {
    let silent = AuthorMessages {
        author_id: UserId::new(5),
        messages: Vec::new(),
    };
    vec![author_messages(), silent]
}

pub(super) fn friend_list() -> FriendList {
    FriendList {
        user_id: UserId::new(42),
        friend_ids: [7, 19, 23].map(UserId::new).to_vec(),
        next_after: Some(UserId::new(23)),
    }
}

pub(super) fn timeline() -> Timeline {
    let mut entry = Entry::new(
        UserId::new(7),
        Some("Grace Okafor".to_owned()),
        Some("https://avatars.example.com/u/7.png".to_owned()),
    );
    // 2025-12-31T23:59:00Z
    entry.push(
        MessageId::new(99),
        "coffee later".to_owned(),
        at(1_767_225_540, 0),
    );
    Timeline {
        user_id: UserId::new(1),
        entries: vec![entry],
        // A friend deleted a moment ago, as the timeline service reports one.
        missing_friends: vec![UserId::new(12)],
        degraded: Vec::new(),
        // 2026-01-01T00:00:00.123456Z
        generated_at: at(1_767_225_600, 123_456),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_read_as_the_instants_they_name() {
        let json = serde_json::to_value(timeline()).unwrap();
        assert_eq!(json["generated_at"], "2026-01-01T00:00:00.123456Z");
        assert_eq!(
            json["entries"][0]["messages"][0]["created_at"],
            "2025-12-31T23:59:00Z"
        );
        assert_eq!(
            serde_json::to_value(user()).unwrap()["created_at"],
            "2025-01-01T00:00:42Z"
        );
        let page = serde_json::to_value(message_page()).unwrap();
        assert_eq!(page["messages"][0]["created_at"], "2025-12-30T09:00:00Z");
        assert_eq!(page["messages"][1]["created_at"], "2025-12-24T18:30:00Z");
    }
}

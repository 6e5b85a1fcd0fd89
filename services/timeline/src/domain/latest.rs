use std::collections::HashMap;

use kit::ids::UserId;

use super::EntryMessage;

/// The latest messages of a timeline's friends, as far as they could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Latest {
    /// Each friend's messages, newest first; a friend absent here has none, or was in a
    /// part that could not be read.
    pub by_friend: HashMap<UserId, Vec<EntryMessage>>,
    /// Every part was read; `false` degrades the answer (`messages`).
    pub complete: bool,
}

// === impl Latest ===

impl Latest {
    /// Gathers the answers to the parts (chunks of friends) of one read: complete only when
    /// every part answered, and complete when there was nothing to read.
    pub fn from_parts<E>(
        parts: impl IntoIterator<Item = Result<HashMap<UserId, Vec<EntryMessage>>, E>>,
    ) -> Self {
        let mut latest = Self {
            by_friend: HashMap::new(),
            complete: true,
        };
        for part in parts {
            match part {
                Ok(found) => latest.by_friend.extend(found),
                Err(_) => latest.complete = false,
            }
        }
        latest
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit::ids::MessageId;
    use kit::timestamp::Timestamp;

    fn part(friend: i64, message: i64) -> HashMap<UserId, Vec<EntryMessage>> {
        let message = EntryMessage {
            id: MessageId::new(message),
            text: format!("m{message}"),
            created_at: Timestamp::from_micros(message),
        };
        HashMap::from([(UserId::new(friend), vec![message])])
    }

    #[test]
    fn every_part_answered_is_complete() {
        let latest = Latest::from_parts([Ok::<_, ()>(part(1, 10)), Ok(part(2, 20))]);
        assert!(latest.complete);
        assert_eq!(latest.by_friend.len(), 2);
    }

    #[test]
    fn nothing_to_read_is_complete() {
        let latest = Latest::from_parts(std::iter::empty::<Result<_, ()>>());
        assert!(latest.complete);
        assert!(latest.by_friend.is_empty());
    }

    #[test]
    fn a_failed_part_keeps_the_others_and_marks_the_read_incomplete() {
        let latest = Latest::from_parts([Ok(part(1, 10)), Err("timed out"), Ok(part(3, 30))]);
        assert!(!latest.complete);
        let mut friends: Vec<_> = latest.by_friend.keys().copied().collect();
        friends.sort_unstable();
        assert_eq!(friends, [1, 3].map(UserId::new));
    }

    #[test]
    fn every_part_failed_is_incomplete_and_empty() {
        let latest = Latest::from_parts([Err::<HashMap<_, _>, _>(()), Err(())]);
        assert!(!latest.complete);
        assert!(latest.by_friend.is_empty());
    }
}

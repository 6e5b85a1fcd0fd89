use std::cmp::Reverse;
use std::collections::HashSet;

use kit::ids::MessageId;
use kit::timestamp::Timestamp;

use super::{EntryMessage, PerFriend};

/// Messages the view keeps per author: twice the largest `per_friend`, so that deletions
/// seldom leave an author with fewer than a read may ask for.
pub const KEEP: usize = 2 * PerFriend::MAX as usize;

/// Below this many kept messages a trimmed author is fetched again: the largest
/// `per_friend`.
pub const REPAIR_BELOW: usize = PerFriend::MAX as usize;

/// An author's newest messages as the view keeps them.
///
/// The messages are newest first, by `created_at` and then the higher id, as the messages
/// service orders them, and at most [`KEEP`] of them. The *floor* is the order key of the
/// newest message ever trimmed off the end: every message of the author newer than the
/// floor is kept (or was deleted), so the kept messages are always the author's newest. No
/// floor means nothing was ever trimmed: the kept messages are all of the author's
/// (*exhaustive*).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    messages: Vec<EntryMessage>,
    floor: Option<(Timestamp, MessageId)>,
}

// === impl Kept ===

impl Kept {
    /// An author with no messages, exhaustively known.
    pub fn new() -> Self {
        Self {
            messages: Vec::new(),
            floor: None,
        }
    }

    /// The kept messages, newest first.
    pub fn messages(&self) -> &[EntryMessage] {
        &self.messages
    }

    /// The newest `count` kept messages (fewer when fewer are kept).
    pub fn first(&self, count: usize) -> &[EntryMessage] {
        &self.messages[..count.min(self.messages.len())]
    }

    /// The author's newest message, when one is kept.
    pub fn newest(&self) -> Option<&EntryMessage> {
        self.messages.first()
    }

    /// True while the kept messages are all of the author's messages.
    pub fn is_exhaustive(&self) -> bool {
        self.floor.is_none()
    }

    /// Whether the author's newest message is known: one is kept, or the author has none.
    pub fn knows_newest(&self) -> bool {
        !self.messages.is_empty() || self.is_exhaustive()
    }

    /// Whether the author's newest `per_friend` messages are known: that many are kept, or
    /// the kept ones are all there are.
    pub fn serves(&self, per_friend: usize) -> bool {
        self.messages.len() >= per_friend || self.is_exhaustive()
    }

    /// Whether so few are kept of a trimmed author that a read may find too few.
    pub fn needs_repair(&self) -> bool {
        !self.is_exhaustive() && self.messages.len() < REPAIR_BELOW
    }

    /// Keeps `message` (again, when its id is kept already) unless it is older than the
    /// floor. Returns the message that is not kept: the oldest, trimmed to make room, or
    /// `message` itself when it is older than what is known of the author.
    pub fn insert(&mut self, message: EntryMessage) -> Option<EntryMessage> {
        let key = order(&message);
        if self.floor.is_some_and(|floor| key <= floor) {
            return Some(message);
        }
        self.messages.retain(|m| m.id != message.id);
        let at = self.messages.partition_point(|m| order(m) > key);
        if at == KEEP {
            // Older than every one of a full list: it is trimmed at once.
            self.floor = Some(key);
            return Some(message);
        }
        let trimmed = (self.messages.len() == KEEP).then(|| self.trim_last());
        self.grow_for_one();
        self.messages.insert(at, message);
        trimmed.flatten()
    }

    /// Forgets message `id`; true when it was kept.
    pub fn remove(&mut self, id: MessageId) -> bool {
        let before = self.messages.len();
        self.messages.retain(|m| m.id != id);
        self.messages.len() < before
    }

    /// Merges what the messages service answered when asked for the author's newest
    /// `KEEP + 1` messages (`fetched`, any order) with what is kept, the messages that
    /// arrived below the floor while the answer was awaited (`arrived`), and the ids deleted
    /// meanwhile (`deleted`). A full answer moves the floor to its last message; a shorter
    /// one holds every message the author had, so the author becomes exhaustive.
    pub fn merge(
        &mut self,
        mut fetched: Vec<EntryMessage>,
        arrived: Vec<EntryMessage>,
        deleted: &HashSet<MessageId>,
    ) {
        fetched.sort_unstable_by_key(|m| Reverse(order(m)));
        let fetched_floor = if fetched.len() > KEEP {
            fetched.truncate(KEEP + 1);
            fetched.pop().map(|m| order(&m))
        } else {
            None
        };
        // Each side knows every message above its floor; together, every message above the
        // lower of the two.
        let floor = self.floor.zip(fetched_floor).map(|(a, b)| a.min(b));
        let mut all = std::mem::take(&mut self.messages);
        all.extend(fetched);
        all.extend(arrived);
        all.retain(|m| !deleted.contains(&m.id) && floor.is_none_or(|f| order(m) > f));
        all.sort_unstable_by_key(|m| Reverse(order(m)));
        all.dedup_by_key(|m| m.id);
        self.messages = all;
        self.floor = floor;
        while self.messages.len() > KEEP {
            self.trim_last();
        }
        self.messages.shrink_to_fit();
    }

    /// Drops the oldest kept message and raises the floor to it.
    fn trim_last(&mut self) -> Option<EntryMessage> {
        let last = self.messages.pop()?;
        self.floor = Some(order(&last));
        Some(last)
    }

    /// Room for one more message, growing by doubling but never past [`KEEP`], so a full
    /// author holds no spare capacity.
    fn grow_for_one(&mut self) {
        let (len, capacity) = (self.messages.len(), self.messages.capacity());
        if len == capacity {
            let target = (capacity * 2).clamp(4, KEEP);
            self.messages
                .reserve_exact(target.saturating_sub(len).max(1));
        }
    }
}

impl Default for Kept {
    fn default() -> Self {
        Self::new()
    }
}

/// The messages service's order as a key: the newer message has the greater key.
fn order(message: &EntryMessage) -> (Timestamp, MessageId) {
    (message.created_at, message.id)
}

#[cfg(test)]
mod tests;

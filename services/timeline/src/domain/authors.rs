use std::collections::{HashMap, HashSet};

use kit::ids::{MessageId, UserId};

use super::{EntryMessage, Kept};

/// The messages part of the view: each author's [`Kept`] messages, which author each kept
/// message is by (a deletion names only the message), and the repairs in flight.
///
/// A *repair* fetches a trimmed author's newest messages again after deletions left too
/// few. While any is in flight, every deleted id is remembered (messages are immutable and
/// never come back, so remembering too many is harmless), and so are the messages that
/// arrive below a repaired author's floor; the answer is merged with both.
#[derive(Debug, Clone, Default)]
pub struct Authors {
    kept: HashMap<UserId, Kept>,
    author_of: HashMap<MessageId, UserId>,
    /// Authors being repaired, with the messages that arrived below their floor meanwhile.
    repairs: HashMap<UserId, Vec<EntryMessage>>,
    /// Ids deleted since the oldest repair in flight began.
    deleted: HashSet<MessageId>,
    /// Counts resets: a repair begun before one is stale.
    generation: u64,
}

// === impl Authors ===

impl Authors {
    /// The author's kept messages; `None` for an author with no message known, who has none.
    pub fn of(&self, author: UserId) -> Option<&Kept> {
        self.kept.get(&author)
    }

    /// The author of kept message `id`.
    pub fn author_of(&self, id: MessageId) -> Option<UserId> {
        self.author_of.get(&id).copied()
    }

    /// Authors with kept messages.
    pub fn authors(&self) -> usize {
        self.kept.len()
    }

    /// Messages kept, over every author.
    pub fn messages(&self) -> usize {
        self.author_of.len()
    }

    /// Repairs in flight.
    pub fn repairs(&self) -> usize {
        self.repairs.len()
    }

    /// The current generation, to hand to [`finish_repair`](Self::finish_repair).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Message `message` by `author` was written (or is delivered again).
    pub fn upsert(&mut self, author: UserId, message: EntryMessage) {
        let id = message.id;
        if let Some(before) = self.author_of.get(&id).copied().filter(|a| *a != author) {
            // A message never changes author; should a feed say otherwise, it says last.
            self.forget(before, id);
        }
        let kept = self.kept.entry(author).or_default();
        match kept.insert(message) {
            Some(left) if left.id == id => {
                if let Some(arrived) = self.repairs.get_mut(&author) {
                    arrived.push(left);
                }
            }
            trimmed => {
                self.author_of.insert(id, author);
                if let Some(trimmed) = trimmed {
                    self.author_of.remove(&trimmed.id);
                }
            }
        }
    }

    /// Message `id` was deleted. Returns its author when the deletion left so few of a
    /// trimmed author's messages that a repair must begin (once per author in flight).
    pub fn delete(&mut self, id: MessageId) -> Option<UserId> {
        if !self.repairs.is_empty() {
            self.deleted.insert(id);
        }
        let author = self.author_of.get(&id).copied()?;
        let short = self.forget(author, id);
        (short && !self.repairs.contains_key(&author)).then(|| {
            self.repairs.insert(author, Vec::new());
            author
        })
    }

    /// Merges the answer to a repair of `author` begun in `generation` (see
    /// [`Kept::merge`]). Returns the author again when even that left too few, so another
    /// repair must begin.
    pub fn finish_repair(
        &mut self,
        author: UserId,
        generation: u64,
        fetched: Vec<EntryMessage>,
    ) -> Option<UserId> {
        if generation != self.generation {
            return None;
        }
        let arrived = self.repairs.remove(&author)?;
        let kept = self.kept.entry(author).or_default();
        let before: Vec<MessageId> = kept.messages().iter().map(|m| m.id).collect();
        kept.merge(fetched, arrived, &self.deleted);
        let again = kept.needs_repair();
        let after: HashSet<MessageId> = kept.messages().iter().map(|m| m.id).collect();
        for id in before.iter().filter(|id| !after.contains(id)) {
            self.author_of.remove(id);
        }
        for id in after {
            self.author_of.insert(id, author);
        }
        if again {
            self.repairs.insert(author, Vec::new());
        } else {
            self.drop_if_empty(author);
        }
        if self.repairs.is_empty() {
            self.deleted = HashSet::new();
        }
        again.then_some(author)
    }

    /// Forgets everything, to be rebuilt from the feed; repairs in flight become stale.
    pub fn reset(&mut self) {
        *self = Self {
            generation: self.generation + 1,
            ..Self::default()
        };
    }

    /// Removes message `id` from `author`'s kept messages; true when the author then
    /// needs a repair.
    fn forget(&mut self, author: UserId, id: MessageId) -> bool {
        self.author_of.remove(&id);
        let Some(kept) = self.kept.get_mut(&author) else {
            return false;
        };
        kept.remove(id);
        let short = kept.needs_repair();
        self.drop_if_empty(author);
        short
    }

    /// An exhaustive author with nothing kept is the same as an unknown one: no entry.
    fn drop_if_empty(&mut self, author: UserId) {
        if self
            .kept
            .get(&author)
            .is_some_and(|k| k.is_exhaustive() && k.messages().is_empty())
        {
            self.kept.remove(&author);
        }
    }
}

#[cfg(test)]
mod tests;

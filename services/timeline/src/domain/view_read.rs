use kit::ids::UserId;

use super::Entry;

/// What the view answers for a timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViewRead {
    /// The timeline's entries and missing friends, exactly as composing would give them.
    Answer {
        /// At most `limit` entries, in timeline order.
        entries: Vec<Entry>,
        /// Deleted friends, ascending, as the plan's strategy reports them.
        missing_friends: Vec<UserId>,
    },
    /// The owner has no profile: there is no such user.
    NoSuchUser,
    /// The view cannot vouch for this friend's messages (trimmed, and too few kept): the
    /// timeline must be composed.
    Short(UserId),
}

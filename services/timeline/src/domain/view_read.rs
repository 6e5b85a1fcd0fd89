use kit::ids::UserId;

use super::Rendered;

/// What the view answers for a timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViewRead {
    /// The timeline, exactly as composing would give it (entries, missing friends, and
    /// nothing degraded), rendered.
    Answer(Rendered),
    /// The owner has no profile: there is no such user.
    NoSuchUser,
    /// The view cannot vouch for this friend's messages (trimmed, and too few kept): the
    /// timeline must be composed.
    Short(UserId),
}

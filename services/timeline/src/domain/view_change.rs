use std::sync::Arc;

use kit::ids::{MessageId, UserId};

use super::{EntryMessage, Part, Profile};

/// One change the view applies, read from a feed event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViewChange {
    /// A user was created or changed: their profile now.
    UserUpserted(Arc<Profile>),
    /// A user was deleted.
    UserDeleted(UserId),
    /// Two users became friends.
    FriendshipUpserted(UserId, UserId),
    /// Two users are no longer friends.
    FriendshipDeleted(UserId, UserId),
    /// A message was written.
    MessageUpserted {
        /// Its author.
        author: UserId,
        /// The message.
        message: EntryMessage,
    },
    /// A message was deleted.
    MessageDeleted(MessageId),
}

// === impl ViewChange ===

impl ViewChange {
    /// The part of the view the change belongs to.
    pub fn part(&self) -> Part {
        match self {
            Self::UserUpserted(_) | Self::UserDeleted(_) => Part::Users,
            Self::FriendshipUpserted(..) | Self::FriendshipDeleted(..) => Part::Friends,
            Self::MessageUpserted { .. } | Self::MessageDeleted(_) => Part::Messages,
        }
    }
}

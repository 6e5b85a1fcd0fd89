//! Pure types and rules, no I/O and no HTTP.

mod friend_list;
mod friendship;
mod page;

pub use friend_list::FriendList;
pub use friendship::{Friendship, FriendshipData, SelfFriendship};
pub use page::{Limit, PageError, PageRequest};

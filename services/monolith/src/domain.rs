//! Pure types and rules, no I/O and no HTTP: the rules of the users, friends, messages and
//! timeline services, which were carved out of this code.

mod avatar_url;
mod friend_list;
mod friend_page;
mod friendship;
mod latest;
mod message;
mod message_page;
mod message_text;
mod timeline;
mod user;
mod user_name;

pub use avatar_url::{AvatarUrl, AvatarUrlError, MAX_URL_LEN};
pub use friend_list::FriendList;
pub use friend_page::{Limit, PageError, PageRequest};
pub use friendship::{Friendship, SelfFriendship};
pub use latest::{AuthorMessages, PerAuthor, group_by_author};
pub use message::{Message, NewMessage};
pub use message_page::{MessagePage, PageLimit};
pub use message_text::{MAX_TEXT_CHARS, MessageText, MessageTextError};
pub use timeline::{
    Degradation, Entry, EntryMessage, Friend, PerFriend, Timeline, TimelineLimit, TimelineParams,
};
pub use user::{NewUser, User, UserChanges};
pub use user_name::{MAX_NAME_CHARS, UserName, UserNameError};

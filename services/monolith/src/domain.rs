//! Pure types and rules, no I/O and no HTTP: the same rules the services apply.

mod avatar_url;
mod message;
mod message_text;
mod paging;
mod timeline;
mod user;
mod user_name;

pub use avatar_url::{AvatarUrl, AvatarUrlError, MAX_URL_LEN};
pub use message::{Before, Message, NewMessage};
pub use message_text::{MAX_TEXT_CHARS, MessageText, MessageTextError};
pub use paging::{FRIENDS_LIMIT, FriendPage, MESSAGES_LIMIT, OutOfRange, PER_AUTHOR, bounded};
pub use timeline::{
    Degradation, Entry, EntryMessage, Friend, LIMIT, PER_FRIEND, Timeline, TimelineParams,
};
pub use user::{NewUser, User, UserChanges};
pub use user_name::{MAX_NAME_CHARS, UserName, UserNameError};

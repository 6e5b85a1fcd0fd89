//! Pure types and rules, no I/O and no HTTP: the rules of the users, friends, messages and
//! timeline services, which were carved out of this code.
//!
//! The monolith answers by exactly the services' rules, so it compiles their domain files
//! (`#[path]`) instead of keeping copies that could drift; it still depends on no service
//! crate. The two files whose documentation says something different here (who can know
//! whether a user exists) are its own.

#[path = "../../users/src/domain/avatar_url.rs"]
mod avatar_url;
mod friend_list;
#[path = "../../friends/src/domain/page.rs"]
mod friend_page;
#[path = "../../friends/src/domain/friendship.rs"]
mod friendship;
#[path = "../../messages/src/domain/latest.rs"]
mod latest;
mod message;
#[path = "../../messages/src/domain/message_page.rs"]
mod message_page;
#[path = "../../messages/src/domain/message_text.rs"]
mod message_text;
#[path = "../../timeline/src/domain/timeline.rs"]
mod timeline;
#[path = "../../users/src/domain/user.rs"]
mod user;
#[path = "../../users/src/domain/user_name.rs"]
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

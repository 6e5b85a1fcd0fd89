//! The monolith's rules and the shapes of its answers, no I/O and no HTTP: what a name, an
//! avatar URL and a message text may be, the bounds of every page and count and their
//! cursors, friendship between two distinct users, and the rows, pages and timelines it
//! answers with (which its store reads straight from the database).
//!
//! The services carved out of this system keep the same rules in code of their own; the
//! equivalence test (`tests/equivalence.rs`) holds both to the same answers.
//!
//! Every free-text column is checked by one [`TextRule`] ([`NAME`], [`MESSAGE_TEXT`]);
//! checks leave a value as given, so what is stored is what was sent.

mod avatar;
mod examples;
mod friendship;
mod message;
mod pages;
mod paging;
mod text;
mod timeline;
mod user;

pub(crate) use examples::latest as latest_example;

pub use avatar::{AvatarError, MAX_AVATAR_URL_BYTES, check_avatar_url};
pub use friendship::{Friendship, friendship};
pub use message::{Message, NewMessage, author};
pub use pages::{AuthorMessages, FriendList, MessagePage};
pub use paging::{
    FriendsPage, FriendsPerPage, LatestPerAuthor, MessagesPerPage, PerFriend, TimelineLimit,
    TimelineParams, before_cursor, split_lookahead,
};
pub use text::{Forbidden, MESSAGE_TEXT, NAME, TextError, TextRule};
pub use timeline::{Degradation, Entry, EntryMessage, Friend, Timeline};
pub use user::{NewUser, User, UserChange};

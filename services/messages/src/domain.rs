//! Pure types and rules, no I/O and no HTTP.

mod bounded;
mod latest;
mod message;
mod message_page;
mod message_text;

pub use bounded::{Bounded, BoundedError, PageLimit, PerAuthor};
pub use latest::{AuthorMessages, group_by_author};
pub use message::{Message, NewMessage};
pub use message_page::MessagePage;
pub use message_text::{MAX_TEXT_CHARS, MessageText, MessageTextError};

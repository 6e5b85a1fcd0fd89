//! Pure types and rules, no I/O and no HTTP.

mod latest;
mod message;
mod message_page;
mod message_text;

pub use latest::{AuthorMessages, PerAuthor, group_by_author};
pub use message::{Message, NewMessage};
pub use message_page::{MessagePage, PageLimit};
pub use message_text::{MAX_TEXT_CHARS, MessageText, MessageTextError};

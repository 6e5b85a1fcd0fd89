//! Pure types and rules, no I/O and no HTTP.

mod avatar_url;
mod user;
mod user_name;

pub use avatar_url::{AvatarUrl, AvatarUrlError, MAX_URL_LEN};
pub use user::{NewUser, User, UserChanges};
pub use user_name::{MAX_NAME_CHARS, UserName, UserNameError};

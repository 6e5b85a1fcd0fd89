//! What handlers share: cloning it per request costs a refcount bump.

use crate::store::Store;

/// Handles shared by every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The messages table.
    pub store: Store,
    /// The users the users feed holds, with `--users-url`; without it any author is
    /// accepted.
    pub users: Option<kit::feed::known::Gate>,
}

//! What handlers share: cloning it per request costs a refcount bump.

use crate::store::Store;

/// Handles shared by every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The one database.
    pub store: Store,
}

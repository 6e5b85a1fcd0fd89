//! What handlers share: cloning it per request costs a refcount bump.

use std::time::Duration;

use kit::feed::Follower;
use tokio::time::Instant;

use crate::store::Store;

/// How long a write naming a user that is not here waits for the users service's feed,
/// when the monolith replicates from it (a user created there a moment ago).
pub const USER_WAIT: Duration = Duration::from_secs(1);

/// Handles shared by every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The one database.
    pub store: Store,
    /// The follower of the users service's feed, when the monolith replicates from it.
    pub users_replica: Option<Follower>,
}

// === impl AppState ===

impl AppState {
    /// The monolith alone: no feed replicated into it.
    pub fn new(store: Store) -> Self {
        Self {
            store,
            users_replica: None,
        }
    }

    /// Whether the users feed brought something new before `deadline` (after which a
    /// write naming a missing user is tried again); false at once without replication.
    pub async fn users_arrived(&self, deadline: Instant) -> bool {
        let Some(follower) = &self.users_replica else {
            return false;
        };
        let left = deadline.saturating_duration_since(Instant::now());
        !left.is_zero() && follower.wait_for_progress(left).await
    }
}

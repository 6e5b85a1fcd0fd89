//! The one database: users, friendships and messages in related tables, and the timeline
//! as one SQL query over them. The only way to the data.
//!
//! Tests run this against real engines (`sqlite::memory:` always, PostgreSQL when
//! `TEST_POSTGRES_URL` is set) rather than a fake, so the SQL itself is what is tested.
//!
//! Every write is one transaction that records its change events in the feed (source
//! `monolith`) before it commits, so a row and its event are never one without the other.
//! Write transactions take SQLite's write lock at once ([`Feed::begin`]), so none has to
//! upgrade a read lock under concurrent writers. Deleting a user deletes their friendships
//! and messages explicitly, in the same transaction, so each removed row gets its
//! tombstone; the foreign keys' `ON DELETE CASCADE` then finds nothing left. The demo fill
//! is one transaction too, its events recorded as replicated from `demo`.

mod demo;
mod friends;
mod messages;
mod replica;
mod timeline;
mod users;

#[cfg(test)]
mod tests;

use kit::feed::{Change, Feed, Position};
use kit::store::{Db, Migrations};
use sqlx::{Any, Transaction};

pub use demo::DemoCounts;
pub use friends::Befriended;
pub use messages::Cursor;

/// The entity type of a user's events.
pub const USER_EVENT: &str = "user";
/// The entity type of a friendship's events.
pub const FRIENDSHIP_EVENT: &str = "friendship";
/// The entity type of a message's events.
pub const MESSAGE_EVENT: &str = "message";

/// The schema, per backend.
pub const MIGRATIONS: Migrations = kit::migrations!();

/// The monolith's storage. Cloning is shallow.
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
    feed: Feed,
}

// === impl Store ===

// `open`, `db`, and the store as `kit::service::serve_store` runs it.
kit::service_store!(Store, MIGRATIONS, "monolith");

impl Store {
    /// The feed's position as this process last knew it: the answer of a write that
    /// changed nothing, whose state is already there.
    pub fn position(&self) -> Position {
        Position::new(self.feed.source(), self.feed.head())
    }

    /// Records `changes` in `tx` and commits it; the position of the last change (the
    /// current one when there is none).
    async fn commit(
        &self,
        tx: Transaction<'static, Any>,
        changes: &[Change],
    ) -> Result<Position, sqlx::Error> {
        let position = self.feed.commit(tx, changes).await?;
        Ok(position.unwrap_or_else(|| self.position()))
    }
}

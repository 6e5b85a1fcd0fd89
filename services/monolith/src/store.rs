//! The one database: users, friendships and messages in related tables, and the timeline
//! as one SQL query over them. The only way to the data.
//!
//! Tests run this against real engines (`sqlite::memory:` always, PostgreSQL when
//! `TEST_POSTGRES_URL` is set) rather than a fake, so the SQL itself is what is tested.
//!
//! Every write a request makes is a single statement, so SQLite never has to upgrade a read
//! lock under concurrent writers, and the foreign keys with `ON DELETE CASCADE` make
//! deleting a user and everything of theirs one atomic statement. (The demo fill, which
//! runs before the server accepts requests, is one transaction.)

mod demo;
mod friends;
mod messages;
mod timeline;
mod users;

#[cfg(test)]
mod tests;

use kit::feed::Feed;
use kit::store::{Db, Migrations};

pub use demo::DemoCounts;
pub use friends::Befriended;
pub use messages::Cursor;

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

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

use kit::store::{Db, Migrations};
use sqlx::migrate::Migrator;

pub use demo::DemoCounts;
pub use friends::Befriended;
pub use messages::Cursor;

static SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");

/// The schema, per backend.
pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &SQLITE,
    postgres: &POSTGRES,
};

/// The monolith's storage. Cloning is shallow.
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
}

// === impl Store ===

kit::service_store!(Store);

impl Store {
    /// Connects to `url` and applies the schema.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        Ok(Self {
            db: Db::connect(url, MIGRATIONS).await?,
        })
    }

    /// The database, for readiness checks, shutdown and plans.
    pub fn db(&self) -> &Db {
        &self.db
    }
}

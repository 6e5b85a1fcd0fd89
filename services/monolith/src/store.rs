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

use std::collections::HashMap;

use kit::store::{Backend, Db, Migrations};
use sqlx::Row;
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

    /// The engine's plan for `sql` with `args`, one line per plan node, indented by depth:
    /// `EXPLAIN QUERY PLAN` on SQLite; `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)` on
    /// PostgreSQL, which runs the statement.
    async fn explain(&self, sql: &str, args: Vec<i64>) -> Result<Vec<String>, sqlx::Error> {
        let bind = |sql: String| {
            args.iter()
                .fold(sqlx::query(sqlx::AssertSqlSafe(sql)), |q, arg| q.bind(*arg))
        };
        match self.db.backend() {
            Backend::Sqlite => {
                let rows = bind(format!("EXPLAIN QUERY PLAN {sql}"))
                    .fetch_all(self.db.pool())
                    .await?;
                let mut depth: HashMap<i64, usize> = HashMap::new();
                rows.iter()
                    .map(|row| {
                        let (id, parent, detail): (i64, i64, String) =
                            (row.try_get(0)?, row.try_get(1)?, row.try_get(3)?);
                        let level = depth.get(&parent).map_or(0, |d| d + 1);
                        depth.insert(id, level);
                        Ok(format!("{}{detail}", "  ".repeat(level)))
                    })
                    .collect()
            }
            Backend::Postgres => {
                let rows = bind(format!("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}"))
                    .fetch_all(self.db.pool())
                    .await?;
                rows.iter().map(|row| row.try_get(0)).collect()
            }
        }
    }
}

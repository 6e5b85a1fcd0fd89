//! The users table: the only way to it.
//!
//! Every write records its change in the feed (entity `user`, subject the id, data the
//! API's `User`) in the same transaction, and returns the feed position it reached.
//!
//! Tests run this against real engines (`sqlite::memory:` always, PostgreSQL when
//! `TEST_POSTGRES_URL` is set) rather than a fake, so the SQL itself is what is tested.

use std::time::Instant;

use anyhow::Context;
use kit::demo::World;
use kit::feed::replicate::Replica;
use kit::feed::{Change, Event, Feed, Position};
use kit::ids::UserId;
use kit::store::{Db, Migrations};
use kit::timestamp::Timestamp;

use crate::domain::{NewUser, User, UserChanges};

/// The schema, per backend.
pub const MIGRATIONS: Migrations = kit::migrations!();

/// The feed's entity type.
pub const ENTITY: &str = "user";

/// Users storage. Cloning is shallow.
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
    feed: Feed,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    name: String,
    avatar_url: Option<String>,
    created_at: i64,
}

// === impl Store ===

// `open`, `db`, and the store as `kit::service::serve_store` runs it.
kit::service_store!(Store, MIGRATIONS, "users");

impl Store {
    /// Inserts a user and returns it with its new id, and the feed position of its event.
    #[tracing::instrument(skip_all)]
    pub async fn create(&self, user: &NewUser) -> Result<(User, Option<Position>), sqlx::Error> {
        let mut tx = self.feed.begin().await?;
        let id = self.feed.next_id(&mut tx, "users").await?;
        let row: UserRow = sqlx::query_as(
            "INSERT INTO users (id, name, avatar_url, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING id, name, avatar_url, created_at",
        )
        .bind(id)
        .bind(user.name.as_str().to_owned())
        .bind(user.avatar_url.as_ref().map(|u| u.as_str().to_owned()))
        .bind(Timestamp::now().as_micros())
        .fetch_one(&mut *tx)
        .await?;
        let user = User::from(row);
        let position = self.feed.commit(tx, &[upserted(&user)]).await?;
        Ok((user, position))
    }

    /// The user with this id, if any.
    #[tracing::instrument(skip_all, fields(user_id = %id))]
    pub async fn get(&self, id: UserId) -> Result<Option<User>, sqlx::Error> {
        let row: Option<UserRow> =
            sqlx::query_as("SELECT id, name, avatar_url, created_at FROM users WHERE id = $1")
                .bind(id.get())
                .fetch_optional(self.db.pool())
                .await?;
        Ok(row.map(User::from))
    }

    /// The users among `ids` that exist, in no particular order.
    #[tracing::instrument(skip_all, fields(count = ids.len()))]
    pub async fn get_many(&self, ids: &[UserId]) -> Result<Vec<User>, sqlx::Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT id, name, avatar_url, created_at FROM users WHERE id IN ({})",
            kit::store::placeholders(1, ids.len())
        );
        let mut query = sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(sql));
        for id in ids {
            query = query.bind(id.get());
        }
        let rows = query.fetch_all(self.db.pool()).await?;
        Ok(rows.into_iter().map(User::from).collect())
    }

    /// Applies `changes` in one statement; `None` when there is no such user. The user
    /// after the change comes with the feed position of its event.
    #[tracing::instrument(skip_all, fields(user_id = %id))]
    pub async fn update(
        &self,
        id: UserId,
        changes: &UserChanges,
    ) -> Result<Option<(User, Option<Position>)>, sqlx::Error> {
        let avatar = changes.avatar_url.as_ref();
        let mut tx = self.feed.begin().await?;
        let row: Option<UserRow> = sqlx::query_as(
            "UPDATE users SET name = COALESCE($2, name), \
             avatar_url = CASE WHEN $3 THEN $4 ELSE avatar_url END WHERE id = $1 \
             RETURNING id, name, avatar_url, created_at",
        )
        .bind(id.get())
        .bind(changes.name.as_ref().map(|n| n.as_str().to_owned()))
        .bind(avatar.is_some())
        .bind(avatar.and_then(|a| a.as_ref().map(|u| u.as_str().to_owned())))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(user) = row.map(User::from) else {
            return Ok(None);
        };
        let position = self.feed.commit(tx, &[upserted(&user)]).await?;
        Ok(Some((user, position)))
    }

    /// Deletes the user; `None` when there was none, else the feed position of its
    /// deletion.
    #[tracing::instrument(skip_all, fields(user_id = %id))]
    pub async fn delete(&self, id: UserId) -> Result<Option<Option<Position>>, sqlx::Error> {
        let mut tx = self.feed.begin().await?;
        let done = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id.get())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        let position = self.feed.commit(tx, &[Change::deleted(ENTITY, id)]).await?;
        Ok(Some(position))
    }

    /// Fills an empty table with the demo world's users in one transaction, with their
    /// events (as replicated from origin `demo`, each versioned by its creation time);
    /// `None` when the table already had users (nothing is written then).
    pub async fn fill_demo(&self, world: &World) -> anyhow::Result<Option<u64>> {
        let started = Instant::now();
        let mut tx = self.feed.begin().await?;
        let (existing,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM (SELECT 1 FROM users LIMIT 1) AS any_user")
                .fetch_one(&mut *tx)
                .await?;
        if existing > 0 {
            return Ok(None);
        }
        let inserted = kit::store::insert_rows(
            &mut tx,
            "INSERT INTO users (id, name, avatar_url, created_at)",
            4,
            world.users(),
            |q, u| {
                q.bind(u.id)
                    .bind(u.name)
                    .bind(u.avatar_url)
                    .bind(u.created_at.as_micros())
            },
        )
        .await
        .context("cannot insert demo users")?;
        // Explicit ids bypass the identity sequence: new ids follow the demo's.
        self.db.advance_identity(&mut tx, "users").await?;
        let changes: Vec<Change> = world
            .users()
            .map(|u| {
                let version = u.created_at.as_micros();
                let user = User {
                    id: UserId::new(u.id),
                    name: u.name,
                    avatar_url: u.avatar_url,
                    created_at: u.created_at,
                };
                upserted(&user).replicated(kit::demo::ORIGIN, version)
            })
            .collect();
        let head = self.feed.load(&mut tx, &changes).await?;
        tx.commit().await?;
        if let Some(head) = head {
            self.feed.committed(head.seq);
        }
        kit::demo::report("users", "users", started);
        Ok(Some(inserted))
    }
}

/// A user written on the other side of a migration: its id from the subject, its state
/// from the event (deleted when it has none). A deletion is final.
impl Replica for Store {
    const ENTITIES: &'static [&'static str] = &[ENTITY];
    const FINAL_DELETES: &'static [&'static str] = &[ENTITY];

    fn replica_feed(&self) -> &Feed {
        &self.feed
    }

    async fn apply(
        &self,
        conn: &mut sqlx::AnyConnection,
        event: &Event,
    ) -> anyhow::Result<Option<Vec<Change>>> {
        let id: UserId = event.subject.parse()?;
        match event.data_as::<ReplicatedUser>()? {
            Some(user) => {
                sqlx::query(
                    "INSERT INTO users (id, name, avatar_url, created_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
                     avatar_url = excluded.avatar_url, created_at = excluded.created_at",
                )
                .bind(id.get())
                .bind(user.name)
                .bind(user.avatar_url)
                .bind(user.created_at.as_micros())
                .execute(&mut *conn)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM users WHERE id = $1")
                    .bind(id.get())
                    .execute(&mut *conn)
                    .await?;
            }
        }
        Ok(Some(Vec::new()))
    }
}

/// A user's state in another side's event.
#[derive(serde::Deserialize)]
struct ReplicatedUser {
    name: String,
    avatar_url: Option<String>,
    created_at: Timestamp,
}

/// `user`'s change event: its whole state as the API shows it.
fn upserted(user: &User) -> Change {
    Change::upserted(ENTITY, user.id, user)
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        Self {
            id: UserId::new(row.id),
            name: row.name,
            avatar_url: row.avatar_url,
            created_at: Timestamp::from_micros(row.created_at),
        }
    }
}

//! The users table.

use kit::ids::UserId;
use kit::timestamp::Timestamp;

use super::Store;
use crate::domain::{NewUser, User, UserChanges};

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    name: String,
    avatar_url: Option<String>,
    created_at: i64,
}

// === impl Store ===

impl Store {
    /// Inserts a user and returns it with its new id.
    #[tracing::instrument(skip_all)]
    pub async fn create_user(&self, user: &NewUser) -> Result<User, sqlx::Error> {
        let row: UserRow = sqlx::query_as(
            "INSERT INTO users (name, avatar_url, created_at) VALUES ($1, $2, $3) \
             RETURNING id, name, avatar_url, created_at",
        )
        .bind(user.name.as_str().to_owned())
        .bind(user.avatar_url.as_ref().map(|u| u.as_str().to_owned()))
        .bind(Timestamp::now().as_micros())
        .fetch_one(self.db.pool())
        .await?;
        Ok(row.into())
    }

    /// The user with this id, if any.
    #[tracing::instrument(skip_all, fields(user_id = %id))]
    pub async fn get_user(&self, id: UserId) -> Result<Option<User>, sqlx::Error> {
        let row: Option<UserRow> =
            sqlx::query_as("SELECT id, name, avatar_url, created_at FROM users WHERE id = $1")
                .bind(id.get())
                .fetch_optional(self.db.pool())
                .await?;
        Ok(row.map(User::from))
    }

    /// The users among `ids` that exist, in no particular order.
    #[tracing::instrument(skip_all, fields(count = ids.len()))]
    pub async fn get_users(&self, ids: &[UserId]) -> Result<Vec<User>, sqlx::Error> {
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

    /// Applies `changes` in one statement; `None` when there is no such user.
    #[tracing::instrument(skip_all, fields(user_id = %id))]
    pub async fn update_user(
        &self,
        id: UserId,
        changes: &UserChanges,
    ) -> Result<Option<User>, sqlx::Error> {
        let avatar = changes.avatar_url.as_ref();
        let row: Option<UserRow> = sqlx::query_as(
            "UPDATE users SET name = COALESCE($2, name), \
             avatar_url = CASE WHEN $3 THEN $4 ELSE avatar_url END WHERE id = $1 \
             RETURNING id, name, avatar_url, created_at",
        )
        .bind(id.get())
        .bind(changes.name.as_ref().map(|n| n.as_str().to_owned()))
        .bind(avatar.is_some())
        .bind(avatar.and_then(|a| a.as_ref().map(|u| u.as_str().to_owned())))
        .fetch_optional(self.db.pool())
        .await?;
        Ok(row.map(User::from))
    }

    /// Deletes the user, and with them (by `ON DELETE CASCADE`, in the same statement) their
    /// friendships in both directions and their messages; false when there was no such user.
    #[tracing::instrument(skip_all, fields(user_id = %id))]
    pub async fn delete_user(&self, id: UserId) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id.get())
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }
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

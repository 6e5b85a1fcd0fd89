//! The users table. Rows are read straight into [`User`]s.

use kit::ids::UserId;
use kit::store::Backend;
use kit::timestamp::Timestamp;

use super::Store;
use crate::domain::{NewUser, User, UserChange};

/// The columns of a [`User`], in its order.
const USER: &str = "id, name, avatar_url, created_at";

/// One requested id of a bulk read and the user it names, if any.
#[derive(sqlx::FromRow)]
struct Asked {
    asked: UserId,
    name: Option<String>,
    avatar_url: Option<String>,
    created_at: Option<Timestamp>,
}

// === impl Store ===

impl Store {
    /// Inserts a user created now and returns it with its new id.
    #[tracing::instrument(skip_all)]
    pub async fn create_user(&self, user: &NewUser) -> Result<User, sqlx::Error> {
        let sql = format!(
            "INSERT INTO users (name, avatar_url, created_at) VALUES ($1, $2, $3) \
             RETURNING {USER}"
        );
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(user.name.clone())
            .bind(user.avatar_url.clone())
            .bind(Timestamp::now())
            .fetch_one(self.db.pool())
            .await
    }

    /// The user with this id, if any.
    #[tracing::instrument(skip_all, fields(user_id = %id))]
    pub async fn get_user(&self, id: UserId) -> Result<Option<User>, sqlx::Error> {
        let sql = format!("SELECT {USER} FROM users WHERE id = $1");
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.db.pool())
            .await
    }

    /// The users `ids` names, in that order, and the ids that name none (also in that
    /// order): one statement that joins the list, numbered, to the table and sorts by
    /// the numbers.
    #[tracing::instrument(skip_all, fields(count = ids.len()))]
    pub async fn users_in_request_order(
        &self,
        ids: &[UserId],
    ) -> Result<(Vec<User>, Vec<UserId>), sqlx::Error> {
        if ids.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let cast = match self.db.backend() {
            Backend::Postgres => "::BIGINT",
            Backend::Sqlite => "",
        };
        let asked: Vec<String> = (1..=ids.len())
            .map(|n| format!("(${n}{cast}, {n})"))
            .collect();
        let sql = format!(
            "WITH asked (id, position) AS (VALUES {}) \
             SELECT asked.id AS asked, u.name, u.avatar_url, u.created_at \
             FROM asked LEFT JOIN users AS u ON u.id = asked.id ORDER BY asked.position",
            asked.join(", ")
        );
        let query = ids.iter().fold(
            sqlx::query_as::<_, Asked>(sqlx::AssertSqlSafe(sql)),
            |q, id| q.bind(*id),
        );
        let mut users = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        for row in query.fetch_all(self.db.pool()).await? {
            match (row.name, row.created_at) {
                (Some(name), Some(created_at)) => users.push(User {
                    id: row.asked,
                    name,
                    avatar_url: row.avatar_url,
                    created_at,
                }),
                _ => missing.push(row.asked),
            }
        }
        Ok((users, missing))
    }

    /// Sets the columns `changes` names, in one statement; `None` when there is no such
    /// user. No change at all reads the user as it is.
    #[tracing::instrument(skip_all, fields(user_id = %id))]
    pub async fn update_user(
        &self,
        id: UserId,
        changes: &[UserChange],
    ) -> Result<Option<User>, sqlx::Error> {
        if changes.is_empty() {
            return self.get_user(id).await;
        }
        let sets: Vec<String> = changes
            .iter()
            .zip(2..)
            .map(|(change, n)| format!("{} = ${n}", change.column()))
            .collect();
        let sql = format!(
            "UPDATE users SET {} WHERE id = $1 RETURNING {USER}",
            sets.join(", ")
        );
        let query = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id);
        changes
            .iter()
            .fold(query, |q, change| q.bind(change.value().map(str::to_owned)))
            .fetch_optional(self.db.pool())
            .await
    }

    /// Deletes the user, and with them (by `ON DELETE CASCADE`, in the same statement) their
    /// friendships in both directions and their messages; false when there was no such user.
    #[tracing::instrument(skip_all, fields(user_id = %id))]
    pub async fn delete_user(&self, id: UserId) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

//! The users table. Rows are read straight into [`User`]s.

use kit::feed::{Change, Position};
use kit::ids::{MessageId, UserId};
use kit::store::Backend;
use kit::timestamp::Timestamp;

use super::{FRIENDSHIP_EVENT, MESSAGE_EVENT, Store, USER_EVENT};
use crate::domain::{Friendship, NewUser, User, UserChange};

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
    /// Inserts a user created now and returns it with its new id, with its
    /// `user.upserted` event's position.
    #[tracing::instrument(skip_all)]
    pub async fn create_user(&self, user: &NewUser) -> Result<(User, Position), sqlx::Error> {
        let sql = format!(
            "INSERT INTO users (id, name, avatar_url, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING {USER}"
        );
        let mut tx = self.feed.begin().await?;
        let id = self.feed.next_id(&mut tx, "users").await?;
        let user: User = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(user.name.clone())
            .bind(user.avatar_url.clone())
            .bind(Timestamp::now())
            .fetch_one(&mut *tx)
            .await?;
        let change = Change::upserted(USER_EVENT, user.id, &user);
        let position = self.commit(tx, &[change]).await?;
        Ok((user, position))
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

    /// Sets the columns `changes` names, in one statement, and records the user's
    /// `user.upserted` event; `None` when there is no such user. No change at all reads the
    /// user as it is (and records nothing: the position is the feed's current one).
    #[tracing::instrument(skip_all, fields(user_id = %id))]
    pub async fn update_user(
        &self,
        id: UserId,
        changes: &[UserChange],
    ) -> Result<Option<(User, Position)>, sqlx::Error> {
        if changes.is_empty() {
            let position = self.position();
            return Ok(self.get_user(id).await?.map(|user| (user, position)));
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
        let mut tx = self.feed.begin().await?;
        let user: Option<User> = changes
            .iter()
            .fold(query, |q, change| q.bind(change.value().map(str::to_owned)))
            .fetch_optional(&mut *tx)
            .await?;
        let Some(user) = user else {
            return Ok(None);
        };
        let change = Change::upserted(USER_EVENT, user.id, &user);
        let position = self.commit(tx, &[change]).await?;
        Ok(Some((user, position)))
    }

    /// Deletes the user and, in the same transaction, their friendships (both directions)
    /// and their messages, each removed row with its tombstone (`friendship.deleted`,
    /// `message.deleted`, then `user.deleted`); `None` when there was no such user.
    ///
    /// The user's row is locked first (on PostgreSQL), so a friendship or message being
    /// added for them either commits before and is deleted here, or waits and then finds
    /// the user gone: nothing is left behind that the feed still shows alive.
    #[tracing::instrument(skip_all, fields(user_id = %id))]
    pub async fn delete_user(&self, id: UserId) -> Result<Option<Position>, sqlx::Error> {
        let lock = match self.db.backend() {
            Backend::Postgres => " FOR UPDATE",
            // The transaction holds the database's write lock already.
            Backend::Sqlite => "",
        };
        let mut tx = self.feed.begin().await?;
        let found: Option<UserId> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT id FROM users WHERE id = $1{lock}"
        )))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        if found.is_none() {
            return Ok(None);
        }
        let mut changes = Self::remove_user(&mut tx, id).await?;
        changes.push(Change::deleted(USER_EVENT, id));
        Ok(Some(self.commit(tx, &changes).await?))
    }

    /// Deletes user `id`'s friendships and messages and then the user, in `conn`'s
    /// transaction; returns the deletions of the friendships and messages (the user's own
    /// is the caller's to record).
    pub(super) async fn remove_user(
        conn: &mut sqlx::AnyConnection,
        id: UserId,
    ) -> Result<Vec<Change>, sqlx::Error> {
        // Both directions in one statement: each pair is named once, by its low → high row.
        let pairs: Vec<(UserId, UserId)> = sqlx::query_as(
            "DELETE FROM friendships WHERE user_id = $1 OR friend_id = $1 \
             RETURNING user_id, friend_id",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
        let messages: Vec<MessageId> =
            sqlx::query_scalar("DELETE FROM messages WHERE author_id = $1 RETURNING id")
                .bind(id)
                .fetch_all(&mut *conn)
                .await?;
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
        let mut changes: Vec<Change> = pairs
            .into_iter()
            .filter(|(low, high)| low < high)
            .map(|pair| Change::deleted(FRIENDSHIP_EVENT, Friendship::of(pair).subject()))
            .collect();
        changes.extend(
            messages
                .into_iter()
                .map(|message| Change::deleted(MESSAGE_EVENT, message)),
        );
        Ok(changes)
    }
}

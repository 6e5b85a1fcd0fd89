//! The friendships table: each friendship stored in both directions.

use kit::ids::UserId;

use super::Store;
use crate::domain::FriendPage;

/// What adding a friendship came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Befriended {
    /// The two are friends (now, or already were).
    Yes,
    /// This user does not exist, so nothing was written.
    NoSuchUser(UserId),
}

/// Attempts at adding a friendship whose foreign-key failure names no missing user: that
/// only happens when a user is created between the insert and the check, so a second try
/// settles it.
const ADD_ATTEMPTS: usize = 3;

// === impl Store ===

impl Store {
    /// Makes `user` and `friend` friends, in both directions, in one statement; adding an
    /// existing friendship changes nothing.
    #[tracing::instrument(skip_all, fields(user_id = %user, friend_id = %friend))]
    pub async fn add_friend(
        &self,
        user: UserId,
        friend: UserId,
    ) -> Result<Befriended, sqlx::Error> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let inserted = sqlx::query(
                "INSERT INTO friendships (user_id, friend_id) VALUES ($1, $2), ($2, $1) \
                 ON CONFLICT (user_id, friend_id) DO NOTHING",
            )
            .bind(user.get())
            .bind(friend.get())
            .execute(self.db.pool())
            .await;
            match inserted {
                Ok(_) => return Ok(Befriended::Yes),
                Err(err) if kit::store::is_foreign_key_violation(&err) => {
                    if let Some(missing) = self.first_missing(&[user, friend]).await? {
                        return Ok(Befriended::NoSuchUser(missing));
                    }
                    if attempt == ADD_ATTEMPTS {
                        return Err(err);
                    }
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Ends the friendship in both directions; false when the two were not friends.
    #[tracing::instrument(skip_all, fields(user_id = %user, friend_id = %friend))]
    pub async fn remove_friend(&self, user: UserId, friend: UserId) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "DELETE FROM friendships \
             WHERE (user_id = $1 AND friend_id = $2) OR (user_id = $2 AND friend_id = $1)",
        )
        .bind(user.get())
        .bind(friend.get())
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// A page of `user`'s friends, ascending, and the cursor of the next page when more
    /// follow. An unknown user has no friends.
    #[tracing::instrument(skip_all, fields(user_id = %user))]
    pub async fn friend_page(
        &self,
        user: UserId,
        page: FriendPage,
    ) -> Result<(Vec<UserId>, Option<UserId>), sqlx::Error> {
        let limit = page.limit as usize;
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT friend_id FROM friendships WHERE user_id = $1 AND friend_id > $2 \
             ORDER BY friend_id LIMIT $3",
        )
        .bind(user.get())
        .bind(page.after.map_or(0, UserId::get))
        .bind(i64::from(page.limit) + 1)
        .fetch_all(self.db.pool())
        .await?;
        let more = rows.len() > limit;
        let ids: Vec<UserId> = rows
            .into_iter()
            .take(limit)
            .map(|(id,)| UserId::new(id))
            .collect();
        let next = if more { ids.last().copied() } else { None };
        Ok((ids, next))
    }

    /// The first of `ids` that names no user.
    async fn first_missing(&self, ids: &[UserId]) -> Result<Option<UserId>, sqlx::Error> {
        let sql = format!(
            "SELECT id FROM users WHERE id IN ({})",
            kit::store::placeholders(1, ids.len())
        );
        let mut query = sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(sql));
        for id in ids {
            query = query.bind(id.get());
        }
        let found = query.fetch_all(self.db.pool()).await?;
        Ok(ids
            .iter()
            .copied()
            .find(|id| !found.iter().any(|(f,)| *f == id.get())))
    }
}

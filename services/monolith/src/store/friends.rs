//! The friendships table: each friendship stored in both directions, so a user's friends
//! are one range of the primary key.

use kit::feed::{Change, Position};
use kit::ids::UserId;
use kit::timestamp::Timestamp;

use super::{FRIENDSHIP_EVENT, Store};
use crate::domain::{FriendList, FriendsPage, Friendship};

/// What adding a friendship came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Befriended {
    /// The two are friends (now, or already were), as of this feed position.
    Yes(Position),
    /// These users of the pair do not exist (ascending), so nothing was written.
    NoSuchUsers(Vec<UserId>),
}

/// Attempts at adding a friendship whose foreign-key failure names no missing user: that
/// only happens when a user is created between the insert and the check, so a second try
/// settles it.
const ADD_ATTEMPTS: usize = 3;

// === impl Store ===

impl Store {
    /// Stores both directions of `pair` (lower id first, as
    /// [`friendship`](crate::domain::friendship) orders it) in one statement, with its
    /// `friendship.upserted` event; a pair already stored is left as it is (with its
    /// original `created_at`, and no new event: the position is that of the pair's event).
    /// The foreign keys refuse a user that does not exist, and nothing is written then.
    #[tracing::instrument(skip_all, fields(user_id = %pair.0, friend_id = %pair.1))]
    pub async fn add_friend(&self, pair: (UserId, UserId)) -> Result<Befriended, sqlx::Error> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            // The low → high row first, always: two writers of one pair then wait on the
            // same row instead of each holding the row the other needs (a PostgreSQL
            // deadlock).
            let mut tx = self.feed.begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO friendships (user_id, friend_id, created_at) \
                 VALUES ($1, $2, $3), ($2, $1, $3) ON CONFLICT DO NOTHING",
            )
            .bind(pair.0)
            .bind(pair.1)
            .bind(Timestamp::now())
            .execute(&mut *tx)
            .await;
            match inserted {
                Ok(done) => {
                    let friendship = Friendship::of(pair);
                    let subject = friendship.subject();
                    if done.rows_affected() > 0 {
                        let change = Change::upserted(FRIENDSHIP_EVENT, subject, &friendship);
                        return Ok(Befriended::Yes(self.commit(tx, &[change]).await?));
                    }
                    // Already friends: the pair's own event is the position to answer with
                    // (the feed keeps one event per entity, so at most one row).
                    let seq: Option<i64> = sqlx::query_scalar(
                        "SELECT seq FROM feed_events WHERE entity = $1 AND subject = $2",
                    )
                    .bind(FRIENDSHIP_EVENT)
                    .bind(subject)
                    .fetch_optional(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    let position = seq.and_then(|seq| u64::try_from(seq).ok()).map_or_else(
                        || self.position(),
                        |seq| Position::new(self.feed.source(), seq),
                    );
                    return Ok(Befriended::Yes(position));
                }
                Err(err) if kit::store::is_foreign_key_violation(&err) => {
                    // The failed statement ended the transaction: look outside it.
                    drop(tx);
                    let missing = self.missing_users(&[pair.0, pair.1]).await?;
                    if !missing.is_empty() {
                        return Ok(Befriended::NoSuchUsers(missing));
                    }
                    if attempt == ADD_ATTEMPTS {
                        return Err(err);
                    }
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Removes both directions of `pair` in one statement, with its `friendship.deleted`
    /// event; `None` when they were not friends.
    #[tracing::instrument(skip_all, fields(user_id = %pair.0, friend_id = %pair.1))]
    pub async fn remove_friend(
        &self,
        pair: (UserId, UserId),
    ) -> Result<Option<Position>, sqlx::Error> {
        let mut tx = self.feed.begin().await?;
        let done = sqlx::query(
            "DELETE FROM friendships \
             WHERE (user_id = $1 AND friend_id = $2) OR (user_id = $2 AND friend_id = $1)",
        )
        .bind(pair.0)
        .bind(pair.1)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        let change = Change::deleted(FRIENDSHIP_EVENT, Friendship::of(pair).subject());
        Ok(Some(self.commit(tx, &[change]).await?))
    }

    /// One page of `user`'s friends, ascending: a range scan of the primary key that reads
    /// one row past the page to tell whether another follows. A user that does not exist
    /// has no friends.
    #[tracing::instrument(skip_all, fields(user_id = %user, limit = page.limit.get()))]
    pub async fn friend_page(
        &self,
        user: UserId,
        page: FriendsPage,
    ) -> Result<FriendList, sqlx::Error> {
        let ids: Vec<UserId> = sqlx::query_scalar(
            "SELECT friend_id FROM friendships WHERE user_id = $1 AND friend_id > $2 \
             ORDER BY friend_id LIMIT $3",
        )
        .bind(user)
        .bind(page.after.map_or(0, UserId::get))
        .bind(i64::from(page.limit.get()) + 1)
        .fetch_all(self.db.pool())
        .await?;
        Ok(FriendList::from_lookahead(user, ids, page.limit.get()))
    }

    /// Those of `ids` that name no user, in the order given.
    async fn missing_users(&self, ids: &[UserId]) -> Result<Vec<UserId>, sqlx::Error> {
        let sql = format!(
            "SELECT id FROM users WHERE id IN ({})",
            kit::store::placeholders(1, ids.len())
        );
        let query = ids.iter().fold(
            sqlx::query_scalar::<_, UserId>(sqlx::AssertSqlSafe(sql)),
            |q, id| q.bind(*id),
        );
        let found = query.fetch_all(self.db.pool()).await?;
        Ok(ids
            .iter()
            .copied()
            .filter(|id| !found.contains(id))
            .collect())
    }
}

//! Changes made on the services during the migration, applied here through the monolith's
//! own rules ([`kit::feed::replicate`]): a user's deletion cascades to their friendships
//! and messages (each with its tombstone, as a deletion made here does), and a friendship
//! or message whose user is not here waits for that user (retried until the users feed
//! brings them), unless the user is deleted here, when it is dropped.

use anyhow::Context;
use kit::feed::replicate::Replica;
use kit::feed::{Change, Event, Feed};
use kit::ids::{MessageId, UserId};
use kit::timestamp::Timestamp;
use sqlx::AnyConnection;

use super::{FRIENDSHIP_EVENT, MESSAGE_EVENT, Store, USER_EVENT};

/// A user's state in a users-service event.
#[derive(serde::Deserialize)]
struct ReplicatedUser {
    name: String,
    avatar_url: Option<String>,
    created_at: Timestamp,
}

/// A message's state in a messages-service event.
#[derive(serde::Deserialize)]
struct ReplicatedMessage {
    author_id: UserId,
    text: String,
    created_at: Timestamp,
}

/// Whether the users a row names are here.
enum Users {
    /// All of them.
    Here,
    /// One is deleted here: the row is dropped.
    Deleted,
}

// === impl Store ===

impl Replica for Store {
    const ENTITIES: &'static [&'static str] = &[USER_EVENT, FRIENDSHIP_EVENT, MESSAGE_EVENT];
    const FINAL_DELETES: &'static [&'static str] = &[USER_EVENT, MESSAGE_EVENT];

    fn replica_feed(&self) -> &Feed {
        &self.feed
    }

    async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &Event,
    ) -> anyhow::Result<Option<Vec<Change>>> {
        match event.entity() {
            USER_EVENT => {
                let id: UserId = event.subject.parse()?;
                match event.data_as::<ReplicatedUser>()? {
                    Some(user) => {
                        sqlx::query(
                            "INSERT INTO users (id, name, avatar_url, created_at) \
                             VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET \
                             name = excluded.name, avatar_url = excluded.avatar_url, \
                             created_at = excluded.created_at",
                        )
                        .bind(id)
                        .bind(user.name)
                        .bind(user.avatar_url)
                        .bind(user.created_at)
                        .execute(&mut *conn)
                        .await?;
                        Ok(Some(Vec::new()))
                    }
                    None => Ok(Some(Self::remove_user(conn, id).await?)),
                }
            }
            FRIENDSHIP_EVENT => {
                let (low, high) = event
                    .subject
                    .split_once('-')
                    .with_context(|| format!("`{}` is no friendship", event.subject))?;
                let pair: (UserId, UserId) = (low.parse()?, high.parse()?);
                if event.is_deletion() {
                    sqlx::query(
                        "DELETE FROM friendships WHERE (user_id = $1 AND friend_id = $2) \
                         OR (user_id = $2 AND friend_id = $1)",
                    )
                    .bind(pair.0)
                    .bind(pair.1)
                    .execute(&mut *conn)
                    .await?;
                    return Ok(Some(Vec::new()));
                }
                if let Users::Deleted = self.users_here(conn, &[pair.0, pair.1], event).await? {
                    return Ok(None);
                }
                sqlx::query(
                    "INSERT INTO friendships (user_id, friend_id, created_at) \
                     VALUES ($1, $2, $3), ($2, $1, $3) ON CONFLICT DO NOTHING",
                )
                .bind(pair.0)
                .bind(pair.1)
                .bind(event.time)
                .execute(&mut *conn)
                .await?;
                Ok(Some(Vec::new()))
            }
            MESSAGE_EVENT => {
                let id: MessageId = event.subject.parse()?;
                let Some(message) = event.data_as::<ReplicatedMessage>()? else {
                    sqlx::query("DELETE FROM messages WHERE id = $1")
                        .bind(id)
                        .execute(&mut *conn)
                        .await?;
                    return Ok(Some(Vec::new()));
                };
                if let Users::Deleted = self.users_here(conn, &[message.author_id], event).await? {
                    return Ok(None);
                }
                sqlx::query(
                    "INSERT INTO messages (id, author_id, text, created_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET \
                     author_id = excluded.author_id, text = excluded.text, \
                     created_at = excluded.created_at",
                )
                .bind(id)
                .bind(message.author_id)
                .bind(message.text)
                .bind(message.created_at)
                .execute(&mut *conn)
                .await?;
                Ok(Some(Vec::new()))
            }
            _ => Ok(None),
        }
    }
}

impl Store {
    /// Whether `users` are all here; one that is deleted here drops the row; one that is
    /// not here yet (its creation still on its way in the users feed) is an error, so the
    /// batch is retried.
    async fn users_here(
        &self,
        conn: &mut AnyConnection,
        users: &[UserId],
        event: &Event,
    ) -> anyhow::Result<Users> {
        for user in users {
            let here: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE id = $1")
                .bind(*user)
                .fetch_optional(&mut *conn)
                .await?;
            if here.is_some() {
                continue;
            }
            let stamp = self.feed.stamp(conn, USER_EVENT, &user.to_string()).await?;
            if stamp.is_some_and(|s| s.deleted) {
                return Ok(Users::Deleted);
            }
            anyhow::bail!(
                "{} {} names user {user}, who has not arrived from the users feed yet",
                event.entity(),
                event.subject
            );
        }
        Ok(Users::Here)
    }
}

//! What the feed's own tests share: a feed in a throwaway SQLite file with the test schema
//! (`things`), and its routes on an ephemeral port.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::migrate::Migrator;

use super::FeedOptions;
use super::api::{FeedApi, routes};
use super::metrics::Followers;
use super::outbox::Feed;
use crate::store::{Db, Migrations};
use crate::test_util::TestServer;

static THINGS: Migrator = sqlx::migrate!("tests/migrations/sqlite");

/// A feed in a SQLite file of its own, removed on drop. A file, not `sqlite::memory:`: a
/// follower stopped mid-request may drop a query midway, and the pool then replaces that
/// connection, which for a memory database would be a new, empty database.
pub(crate) struct TestFeed {
    feed: Feed,
    dir: Option<std::path::PathBuf>,
    _postgres: Option<crate::test_util::TestDatabase>,
}

impl std::ops::Deref for TestFeed {
    type Target = Feed;

    fn deref(&self) -> &Feed {
        &self.feed
    }
}

impl Drop for TestFeed {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The feed of `source` in a new database holding the `things` table.
pub(crate) async fn test_feed(source: &str, options: FeedOptions) -> TestFeed {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "kit-feed-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let db = Db::connect(&format!("sqlite://{}/feed.db", dir.display()), MIGRATIONS)
        .await
        .unwrap();
    TestFeed {
        feed: Feed::open(db, source, options).await.unwrap(),
        dir: Some(dir),
        _postgres: None,
    }
}

/// The feed of `source` in a fresh PostgreSQL database holding the `things` table, when
/// `TEST_POSTGRES_URL` is set.
pub(crate) async fn test_feed_on_postgres(source: &str, options: FeedOptions) -> Option<TestFeed> {
    let database = crate::test_util::postgres().await?;
    let db = Db::connect(&database.url, MIGRATIONS).await.unwrap();
    Some(TestFeed {
        feed: Feed::open(db, source, options).await.unwrap(),
        dir: None,
        _postgres: Some(database),
    })
}

const MIGRATIONS: Migrations = Migrations {
    sqlite: &THINGS,
    postgres: &THINGS,
};

/// `feed`'s routes (`/changes`, `/feeds`).
pub(crate) fn router(feed: &Feed) -> axum::Router {
    let api = FeedApi::new(feed.clone(), Followers::default(), |_| {});
    routes::<FeedApi>().with_state(api).into()
}

/// `feed`'s routes on an ephemeral port.
pub(crate) async fn serve(feed: &Feed) -> TestServer {
    TestServer::start(router(feed)).await
}

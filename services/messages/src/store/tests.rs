//! The store against real engines: the answers, and the plans that keep them off a scan.

use std::collections::BTreeSet;

use kit::demo::World;
use kit::ids::{MessageId, UserId};
use kit::store::Backend;

use super::{Cursor, Store};

/// 40 authors with 250 messages each on average: an author has many more messages than a
/// page or the bulk read asks for, as in production, so the planners' choices are theirs.
const SPEC: &str = "users=40,friends=0,messages=250,seed=5";

async fn demo_store(database_url: &str) -> Store {
    let store = Store::open(database_url).await.unwrap();
    let world = World::new(SPEC.parse().unwrap());
    assert_eq!(store.fill_demo(&world).await.unwrap(), Some(10_000));
    store
}

fn authors(range: std::ops::RangeInclusive<i64>) -> Vec<UserId> {
    range.map(UserId::new).collect()
}

/// The table is only ever searched through `messages_author_recent` by author (or by
/// primary key), never scanned, and nothing is sorted.
fn assert_index_only(backend: Backend, plan: &[String]) {
    let text = plan.join("\n");
    match backend {
        Backend::Sqlite => {
            assert!(
                text.contains("INDEX messages_author_recent (author_id=?"),
                "{text}"
            );
            for line in plan {
                let step = line.trim_start();
                // `SCAN a` (the VALUES list) and `SCAN n CONSTANT ROWS` are fine.
                for table in ["messages", "m", "recent"] {
                    assert!(!step.starts_with(&format!("SCAN {table} ")), "{text}");
                    assert_ne!(step, format!("SCAN {table}"), "{text}");
                }
                if step.starts_with("SEARCH") {
                    assert!(
                        step.contains("INDEX messages_author_recent (author_id=?")
                            || step.contains("INTEGER PRIMARY KEY (rowid=?)"),
                        "{text}"
                    );
                }
            }
            assert!(!text.contains("TEMP B-TREE"), "{text}");
        }
        Backend::Postgres => {
            assert!(
                text.contains("Index Scan using messages_author_recent on messages"),
                "{text}"
            );
            assert!(text.contains("author_id = "), "{text}");
            for bad in ["Seq Scan", "Bitmap", "Sort", "WindowAgg"] {
                assert!(!text.contains(bad), "{bad}: {text}");
            }
        }
    }
}

kit::on_both_backends!(
    latest_reads_each_author_from_the_index,
    pages_read_from_the_index_for_every_cursor,
    latest_splits_long_author_lists_into_several_statements,
);

async fn latest_reads_each_author_from_the_index(database_url: &str) {
    let store = demo_store(database_url).await;
    let backend = store.db().backend();
    for (count, per_author) in [(1, 1), (100, 3), (500, 10)] {
        let plan = store
            .explain_latest(&authors(1..=count), per_author)
            .await
            .unwrap();
        assert_index_only(backend, &plan);
        // Per author: the index walk runs once for each row of the VALUES list.
        let per_author_walk = match backend {
            Backend::Sqlite => "CORRELATED LIST SUBQUERY",
            Backend::Postgres => "Nested Loop",
        };
        if count > 1 {
            assert!(
                plan.iter().any(|l| l.contains(per_author_walk)),
                "{plan:#?}"
            );
        }
    }
}

async fn pages_read_from_the_index_for_every_cursor(database_url: &str) {
    let store = demo_store(database_url).await;
    let backend = store.db().backend();
    let at = |id: i64| {
        Cursor::OlderThan(
            kit::timestamp::Timestamp::from_micros(0),
            MessageId::new(id),
        )
    };
    for cursor in [
        Cursor::Newest,
        at(5000),
        Cursor::BelowId(MessageId::new(5000)),
    ] {
        let plan = store
            .explain_page(UserId::new(7), cursor, 51)
            .await
            .unwrap();
        assert_index_only(backend, &plan);
    }
}

async fn latest_splits_long_author_lists_into_several_statements(database_url: &str) {
    let store = demo_store(database_url).await;
    // More authors than one statement names; most of them have no messages.
    let many = authors(1..=super::AUTHORS_PER_QUERY as i64 + 1200);
    let found = store.latest(&many, 2).await.unwrap();
    assert_eq!(
        found.len(),
        80,
        "two for each of the 40 authors with messages"
    );
    let world = World::new(SPEC.parse().unwrap());
    let mut of_7: Vec<_> = world.messages().filter(|m| m.author_id == 7).collect();
    of_7.sort_by_key(|m| std::cmp::Reverse((m.created_at, m.id)));
    let want: BTreeSet<i64> = of_7.iter().take(2).map(|m| m.id).collect();
    let got: BTreeSet<i64> = found
        .iter()
        .filter(|m| m.author_id == UserId::new(7))
        .map(|m| m.id.get())
        .collect();
    assert_eq!(got, want);
    assert!(store.latest(&[], 2).await.unwrap().is_empty());
}

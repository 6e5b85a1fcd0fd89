//! The friends feed, and the friends service following the users feed: the cascade of a
//! deleted user, the refusal of unknown users, and a restart that neither loses nor repeats.

use std::time::Duration;

use kit::feed::nats::Bus;
use kit::test_util::{change_position, changes, eventually};
use serde_json::{Value, json};

use crate::helpers::{
    assert_problem, create_user, spawn_app, spawn_following, spawn_following_waiting, spawn_users,
};

/// How long a cascade may take to show.
const CASCADE: Duration = Duration::from_secs(10);

fn kinds(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["type"].as_str().unwrap(),
                e["subject"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn each_write_is_an_event_at_the_position_it_answers_with() {
    let app = spawn_app("sqlite::memory:", None).await;
    let base = app.url("");

    let put = app.put("/users/17/friends/3").await;
    assert_eq!(put.status(), 204);
    let (source, seq) = change_position(&put);
    assert_eq!(source, "friends");
    let events = changes(&app.client, &base).await;
    assert_eq!(kinds(&events), ["friendship.upserted 3-17"]);
    assert_eq!(events[0]["seq"], seq);
    assert_eq!(events[0]["data"], json!({"user_id": 3, "friend_id": 17}));

    // Already friends: no new event, the answer names the pair's event.
    let again = app.put("/users/3/friends/17").await;
    assert_eq!(again.status(), 204);
    assert_eq!(change_position(&again), ("friends".to_owned(), seq));
    assert_eq!(changes(&app.client, &base).await.len(), 1);

    let removed = app.delete("/users/3/friends/17").await;
    assert_eq!(removed.status(), 204);
    let (_, removed_seq) = change_position(&removed);
    assert!(removed_seq > seq);
    let events = changes(&app.client, &base).await;
    assert_eq!(kinds(&events), ["friendship.deleted 3-17"]);
    assert_eq!(events[0]["seq"], removed_seq);
    assert!(events[0].get("data").is_none());

    let missing = app.delete("/users/3/friends/17").await;
    assert_eq!(missing.status(), 404);
    assert!(missing.headers().get("x-change-position").is_none());
}

#[tokio::test]
async fn the_demo_fill_records_its_friendships_as_replicated_from_demo() {
    let spec = "users=30,friends=4,messages=0";
    let app = spawn_app("sqlite::memory:", Some(spec)).await;
    let events = changes(&app.client, &app.url("")).await;
    let world = kit::demo::World::new(spec.parse().unwrap());
    let pairs = world.friendships();
    assert!(!pairs.is_empty());
    assert_eq!(events.len(), pairs.len());
    for event in &events {
        assert_eq!(event["type"], "friendship.upserted");
        assert_eq!(event["origin"], "demo");
        assert_eq!(event["version"], kit::demo::FRIENDSHIP_VERSION);
        let (low, high) = (
            event["data"]["user_id"].as_i64().unwrap(),
            event["data"]["friend_id"].as_i64().unwrap(),
        );
        assert!(low < high);
        assert_eq!(event["subject"], format!("{low}-{high}"));
        assert!(pairs.contains(&(low, high)), "{event}");
    }
}

/// The same checks over either transport of the users feed, on the database at `url`.
async fn a_deleted_user_takes_their_friendships(url: &str, bus: Option<Bus>) {
    let users = spawn_users(bus.clone()).await;
    let friends = spawn_following(url, &users.url(""), bus.clone()).await;
    let (a, b, c) = (
        create_user(&users, "A").await,
        create_user(&users, "B").await,
        create_user(&users, "C").await,
    );
    // Users created a moment ago are waited for, not refused.
    friends.befriend(a, b).await;
    friends.befriend(c, a).await;
    friends.befriend(b, c).await;

    // Unknown users are refused as the monolith refuses them: the first missing one named.
    let body = assert_problem(
        friends.put(&format!("/users/{a}/friends/999")).await,
        404,
        "not-found",
    )
    .await;
    assert_eq!(body["detail"], "no user with id 999");
    let body = assert_problem(
        friends.put("/users/998/friends/999").await,
        404,
        "not-found",
    )
    .await;
    assert_eq!(body["detail"], "no user with id 998");
    assert_eq!(friends.friend_ids(a).await, [b, c]);

    let deleted = users.delete(&format!("/users/{a}")).await;
    assert_eq!(deleted.status(), 204);
    eventually("a's friendships deleted", CASCADE, || async {
        (friends.friend_ids(a).await.is_empty()).then_some(())
    })
    .await;
    assert_eq!(friends.friend_ids(b).await, [c]);
    assert_eq!(friends.friend_ids(c).await, [b]);
    let events = changes(&friends.client, &friends.url("")).await;
    let mut seen = kinds(&events);
    seen.sort();
    let pair = |x: i64, y: i64| format!("{}-{}", x.min(y), x.max(y));
    let mut expected = vec![
        format!("friendship.deleted {}", pair(a, b)),
        format!("friendship.deleted {}", pair(a, c)),
        format!("friendship.upserted {}", pair(b, c)),
    ];
    expected.sort();
    assert_eq!(seen, expected);

    // The deleted user is no longer known.
    let body = assert_problem(
        friends.put(&format!("/users/{b}/friends/{a}")).await,
        404,
        "not-found",
    )
    .await;
    assert_eq!(body["detail"], format!("no user with id {a}"));

    // The follower shows on /metrics with its transport.
    let transport = if bus.is_some() { "nats" } else { "http" };
    let metrics = friends.get("/metrics").await.text().await.unwrap();
    let labels = format!(r#"{{consumer="friends",source="users",transport="{transport}"}}"#);
    for name in [
        "feed_consumer_position",
        "feed_consumer_lag_events",
        "feed_consumer_lag_seconds",
    ] {
        assert!(
            metrics.contains(&format!("{name}{labels}")),
            "{name} in {metrics}"
        );
    }
    if let Some(bus) = bus {
        let _ = bus.delete_stream("users").await;
        let _ = bus.delete_stream("friends").await;
    }
}

#[tokio::test]
async fn a_deleted_user_takes_their_friendships_over_http() {
    a_deleted_user_takes_their_friendships("sqlite::memory:", None).await;
}

#[tokio::test]
async fn a_deleted_user_takes_their_friendships_on_postgres() {
    let Some(db) = kit::test_util::postgres().await else {
        eprintln!("TEST_POSTGRES_URL unset: PostgreSQL run skipped");
        return;
    };
    a_deleted_user_takes_their_friendships(&db.url, None).await;
}

#[tokio::test]
async fn a_deleted_user_takes_their_friendships_over_jetstream() {
    let Some(bus) = kit::test_util::nats_bus().await else {
        eprintln!("TEST_NATS_URL unset: JetStream run skipped");
        return;
    };
    a_deleted_user_takes_their_friendships("sqlite::memory:", Some(bus)).await;
}

/// Over HTTP a user the users feed does not hold is refused once the follower has confirmed
/// the feed's head, without waiting out the wait meant for users created a moment ago.
#[tokio::test]
async fn an_unknown_user_is_refused_without_waiting_out_the_wait() {
    let users = spawn_users(None).await;
    let hour = std::time::Duration::from_secs(3600);
    let friends = spawn_following_waiting("sqlite::memory:", &users.url(""), None, hour).await;
    let a = create_user(&users, "A").await;
    for _ in 0..3 {
        // Created just before the write that names them: accepted.
        let b = create_user(&users, "B").await;
        friends.befriend(a, b).await;
        // Never created: refused long before the hour is up.
        let refused = tokio::time::timeout(
            std::time::Duration::from_secs(60),
            friends.put(&format!("/users/{a}/friends/99999")),
        )
        .await
        .expect("refused without waiting out the hour");
        let body = assert_problem(refused, 404, "not-found").await;
        assert_eq!(body["detail"], "no user with id 99999");
    }
}

#[tokio::test]
async fn a_restart_resumes_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("friends.db").display());
    let users = spawn_users(None).await;
    let [a, b, c, d] = [
        create_user(&users, "A").await,
        create_user(&users, "B").await,
        create_user(&users, "C").await,
        create_user(&users, "D").await,
    ];
    let friends = spawn_following(&database, &users.url(""), None).await;
    friends.befriend(a, b).await;
    friends.befriend(c, d).await;
    friends.befriend(b, d).await;
    assert_eq!(users.delete(&format!("/users/{a}")).await.status(), 204);
    eventually("a's friendships deleted", CASCADE, || async {
        friends.friend_ids(b).await.eq(&[d]).then_some(())
    })
    .await;
    let stored = friends
        .store
        .feed()
        .position(friends::CONSUMER)
        .await
        .unwrap();
    assert!(stored > 0, "the position is stored");
    let head_before = changes(&friends.client, &friends.url("")).await;
    drop(friends);

    // While the friends service is down: a deletion and a new user.
    assert_eq!(users.delete(&format!("/users/{c}")).await.status(), 204);
    let e = create_user(&users, "E").await;

    let friends = spawn_following(&database, &users.url(""), None).await;
    eventually(
        "c's friendships deleted after the restart",
        CASCADE,
        || async { friends.friend_ids(d).await.eq(&[b]).then_some(()) },
    )
    .await;
    assert!(
        friends
            .store
            .feed()
            .position(friends::CONSUMER)
            .await
            .unwrap()
            > stored
    );
    // Known users survived the restart, and the one created meanwhile is known too.
    friends.befriend(e, b).await;
    assert_eq!(friends.friend_ids(b).await, [d, e]);
    // Exactly the new changes after the restart: c-d's deletion and b-e; nothing again.
    let events = changes(&friends.client, &friends.url("")).await;
    let last_before = head_before
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .max()
        .unwrap();
    let newer: Vec<String> = kinds(
        &events
            .iter()
            .filter(|e| e["seq"].as_u64().unwrap() > last_before)
            .cloned()
            .collect::<Vec<_>>(),
    );
    let pair = |x: i64, y: i64| format!("{}-{}", x.min(y), x.max(y));
    assert_eq!(
        newer,
        [
            format!("friendship.deleted {}", pair(c, d)),
            format!("friendship.upserted {}", pair(b, e)),
        ]
    );
    assert_eq!(
        events.last().unwrap()["seq"].as_u64().unwrap(),
        last_before + 2
    );
}

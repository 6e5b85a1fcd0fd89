//! The profile cache against an in-process users service, under paused (virtual) time:
//! TTLs, stale windows, stalls and deadlines pass in tokio time, exactly and instantly.

use std::sync::Arc;
use std::time::Duration;

use kit::ids::UserId;
use timeline::clients::Propagate;
use timeline::domain::{Lookup, Profile};
use timeline::metrics::Metrics;
use timeline::profiles::{CacheConfig, Profiles};
use tokio::time::Instant;

use crate::fakes::FakeUsers;

const STALE_FOR: Duration = Duration::from_secs(600);

fn profiles(users: &Arc<FakeUsers>, ttl: Duration, metrics: &Metrics) -> Profiles {
    let config = CacheConfig {
        capacity: 10_000,
        ttl,
        stale_for: STALE_FOR,
    };
    Profiles::new(config, users.clone(), 4, metrics.clone())
}

fn ids(range: std::ops::RangeInclusive<i64>) -> Vec<UserId> {
    range.map(UserId::new).collect()
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(5)
}

fn found(id: i64) -> Lookup {
    Lookup::Found(Arc::new(Profile {
        id: UserId::new(id),
        name: format!("user {id}"),
        avatar_url: None,
    }))
}

#[tokio::test(start_paused = true)]
async fn concurrent_misses_for_the_same_ids_cost_one_load_per_profile() {
    let users = Arc::new(FakeUsers::new(1..=1200));
    // Answers that take a while make the concurrent lookups overlap the load in flight.
    users.stall(Duration::from_millis(50));
    let metrics = Metrics::new();
    let profiles = profiles(&users, Duration::from_secs(60), &metrics);
    let wanted = ids(1..=1200);
    let lookups = (0..20).map(|_| {
        let profiles = profiles.clone();
        let wanted = wanted.clone();
        tokio::spawn(async move {
            profiles
                .resolve(&wanted, &Propagate::default(), soon())
                .await
        })
    });
    for lookup in lookups {
        let resolved = lookup.await.unwrap();
        assert_eq!(resolved.lookups.len(), 1200);
        assert!(!resolved.users_failed);
        assert!(matches!(
            resolved.lookups[&UserId::new(7)],
            Lookup::Found { .. }
        ));
    }
    assert_eq!(users.ids_asked(), 1200, "each profile loaded once");
    assert_eq!(users.requests(), 3, "in chunks of at most 500 ids");
    assert!(
        metrics
            .encode()
            .contains("timeline_profile_loads_total 1200")
    );
}

#[tokio::test(start_paused = true)]
async fn fresh_within_the_ttl() {
    let users = Arc::new(FakeUsers::new(1..=10));
    let metrics = Metrics::new();
    let ttl = Duration::from_secs(60);
    let profiles = profiles(&users, ttl, &metrics);
    let first = profiles
        .resolve(&ids(1..=10), &Propagate::default(), soon())
        .await;
    assert_eq!((first.hits, first.misses), (0, 10));
    tokio::time::advance(ttl - Duration::from_millis(1)).await;
    let again = profiles
        .resolve(&ids(1..=10), &Propagate::default(), soon())
        .await;
    assert_eq!((again.hits, again.misses), (10, 0));
    assert_eq!(users.ids_asked(), 10, "the second lookup asked nothing");
}

#[tokio::test(start_paused = true)]
async fn never_served_as_fresh_past_the_ttl() {
    let users = Arc::new(FakeUsers::new(1..=10));
    let metrics = Metrics::new();
    let ttl = Duration::from_millis(50);
    let profiles = profiles(&users, ttl, &metrics);
    profiles
        .resolve(&ids(1..=10), &Propagate::default(), soon())
        .await;
    tokio::time::advance(ttl).await;
    let expired = profiles
        .resolve(&ids(1..=10), &Propagate::default(), soon())
        .await;
    assert_eq!(expired.hits, 0);
    assert!(
        !expired.stale_served,
        "users answered, so nothing stale was shown"
    );
    assert_eq!(users.ids_asked(), 20, "reloaded");
}

#[tokio::test(start_paused = true)]
async fn deleted_users_are_missing_and_the_cache_remembers_it() {
    let users = Arc::new(FakeUsers::new([1, 2]));
    let metrics = Metrics::new();
    let profiles = profiles(&users, Duration::from_secs(60), &metrics);
    let resolved = profiles
        .resolve(&ids(1..=3), &Propagate::default(), soon())
        .await;
    assert_eq!(resolved.lookups[&UserId::new(3)], Lookup::Missing);
    let again = profiles
        .resolve(&ids(3..=3), &Propagate::default(), soon())
        .await;
    assert_eq!(again.lookups[&UserId::new(3)], Lookup::Missing);
    assert_eq!(users.ids_asked(), 3);
}

#[tokio::test(start_paused = true)]
async fn stale_profiles_are_served_when_users_fails() {
    let users = Arc::new(FakeUsers::new(1..=5));
    let metrics = Metrics::new();
    let ttl = Duration::from_millis(50);
    let profiles = profiles(&users, ttl, &metrics);
    profiles
        .resolve(&ids(1..=5), &Propagate::default(), soon())
        .await;
    tokio::time::advance(ttl * 2).await;
    users.fail();

    let resolved = profiles
        .resolve(&ids(1..=6), &Propagate::default(), soon())
        .await;
    assert!(resolved.users_failed);
    assert!(resolved.stale_served);
    assert_eq!(
        resolved.lookups[&UserId::new(1)],
        found(1),
        "stale beats absent"
    );
    assert_eq!(
        resolved.lookups[&UserId::new(6)],
        Lookup::Unknown,
        "never cached"
    );
}

#[tokio::test(start_paused = true)]
async fn never_served_past_the_stale_window() {
    let users = Arc::new(FakeUsers::new(1..=5));
    let metrics = Metrics::new();
    let ttl = Duration::from_millis(50);
    let profiles = profiles(&users, ttl, &metrics);
    profiles
        .resolve(&ids(1..=5), &Propagate::default(), soon())
        .await;
    users.fail();

    tokio::time::advance(ttl + STALE_FOR - Duration::from_millis(1)).await;
    let last_moment = profiles
        .resolve(&ids(1..=1), &Propagate::default(), soon())
        .await;
    assert!(last_moment.stale_served);
    assert_eq!(last_moment.lookups[&UserId::new(1)], found(1));

    tokio::time::advance(Duration::from_millis(1)).await;
    let past = profiles
        .resolve(&ids(1..=1), &Propagate::default(), soon())
        .await;
    assert!(past.users_failed);
    assert!(!past.stale_served, "nothing stale is left to stand in");
    assert_eq!(past.lookups[&UserId::new(1)], Lookup::Unknown);
}

#[tokio::test(start_paused = true)]
async fn a_stalled_users_service_costs_no_more_than_the_deadline() {
    let users = Arc::new(FakeUsers::new(1..=5));
    let stall = Duration::from_secs(5);
    users.stall(stall);
    let metrics = Metrics::new();
    let profiles = profiles(&users, Duration::from_secs(60), &metrics);
    let started = Instant::now();
    let deadline = started + Duration::from_millis(200);
    let resolved = profiles
        .resolve(&ids(1..=5), &Propagate::default(), deadline)
        .await;
    // tokio's timers tick in milliseconds: virtual time stops within one tick of the
    // deadline, nowhere near the 5 s users would take.
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(200) && waited < Duration::from_millis(201),
        "gave up at the deadline: {waited:?}"
    );
    assert!(resolved.users_failed);
    assert_eq!(resolved.lookups[&UserId::new(1)], Lookup::Unknown);

    // The load goes on without the request, and fills the cache when users answers.
    tokio::time::sleep_until(started + stall + Duration::from_millis(1)).await;
    let later = profiles
        .resolve(&ids(1..=5), &Propagate::default(), soon())
        .await;
    assert_eq!((later.hits, later.misses), (5, 0));
    assert_eq!(users.requests(), 1);
}

#[tokio::test(start_paused = true)]
async fn ttl_zero_turns_the_cache_off() {
    let users = Arc::new(FakeUsers::new(1..=4));
    let metrics = Metrics::new();
    let profiles = profiles(&users, Duration::ZERO, &metrics);
    for _ in 0..3 {
        let resolved = profiles
            .resolve(&ids(1..=4), &Propagate::default(), soon())
            .await;
        assert_eq!(resolved.hits, 0);
    }
    assert_eq!(users.ids_asked(), 12);
}

fn renamed(id: i64) -> Arc<Profile> {
    Arc::new(Profile {
        id: UserId::new(id),
        name: format!("renamed {id}"),
        avatar_url: None,
    })
}

#[tokio::test(start_paused = true)]
async fn the_users_feed_replaces_a_cached_profile_at_once() {
    let users = Arc::new(FakeUsers::new(1..=3));
    let metrics = Metrics::new();
    let profiles = profiles(&users, Duration::from_secs(60), &metrics);
    profiles
        .resolve(&ids(1..=3), &Propagate::default(), soon())
        .await;
    tokio::time::advance(Duration::from_secs(30)).await;
    profiles.learn(UserId::new(2), Some(renamed(2)));
    profiles.learn(UserId::new(3), None);
    // Past the TTL of the first load, still within the TTL of what the feed said.
    tokio::time::advance(Duration::from_secs(40)).await;
    let resolved = profiles
        .resolve(&ids(2..=3), &Propagate::default(), soon())
        .await;
    assert_eq!((resolved.hits, resolved.misses), (2, 0));
    assert_eq!(resolved.lookups[&UserId::new(2)], Lookup::Found(renamed(2)));
    assert_eq!(
        resolved.lookups[&UserId::new(3)],
        Lookup::Missing,
        "deleted"
    );
    assert_eq!(users.ids_asked(), 3, "nothing asked again");
}

#[tokio::test(start_paused = true)]
async fn learning_of_a_profile_not_cached_caches_nothing() {
    let users = Arc::new(FakeUsers::new(1..=3));
    let metrics = Metrics::new();
    let profiles = profiles(&users, Duration::from_secs(60), &metrics);
    profiles.learn(UserId::new(1), Some(renamed(1)));
    let resolved = profiles
        .resolve(&ids(1..=1), &Propagate::default(), soon())
        .await;
    assert_eq!(resolved.misses, 1);
    assert_eq!(
        resolved.lookups[&UserId::new(1)],
        found(1),
        "the users service's answer"
    );
}

#[tokio::test(start_paused = true)]
async fn a_load_in_flight_does_not_overwrite_what_the_feed_said() {
    let users = Arc::new(FakeUsers::new(1..=3));
    users.stall(Duration::from_millis(50));
    let metrics = Metrics::new();
    let profiles = profiles(&users, Duration::from_secs(60), &metrics);
    let loading = {
        let profiles = profiles.clone();
        tokio::spawn(async move {
            profiles
                .resolve(&ids(1..=1), &Propagate::default(), soon())
                .await
        })
    };
    // The load is on its way (answered from before the change) when the feed tells of it.
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(users.requests(), 1);
    profiles.learn(UserId::new(1), Some(renamed(1)));
    let first = loading.await.unwrap();
    assert_eq!(
        first.lookups[&UserId::new(1)],
        found(1),
        "what the load read"
    );
    let after = profiles
        .resolve(&ids(1..=1), &Propagate::default(), soon())
        .await;
    assert_eq!(after.hits, 1);
    assert_eq!(after.lookups[&UserId::new(1)], Lookup::Found(renamed(1)));
}

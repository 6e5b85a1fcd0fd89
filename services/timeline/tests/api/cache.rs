//! The profile cache against a controllable users service.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use kit::ids::UserId;
use timeline::clients::{Downstream, Propagate};
use timeline::domain::{Lookup, Profile};
use timeline::metrics::{Metrics, Service};
use timeline::profiles::{CacheConfig, Profiles};
use tokio::time::Instant;

use crate::fakes::FakeUsers;

fn profiles(users: &FakeUsers, ttl: Duration, metrics: &Metrics) -> Profiles {
    let downstream = Downstream::new(
        Service::Users,
        &users.url(),
        Duration::from_millis(250),
        Duration::from_millis(800),
        metrics.clone(),
    )
    .unwrap();
    let config = CacheConfig {
        capacity: 10_000,
        ttl,
        stale_for: Duration::from_secs(600),
    };
    Profiles::new(config, downstream, 4, metrics.clone())
}

fn ids(range: std::ops::RangeInclusive<i64>) -> Vec<UserId> {
    range.map(UserId::new).collect()
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(5)
}

#[tokio::test]
async fn concurrent_misses_for_the_same_ids_cost_one_load_per_profile() {
    let users = FakeUsers::start(1..=1200).await;
    // Slow answers make the concurrent lookups overlap the load in flight.
    users.behaviour.stall_ms.store(50, Ordering::SeqCst);
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

#[tokio::test]
async fn fresh_within_the_ttl() {
    let users = FakeUsers::start(1..=10).await;
    let metrics = Metrics::new();
    let profiles = profiles(&users, Duration::from_secs(60), &metrics);
    let first = profiles
        .resolve(&ids(1..=10), &Propagate::default(), soon())
        .await;
    assert_eq!((first.hits, first.misses), (0, 10));
    let again = profiles
        .resolve(&ids(1..=10), &Propagate::default(), soon())
        .await;
    assert_eq!((again.hits, again.misses), (10, 0));
    assert_eq!(users.ids_asked(), 10, "the second lookup asked nothing");
}

#[tokio::test]
async fn never_served_as_fresh_past_the_ttl() {
    let users = FakeUsers::start(1..=10).await;
    let metrics = Metrics::new();
    let ttl = Duration::from_millis(50);
    let profiles = profiles(&users, ttl, &metrics);
    profiles
        .resolve(&ids(1..=10), &Propagate::default(), soon())
        .await;
    tokio::time::sleep(ttl * 2).await;
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

#[tokio::test]
async fn deleted_users_are_missing_and_the_cache_remembers_it() {
    let users = FakeUsers::start([1, 2]).await;
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

#[tokio::test]
async fn stale_profiles_are_served_when_users_fails() {
    let users = FakeUsers::start(1..=5).await;
    let metrics = Metrics::new();
    let ttl = Duration::from_millis(50);
    let profiles = profiles(&users, ttl, &metrics);
    profiles
        .resolve(&ids(1..=5), &Propagate::default(), soon())
        .await;
    tokio::time::sleep(ttl * 2).await;
    users.behaviour.failing.store(true, Ordering::SeqCst);

    let resolved = profiles
        .resolve(&ids(1..=6), &Propagate::default(), soon())
        .await;
    assert!(resolved.users_failed);
    assert!(resolved.stale_served);
    assert_eq!(
        resolved.lookups[&UserId::new(1)],
        Lookup::Found(Arc::new(Profile {
            id: UserId::new(1),
            name: "user 1".into(),
            avatar_url: None
        })),
        "stale beats absent"
    );
    assert_eq!(
        resolved.lookups[&UserId::new(6)],
        Lookup::Unknown,
        "never cached"
    );
}

#[tokio::test]
async fn a_stalled_users_service_costs_no_more_than_the_deadline() {
    let users = FakeUsers::start(1..=5).await;
    users.behaviour.stall_ms.store(5_000, Ordering::SeqCst);
    let metrics = Metrics::new();
    let profiles = profiles(&users, Duration::from_secs(60), &metrics);
    let started = Instant::now();
    let deadline = started + Duration::from_millis(200);
    let resolved = profiles
        .resolve(&ids(1..=5), &Propagate::default(), deadline)
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "gave up at the deadline"
    );
    assert!(resolved.users_failed);
    assert_eq!(resolved.lookups[&UserId::new(1)], Lookup::Unknown);
}

#[tokio::test]
async fn ttl_zero_turns_the_cache_off() {
    let users = FakeUsers::start(1..=4).await;
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

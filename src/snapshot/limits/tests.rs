use std::time::Duration;

use governor::clock::FakeRelativeClock;

use super::*;

fn limit(count: u32, burst: u32) -> RateLimit {
    RateLimit {
        by: LimitBy::Address,
        count,
        per: Duration::from_secs(1),
        burst,
    }
}

fn ip(n: u32) -> ClientKey {
    ClientKey::address(IpAddr::from(n.to_be_bytes()))
}

#[test]
fn a_burst_then_refusals_until_the_rate_refills() {
    let clock = FakeRelativeClock::default();
    let limiter = Limiter::with_clock(&limit(2, 4), 100, clock.clone());
    let key = ip(1);
    for left in (0..4).rev() {
        match limiter.check(&key) {
            Decision::Allowed { remaining, .. } => assert_eq!(remaining, left),
            refused => panic!("{refused:?}"),
        }
    }
    assert_eq!(
        limiter.check(&key),
        Decision::Refused {
            retry_after_secs: 1
        }
    );
    // Another client has its own allowance.
    assert!(matches!(limiter.check(&ip(2)), Decision::Allowed { .. }));
    clock.advance(Duration::from_millis(500));
    assert!(matches!(
        limiter.check(&key),
        Decision::Allowed { remaining: 0, .. }
    ));
    assert!(matches!(limiter.check(&key), Decision::Refused { .. }));
}

#[test]
fn a_hundred_thousand_clients_stay_under_the_cap_and_are_pruned_when_idle() {
    let clock = FakeRelativeClock::default();
    let cap = MAX_CLIENTS;
    let limiter = Limiter::with_clock(&limit(20, 40), cap, clock.clone());
    // A heavy caller uses its whole burst first.
    let heavy = ClientKey::Subject("heavy".into());
    while matches!(limiter.check(&heavy), Decision::Allowed { .. }) {}
    let mut most = 0;
    for n in 0..100_000 {
        assert!(matches!(limiter.check(&ip(n)), Decision::Allowed { .. }));
        most = most.max(limiter.len());
    }
    assert!(most <= cap, "{most} clients held, cap {cap}");
    assert!(limiter.len() > cap / 2, "the store is used, not emptied");
    // Eviction took those that had used the least: the heavy caller is still limited.
    assert!(matches!(limiter.check(&heavy), Decision::Refused { .. }));
    // Once every client's allowance has refilled, their state is that of a stranger.
    clock.advance(Duration::from_secs(3));
    limiter.prune();
    assert_eq!(limiter.len(), 0);
}

#[test]
fn ipv6_clients_are_their_64_prefix() {
    let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
    let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
    let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
    assert_eq!(ClientKey::address(a), ClientKey::address(b));
    assert_ne!(ClientKey::address(a), ClientKey::address(c));
    let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
    assert_eq!(
        ClientKey::address(mapped),
        ClientKey::address("10.0.0.1".parse().unwrap())
    );
}

#[test]
fn the_headers_follow_the_draft_syntax() {
    let limiter = Limiter::with_clock(&limit(20, 40), 10, FakeRelativeClock::default());
    assert_eq!(limiter.policy_header(), "\"address\";q=40;w=2");
    let decision = limiter.check(&ip(1));
    assert_eq!(limiter.state_header(decision), "\"address\";r=39;t=1");
    let refused = Decision::Refused {
        retry_after_secs: 3,
    };
    assert_eq!(limiter.state_header(refused), "\"address\";r=0;t=3");
}

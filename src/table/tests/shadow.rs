//! `shadow:` of a route: defaults, and every refusal at its line and column.

use std::time::Duration;

use super::*;
use crate::table::shadow::{DEFAULT_MAX_IN_FLIGHT, DEFAULT_NOISE_SAMPLE, DEFAULT_TIMEOUT};

#[test]
fn a_shadow_compiles_with_its_defaults() {
    let t = table("  - path: '/users/{id}'\n    to: monolith\n    shadow: {to: users}\n");
    let shadow = t.routes()[0].shadow.as_ref().unwrap();
    assert_eq!(&*t.upstream(shadow.upstream).name, "users");
    assert_eq!(shadow.percent, 100);
    assert!(shadow.compare);
    assert!(shadow.ignore.is_empty());
    assert_eq!(shadow.timeout, DEFAULT_TIMEOUT);
    assert_eq!(shadow.max_in_flight, DEFAULT_MAX_IN_FLIGHT);
    assert_eq!(shadow.noise_sample, DEFAULT_NOISE_SAMPLE);

    let t = table(
        "  - path: '/users/{id}'
    methods: [GET, POST]
    to: monolith
    shadow: {to: users, percent: 25, compare: false, ignore: ['/generated_at', '/items/*/at'],
             timeout: 250ms, max_in_flight: 8, noise_sample: 0}
",
    );
    let shadow = t.routes()[0].shadow.as_ref().unwrap();
    assert_eq!(shadow.percent, 25);
    assert!(!shadow.compare);
    let ignore: Vec<&str> = shadow.ignore.iter().map(|p| p.source()).collect();
    assert_eq!(ignore, ["/generated_at", "/items/*/at"]);
    assert_eq!(shadow.timeout, Duration::from_millis(250));
    assert_eq!(shadow.max_in_flight, 8);
    assert_eq!(shadow.noise_sample, 0);
}

#[test]
fn a_route_of_writes_only_cannot_have_a_shadow() {
    let e = route_errors(
        "  - path: /users
    methods: [POST, PUT]
    to: monolith
    shadow: {to: users}
",
    );
    assert_eq!(
        e,
        [
            "10:13: shadow: the route serves only POST,PUT; only GET and HEAD are ever shadowed, so the shadow would get nothing"
        ]
    );
}

#[test]
fn the_shadow_is_a_known_upstream_other_than_the_primary() {
    let e = route_errors(
        "  - {path: /a, to: monolith, shadow: {to: userz}}
  - {path: /b, to: users, shadow: {to: users}}
  - {path: /c, split: {users: 1, monolith: 1}, shadow: {to: monolith}}
",
    );
    assert_eq!(
        e,
        [
            "7:43: shadow.to: unknown upstream `userz`; defined upstreams: friends, messages, monolith, users",
            "8:40: shadow.to: `users` already serves this route; a shadow must be another upstream",
            "9:61: shadow.to: `monolith` already serves this route; a shadow must be another upstream",
        ]
    );
}

#[test]
fn bad_percentages_pointers_and_limits_are_refused_together() {
    let e = route_errors(
        "  - path: /a
    to: monolith
    shadow:
      to: users
      percent: 101
      noise_sample: 250
      max_in_flight: 0
      timeout: soon
      ignore: ['/ok', generated_at, '/a~2', '']
",
    );
    assert_eq!(e.len(), 7, "{e:?}");
    assert_eq!(e[0], "11:16: shadow.percent: 101 is outside 0..=100");
    assert_eq!(e[1], "12:21: shadow.noise_sample: 250 is outside 0..=100");
    assert_eq!(e[2], "13:22: shadow.max_in_flight: 0 is outside 1..=65536");
    assert!(
        e[3].starts_with("14:16: shadow.timeout: `soon` is not a duration"),
        "{e:?}"
    );
    assert_eq!(
        e[4],
        "15:23: shadow.ignore: `generated_at` is not a JSON pointer: it must start with `/` (e.g. `/generated_at`)"
    );
    assert!(
        e[5].starts_with("15:37: shadow.ignore: `/a~2` is not a JSON pointer"),
        "{e:?}"
    );
    assert!(
        e[6].starts_with("15:45: shadow.ignore: `\"\"` would ignore the whole body"),
        "{e:?}"
    );
    let e = route_errors("  - {path: /a, to: monolith, shadow: {to: users, percent: -1}}\n");
    assert!(e[0].starts_with("7:"), "{e:?}");
    let e = route_errors("  - {path: /a, to: monolith, shadow: {to: users, mirror: true}}\n");
    assert!(e[0].contains("unknown field `mirror`"), "{e:?}");
}

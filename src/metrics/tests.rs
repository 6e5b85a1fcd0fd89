use std::time::Duration;

use http::{HeaderMap, Method};
use prometheus_client::registry::Registry;

use super::*;
use crate::table::{self, Overrides, Resolution};

fn table(routes: &str) -> RouteTable {
    let text = format!(
        "upstreams:\n  users: {{url: 'http://127.0.0.1:8081'}}\n  monolith: {{url: 'http://127.0.0.1:8085'}}\nroutes:\n{routes}"
    );
    table::parse(&text, &Overrides::default()).unwrap().table
}

fn encoded(metrics: &Metrics) -> String {
    let mut registry = Registry::default();
    metrics.register(&mut registry);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    text
}

#[test]
fn a_request_is_counted_under_its_route_pattern_never_its_path() {
    let metrics = Metrics::default();
    let t = table("  - {path: '/users/{id}', to: users}\n");
    let m = metrics.for_table(&t);
    let get = MethodSlot::of(&Method::GET);
    for _ in 0..3 {
        m.route(0)
            .side(t.routes()[0].sides().first().map(|s| s.0))
            .record(get, 200, Duration::from_millis(2));
    }
    m.unmatched()
        .side(None)
        .record(MethodSlot::of(&Method::POST), 404, Duration::ZERO);
    let text = encoded(&metrics);
    assert!(
        text.contains(r#"gateway_requests_total{route="/users/{id}",upstream="users",method="GET",class="2xx"} 3"#),
        "{text}"
    );
    assert!(
        text.contains(
            r#"gateway_requests_total{route="none",upstream="none",method="POST",class="4xx"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"gateway_request_duration_seconds_count{route="/users/{id}",upstream="users"} 3"#
        ),
        "{text}"
    );
}

#[test]
fn counts_carry_over_to_the_next_table_and_extension_methods_share_one_label() {
    let metrics = Metrics::default();
    let first = metrics.for_table(&table("  - {path: /a, to: users}\n"));
    let ext = Method::from_bytes(b"PURGE").unwrap();
    first
        .route(0)
        .side(None)
        .record(MethodSlot::of(&ext), 204, Duration::ZERO);
    // A reload: a new table with the same route (now second) and another before it.
    let second = metrics.for_table(&table(
        "  - {path: /b, to: users}\n  - {path: /a, to: users}\n",
    ));
    let a = second.route(1).side(None);
    a.record(MethodSlot::of(&ext), 299, Duration::ZERO);
    assert_eq!(a.totals().requests, 2);
    let text = encoded(&metrics);
    assert!(
        text.contains(
            r#"gateway_requests_total{route="/a",upstream="users",method="OTHER",class="2xx"} 2"#
        ),
        "{text}"
    );
}

#[test]
fn totals_split_client_and_server_errors() {
    let metrics = Metrics::default();
    let m = metrics.for_table(&table("  - {path: /a, to: users}\n"));
    let side = m.route(0).side(None);
    let get = MethodSlot::of(&Method::GET);
    for status in [200, 201, 404, 429, 502, 504, 504, 999] {
        side.record(get, status, Duration::ZERO);
    }
    assert_eq!(
        side.totals(),
        SideTotals {
            requests: 8,
            client_errors: 2,
            server_errors: 4
        }
    );
}

#[test]
fn split_decisions_say_whether_the_key_was_there() {
    let t = table(
        "  - {path: '/users/{id}', split: {users: 1, monolith: 1}, sticky: {header: x-user}}\n  - {path: /plain, split: {users: 1, monolith: 1}}\n  - {path: /one, to: users}\n",
    );
    let mut keyed = HeaderMap::new();
    keyed.insert("x-user", "7".parse().unwrap());
    let routes = t.routes();
    let sticky = routes
        .iter()
        .find(|r| r.pattern.source() == "/users/{id}")
        .unwrap();
    let plain = routes
        .iter()
        .find(|r| r.pattern.source() == "/plain")
        .unwrap();
    let one = routes
        .iter()
        .find(|r| r.pattern.source() == "/one")
        .unwrap();
    assert_eq!(split_by(sticky, "/users/7", &keyed), Some(SplitBy::Sticky));
    assert_eq!(
        split_by(sticky, "/users/7", &HeaderMap::new()),
        Some(SplitBy::RoundRobin)
    );
    assert_eq!(split_by(plain, "/plain", &keyed), Some(SplitBy::RoundRobin));
    assert_eq!(split_by(one, "/one", &keyed), None);

    let metrics = Metrics::default();
    let m = metrics.for_table(&t);
    let index = routes.iter().position(|r| std::ptr::eq(r, sticky)).unwrap();
    let Resolution::Found { id, .. } = t.resolve(&Method::GET, "/users/7", &keyed) else {
        panic!("no route");
    };
    m.route(index).side(Some(id)).chosen(SplitBy::Sticky);
    let name = &*t.upstream(id).name;
    let text = encoded(&metrics);
    assert!(
        text.contains(&format!(
            r#"gateway_split_decisions_total{{route="/users/{{id}}",upstream="{name}",by="sticky"}} 1"#
        )),
        "{text}"
    );
    // Single-target routes have no split series.
    assert!(
        !text.contains(r#"gateway_split_decisions_total{route="/one""#),
        "{text}"
    );
}

#[test]
fn every_reload_trigger_and_outcome_is_there_from_the_start() {
    let metrics = Metrics::default();
    metrics.reloaded("admin", ReloadOutcome::Rejected);
    let text = encoded(&metrics);
    assert!(
        text.contains(r#"gateway_reloads_total{trigger="admin",outcome="rejected"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"gateway_reloads_total{trigger="sighup",outcome="applied"} 0"#),
        "{text}"
    );
}

#[test]
fn upstream_failures_are_counted_by_kind_and_a_foreign_id_is_ignored() {
    let metrics = Metrics::default();
    let t = table("  - {path: /a, to: users}\n");
    let m = metrics.for_table(&t);
    let Resolution::Found { id, .. } = t.resolve(&Method::GET, "/a", &HeaderMap::new()) else {
        panic!("no route");
    };
    m.upstream_failed(id, UpstreamFailure::ConnectTimeout);
    m.upstream_failed(UpstreamId(99), UpstreamFailure::Connect);
    let text = encoded(&metrics);
    assert!(
        text.contains(
            r#"gateway_upstream_errors_total{upstream="users",kind="connect_timeout"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"gateway_upstream_errors_total{upstream="users",kind="connect"} 0"#),
        "{text}"
    );
}

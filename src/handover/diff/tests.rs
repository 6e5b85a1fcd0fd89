use std::time::Duration;

use super::{Pair, pairs};
use crate::table::{Overrides, RouteTable, parse};

const UPSTREAMS: &str = "upstreams:
  users: {url: 'http://127.0.0.1:8081'}
  friends: {url: 'http://127.0.0.1:8082'}
  timeline: {url: 'http://127.0.0.1:8084'}
  monolith: {url: 'http://127.0.0.1:8085/'}
";

fn table(settings: &str, routes: &str) -> RouteTable {
    let text = format!("{settings}{UPSTREAMS}routes:\n{routes}");
    match parse(&text, &Overrides::default()) {
        Ok(loaded) => loaded.table,
        Err(errors) => panic!("{errors}\n{text}"),
    }
}

fn moved(old: &str, new: &str) -> Vec<(String, String, Vec<String>)> {
    pairs(&table("", old), &table("", new))
        .into_iter()
        .map(|p| (p.from, p.to, p.routes))
        .collect()
}

fn pair(from: &str, to: &str, routes: &[&str]) -> (String, String, Vec<String>) {
    (
        from.to_owned(),
        to.to_owned(),
        routes.iter().map(|r| (*r).to_owned()).collect(),
    )
}

const BASE: &str = "  - {prefix: /, to: monolith}\n";

#[test]
fn a_route_moved_to_another_upstream_is_one_pair_with_both_urls_and_the_default_timeout() {
    let old = table(
        "",
        &format!("{BASE}  - {{path: '/users/{{id}}', to: monolith}}\n"),
    );
    let new = table(
        "",
        &format!("{BASE}  - {{path: '/users/{{id}}', to: users}}\n"),
    );
    assert_eq!(
        pairs(&old, &new),
        vec![Pair {
            from: "monolith".into(),
            // A trailing `/` of the base URL is dropped, so `/feeds` is appended cleanly.
            from_url: "http://127.0.0.1:8085".into(),
            to: "users".into(),
            to_url: "http://127.0.0.1:8081".into(),
            timeout: Duration::from_secs(2),
            routes: vec!["/users/{id}".into()],
        }]
    );
    // And back.
    assert_eq!(
        moved(
            &format!("{BASE}  - {{path: '/users/{{id}}', to: users}}\n"),
            &format!("{BASE}  - {{path: '/users/{{id}}', to: monolith}}\n"),
        ),
        vec![pair("users", "monolith", &["/users/{id}"])]
    );
}

#[test]
fn an_unchanged_table_or_a_renamed_parameter_moves_nothing() {
    let routes = format!(
        "{BASE}  - {{path: '/users/{{id}}', split: {{users: 10, monolith: 90}}, sticky: {{param: id}}}}\n"
    );
    assert_eq!(moved(&routes, &routes), vec![]);
    assert_eq!(
        moved(
            &format!("{BASE}  - {{path: '/users/{{id}}', to: users}}\n"),
            &format!("{BASE}  - {{path: '/users/{{user_id}}', to: users, request_timeout: 1s}}\n"),
        ),
        vec![]
    );
}

#[test]
fn a_split_that_adds_an_upstream_or_changes_weights_moves_every_old_side_to_every_new_one() {
    let one = format!("{BASE}  - {{path: '/users/{{id}}', to: monolith}}\n");
    let split = |u: u64, m: u64| {
        format!("{BASE}  - {{path: '/users/{{id}}', split: {{users: {u}, monolith: {m}}}}}\n")
    };
    assert_eq!(
        moved(&one, &split(10, 90)),
        vec![pair("monolith", "users", &["/users/{id}"])]
    );
    assert_eq!(
        moved(&split(10, 90), &split(50, 50)),
        vec![
            pair("monolith", "users", &["/users/{id}"]),
            pair("users", "monolith", &["/users/{id}"]),
        ]
    );
    // Leaving a split for one side: the other side's clients move to it.
    assert_eq!(
        moved(
            &split(90, 10),
            &format!("{BASE}  - {{path: '/users/{{id}}', to: users}}\n")
        ),
        vec![pair("monolith", "users", &["/users/{id}"])]
    );
}

#[test]
fn a_route_added_or_removed_moves_what_the_other_table_served_it_with() {
    let friends = "  - {path: '/users/{id}/friends', to: friends}\n";
    assert_eq!(
        moved(BASE, &format!("{BASE}{friends}")),
        vec![pair("monolith", "friends", &["/users/{id}/friends"])]
    );
    // Removed: its requests fall to the prefix route.
    assert_eq!(
        moved(&format!("{BASE}{friends}"), BASE),
        vec![pair("friends", "monolith", &["/"])]
    );
}

#[test]
fn only_the_methods_that_moved_count_and_several_routes_share_a_pair() {
    let old = format!("{BASE}  - {{path: '/users/{{id}}', to: monolith}}\n");
    let new = format!(
        "{BASE}  - {{path: '/users/{{id}}', methods: [GET], to: users}}\n  - {{path: '/users/{{id}}/friends', to: users}}\n"
    );
    assert_eq!(
        moved(&old, &new),
        vec![pair(
            "monolith",
            "users",
            &["/users/{id}", "/users/{id}/friends"]
        )]
    );
    // A DELETE stays on the monolith through the prefix route: nothing moves back.
    let back = format!("{BASE}  - {{path: '/users/{{id}}', methods: [DELETE], to: monolith}}\n");
    assert_eq!(moved(&back, BASE), vec![]);
}

#[test]
fn a_zero_timeout_leaves_a_pair_out_and_the_longest_route_timeout_bounds_a_pair() {
    let old = format!(
        "{BASE}  - {{path: '/users/{{id}}', to: monolith}}\n  - {{path: '/timeline/{{id}}', to: monolith}}\n"
    );
    let new = format!(
        "{BASE}  - {{path: '/users/{{id}}', to: users, handover_timeout: 5s}}\n  - {{path: '/timeline/{{id}}', to: timeline, handover_timeout: 0s}}\n"
    );
    let found = pairs(
        &table("", &old),
        &table("settings: {handover_timeout: 0s}\n", &new),
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].to, "users");
    assert_eq!(found[0].timeout, Duration::from_secs(5));
    // Off gateway-wide, and no route turns it on: nothing is waited for.
    let new = format!(
        "{BASE}  - {{path: '/users/{{id}}', to: users}}\n  - {{path: '/timeline/{{id}}', to: timeline}}\n"
    );
    assert_eq!(
        pairs(
            &table("", &old),
            &table("settings: {handover_timeout: 0s}\n", &new)
        ),
        vec![]
    );
    // Set gateway-wide.
    let found = pairs(
        &table("", &old),
        &table("settings: {handover_timeout: 300ms}\n", &new),
    );
    assert_eq!(found.len(), 2);
    assert!(
        found
            .iter()
            .all(|p| p.timeout == Duration::from_millis(300))
    );
}

#[test]
fn a_sample_path_matches_its_own_pattern() {
    for source in ["/", "/users/{id}", "/a/{b}/c/{*rest}", "/{*rest}"] {
        let pattern = crate::table::Pattern::template(source).unwrap();
        assert!(pattern.matches(&pattern.sample()), "{source}");
    }
    for source in ["/", "/static", "/a/b/"] {
        let pattern = crate::table::Pattern::prefix(source).unwrap();
        assert!(pattern.matches(&pattern.sample()), "{source}");
    }
}

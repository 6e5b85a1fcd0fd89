use std::collections::HashMap;
use std::time::Duration;

use http::{HeaderMap, HeaderValue, Method};

use super::*;

const UPSTREAMS: &str = "upstreams:
  users: {url: 'http://127.0.0.1:8081'}
  friends: {url: 'http://127.0.0.1:8082'}
  messages: {url: 'http://127.0.0.1:8083'}
  monolith: {url: 'http://127.0.0.1:8085'}
";

fn table(routes: &str) -> RouteTable {
    match parse(
        &format!("{UPSTREAMS}routes:\n{routes}"),
        &Overrides::default(),
    ) {
        Ok(loaded) => loaded.table,
        Err(errors) => panic!("{errors}"),
    }
}

fn errors(text: &str) -> Vec<String> {
    match parse(text, &Overrides::default()) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(LoadErrors(errors)) => errors.iter().map(ToString::to_string).collect(),
    }
}

fn route_errors(routes: &str) -> Vec<String> {
    errors(&format!("{UPSTREAMS}routes:\n{routes}"))
}

fn upstream_of(table: &RouteTable, method: &Method, path: &str) -> Option<String> {
    upstream_with(table, method, path, &HeaderMap::new())
}

fn upstream_with(
    table: &RouteTable,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> Option<String> {
    match table.resolve(method, path, headers) {
        Resolution::Found { upstream, .. } => Some(upstream.name.to_string()),
        _ => None,
    }
}

const OVERLAPPING: &str = "
  - {path: '/users/{id}', to: users}
  - {path: '/users/{id}/friends', to: friends}
  - {path: '/users/{id}/friends/{friend_id}', methods: [PUT, DELETE], to: friends}
  - {path: '/users/{id}/messages', methods: [GET], to: messages}
  - {path: '/messages/latest', to: messages}
  - {path: '/messages/{id}', to: monolith}
  - {prefix: '/', to: monolith}
";

#[test]
fn most_specific_match_wins_whatever_the_file_order() {
    let t = table(OVERLAPPING);
    let get = |p: &str| upstream_of(&t, &Method::GET, p);
    assert_eq!(get("/users/1").as_deref(), Some("users"));
    assert_eq!(get("/users/1/friends").as_deref(), Some("friends"));
    assert_eq!(get("/users/1/messages").as_deref(), Some("messages"));
    assert_eq!(get("/messages/latest").as_deref(), Some("messages"));
    assert_eq!(get("/messages/9").as_deref(), Some("monolith"));
    assert_eq!(get("/users/1/other").as_deref(), Some("monolith"));
    assert_eq!(get("/").as_deref(), Some("monolith"));
    // Reversing the file changes nothing.
    let reversed: Vec<&str> = OVERLAPPING.lines().rev().collect();
    let r = table(&reversed.join("\n"));
    for path in [
        "/users/1",
        "/users/1/friends",
        "/messages/latest",
        "/messages/9",
    ] {
        assert_eq!(upstream_of(&r, &Method::GET, path), get(path), "{path}");
    }
}

#[test]
fn a_method_the_specific_route_lacks_falls_to_a_less_specific_one() {
    let t = table(OVERLAPPING);
    assert_eq!(
        upstream_of(&t, &Method::PUT, "/users/1/friends/2").as_deref(),
        Some("friends")
    );
    // GET is not listed on the friend-pair route: the prefix route serves it.
    assert_eq!(
        upstream_of(&t, &Method::GET, "/users/1/friends/2").as_deref(),
        Some("monolith")
    );
    assert_eq!(
        upstream_of(&t, &Method::POST, "/users/1/messages").as_deref(),
        Some("monolith")
    );
}

#[test]
fn get_brings_head_and_other_methods_get_405_then_404() {
    let t = table("  - {path: '/users/{id}', methods: [GET, patch], to: users}\n");
    assert_eq!(
        upstream_of(&t, &Method::HEAD, "/users/1").as_deref(),
        Some("users")
    );
    assert_eq!(
        upstream_of(&t, &Method::PATCH, "/users/1").as_deref(),
        Some("users")
    );
    match t.resolve(&Method::DELETE, "/users/1", &HeaderMap::new()) {
        Resolution::MethodNotAllowed(allowed) => assert_eq!(allowed.to_string(), "GET,HEAD,PATCH"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        t.resolve(&Method::GET, "/nope", &HeaderMap::new()),
        Resolution::NotFound
    ));
    let ext = Method::from_bytes(b"PROPFIND").unwrap();
    assert!(matches!(
        t.resolve(&ext, "/users/1", &HeaderMap::new()),
        Resolution::MethodNotAllowed(_)
    ));
}

#[test]
fn literal_beats_parameter_beats_catch_all_beats_prefix() {
    let t = table(
        "  - {prefix: /users, to: monolith}
  - {path: '/users/{*rest}', to: messages}
  - {path: '/users/{id}', to: users}
  - {path: /users/me, to: friends}
",
    );
    let get = |p: &str| upstream_of(&t, &Method::GET, p);
    assert_eq!(get("/users/me").as_deref(), Some("friends"));
    assert_eq!(get("/users/7").as_deref(), Some("users"));
    assert_eq!(get("/users/7/x").as_deref(), Some("messages"));
    assert_eq!(get("/users").as_deref(), Some("monolith"));
    assert_eq!(get("/users/").as_deref(), Some("monolith"));
}

#[test]
fn unsticky_split_follows_the_weights_exactly_per_cycle() {
    let t = table("  - {path: '/users/{id}', split: {users: 90, monolith: 10}}\n");
    let mut counts: HashMap<String, u32> = HashMap::new();
    for _ in 0..1000 {
        *counts
            .entry(upstream_of(&t, &Method::GET, "/users/1").unwrap())
            .or_default() += 1;
    }
    assert_eq!(counts["users"], 900);
    assert_eq!(counts["monolith"], 100);
}

#[test]
fn sticky_param_keeps_one_user_on_one_side_across_reloads() {
    let routes = "  - {path: '/users/{id}/friends', split: {friends: 50, monolith: 50}, sticky: {param: id}}\n";
    let a = table(routes);
    let b = table(routes);
    let mut sides = HashMap::new();
    for id in 1..=2000 {
        let path = format!("/users/{id}/friends");
        let first = upstream_of(&a, &Method::GET, &path).unwrap();
        for _ in 0..3 {
            assert_eq!(upstream_of(&a, &Method::GET, &path).unwrap(), first);
        }
        assert_eq!(
            upstream_of(&b, &Method::GET, &path).unwrap(),
            first,
            "a reload moved {id}"
        );
        *sides.entry(first).or_insert(0u32) += 1;
    }
    // Both sides get users, roughly by weight.
    assert!((800..=1200).contains(&sides["friends"]), "{sides:?}");
}

#[test]
fn sticky_header_hashes_the_value_and_falls_back_to_round_robin() {
    let t = table(
        "  - {path: '/messages/{id}', split: {messages: 1, monolith: 3}, sticky: {header: x-user-id}}\n",
    );
    let with = |v: &str| {
        let mut h = HeaderMap::new();
        h.insert("x-user-id", HeaderValue::from_str(v).unwrap());
        h
    };
    for user in ["1", "42", "alice"] {
        let first = upstream_with(&t, &Method::GET, "/messages/1", &with(user)).unwrap();
        for m in 2..50 {
            let path = format!("/messages/{m}");
            assert_eq!(
                upstream_with(&t, &Method::GET, &path, &with(user)).unwrap(),
                first
            );
        }
    }
    let mut counts: HashMap<String, u32> = HashMap::new();
    for _ in 0..400 {
        *counts
            .entry(upstream_of(&t, &Method::GET, "/messages/1").unwrap())
            .or_default() += 1;
    }
    assert_eq!((counts["messages"], counts["monolith"]), (100, 300));
}

#[test]
fn the_bucket_is_fnv1a_of_the_key_modulo_the_weight_sum() {
    assert_eq!(compiled::fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(compiled::fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(compiled::fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    // Weights are laid out in upstream-name order: monolith owns buckets 0..10.
    let t =
        table("  - {path: '/users/{id}', split: {users: 90, monolith: 10}, sticky: {param: id}}\n");
    for id in 1..200 {
        let bucket = compiled::fnv1a64(id.to_string().as_bytes()) % 100;
        let want = if bucket < 10 { "monolith" } else { "users" };
        assert_eq!(
            upstream_of(&t, &Method::GET, &format!("/users/{id}")).unwrap(),
            want
        );
    }
}

#[test]
fn zero_weight_sides_never_serve() {
    let t =
        table("  - {path: '/users/{id}', split: {users: 0, monolith: 5}, sticky: {param: id}}\n");
    for id in 1..100 {
        assert_eq!(
            upstream_of(&t, &Method::GET, &format!("/users/{id}")).unwrap(),
            "monolith"
        );
    }
}

#[test]
fn defaults_flow_from_all_to_upstream_to_route() {
    let text = "all: {connect_timeout: 2s, request_timeout: 3s, max_body_bytes: 100}
upstreams:
  a: {url: 'http://127.0.0.1:1', request_timeout: 4s}
  b: {url: 'http://127.0.0.1:2/'}
routes:
  - {path: /a, to: a}
  - {path: /b, to: b, request_timeout: 500ms, max_body_bytes: 7}
";
    let t = parse(text, &Overrides::default()).unwrap().table;
    let a = &t.upstreams()[0];
    let b = &t.upstreams()[1];
    assert_eq!(
        (a.connect_timeout.as_secs(), a.request_timeout.as_secs()),
        (2, 4)
    );
    assert_eq!(b.request_timeout.as_secs(), 3);
    let route_a = t
        .routes()
        .iter()
        .find(|r| r.pattern.source() == "/a")
        .unwrap();
    let route_b = t
        .routes()
        .iter()
        .find(|r| r.pattern.source() == "/b")
        .unwrap();
    assert_eq!(
        (route_a.timeout_for(a).as_secs(), route_a.max_body_bytes),
        (4, 100)
    );
    assert_eq!(
        (route_b.timeout_for(b).as_millis(), route_b.max_body_bytes),
        (500, 7)
    );
    let bare = parse(
        "upstreams: {a: {url: 'http://h:1'}}\nroutes: [{path: /, to: a}]\n",
        &Overrides::default(),
    )
    .unwrap();
    let s = bare.table.settings();
    assert!(s.upstream_header);
    assert_eq!(s.max_header_bytes, 16384);
    assert_eq!(bare.table.routes()[0].max_body_bytes, 1024 * 1024);
    assert_eq!(bare.table.upstreams()[0].connect_timeout.as_secs(), 1);
}

#[test]
fn overrides_replace_urls_and_ignore_names_the_file_lacks() {
    let overrides = Overrides::default()
        .with("users", "http://127.0.0.1:40001")
        .with("not-in-file", "http://127.0.0.1:40002");
    let loaded = parse(
        &format!("{UPSTREAMS}routes: [{{path: /, to: users}}]\n"),
        &overrides,
    )
    .unwrap();
    let users = loaded
        .table
        .upstreams()
        .iter()
        .find(|u| &*u.name == "users")
        .unwrap();
    assert_eq!(&*users.url, "http://127.0.0.1:40001");
    let bad = parse(
        &format!("{UPSTREAMS}routes: [{{path: /, to: users}}]\n"),
        &Overrides::default().with("users", "ftp://x"),
    )
    .unwrap_err();
    assert!(bad.to_string().contains("(overridden) `ftp://x`"), "{bad}");
    assert!("users=http://h:1".parse::<UpstreamOverride>().is_ok());
    assert!("users".parse::<UpstreamOverride>().is_err());
    assert!("=http://h".parse::<UpstreamOverride>().is_err());
}

#[test]
fn version_is_the_sha256_prefix_of_the_bytes() {
    assert_eq!(version(b""), "e3b0c44298fc");
    assert_ne!(version(b"a"), version(b"b"));
}

#[test]
fn unknown_keys_are_errors_at_their_place() {
    assert_eq!(
        errors("upstreams: {}\nroutes: []\nbogus: 1\n"),
        ["3:1: unknown field `bogus`, expected one of settings, all, upstreams, routes, issuers"]
    );
    let e = errors("upstreams:\n  a:\n    url: http://h:1\n    nope: 2\nroutes: []\n");
    assert!(e[0].starts_with("4:5: unknown field `nope`"), "{e:?}");
    let e = route_errors("  - {path: /x, to: users, weight: 3}\n");
    assert!(e[0].contains("unknown field `weight`"), "{e:?}");
    let e = route_errors("  - {path: '/x/{id}', split: {users: 1}, sticky: {cookie: a}}\n");
    assert!(e[0].contains("unknown field `cookie`"), "{e:?}");
    let e = errors("settings: {colour: red}\nupstreams: {}\nroutes: []\n");
    assert!(e[0].starts_with("1:12: unknown field `colour`"), "{e:?}");
    let e = errors("upstreams: [\n");
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("1:"), "{e:?}");
}

#[test]
fn unknown_upstreams_are_errors_naming_the_defined_ones() {
    let e =
        route_errors("  - {path: /x, to: userz}\n  - {path: /y, split: {users: 1, frends: 1}}\n");
    assert_eq!(
        e,
        [
            "7:20: unknown upstream `userz`; defined upstreams: friends, messages, monolith, users",
            "8:42: unknown upstream `frends`; defined upstreams: friends, messages, monolith, users",
        ]
    );
}

#[test]
fn malformed_urls_are_errors() {
    for (url, why) in [
        ("127.0.0.1:8081", "needs a scheme"),
        ("https://127.0.0.1:8081", "must be http://"),
        ("http://127.0.0.1:8081/api", "must not have a path"),
        ("http://127.0.0.1:8081?x=1", "must not have a path"),
        ("http://u:p@127.0.0.1:8081", "credentials"),
        ("http://", "not a URL"),
        ("not a url", "not a URL"),
    ] {
        let e = errors(&format!("upstreams:\n  a: {{url: '{url}'}}\nroutes: []\n"));
        assert_eq!(e.len(), 1, "{url}: {e:?}");
        assert!(e[0].starts_with("2:") && e[0].contains(why), "{url}: {e:?}");
    }
}

#[test]
fn duplicate_and_shadowed_routes_are_errors() {
    let e = route_errors(
        "  - {path: '/users/{id}', to: users}\n  - {path: '/users/{user_id}', to: monolith}\n",
    );
    assert_eq!(
        e,
        ["8:1: duplicate route: `/users/{user_id}` (*) is already routed at line 7"]
    );
    let e = route_errors(
        "  - {path: '/users/{id}', methods: [GET, PATCH], to: users}\n  - {path: '/users/{id}', methods: [PATCH, DELETE], to: monolith}\n",
    );
    assert_eq!(
        e,
        ["8:1: shadowed route: PATCH `/users/{id}` is already routed at line 7"]
    );
    let e =
        route_errors("  - {prefix: /static/, to: users}\n  - {prefix: /static, to: monolith}\n");
    assert!(e[0].contains("duplicate route: `/static/**`"), "{e:?}");
    // A method-specific route beside an every-method route of the same shape is an override.
    table(
        "  - {path: '/users/{id}', methods: [GET], to: users}\n  - {path: '/users/{id}', to: monolith}\n",
    );
}

#[test]
fn splits_are_checked() {
    let e = route_errors("  - {path: /x, split: {users: 0, monolith: 0}}\n");
    assert_eq!(
        e,
        ["7:23: split weights sum to 0, so no upstream could serve; give one a positive weight"]
    );
    let e = route_errors("  - {path: /x, split: {users: 2000000}}\n");
    assert!(e[0].contains("over 1000000"), "{e:?}");
    let e = route_errors("  - {path: /x, split: {users: -1}}\n");
    assert_eq!(e.len(), 1, "{e:?}");
    let e = route_errors("  - {path: '/x/{id}', to: users, sticky: {param: id}}\n");
    assert!(e[0].contains("`sticky` applies only to a `split`"), "{e:?}");
    let e = route_errors("  - {path: '/x/{id}', split: {users: 1}, sticky: {param: uid}}\n");
    assert!(
        e[0].contains("`uid` is not a parameter of `/x/{id}`"),
        "{e:?}"
    );
    let e = route_errors("  - {path: '/x/{*rest}', split: {users: 1}, sticky: {param: rest}}\n");
    assert!(e[0].contains("catch-all"), "{e:?}");
    let e = route_errors("  - {path: '/x', split: {users: 1}, sticky: {header: 'bad header'}}\n");
    assert!(e[0].contains("not a header name"), "{e:?}");
    let e = route_errors("  - {path: '/x', split: {users: 1}, sticky: {header: a, param: b}}\n");
    assert!(e[0].contains("exactly one of"), "{e:?}");
}

#[test]
fn route_shape_and_values_are_checked() {
    let cases = [
        (
            "  - {path: /x, prefix: /y, to: users}\n",
            "`path` or `prefix`, not both",
        ),
        ("  - {to: users}\n", "needs `path`"),
        ("  - {path: /x}\n", "needs `to: UPSTREAM`"),
        (
            "  - {path: /x, to: users, split: {users: 1}}\n",
            "`to` or `split`, not both",
        ),
        ("  - {path: '/x/{id', to: users}\n", "whole segment"),
        (
            "  - {path: /x, methods: [GET, FETCH], to: users}\n",
            "`FETCH` is not a method",
        ),
        (
            "  - {path: /x, methods: [GET, get], to: users}\n",
            "listed twice",
        ),
        ("  - {path: /x, methods: [], to: users}\n", "serves nothing"),
        (
            "  - {path: /x, to: users, request_timeout: soon}\n",
            "not a duration",
        ),
        (
            "  - {path: /x, to: users, request_timeout: 0s}\n",
            "more than 0",
        ),
    ];
    for (route, needle) in cases {
        let e = route_errors(route);
        assert_eq!(e.len(), 1, "{route}: {e:?}");
        assert!(
            e[0].starts_with("7:") && e[0].contains(needle),
            "{route}: {e:?}"
        );
    }
}

#[test]
fn settings_and_upstream_values_are_checked() {
    let e = errors(
        "settings:
  trusted_proxies: [10.0.0.0/8, '::1', nope]
  max_header_bytes: 10
all: {connect_timeout: fast}
upstreams:
  Bad_Name: {url: 'http://h:1'}
routes: []
",
    );
    assert_eq!(e.len(), 4, "{e:?}");
    assert!(
        e[0].starts_with("2:40:") && e[0].contains("`nope` is not an IP"),
        "{e:?}"
    );
    assert!(
        e[1].starts_with("3:21:") && e[1].contains("outside 1024..=65536"),
        "{e:?}"
    );
    assert!(
        e[2].starts_with("4:24:") && e[2].contains("all.connect_timeout: `fast`"),
        "{e:?}"
    );
    assert!(
        e[3].starts_with("6:13:") && e[3].contains("may hold only a-z"),
        "{e:?}"
    );
}

#[test]
fn every_error_is_reported_in_line_order_not_just_the_first() {
    let e = errors(
        "upstreams:
  a: {url: 'https://h:1'}
routes:
  - {path: /x, to: b}
  - {path: /y, split: {a: 0}}
  - {path: /x, to: a}
  - {path: '/z/{id}', to: a, methods: [NOPE]}
",
    );
    assert_eq!(e.len(), 5, "{e:?}");
    let lines: Vec<&str> = e.iter().map(|m| m.split(':').next().unwrap()).collect();
    assert_eq!(lines, ["2", "4", "5", "6", "7"], "{e:?}");
}

#[test]
fn the_shipped_route_files_all_pass() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("routes.yaml")];
    for dir in ["load/phases", "testdata/routes"] {
        let mut entries: Vec<_> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .collect();
        entries.sort();
        assert!(!entries.is_empty(), "{dir} has no files");
        files.extend(entries);
    }
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let result = load_file(&file, &Overrides::default());
        if name.starts_with("invalid") {
            let errors = result.expect_err(&name);
            assert!(errors.0.len() > 1, "{name} should show several errors");
        } else if let Err(errors) = result {
            panic!("{name}:\n{errors}");
        }
    }
}

#[test]
fn compression_defaults_then_all_then_the_route_field_by_field() {
    let t = table("  - {path: /users, to: users}\n");
    let c = &t.routes()[0].compression;
    assert!(c.enabled);
    assert_eq!(c.min_bytes, 1024);
    assert_eq!(&*c.algorithms, [Coding::Zstd, Coding::Brotli, Coding::Gzip]);
    assert!(c.compresses("application/problem+json"));

    let text = format!(
        "all:\n  compression: {{min_bytes: 256, algorithms: [gzip, br], content_types: [application/json]}}\n\
         {UPSTREAMS}routes:\n\
         \x20 - {{path: /users, to: users}}\n\
         \x20 - {{path: /static, to: monolith, compression: {{enabled: false}}}}\n\
         \x20 - {{path: /feed, to: messages, compression: {{min_bytes: 0, content_types: ['text/*']}}}}\n"
    );
    let t = parse(&text, &Overrides::default()).unwrap().table;
    let by_path = |p: &str| {
        &t.routes()
            .iter()
            .find(|r| r.pattern.source() == p)
            .unwrap()
            .compression
    };
    let users = by_path("/users");
    assert!(users.enabled);
    assert_eq!(users.min_bytes, 256);
    assert_eq!(&*users.algorithms, [Coding::Gzip, Coding::Brotli]);
    assert!(users.compresses("application/json") && !users.compresses("text/html"));
    let off = by_path("/static");
    assert!(!off.enabled);
    assert_eq!(off.min_bytes, 256);
    let feed = by_path("/feed");
    assert_eq!(feed.min_bytes, 0);
    assert_eq!(&*feed.algorithms, [Coding::Gzip, Coding::Brotli]);
    assert!(feed.compresses("text/html") && !feed.compresses("application/json"));
}

#[test]
fn compression_values_are_checked_at_their_place() {
    let e = errors(&format!(
        "all:\n  compression:\n    algorithms: [zstd, lz4, zstd]\n    content_types: [application/json, 'Text/HTML', 'text/html; charset=utf-8']\n{UPSTREAMS}routes:\n\
         \x20 - {{path: /x, to: users, compression: {{algorithms: []}}}}\n\
         \x20 - {{path: /y, to: users, compression: {{content_types: []}}}}\n"
    ));
    assert_eq!(
        e,
        [
            "3:24: all.compression.algorithms: `lz4` is not a coding the gateway makes; use zstd, br or gzip",
            "3:29: all.compression.algorithms: `zstd` is listed twice",
            "4:39: all.compression.content_types: `Text/HTML` is not a media range; write `type/subtype`, `type/*` or `type/*+suffix` in lowercase, without parameters",
            "4:52: all.compression.content_types: `text/html; charset=utf-8` is not a media range; write `type/subtype`, `type/*` or `type/*+suffix` in lowercase, without parameters",
            "11:53: routes[].compression.algorithms: an empty list compresses nothing; write `enabled: false` instead",
            "12:56: routes[].compression.content_types: an empty list compresses nothing; write `enabled: false` instead",
        ],
    );
    // A syntax error (an unknown key) stops the parse, so the others are checked apart.
    let e = route_errors(
        "  - {path: /x, to: users, compression: {algorithms: []}}\n  - {path: /y, to: users, compression: {content_types: []}}\n",
    );
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(
        e[0].starts_with("7:53: routes[].compression.algorithms: an empty list"),
        "{e:?}"
    );
    assert!(
        e[1].starts_with("8:56: routes[].compression.content_types: an empty list"),
        "{e:?}"
    );
    let e = route_errors("  - {path: /z, to: users, compression: {level: 9}}\n");
    assert!(e[0].starts_with("7:41: unknown field `level`, expected one of enabled, min_bytes, algorithms, content_types"), "{e:?}");
    let e = route_errors("  - {path: /z, to: users, compression: {min_bytes: -1}}\n");
    assert!(e[0].starts_with("7:"), "{e:?}");
}
mod edge;
mod shadow;

#[test]
fn handover_timeouts_are_durations_up_to_a_minute_zero_included() {
    let e = errors(&format!(
        "settings:\n  handover_timeout: soon\n{UPSTREAMS}routes:\n  - {{path: /x, to: users, handover_timeout: 2m}}\n"
    ));
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(
        e[0].starts_with("2:21:")
            && e[0].contains("settings.handover_timeout: `soon` is not a duration"),
        "{e:?}"
    );
    assert!(
        e[1].starts_with("9:45:") && e[1].contains("routes[].handover_timeout: `2m` is over 1m"),
        "{e:?}"
    );
    let t = table("  - {path: /x, to: users, handover_timeout: 0s}\n  - {path: /y, to: users}\n");
    assert_eq!(t.settings().handover_timeout, Duration::from_secs(2));
    assert_eq!(t.routes()[0].handover_timeout(t.settings()), Duration::ZERO);
    assert_eq!(
        t.routes()[1].handover_timeout(t.settings()),
        Duration::from_secs(2)
    );
    let off = parse(
        &format!(
            "settings: {{handover_timeout: 0s}}\n{UPSTREAMS}routes:\n  - {{path: /x, to: users}}\n"
        ),
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(off.table.settings().handover_timeout, Duration::ZERO);
}

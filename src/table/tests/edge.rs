//! The edge settings: issuers, `auth`, `owner`, `rate_limit`.

use std::time::Duration;

use super::*;

const ISSUER: &str = "issuers:
  demo:
    issuer: https://id.example
    audiences: [timeline-api]
    algorithms: [EdDSA, RS256]
    jwks_file: keys/jwks.json
";

fn edge_table(all: &str, routes: &str) -> RouteTable {
    let text = format!("{ISSUER}{all}{UPSTREAMS}routes:\n{routes}");
    match parse(&text, &Overrides::default()) {
        Ok(loaded) => loaded.table,
        Err(errors) => panic!("{errors}"),
    }
}

fn route<'t>(table: &'t RouteTable, method: &Method, path: &str) -> &'t Route {
    match table.resolve(method, path, &HeaderMap::new()) {
        Resolution::Found { route, .. } => route,
        _ => panic!("no route for {method} {path}"),
    }
}

#[test]
fn issuers_compile_with_their_defaults() {
    let table = edge_table("", "  - {path: /x, to: users}\n");
    let [issuer] = table.issuers() else { panic!() };
    assert_eq!(&*issuer.name, "demo");
    assert_eq!(&*issuer.issuer, "https://id.example");
    assert_eq!(issuer.algorithm_names(), ["EdDSA", "RS256"]);
    assert_eq!(issuer.keys, KeySource::File("keys/jwks.json".into()));
    assert_eq!(issuer.leeway, Duration::from_secs(30));
    assert_eq!(issuer.refresh, Duration::from_secs(300));
    assert_eq!(issuer.min_refetch_interval, Duration::from_secs(30));
    let overridden = parse(
        &format!("{ISSUER}{UPSTREAMS}routes: []\n"),
        &Overrides::default().with_jwks("demo", "http://127.0.0.1:9/jwks.json"),
    )
    .unwrap();
    assert!(matches!(
        overridden.table.issuers()[0].keys,
        KeySource::Url(_)
    ));
}

#[test]
fn auth_merges_from_all_and_owner_names_a_parameter() {
    let table = edge_table(
        "all: {auth: required}\n",
        "  - {path: '/users/{id}', methods: [GET], auth: none, to: users}
  - {path: '/users/{id}', methods: [PATCH, DELETE], owner: {param: id}, to: users}
  - {path: /messages, auth: optional, to: messages}
  - {path: '/timeline/{user_id}', to: monolith}
",
    );
    assert!(route(&table, &Method::GET, "/users/1").auth.is_none());
    let patch = route(&table, &Method::PATCH, "/users/1")
        .auth
        .as_ref()
        .unwrap();
    assert_eq!(patch.mode, AuthMode::Required);
    assert_eq!(patch.owner.as_ref().map(|o| o.index), Some(1));
    let post = route(&table, &Method::POST, "/messages")
        .auth
        .as_ref()
        .unwrap();
    assert_eq!(post.mode, AuthMode::Optional);
    let timeline = route(&table, &Method::GET, "/timeline/1")
        .auth
        .as_ref()
        .unwrap();
    assert_eq!(timeline.mode, AuthMode::Required);
    assert!(timeline.owner.is_none());
}

#[test]
fn rate_limits_compile() {
    let table = edge_table(
        "",
        "  - {path: /a, rate_limit: {by: address, rate: 20/s, burst: 40}, to: users}
  - {path: /b, auth: required, rate_limit: {by: subject, rate: 5/10s}, to: users}
  - {path: /c, rate_limit: {by: address, rate: 100/m}, to: users}
",
    );
    let a = route(&table, &Method::GET, "/a")
        .rate_limit
        .clone()
        .unwrap();
    assert_eq!(
        (a.by, a.count, a.per, a.burst),
        (LimitBy::Address, 20, Duration::from_secs(1), 40)
    );
    let b = route(&table, &Method::GET, "/b")
        .rate_limit
        .clone()
        .unwrap();
    assert_eq!(
        (b.by, b.count, b.per, b.burst),
        (LimitBy::Subject, 5, Duration::from_secs(10), 5)
    );
    let c = route(&table, &Method::GET, "/c")
        .rate_limit
        .clone()
        .unwrap();
    assert_eq!(c.per, Duration::from_secs(60));
}

#[test]
fn every_edge_error_is_reported_at_its_place() {
    let text = "issuers:
  demo:
    issuer: ''
    audiences: []
    algorithms: [HS256, none, PS512, EdDSA]
    jwks_url: ftp://id.example/jwks
    leeway: 1h
  other:
    issuer: x
    audiences: [a]
    algorithms: [RS256]
upstreams:
  users: {url: 'http://127.0.0.1:8081'}
routes:
  - {path: '/users/{id}', auth: sometimes, to: users}
  - {path: '/a/{id}', owner: {param: id}, to: users}
  - {path: '/b/{id}', auth: required, owner: {param: user}, to: users}
  - {path: '/c/{*rest}', auth: required, owner: {param: rest}, to: users}
  - {path: /d, rate_limit: {by: subject, rate: 1/s}, to: users}
  - {path: /e, rate_limit: {by: host, rate: fast}, to: users}
  - {path: /f, rate_limit: {by: address, rate: 0/s, burst: 0}, to: users}
";
    let e = errors(text);
    for (at, needle) in [
        ("3:13", "issuer: must not be empty"),
        ("4:16", "list at least one"),
        ("5:18", "`HS256` is refused"),
        ("5:25", "`none` is refused"),
        ("5:31", "`PS512` is not supported"),
        ("6:15", "http:// or https://"),
        ("7:13", "at most 5m"),
        ("9:13", "needs its keys"),
        ("15:33", "`sometimes` is not"),
        ("16:30", "`owner` needs `auth: required`"),
        ("17:54", "`user` is not a parameter"),
        ("18:57", "catch-all"),
        ("19:33", "`subject` needs `auth"),
        ("20:33", "`host` is not `subject` or `address`"),
        ("20:45", "`fast` has no `/`"),
        ("21:48", "needs a COUNT"),
        ("21:60", "burst: 0 is outside"),
    ] {
        assert!(
            e.iter()
                .any(|m| m.starts_with(&format!("{at}: ")) && m.contains(needle)),
            "no {at}: …{needle}… in {e:#?}"
        );
    }
}

#[test]
fn auth_without_an_issuer_is_an_error() {
    let e = errors(&format!(
        "all: {{auth: required}}\n{UPSTREAMS}routes:\n  - {{path: /x, auth: optional, to: users}}\n"
    ));
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(
        e.iter().all(|m| m.contains("define one under `issuers:`")),
        "{e:?}"
    );
}

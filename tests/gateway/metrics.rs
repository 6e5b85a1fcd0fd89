//! `GET /metrics` on the admin listener: strict OpenMetrics text whose counts are the
//! requests sent, by route pattern (never the raw path), reloads by trigger and outcome,
//! upstream failures, and the admin token; `GET /admin/stats` and the migration page.

use std::collections::{BTreeMap, BTreeSet};

use secrecy::SecretString;

use crate::support::{Gateway, Options, Upstreams, client, refused_url, serve_file, version_of};

/// One sample line.
#[derive(Debug)]
pub(crate) struct Sample {
    pub(crate) name: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) value: f64,
}

/// Parses OpenMetrics text strictly: every sample belongs to a family declared by
/// `# TYPE` before it, label values are quoted with only `\\`, `\"` and `\n` escapes, every
/// value is a number, and the text ends with `# EOF`.
pub(crate) fn parse(text: &str) -> Vec<Sample> {
    let mut families: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = Vec::new();
    let mut ended = false;
    for line in text.lines() {
        assert!(!ended, "text after # EOF: {line:?}");
        if line == "# EOF" {
            ended = true;
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let keyword = parts.next().unwrap();
            let name = parts
                .next()
                .unwrap_or_else(|| panic!("bare comment: {line:?}"));
            assert!(valid_name(name), "bad family name in {line:?}");
            match keyword {
                "TYPE" => {
                    let kind = parts.next().unwrap();
                    assert!(
                        [
                            "counter",
                            "gauge",
                            "histogram",
                            "info",
                            "summary",
                            "unknown"
                        ]
                        .contains(&kind),
                        "bad type in {line:?}"
                    );
                    families.insert(name.to_owned(), kind.to_owned());
                }
                "HELP" | "UNIT" => {}
                other => panic!("unknown comment {other:?} in {line:?}"),
            }
            continue;
        }
        let (name, rest) = match line.find(['{', ' ']) {
            Some(i) => line.split_at(i),
            None => panic!("sample without a value: {line:?}"),
        };
        assert!(valid_name(name), "bad metric name in {line:?}");
        let (labels, value) = if let Some(body) = rest.strip_prefix('{') {
            parse_labels(body, line)
        } else {
            (BTreeMap::new(), rest)
        };
        let value = value
            .strip_prefix(' ')
            .unwrap_or_else(|| panic!("no space before the value: {line:?}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("value is not a number: {line:?}")),
        };
        let family = ["_total", "_bucket", "_sum", "_count", "_info", "_created"]
            .iter()
            .find_map(|suffix| {
                name.strip_suffix(suffix)
                    .filter(|f| families.contains_key(*f))
            })
            .or_else(|| families.contains_key(name).then_some(name));
        assert!(family.is_some(), "sample of no declared family: {line:?}");
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    assert!(ended, "no # EOF at the end");
    samples
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// The labels after `{` up to the closing `}`, and what follows it.
fn parse_labels<'a>(body: &'a str, line: &str) -> (BTreeMap<String, String>, &'a str) {
    let mut labels = BTreeMap::new();
    let mut rest = body;
    loop {
        if let Some(after) = rest.strip_prefix('}') {
            return (labels, after);
        }
        let eq = rest
            .find('=')
            .unwrap_or_else(|| panic!("label without '=': {line:?}"));
        let key = &rest[..eq];
        assert!(valid_name(key), "bad label name {key:?} in {line:?}");
        rest = rest[eq + 1..]
            .strip_prefix('"')
            .unwrap_or_else(|| panic!("unquoted label value in {line:?}"));
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    other => panic!("bad escape {other:?} in {line:?}"),
                },
                Some((_, c)) => value.push(c),
                None => panic!("unterminated label value in {line:?}"),
            }
        };
        assert!(
            labels.insert(key.to_owned(), value).is_none(),
            "label {key} twice in {line:?}"
        );
        rest = &rest[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

/// The value of the one sample named `name` with exactly `labels`.
pub(crate) fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let wanted: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    samples
        .iter()
        .find(|s| s.name == name && s.labels == wanted)
        .map(|s| s.value)
}

pub(crate) async fn scrape(gateway: &Gateway) -> Vec<Sample> {
    let response = gateway
        .http
        .get(gateway.admin("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text"),
    );
    parse(&response.text().await.unwrap())
}

const ROUTES: &str = "upstreams:
  users: {url: 'http://127.0.0.1:8081'}
  friends: {url: 'http://127.0.0.1:8082'}
  monolith: {url: 'http://127.0.0.1:8085'}
routes:
  - {path: '/users/{id}', to: users}
  - {path: '/users/{id}/friends', split: {friends: 1, monolith: 1}, sticky: {header: x-user}}
";

#[tokio::test]
async fn requests_are_counted_by_route_pattern_upstream_method_and_class() {
    let upstreams = Upstreams::start().await;
    let gateway = Gateway::start(ROUTES, upstreams.overrides()).await;
    for id in 1..=7 {
        assert_eq!(gateway.get(&format!("/users/{id}")).await.status(), 200);
    }
    let posted = gateway
        .http
        .post(gateway.url("/users/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    assert_eq!(gateway.get("/nowhere/at/all").await.status(), 404);
    for _ in 0..4 {
        let response = gateway
            .http
            .get(gateway.url("/users/9/friends"))
            .header("x-user", "9")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let sticky_side = gateway
        .http
        .get(gateway.url("/users/9/friends"))
        .header("x-user", "9")
        .send()
        .await
        .unwrap()
        .headers()["x-upstream"]
        .to_str()
        .unwrap()
        .to_owned();
    for _ in 0..2 {
        assert_eq!(gateway.get("/users/9/friends").await.status(), 200);
    }

    let samples = scrape(&gateway).await;
    let requests = |route: &str, upstream: &str, method: &str, class: &str| {
        value(
            &samples,
            "gateway_requests_total",
            &[
                ("route", route),
                ("upstream", upstream),
                ("method", method),
                ("class", class),
            ],
        )
    };
    assert_eq!(requests("/users/{id}", "users", "GET", "2xx"), Some(7.0));
    assert_eq!(requests("/users/{id}", "users", "POST", "2xx"), Some(1.0));
    assert_eq!(requests("none", "none", "GET", "4xx"), Some(1.0));
    // Never a raw path as a label value.
    let routes: BTreeSet<&str> = samples
        .iter()
        .filter_map(|s| s.labels.get("route").map(String::as_str))
        .collect();
    assert_eq!(
        routes,
        BTreeSet::from([
            "/users/{id}",
            "/users/{id}/friends",
            "none",
            "/openapi.json"
        ]),
    );
    assert_eq!(
        value(
            &samples,
            "gateway_request_duration_seconds_count",
            &[("route", "/users/{id}"), ("upstream", "users")]
        ),
        Some(8.0)
    );
    let split = |upstream: &str, by: &str| {
        value(
            &samples,
            "gateway_split_decisions_total",
            &[
                ("route", "/users/{id}/friends"),
                ("upstream", upstream),
                ("by", by),
            ],
        )
        .unwrap()
    };
    assert_eq!(split(&sticky_side, "sticky"), 5.0);
    let other = if sticky_side == "friends" {
        "monolith"
    } else {
        "friends"
    };
    assert_eq!(split(other, "sticky"), 0.0);
    assert_eq!(
        split("friends", "round_robin") + split("monolith", "round_robin"),
        2.0
    );
    assert_eq!(
        value(
            &samples,
            "gateway_table_info",
            &[("version", &version_of(ROUTES))]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(&samples, "gateway_requests_in_flight", &[]),
        Some(0.0)
    );

    // The same totals as JSON, for the migration page.
    let stats: serde_json::Value = gateway
        .http
        .get(gateway.admin("/admin/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let route = stats["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["route"] == "/users/{id}")
        .unwrap();
    assert_eq!(route["sides"][0]["upstream"], "users");
    assert_eq!(route["sides"][0]["requests"], 8);
    assert_eq!(stats["unmatched"]["requests"], 1);
    assert_eq!(stats["unmatched"]["client_errors"], 1);
}

#[tokio::test]
async fn reloads_are_counted_by_trigger_and_outcome_and_counts_survive_them() {
    let upstreams = Upstreams::start().await;
    let options = Options {
        watch: false,
        sighup: false,
        ..Options::default()
    };
    let gateway = Gateway::start_with(ROUTES, upstreams.overrides(), options).await;
    assert_eq!(gateway.get("/users/1").await.status(), 200);
    let reloads = |samples: &[Sample], trigger: &str, outcome: &str| {
        value(
            samples,
            "gateway_reloads_total",
            &[("trigger", trigger), ("outcome", outcome)],
        )
    };
    let samples = scrape(&gateway).await;
    assert_eq!(reloads(&samples, "startup", "applied"), Some(1.0));
    assert_eq!(reloads(&samples, "admin", "applied"), Some(0.0));

    assert_eq!(gateway.reload().await.status(), 200);
    let changed = ROUTES.replace("to: users}", "to: monolith}");
    std::fs::write(&gateway.file, &changed).unwrap();
    assert_eq!(gateway.reload().await.status(), 200);
    std::fs::write(&gateway.file, "routes: [").unwrap();
    assert_eq!(gateway.reload().await.status(), 422);
    assert_eq!(gateway.get("/users/1").await.status(), 200);

    let samples = scrape(&gateway).await;
    assert_eq!(reloads(&samples, "admin", "unchanged"), Some(1.0));
    assert_eq!(reloads(&samples, "admin", "applied"), Some(1.0));
    assert_eq!(reloads(&samples, "admin", "rejected"), Some(1.0));
    assert_eq!(
        value(
            &samples,
            "gateway_table_info",
            &[("version", &version_of(&changed))]
        ),
        Some(1.0)
    );
    // The request before the reloads is still counted; the one after went to the
    // monolith under the same pattern.
    let get = |upstream: &str| {
        value(
            &samples,
            "gateway_requests_total",
            &[
                ("route", "/users/{id}"),
                ("upstream", upstream),
                ("method", "GET"),
                ("class", "2xx"),
            ],
        )
    };
    assert_eq!(get("users"), Some(1.0));
    assert_eq!(get("monolith"), Some(1.0));
}

#[tokio::test]
async fn a_refused_connection_counts_as_a_connect_error_of_its_upstream() {
    let dead = refused_url().await;
    let routes =
        format!("upstreams:\n  users: {{url: '{dead}'}}\nroutes:\n  - {{path: /x, to: users}}\n");
    let gateway = Gateway::start(&routes, gateway::table::Overrides::default()).await;
    assert_eq!(gateway.get("/x").await.status(), 502);
    let samples = scrape(&gateway).await;
    let errors = |kind: &str| {
        value(
            &samples,
            "gateway_upstream_errors_total",
            &[("upstream", "users"), ("kind", kind)],
        )
    };
    assert_eq!(errors("connect"), Some(1.0));
    assert_eq!(errors("timeout"), Some(0.0));
    assert_eq!(
        value(
            &samples,
            "gateway_requests_total",
            &[
                ("route", "/x"),
                ("upstream", "users"),
                ("method", "GET"),
                ("class", "5xx")
            ]
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn metrics_and_stats_take_the_admin_token_and_the_page_loads_without_it() {
    let upstreams = Upstreams::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("routes.yaml");
    std::fs::write(&file, ROUTES).unwrap();
    let options = Options {
        watch: false,
        sighup: false,
        ..Options::default()
    };
    let token = Some(SecretString::from("s3cret"));
    let running = serve_file(file, upstreams.overrides(), token, options).await;
    let http = client();
    let admin = |path: &str| format!("http://{}{path}", running.admin_addr);
    for path in ["/metrics", "/admin/stats"] {
        let response = http.get(admin(path)).send().await.unwrap();
        assert_eq!(response.status(), 401, "{path}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let response = http
            .get(admin(path))
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{path}");
        let response = http
            .get(admin(path))
            .bearer_auth("s3cret")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    let response = http
        .get(admin("/metrics"))
        .bearer_auth("s3cret")
        .send()
        .await
        .unwrap();
    parse(&response.text().await.unwrap());
    let page = http.get(admin("/admin/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("<title>Gateway migration</title>"));
    // Self-contained: nothing loaded from elsewhere.
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains(" src="));
    let redirect = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(admin("/admin"))
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.status(), 308);
    assert_eq!(redirect.headers()["location"], "/admin/");
    running.stop().await;
}

#[test]
fn the_parser_refuses_what_is_not_openmetrics() {
    let bad = [
        "x_total 1\n# EOF\n",
        "# TYPE x counter\nx_total{a=b} 1\n# EOF\n",
        "# TYPE x counter\nx_total one\n# EOF\n",
        "# TYPE x counter\nx_total 1\n",
    ];
    for text in bad {
        assert!(
            std::panic::catch_unwind(|| parse(text)).is_err(),
            "{text:?}"
        );
    }
    let good = parse("# TYPE x counter\nx_total{a=\"q\\\"\"} 2\n# EOF\n");
    assert_eq!(value(&good, "x_total", &[("a", "q\"")]), Some(2.0));
}

//! Rate limits at the edge: by address and by subject, 429 with `Retry-After` and the
//! RateLimit headers, nothing past the limit reaching the upstream.

use crate::support::{Gateway, Upstreams, problem};
use crate::tokens::{AUD, ISS, Signer};

fn routes(jwks_file: &str) -> String {
    format!(
        "issuers:
  test:
    issuer: {ISS}
    audiences: [{AUD}]
    algorithms: [EdDSA]
    jwks_file: {jwks_file}
upstreams:
  users: {{url: 'http://127.0.0.1:1'}}
routes:
  - {{path: /by-address, rate_limit: {{by: address, rate: 1/h, burst: 2}}, to: users}}
  - {{path: /by-subject, auth: required, rate_limit: {{by: subject, rate: 1/h, burst: 1}}, to: users}}
  - {{path: /free, to: users}}
"
    )
}

#[tokio::test]
async fn a_client_over_the_limit_gets_429_and_reaches_no_upstream() {
    let signer = Signer::new();
    let upstreams = Upstreams::start().await;
    let gateway = Gateway::start(
        &routes(&signer.jwks_file.to_string_lossy()),
        upstreams.overrides(),
    )
    .await;
    for remaining in [1, 0] {
        let response = gateway.get("/by-address").await;
        assert_eq!(response.status(), 200);
        let h = response.headers();
        assert_eq!(h["ratelimit-policy"], "\"address\";q=2;w=7200");
        let state = h["ratelimit"].to_str().unwrap();
        assert!(
            state.starts_with(&format!("\"address\";r={remaining};t=")),
            "{state}"
        );
    }
    let response = gateway.get("/by-address").await;
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((3000..=3600).contains(&retry), "{retry}");
    assert_eq!(
        response.headers()["ratelimit"],
        format!("\"address\";r=0;t={retry}")
    );
    assert!(response.headers().contains_key("ratelimit-policy"));
    problem(response, 429, "rate-limited").await;
    assert_eq!(upstreams.get("users").requests(), 2);
    // Routes without a limit carry no limit headers.
    let response = gateway.get("/free").await;
    assert!(!response.headers().contains_key("ratelimit"));
}

#[tokio::test]
async fn limits_by_subject_count_each_user_apart() {
    let signer = Signer::new();
    let upstreams = Upstreams::start().await;
    let gateway = Gateway::start(
        &routes(&signer.jwks_file.to_string_lossy()),
        upstreams.overrides(),
    )
    .await;
    let call = |sub: &str| {
        gateway
            .http
            .get(gateway.url("/by-subject"))
            .bearer_auth(signer.token(sub))
            .send()
    };
    assert_eq!(call("1").await.unwrap().status(), 200);
    problem(call("1").await.unwrap(), 429, "rate-limited").await;
    assert_eq!(call("2").await.unwrap().status(), 200);
    // No token: 401 before any counting.
    let response = gateway.get("/by-subject").await;
    assert_eq!(response.status(), 401);
    assert_eq!(upstreams.get("users").requests(), 2);
}

//! Bearer tokens at the edge: every way a token can be wrong answers 401 and reaches no
//! upstream; owners, the forwarded subject, optional auth, and the JWKS read again for an
//! unknown `kid` (once, rate-limited) and after a rotation.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::support::{Gateway, Upstreams, problem, refused_url};
use crate::tokens::{AUD, ISS, JwksServer, Signer, b64, claims, now};

/// The routes of these tests, the issuer's keys at `jwks_url`.
fn routes(jwks_url: &str) -> String {
    format!(
        "issuers:
  test:
    issuer: {ISS}
    audiences: [{AUD}, other-api]
    algorithms: [EdDSA]
    jwks_url: {jwks_url}
    leeway: 5s
    min_refetch_interval: 1h
upstreams:
  users: {{url: 'http://127.0.0.1:1'}}
routes:
  - {{path: '/users/{{id}}', auth: required, owner: {{param: id}}, to: users}}
  - {{path: /required, auth: required, to: users}}
  - {{path: /optional, auth: optional, to: users}}
  - {{path: /public, to: users}}
"
    )
}

struct Edge {
    gateway: Gateway,
    upstreams: Upstreams,
    jwks: JwksServer,
}

impl Edge {
    async fn start(keys: Vec<Value>) -> Self {
        let jwks = JwksServer::start(keys).await;
        let upstreams = Upstreams::start().await;
        let gateway = Gateway::start(&routes(&jwks.url()), upstreams.overrides()).await;
        Self {
            gateway,
            upstreams,
            jwks,
        }
    }

    async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut request = self.gateway.http.get(self.gateway.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    fn hits(&self) -> usize {
        self.upstreams.get("users").requests()
    }
}

/// Asserts a 401 with an RFC 6750 `invalid_token` challenge; the problem's detail.
async fn invalid_token(response: reqwest::Response) -> String {
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\", error_description=\""),
        "{challenge}"
    );
    let body = problem(response, 401, "invalid-token").await;
    body["detail"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_valid_token_reaches_the_upstream_with_its_subject_and_only_its_owner_passes() {
    let signer = Signer::new();
    let edge = Edge::start(vec![signer.jwk.clone()]).await;
    let response = edge.get("/users/7", Some(&signer.token("7"))).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["headers"]["x-authenticated-user"], "7");
    assert_eq!(edge.hits(), 1);

    let response = edge.get("/users/8", Some(&signer.token("7"))).await;
    let body = problem(response, 403, "forbidden").await;
    assert!(body["detail"].as_str().unwrap().contains("`id`"), "{body}");
    // `01` names user 1 to a service but is not the subject `1`: refused, never widened.
    let response = edge.get("/users/01", Some(&signer.token("1"))).await;
    assert_eq!(response.status(), 403);
    assert_eq!(edge.hits(), 1, "nothing reached the upstream on 403");
}

#[tokio::test]
async fn a_client_cannot_claim_an_identity_on_any_route() {
    let signer = Signer::new();
    let edge = Edge::start(vec![signer.jwk.clone()]).await;
    let forged = |path: &str| {
        edge.gateway
            .http
            .get(edge.gateway.url(path))
            .header("x-authenticated-user", "1")
    };
    let body: Value = forged("/public")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        body["headers"].get("x-authenticated-user").is_none(),
        "{body}"
    );
    let body: Value = forged("/optional")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        body["headers"].get("x-authenticated-user").is_none(),
        "{body}"
    );
    let response = forged("/required")
        .bearer_auth(signer.token("7"))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["headers"]["x-authenticated-user"], "7", "{body}");
}

#[tokio::test]
async fn optional_auth_goes_on_without_a_token_and_checks_one_that_is_sent() {
    let signer = Signer::new();
    let edge = Edge::start(vec![signer.jwk.clone()]).await;
    let body: Value = edge.get("/optional", None).await.json().await.unwrap();
    assert!(body["headers"].get("x-authenticated-user").is_none());
    let body: Value = edge
        .get("/optional", Some(&signer.token("5")))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["headers"]["x-authenticated-user"], "5");
    let mut expired = claims("5");
    expired["exp"] = json!(now() - 3600);
    let response = edge.get("/optional", Some(&signer.sign(&expired))).await;
    assert!(invalid_token(response).await.contains("expired"));
    assert_eq!(edge.hits(), 2);
}

#[tokio::test]
async fn no_token_is_a_401_with_a_bare_bearer_challenge() {
    let signer = Signer::new();
    let edge = Edge::start(vec![signer.jwk.clone()]).await;
    for request in [
        edge.gateway.http.get(edge.gateway.url("/required")),
        edge.gateway
            .http
            .get(edge.gateway.url("/required"))
            .header("authorization", "Basic dXNlcjpwdw=="),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        problem(response, 401, "unauthorized").await;
    }
    assert_eq!(edge.hits(), 0);
}

/// A token made of these three parts, as they are.
fn parts(header: &str, payload: &str, signature: &str) -> String {
    format!("{header}.{payload}.{signature}")
}

#[tokio::test]
async fn every_bad_token_is_a_401_that_reaches_no_upstream() {
    let signer = Signer::new();
    let edge = Edge::start(vec![signer.jwk.clone()]).await;
    let good = signer.token("7");
    let [h, p, s]: [&str; 3] = good.split('.').collect::<Vec<_>>().try_into().unwrap();
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut c = claims("7");
        edit(&mut c);
        signer.sign(&c)
    };
    let header_json = |value: Value| b64(value.to_string().as_bytes());
    let hs256_with_public_key = jsonwebtoken::encode(
        &Header {
            kid: Some(signer.kid.clone()),
            ..Header::new(Algorithm::HS256)
        },
        &claims("7"),
        &EncodingKey::from_secret(&signer.public_key()).unwrap(),
    )
    .unwrap();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "expired",
            with(&|c| c["exp"] = json!(now() - 60)),
            "expired",
        ),
        (
            "not yet valid",
            with(&|c| c["nbf"] = json!(now() + 600)),
            "not valid yet",
        ),
        (
            "wrong issuer",
            with(&|c| c["iss"] = json!("https://evil.test")),
            "issuer",
        ),
        (
            "wrong audience",
            with(&|c| c["aud"] = json!("someone-else")),
            "`aud`",
        ),
        (
            "no exp",
            with(&|c| {
                c.as_object_mut().unwrap().remove("exp");
            }),
            "`exp`",
        ),
        (
            "no sub",
            with(&|c| {
                c.as_object_mut().unwrap().remove("sub");
            }),
            "`sub`",
        ),
        (
            "sub not a string",
            with(&|c| c["sub"] = json!(7)),
            "malformed",
        ),
        (
            "alg none",
            parts(&header_json(json!({"alg": "none", "typ": "JWT"})), p, ""),
            "header",
        ),
        (
            "HS256 signed with the public key",
            hs256_with_public_key,
            "algorithm",
        ),
        ("header not JSON", parts(&b64(b"{not json"), p, s), "header"),
        ("header bad base64", parts("!!!", p, s), "header"),
        // The signature covers the payload's bytes, so it fails first.
        ("payload not JSON", parts(h, &b64(b"[1,2"), s), "signature"),
        ("payload bad base64", parts(h, "%%%", s), "signature"),
        (
            "payload of another token",
            parts(h, &b64(claims("8").to_string().as_bytes()), s),
            "signature",
        ),
        (
            "signature of another token",
            parts(h, p, &b64(&[7; 64])),
            "signature",
        ),
        ("signature bad base64", parts(h, p, "***"), "malformed"),
        ("signature missing", parts(h, p, ""), "signature"),
        ("two parts", format!("{h}.{p}"), "three base64url parts"),
        ("four parts", format!("{good}.{s}"), "three base64url parts"),
        ("one part", "abc".to_owned(), "three base64url parts"),
        (
            "10 KB",
            with(&|c| c["pad"] = json!("x".repeat(10 * 1024))),
            "longer than 8192",
        ),
    ];
    for (name, token, needle) in cases {
        let detail = invalid_token(edge.get("/required", Some(&token)).await).await;
        assert!(detail.contains(needle), "{name}: {detail}");
    }
    assert_eq!(edge.hits(), 0, "no bad token reached the upstream");
    let response = edge.get("/required", Some(&good)).await;
    assert_eq!(response.status(), 200, "the good one passes");
}

#[tokio::test]
async fn an_unknown_kid_reads_the_keys_again_once_per_interval() {
    let first = Signer::new();
    let second = Signer::new();
    let third = Signer::new();
    let edge = Edge::start(vec![first.jwk.clone()]).await;
    assert_eq!(edge.jwks.reads(), 1, "read once at startup");
    assert_eq!(
        edge.get("/required", Some(&first.token("1")))
            .await
            .status(),
        200
    );
    assert_eq!(edge.jwks.reads(), 1, "a known kid reads nothing");

    // The identity provider publishes a second key; a token of it makes one read.
    edge.jwks.set(vec![first.jwk.clone(), second.jwk.clone()]);
    assert_eq!(
        edge.get("/required", Some(&second.token("2")))
            .await
            .status(),
        200
    );
    assert_eq!(edge.jwks.reads(), 2);

    // Another unknown kid within the interval reads nothing, even once it is published.
    edge.jwks.set(vec![
        first.jwk.clone(),
        second.jwk.clone(),
        third.jwk.clone(),
    ]);
    let detail = invalid_token(edge.get("/required", Some(&third.token("3"))).await).await;
    assert!(detail.contains("`kid`"), "{detail}");
    assert_eq!(edge.jwks.reads(), 2);
    assert_eq!(edge.hits(), 2);
}

#[tokio::test]
async fn after_a_rotation_new_tokens_pass_and_tokens_of_the_removed_key_do_not() {
    let old = Signer::new();
    let new = Signer::new();
    let edge = Edge::start(vec![old.jwk.clone()]).await;
    assert_eq!(
        edge.get("/required", Some(&old.token("1"))).await.status(),
        200
    );
    edge.jwks.set(vec![new.jwk.clone()]);
    assert_eq!(
        edge.get("/required", Some(&new.token("1"))).await.status(),
        200
    );
    assert_eq!(edge.jwks.reads(), 2);
    let detail = invalid_token(edge.get("/required", Some(&old.token("1"))).await).await;
    assert!(detail.contains("`kid`"), "{detail}");
    assert_eq!(edge.hits(), 2);
}

#[tokio::test]
async fn keys_that_cannot_be_read_answer_503_not_401() {
    let signer = Signer::new();
    let upstreams = Upstreams::start().await;
    let url = format!("{}/jwks.json", refused_url().await);
    let gateway = Gateway::start(&routes(&url), upstreams.overrides()).await;
    let response = gateway
        .http
        .get(gateway.url("/required"))
        .bearer_auth(signer.token("1"))
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("retry-after"));
    problem(response, 503, "keys-unavailable").await;
    assert_eq!(upstreams.total_requests(), 0);
}

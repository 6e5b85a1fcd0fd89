//! Bearer tokens on the proxy path: a route with `auth` has its `Authorization: Bearer`
//! JWT verified against the table's issuers before anything reaches an upstream, and an
//! `owner` route has the token's subject compared with a path parameter. The verified
//! subject travels upstream in [`X_AUTHENTICATED_USER`], which the gateway removes from
//! every client request, so upstreams can trust it.
//!
//! Keys are read from the snapshot's key stores without a lock; only a token whose `kid`
//! the store does not know waits, for at most one (rate-limited) read of the issuer's JWKS.

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderName, HeaderValue};
use jsonwebtoken::Header;
use jsonwebtoken::errors::ErrorKind;
use serde::Deserialize;

use super::error::ProxyError;
use crate::snapshot::Snapshot;
use crate::snapshot::keys::Lookup;
use crate::table::{AuthMode, Issuer, Pattern, RouteAuth};

/// The header that carries the verified token subject upstream.
pub const X_AUTHENTICATED_USER: HeaderName = HeaderName::from_static("x-authenticated-user");

/// Longest token looked at, in bytes; a longer one is refused unread.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Longest `sub` forwarded, in bytes.
const MAX_SUBJECT_BYTES: usize = 256;

/// The claims the gateway reads (the rest are checked by the validation or ignored).
#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
}

/// Just the issuer, to pick which issuer's keys verify a token when there are several.
#[derive(Deserialize)]
struct PeekIssuer {
    iss: Option<String>,
}

/// What the verification of one token found to wait for.
enum Next {
    Verified(String),
    Refused(&'static str),
    Refetch { loaded: bool },
}

/// The verified subject of the request, if it carries a valid token; an error answers it.
pub async fn authenticate(
    snapshot: &Snapshot,
    auth: &RouteAuth,
    headers: &HeaderMap,
    path: &str,
) -> Result<Option<String>, ProxyError> {
    let token = match bearer(headers) {
        Ok(Some(token)) => token,
        Ok(None) if auth.mode == AuthMode::Optional => return Ok(None),
        Ok(None) => return Err(ProxyError::Unauthorized { reason: None }),
        Err(why) => return Err(invalid(why)),
    };
    let subject = verify(snapshot, token).await?;
    if let Some(owner) = &auth.owner
        && Pattern::param_at(path, owner.index) != Some(subject.as_str())
    {
        return Err(ProxyError::Forbidden {
            param: owner.name.clone(),
        });
    }
    Ok(Some(subject))
}

/// The subject as the header value sent upstream.
pub fn subject_header(subject: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(subject).ok()
}

fn invalid(why: &'static str) -> ProxyError {
    ProxyError::Unauthorized { reason: Some(why) }
}

/// The bearer token of `Authorization`, `None` without bearer credentials.
fn bearer(headers: &HeaderMap) -> Result<Option<&str>, &'static str> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err("the request has more than one Authorization header");
    }
    let value = value
        .to_str()
        .map_err(|_| "the Authorization header is not visible ASCII")?;
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        // Other credentials (Basic, …) are no bearer token at all.
        return Ok(None);
    }
    let token = rest.trim();
    if token.is_empty() {
        return Err("the bearer token is empty");
    }
    Ok(Some(token))
}

/// Verifies `token` against the table's issuers; the subject, or why not.
async fn verify(snapshot: &Snapshot, token: &str) -> Result<String, ProxyError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(invalid("the token is longer than 8192 bytes"));
    }
    if token.bytes().filter(|b| *b == b'.').count() != 2 {
        return Err(invalid(
            "the token is not a JWT: three base64url parts separated by dots",
        ));
    }
    let header = jsonwebtoken::decode_header(token)
        .map_err(|_| invalid("the token header is not base64url JSON with a known `alg`"))?;
    let (index, issuer) = pick_issuer(snapshot, token)?;
    if !issuer.accepts(header.alg) {
        return Err(invalid("the token's algorithm is not accepted"));
    }
    let Some(store) = snapshot.keys(index) else {
        return Err(ProxyError::KeysUnavailable {
            issuer: issuer.name.clone(),
        });
    };
    store.refresh_if_due();
    let loaded = match attempt(store, issuer, &header, token) {
        Next::Verified(subject) => return Ok(subject),
        Next::Refused(why) => return Err(invalid(why)),
        Next::Refetch { loaded } => loaded,
    };
    let fetched = store.refetch().await;
    if !fetched && !loaded {
        return Err(ProxyError::KeysUnavailable {
            issuer: issuer.name.clone(),
        });
    }
    match attempt(store, issuer, &header, token) {
        Next::Verified(subject) => Ok(subject),
        Next::Refused(why) => Err(invalid(why)),
        Next::Refetch { loaded: true } => Err(invalid("no key of the issuer has this `kid`")),
        Next::Refetch { loaded: false } => Err(ProxyError::KeysUnavailable {
            issuer: issuer.name.clone(),
        }),
    }
}

/// The issuer whose keys verify `token`: the only one, or the one its `iss` names.
fn pick_issuer<'s>(snapshot: &'s Snapshot, token: &str) -> Result<(usize, &'s Issuer), ProxyError> {
    let issuers = snapshot.table.issuers();
    if let [only] = issuers {
        return Ok((0, only));
    }
    let peek: PeekIssuer = jsonwebtoken::dangerous::insecure_decode_claims(token)
        .map_err(|_| invalid("the token payload is not base64url JSON"))?;
    let iss = peek
        .iss
        .ok_or_else(|| invalid("the token has no `iss` claim"))?;
    issuers
        .iter()
        .enumerate()
        .find(|(_, i)| *i.issuer == *iss)
        .ok_or_else(|| invalid("the token's issuer is not trusted"))
}

/// One verification against the keys held now (no await: the keys are borrowed).
fn attempt(
    store: &crate::snapshot::KeyStore,
    issuer: &Issuer,
    header: &Header,
    token: &str,
) -> Next {
    let keys = store.keys();
    let candidates = match keys.lookup(header.kid.as_deref(), header.alg) {
        Lookup::Found(candidates) => candidates,
        Lookup::Unknown => return Next::Refetch { loaded: true },
        Lookup::NotLoaded => return Next::Refetch { loaded: false },
    };
    let mut why = "the token's signature does not verify";
    for key in candidates {
        match jsonwebtoken::decode::<Claims>(token, &key.key, issuer.validation()) {
            Ok(data) => {
                return match data.claims.sub {
                    Some(sub) => checked_subject(sub),
                    None => Next::Refused("the token has no `sub` claim"),
                };
            }
            Err(err) => match err.kind() {
                ErrorKind::InvalidSignature => {}
                kind => {
                    why = describe(kind);
                    break;
                }
            },
        }
    }
    Next::Refused(why)
}

fn checked_subject(sub: String) -> Next {
    if sub.is_empty() || sub.len() > MAX_SUBJECT_BYTES || sub.bytes().any(|b| !b.is_ascii_graphic())
    {
        return Next::Refused(
            "the token's `sub` is empty, longer than 256 bytes or not visible ASCII",
        );
    }
    Next::Verified(sub)
}

fn describe(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::ExpiredSignature => "the token has expired",
        ErrorKind::ImmatureSignature => "the token is not valid yet (`nbf`)",
        ErrorKind::InvalidIssuer => "the token's issuer is not trusted",
        ErrorKind::InvalidAudience => "the token is not meant for this API (`aud`)",
        ErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
            "exp" => "the token has no `exp` claim",
            "iss" => "the token has no `iss` claim",
            "aud" => "the token has no `aud` claim",
            "sub" => "the token has no `sub` claim",
            _ => "the token lacks a required claim",
        },
        ErrorKind::InvalidAlgorithm => "the token's algorithm does not fit the key",
        _ => "the token is malformed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn bearer_credentials_are_read_and_others_ignored() {
        assert_eq!(bearer(&headers(&[])), Ok(None));
        assert_eq!(bearer(&headers(&["Bearer a.b.c"])), Ok(Some("a.b.c")));
        assert_eq!(bearer(&headers(&["bearer   a.b.c "])), Ok(Some("a.b.c")));
        assert_eq!(bearer(&headers(&["Basic dXNlcjpwdw=="])), Ok(None));
        assert!(bearer(&headers(&["Bearer"])).is_err());
        assert!(bearer(&headers(&["Bearer a.b.c", "Bearer d.e.f"])).is_err());
    }

    #[test]
    fn subjects_must_be_short_visible_ascii() {
        assert!(matches!(checked_subject("42".into()), Next::Verified(s) if s == "42"));
        assert!(matches!(checked_subject(String::new()), Next::Refused(_)));
        assert!(matches!(checked_subject("a b".into()), Next::Refused(_)));
        assert!(matches!(checked_subject("x".repeat(257)), Next::Refused(_)));
    }
}

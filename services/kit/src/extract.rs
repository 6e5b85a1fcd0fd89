//! Extractors whose rejections are problems: unparseable input is a 400, a well-formed JSON
//! body whose fields break a rule is a 422 naming each field. And a body that means
//! nothing, read and dropped.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use http::header::CONTENT_TYPE;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::problem::Problem;

/// A JSON object request body (`application/json`), or a JSON response.
///
/// Unlike `axum::Json`, a rejection names the offending field by its path in `errors`,
/// and a body that is not an object is refused (serde would read a struct from an array).
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

/// Path parameters; a rejection is a 400 problem.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(Problem))]
pub struct Path<T>(pub T);

/// Query parameters; a rejection is a 400 problem.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Problem))]
pub struct Query<T>(pub T);

/// A request body that is read to its end and dropped, for a route whose input is all in
/// its path.
///
/// Reading it keeps the connection of a client that sent one reusable: hyper closes a
/// connection whose request body was left unread. A body over the limit is still a 413.
#[derive(Debug, Clone, Copy)]
pub struct IgnoredBody;

/// Query parameters of a bulk read, whose lists the specs publish as one comma-separated
/// value (`ids=1,2,3`: `style: form, explode: false`). A list sent as repeated keys
/// (`ids=1&ids=2&ids=3`), as SDK generators that ignore `explode: false` send it, reads
/// as the same list: the values of a repeated key are joined with commas, in order. A
/// rejection is a 400 problem.
#[derive(Debug)]
pub struct ListQuery<T>(pub T);

// === impl ListQuery ===

impl<T, S> FromRequestParts<S> for ListQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        parse_list_query(query).map(ListQuery)
    }
}

/// Deserializes a query string, a repeated key's values joined with commas.
pub fn parse_list_query<T: DeserializeOwned>(query: &str) -> Result<T, Problem> {
    let invalid =
        |err: &dyn std::fmt::Display| Problem::bad_request(format!("invalid query string: {err}"));
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query).map_err(|err| invalid(&err))?;
    let mut joined: Vec<(String, String)> = Vec::with_capacity(pairs.len());
    for (key, value) in pairs {
        match joined.iter_mut().find(|(k, _)| *k == key) {
            Some((_, list)) => {
                list.push(',');
                list.push_str(&value);
            }
            None => joined.push((key, value)),
        }
    }
    let query = serde_urlencoded::to_string(&joined).map_err(|err| invalid(&err))?;
    serde_urlencoded::from_str(&query).map_err(|err| invalid(&err))
}

// === impl IgnoredBody ===

impl<S: Send + Sync> FromRequest<S> for IgnoredBody {
    type Rejection = BytesRejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(request, state).await.map(|_| Self)
    }
}

// === impl Json ===

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(Problem::for_status(
                http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Some("the body must be JSON, sent with `content-type: application/json`"),
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|r| from_bytes_rejection(&r))?;
        parse_json(&bytes).map(Json)
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Deserializes a JSON object body: a syntax error is a 400, a type or value error a 422
/// whose `errors` names the field by its path (`author_id`, `items[2].name`), and a
/// well-formed body that is not an object a 422 on `body`.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let first = bytes
        .iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    if first != Some(&b'{') {
        // serde reads a struct from an array (`[]` is a struct of defaults): refuse any
        // other document, after telling a syntax error (400) from another JSON type.
        return Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
                Ok(_) => Problem::validation().with_field_error("body", "must be a JSON object"),
                Err(err) => Problem::invalid_json(format!("the body is not valid JSON: {err}")),
            },
        );
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize(de) {
        Ok(value) => Ok(value),
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            match inner.classify() {
                serde_json::error::Category::Data => {
                    let message = strip_position(&inner);
                    let field = field_name(&path, &message);
                    Err(Problem::validation().with_field_error(field, message))
                }
                _ => Err(Problem::invalid_json(format!(
                    "the body is not valid JSON: {inner}"
                ))),
            }
        }
    }
}

/// The field an error is about: its path, or for a missing or unknown member the member's
/// own name under that path; `body` when the error concerns the whole document.
fn field_name(path: &str, message: &str) -> String {
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next());
    match (path, named) {
        (".", Some(name)) => name.to_owned(),
        (".", None) => "body".to_owned(),
        // An unknown member is already the last segment of the path; a missing one is not.
        (path, Some(name)) if path == name || path.ends_with(&format!(".{name}")) => {
            path.to_owned()
        }
        (path, Some(name)) => format!("{path}.{name}"),
        (path, None) => path.to_owned(),
    }
}

/// serde_json appends " at line L column C"; for a field error the path says more.
fn strip_position(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}

fn is_json(headers: &http::HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
        || (essence.len() > 5
            && essence[..essence.len() - 5].starts_with("application/")
            && essence.to_ascii_lowercase().ends_with("+json"))
}

fn from_bytes_rejection(rejection: &BytesRejection) -> Problem {
    Problem::for_status(rejection.status(), Some(&rejection.body_text()))
}

// === impl Problem (rejections) ===

impl From<PathRejection> for Problem {
    fn from(rejection: PathRejection) -> Self {
        match rejection {
            PathRejection::FailedToDeserializePathParams(err) => {
                Problem::bad_request(format!("invalid path parameter: {}", err.body_text()))
            }
            // A route declared without the parameter its handler reads: our bug, not the
            // client's.
            other => Problem::internal().with_detail(other.body_text()),
        }
    }
}

impl From<QueryRejection> for Problem {
    fn from(rejection: QueryRejection) -> Self {
        let text = rejection.body_text();
        let text = text
            .strip_prefix("Failed to deserialize query string: ")
            .unwrap_or(&text);
        Problem::bad_request(format!("invalid query string: {text}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        author_id: crate::ids::UserId,
    }

    #[test]
    fn syntax_errors_are_400() {
        let err = parse_json::<Body>(b"{\"name\": ").unwrap_err();
        assert_eq!(err.status, 400);
        assert_eq!(err.code, "invalid-json");
    }

    #[test]
    fn field_errors_are_422_naming_the_field() {
        let err = parse_json::<Body>(br#"{"name": "a", "author_id": 0}"#).unwrap_err();
        assert_eq!(err.status, 422);
        let messages = &err.errors["author_id"];
        assert!(messages[0].contains("positive"), "{messages:?}");

        let err = parse_json::<Body>(br#"{"name": 5, "author_id": 1}"#).unwrap_err();
        assert!(err.errors.contains_key("name"), "{err:?}");

        let err = parse_json::<Body>(br#"{"name": "a"}"#).unwrap_err();
        assert_eq!(err.status, 422);
        assert!(err.errors["author_id"][0].contains("missing"), "{err:?}");

        let err = parse_json::<Body>(br#"{"name": "a", "author_id": 1, "x": 1}"#).unwrap_err();
        assert!(err.errors["x"][0].contains("unknown field"), "{err:?}");

        let err = parse_json::<Body>(b"\"hello\"").unwrap_err();
        assert!(err.errors.contains_key("body"), "{err:?}");
    }

    #[test]
    fn only_an_object_is_a_body() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Patch {
            #[serde(default)]
            name: Option<String>,
        }
        for body in [&b"[]"[..], b" [\"a\"]", b"null", b"7", b"\n\"x\""] {
            let err = parse_json::<Patch>(body).unwrap_err();
            assert_eq!(err.status, 422, "{body:?}");
            assert_eq!(err.errors["body"], ["must be a JSON object"], "{body:?}");
        }
        for body in [&b"[1,"[..], b"", b"  "] {
            assert_eq!(
                parse_json::<Patch>(body).unwrap_err().status,
                400,
                "{body:?}"
            );
        }
        assert!(parse_json::<Patch>(b" \r\n{}").is_ok());
    }

    #[test]
    fn a_list_query_reads_repeated_keys_as_one_comma_separated_list() {
        #[derive(Debug, PartialEq, serde::Deserialize)]
        struct Bulk {
            ids: Option<String>,
            per_author: Option<String>,
        }
        let parse = |q: &str| parse_list_query::<Bulk>(q);
        let bulk = |ids: &str, per_author: Option<&str>| Bulk {
            ids: Some(ids.to_owned()),
            per_author: per_author.map(str::to_owned),
        };
        assert_eq!(parse("ids=1,2,3").unwrap(), bulk("1,2,3", None));
        assert_eq!(parse("ids=1&ids=2&ids=3").unwrap(), bulk("1,2,3", None));
        assert_eq!(
            parse("ids=3&per_author=2&ids=1%2C4").unwrap(),
            bulk("3,1,4", Some("2"))
        );
        // The items are still checked one by one: `&`, `=` and `,` stay what they were.
        assert_eq!(parse("ids=1%262&ids=x").unwrap(), bulk("1&2,x", None));
        assert_eq!(
            parse("").unwrap(),
            Bulk {
                ids: None,
                per_author: None
            }
        );
        let err = parse_list_query::<u8>("ids=1").unwrap_err();
        assert_eq!(err.status, 400);
        assert!(err.detail.unwrap().starts_with("invalid query string"));
    }

    #[test]
    fn json_media_types() {
        let mut headers = http::HeaderMap::new();
        assert!(!is_json(&headers));
        for (ct, ok) in [
            ("application/json", true),
            ("application/json; charset=utf-8", true),
            ("Application/JSON", true),
            ("application/merge-patch+json", true),
            ("text/plain", false),
            ("application/jsonx", false),
        ] {
            headers.insert(CONTENT_TYPE, ct.parse().unwrap());
            assert_eq!(is_json(&headers), ok, "{ct}");
        }
    }
}

//! OpenAPI finishing touches shared by every service, so each spec describes the generic
//! errors the same way: every operation gets the problem responses the stack can produce
//! (400 for unparseable input, 413/415/422 for bodies, 500, 503, 504) unless it already
//! declares them with a more specific description. A spec that names no security
//! requirement gets an explicit empty one: no operation needs credentials.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::server::Server;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::problem::{CONTENT_TYPE_PROBLEM, Problem};

/// The `servers` entry of every spec as served: the relative URL `/`, which clients
/// resolve against the address they read the spec from.
pub const SERVED_SERVER_URL: &str = "/";

/// What the served `servers` entry says.
pub const SERVED_SERVER_DESCRIPTION: &str = "The server this document was read from";

/// `spec` as a server serves it: `servers` is the relative [`SERVED_SERVER_URL`], so
/// Swagger UI's "Try it out" (and any tool reading the spec from a server) calls the
/// server that served it, on whatever address and port it runs. The checked-in files keep
/// the default local address.
pub fn served(mut spec: OpenApi) -> OpenApi {
    let mut server = Server::new(SERVED_SERVER_URL);
    server.description = Some(SERVED_SERVER_DESCRIPTION.to_owned());
    spec.servers = Some(vec![server]);
    spec
}

/// [`finish`]es `spec` and returns it.
pub fn finished(mut spec: OpenApi) -> OpenApi {
    finish(&mut spec);
    spec
}

/// Adds the `Problem` schema and the generic error responses to every operation, and
/// states that the API needs no credentials unless it already declares some.
pub fn finish(spec: &mut OpenApi) {
    spec.security.get_or_insert_with(Vec::new);
    let components = spec.components.get_or_insert_with(Default::default);
    components
        .schemas
        .insert(Problem::name().into_owned(), Problem::schema());
    for item in spec.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            add_generic_errors(operation);
        }
    }
}

fn add_generic_errors(operation: &mut Operation) {
    let has_params = operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let has_body = operation.request_body.is_some();
    let responses = &mut operation.responses.responses;
    let mut add = |status: &str, description: &str, retry_after: bool| {
        responses
            .entry(status.to_owned())
            .or_insert_with(|| problem_response(description, retry_after));
    };
    if has_params || has_body {
        add(
            "400",
            "Malformed request: a path or query parameter, or the JSON body, cannot be parsed. \
             `detail` names what was wrong and what is allowed.",
            false,
        );
    }
    if has_body {
        add("413", "The request body exceeds the size limit.", false);
        add(
            "415",
            "The body is not sent as JSON (`content-type: application/json`).",
            false,
        );
        add(
            "422",
            "The JSON body is well-formed but some fields break a rule; `errors` maps each \
             offending field to its messages.",
            false,
        );
    }
    add(
        "500",
        "The server failed; the cause is logged under the problem's `request_id`.",
        false,
    );
    add(
        "503",
        "Overloaded, or a dependency the answer needs is down; retry after `Retry-After` \
         seconds.",
        true,
    );
    add(
        "504",
        "The request did not complete within the server's time limit.",
        false,
    );
}

/// A problem+json response with `description`, optionally with a `Retry-After` header.
pub fn problem_response(description: &str, retry_after: bool) -> RefOr<Response> {
    let mut builder = ResponseBuilder::new().description(description).content(
        CONTENT_TYPE_PROBLEM,
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name(Problem::name())))
            .build(),
    );
    if retry_after {
        builder = builder.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(0)),
                ))
                .description(Some("Seconds to wait before retrying"))
                .build(),
        );
    }
    builder.build().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::OpenApi as _;

    #[utoipa::path(post, path = "/things/{id}", params(("id" = i64, Path)),
        request_body = String,
        responses((status = 201, description = "made"), (status = 422, description = "own words")))]
    #[allow(dead_code)]
    fn make_thing() {}

    #[utoipa::path(get, path = "/plain", responses((status = 200, description = "ok")))]
    #[allow(dead_code)]
    fn plain() {}

    #[derive(utoipa::OpenApi)]
    #[openapi(paths(make_thing, plain))]
    struct Doc;

    #[test]
    fn adds_generic_errors_without_overwriting_declared_ones() {
        let mut spec = Doc::openapi();
        finish(&mut spec);
        let json = serde_json::to_value(&spec).unwrap();
        let post = &json["paths"]["/things/{id}"]["post"]["responses"];
        for status in ["400", "413", "415", "500", "503", "504"] {
            assert_eq!(
                post[status]["content"]["application/problem+json"]["schema"]["$ref"],
                "#/components/schemas/Problem",
                "{status}"
            );
        }
        assert_eq!(post["422"]["description"], "own words");
        assert!(post["503"]["headers"]["Retry-After"].is_object());
        let get = &json["paths"]["/plain"]["get"]["responses"];
        assert!(get.get("400").is_none(), "no input, no 400");
        assert!(get.get("500").is_some());
        assert!(json["components"]["schemas"]["Problem"].is_object());
        assert_eq!(
            json["security"],
            serde_json::json!([]),
            "no credentials, said so"
        );
    }
}

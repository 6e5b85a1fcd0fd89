//! The admin API's spec, from the annotations on its handlers in [`super::routes`].

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "gateway admin",
        description = "The gateway's admin API, on its own listener (loopback by default): \
            the active route table, live reloads of the routes file, request totals, the comparisons of shadow traffic, \
            Prometheus metrics and the migration page. When the gateway is \
            started with `--admin-token`, the `/admin` endpoints (but the page itself) and `/metrics` require \
            `Authorization: Bearer <token>`; without one they are open to whoever reaches the \
            listener. The client API is the gateway's other listener, described by its own \
            `/openapi.json`.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
    ),
    servers((url = "http://127.0.0.1:8090", description = "Default local address")),
    paths(
        super::routes::get_routes,
        super::routes::reload,
        super::metrics::get_stats,
        super::routes::page,
        super::metrics::get_metrics,
        super::routes::get_shadow,
        super::routes::get_replication,
        super::routes::healthz
    ),
    modifiers(&BearerToken),
    tags(
        (name = "admin", description = "The route table and its reloads"),
        (name = "ops", description = "Liveness probe and Prometheus metrics"),
    )
)]
struct AdminDoc;

/// Declares the optional bearer token the `/admin` operations accept.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, spec: &mut utoipa::openapi::OpenApi) {
        let components = spec.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The token given to `gateway serve --admin-token`, when one is",
                    ))
                    .build(),
            ),
        );
    }
}

/// The admin API's spec, with kit's generic problem responses.
pub fn openapi() -> utoipa::openapi::OpenApi {
    kit::openapi::finished(AdminDoc::openapi())
}

//! `gateway openapi`: every checked-in spec as the code generates it, from the services'
//! crates (so only with the `services` feature), the admin API's annotations and the merged
//! spec of a routes file; written to `openapi/`, checked against it, or printed.
//!
//! The proxy never calls this: it serves the checked-in files compiled into it
//! ([`openapi::embedded`]), which the check here keeps equal to the code.

use std::path::Path;
use std::process::ExitCode;

use serde_json::Value;

use crate::admin;
use crate::cli::OpenapiArgs;
use crate::openapi;
use crate::table::{self, Overrides};

/// Every upstream's spec generated from its crate, by upstream name, in
/// [`openapi::UPSTREAMS`] order.
pub fn upstreams() -> Vec<(&'static str, Value)> {
    [
        ("users", users::openapi()),
        ("friends", friends::openapi()),
        ("messages", messages::openapi()),
        ("timeline", timeline::openapi()),
        ("monolith", monolith::openapi()),
    ]
    .into_iter()
    .map(|(name, spec)| (name, openapi::to_value(&spec)))
    .collect()
}

/// Every checked-in spec as generated from code, by file stem: the services', the admin
/// API's, and the merged spec of the routes file `routes` (read from disk).
pub fn generate(routes: &Path) -> anyhow::Result<Vec<(String, Value)>> {
    let loaded = table::load_file(routes, &Overrides::default())
        .map_err(|errors| anyhow::anyhow!("{}:\n{errors}", routes.display()))?;
    let services = upstreams();
    let gateway = openapi::merge(&loaded.table, &services);
    let mut all: Vec<(String, Value)> = services
        .into_iter()
        .map(|(name, spec)| (name.to_owned(), spec))
        .collect();
    all.push((
        openapi::GATEWAY_ADMIN.to_owned(),
        openapi::to_value(&admin::spec::openapi()),
    ));
    all.push((openapi::GATEWAY.to_owned(), gateway));
    Ok(all)
}

/// `gateway openapi`: write, check, or print; the exit code says whether the checked-in
/// specs are current.
pub fn run(args: &OpenapiArgs) -> anyhow::Result<ExitCode> {
    let specs = generate(&args.routes)?;
    if args.write {
        let changed = openapi::write(&args.dir, &specs)?;
        for file in &changed {
            println!("wrote {}", file.display());
        }
        println!(
            "{} spec(s) in {}, {} changed",
            specs.len(),
            args.dir.display(),
            changed.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    if args.check {
        let stale = openapi::check(&args.dir, &specs);
        if stale.is_empty() {
            println!(
                "{} spec(s) in {} are current",
                specs.len(),
                args.dir.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
        eprint!("{}", openapi::stale_report(&stale));
        return Ok(ExitCode::FAILURE);
    }
    let merged = specs
        .iter()
        .find(|(name, _)| name == openapi::GATEWAY)
        .map(|(_, spec)| openapi::render(spec))
        .unwrap_or_default();
    print!("{merged}");
    Ok(ExitCode::SUCCESS)
}

//! Any request path against the shipped routes.yaml: the hygiene check and resolution
//! never panic, and a path the check accepts resolves without one.
#![no_main]

use std::sync::LazyLock;

use gateway::table::{Overrides, RouteTable, check_path, parse};
use http::{HeaderMap, Method};
use libfuzzer_sys::fuzz_target;

static TABLE: LazyLock<RouteTable> = LazyLock::new(|| {
    let text = include_str!("../../routes.yaml");
    parse(text, &Overrides::default())
        .expect("the shipped routes.yaml is valid")
        .table
});

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else { return };
    if check_path(path).is_ok() {
        let _ = TABLE.resolve(&Method::GET, path, &HeaderMap::new());
        let _ = TABLE.resolve(&Method::DELETE, path, &HeaderMap::new());
    }
});

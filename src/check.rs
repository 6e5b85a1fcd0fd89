//! `gateway check FILE`: the table on one screen, or every error as `FILE:LINE:COLUMN:`.

use std::fmt::Write as _;
use std::path::Path;

use crate::table::{
    self, ConfigError, KeySource, LoadErrors, Loaded, Overrides, Route, RouteTable, Sticky, Target,
};

/// Checks `file`: `Ok(summary)` or `Err(one line per error)`. An issuer's JWKS file that
/// exists must be a JWKS document with a usable key; one that does not exist yet is noted
/// (a key file may be provisioned after the routes file, as `gateway up` makes its own).
pub fn check(file: &Path, overrides: &Overrides) -> Result<String, String> {
    let name = file.display();
    let loaded = table::load_file(file, overrides).and_then(|loaded| {
        let errors: Vec<ConfigError> = loaded
            .table
            .issuers()
            .iter()
            .filter_map(|issuer| {
                let KeySource::File(path) = &issuer.keys else {
                    return None;
                };
                let bytes = std::fs::read(path).ok()?;
                let why = crate::snapshot::keys::parse_jwks(&bytes).err()?;
                Some(ConfigError::new(
                    issuer.keys_at.0,
                    issuer.keys_at.1,
                    format!("issuers.{}: {}: {why}", issuer.name, path.display()),
                ))
            })
            .collect();
        if errors.is_empty() {
            Ok(loaded)
        } else {
            Err(LoadErrors(errors))
        }
    });
    match loaded {
        Ok(loaded) => Ok(summary(&name.to_string(), &loaded)),
        Err(LoadErrors(errors)) => {
            let mut out = String::new();
            for e in &errors {
                if e.line == 0 {
                    let _ = writeln!(out, "{name}: error: {}", e.message);
                } else {
                    let _ = writeln!(out, "{name}:{}:{}: error: {}", e.line, e.column, e.message);
                }
            }
            let _ = writeln!(
                out,
                "{name}: {} error(s); the table would not be loaded",
                errors.len()
            );
            Err(out)
        }
    }
}

fn summary(name: &str, loaded: &Loaded) -> String {
    let table = &loaded.table;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{name}: ok, version {} ({} upstreams, {} routes)",
        loaded.version,
        table.upstreams().len(),
        table.routes().len()
    );
    let _ = writeln!(out, "upstreams:");
    let width = table
        .upstreams()
        .iter()
        .map(|u| u.name.len())
        .max()
        .unwrap_or(0);
    for (i, u) in table.upstreams().iter().enumerate() {
        let used = table
            .routes()
            .iter()
            .any(|r| r.sides().iter().any(|(id, w)| id.index() == i && *w > 0));
        let _ = writeln!(
            out,
            "  {:width$}  {}  connect {}, request {}{}",
            u.name,
            u.url,
            humantime::format_duration(u.connect_timeout),
            humantime::format_duration(u.request_timeout),
            if used { "" } else { "  (no route uses it)" },
        );
    }
    let _ = writeln!(out, "routes, most specific first:");
    let rows: Vec<(String, String, String)> = table
        .routes()
        .iter()
        .map(|r| {
            let mut edge: Vec<String> = Vec::new();
            if let Some(auth) = &r.auth {
                edge.push(auth.to_string());
            }
            if let Some(limit) = &r.rate_limit {
                edge.push(format!("limit {limit}"));
            }
            if let Some(shadow) = &r.shadow {
                edge.push(format!(
                    "shadow {} {}%{}",
                    table.upstream(shadow.upstream).name,
                    shadow.percent,
                    if shadow.compare { ", compared" } else { "" }
                ));
            }
            let to = if edge.is_empty() {
                target(r, table)
            } else {
                format!("{}  [{}]", target(r, table), edge.join("; "))
            };
            (r.methods.to_string(), r.pattern.to_string(), to)
        })
        .collect();
    let mw = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let pw = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
    for (methods, pattern, to) in rows {
        let _ = writeln!(out, "  {methods:mw$}  {pattern:pw$}  -> {to}");
    }
    for issuer in table.issuers() {
        let present = match &issuer.keys {
            KeySource::File(path) if !path.exists() => {
                " (not there yet: its tokens are refused until it is)"
            }
            _ => "",
        };
        let _ = writeln!(
            out,
            "issuer {}: iss {}, aud {}, {}, keys {}{present}",
            issuer.name,
            issuer.issuer,
            issuer.audiences.join(","),
            issuer.algorithm_names().join(","),
            issuer.keys,
        );
    }
    let s = table.settings();
    let _ = writeln!(
        out,
        "settings: x-upstream {}, trusted proxies [{}], max header bytes {}, handover timeout {}",
        if s.upstream_header { "on" } else { "off" },
        s.trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        s.max_header_bytes,
        humantime::format_duration(s.handover_timeout)
    );
    out
}

/// `users`, or `split users 90 / monolith 10 (sticky param id)`.
fn target(route: &Route, table: &RouteTable) -> String {
    let Target::Split(split) = &route.target else {
        return route
            .sides()
            .first()
            .map(|(id, _)| table.upstream(*id).name.to_string())
            .unwrap_or_default();
    };
    let sides: Vec<String> = route
        .sides()
        .iter()
        .map(|(id, w)| format!("{} {w}", table.upstream(*id).name))
        .collect();
    let sticky = match split.sticky() {
        Some(Sticky::Header(h)) => format!("sticky header {h}"),
        Some(Sticky::Param { name, .. }) => format!("sticky param {name}"),
        None => "no stickiness".to_owned(),
    };
    format!("split {} ({sticky})", sides.join(" / "))
}

//! Which upstreams a reload moves requests from and to: a pure comparison of the active
//! table with the one about to replace it.
//!
//! Each route of either table is probed with a path it matches (its pattern's
//! [`sample`](crate::table::Pattern::sample)) and every standard method. Where the route
//! serving the probe in the old table and the one serving it in the new table send to
//! different upstreams, or to the same ones with other weights, every old side is paired
//! with every new side other than itself: with a split, a client's side follows a hash
//! of its key and the weights, so a change may move any client from any old side to any
//! new one. A route added, removed or changed to other methods is caught the same way:
//! its requests were served by some route of the old table and are by some route of the
//! new one.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::table::{Methods, Route, RouteTable};

/// Two upstreams with requests moving from the first to the second, and how long to wait
/// for the second to catch up with the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    /// The upstream losing requests, by name.
    pub from: String,
    /// Its base URL, from the old table.
    pub from_url: String,
    /// The upstream taking them over, by name.
    pub to: String,
    /// Its base URL, from the new table.
    pub to_url: String,
    /// The longest `handover_timeout` of the new table's routes that moved.
    pub timeout: Duration,
    /// Those routes' patterns, sorted.
    pub routes: Vec<String>,
}

/// Every pair of upstreams `new` moves requests between, relative to `old`, sorted by
/// (from, to); pairs whose routes all have a `handover_timeout` of zero are left out.
pub fn pairs(old: &RouteTable, new: &RouteTable) -> Vec<Pair> {
    let probes: BTreeSet<String> = old
        .routes()
        .iter()
        .chain(new.routes())
        .map(|route| route.pattern.sample())
        .collect();
    let mut found: BTreeMap<(&str, &str), (Duration, BTreeSet<&str>)> = BTreeMap::new();
    for path in &probes {
        for method in Methods::each() {
            let (Some(before), Some(after)) =
                (old.route_for(method, path), new.route_for(method, path))
            else {
                continue;
            };
            let was = sides(before, old);
            let now = sides(after, new);
            if was == now {
                continue;
            }
            let timeout = after.handover_timeout(new.settings());
            for from in was.keys() {
                for to in now.keys().filter(|to| *to != from) {
                    let entry = found
                        .entry((from, to))
                        .or_insert((Duration::ZERO, BTreeSet::new()));
                    entry.0 = entry.0.max(timeout);
                    entry.1.insert(after.pattern.source());
                }
            }
        }
    }
    found
        .into_iter()
        .filter(|(_, (timeout, _))| !timeout.is_zero())
        .filter_map(|((from, to), (timeout, routes))| {
            Some(Pair {
                from: from.to_owned(),
                from_url: url_of(old, from)?,
                to: to.to_owned(),
                to_url: url_of(new, to)?,
                timeout,
                routes: routes.into_iter().map(str::to_owned).collect(),
            })
        })
        .collect()
}

/// A route's upstreams by name, with their weights.
fn sides<'t>(route: &Route, table: &'t RouteTable) -> BTreeMap<&'t str, u64> {
    route
        .sides()
        .into_iter()
        .map(|(id, weight)| (&*table.upstream(id).name, weight))
        .collect()
}

fn url_of(table: &RouteTable, name: &str) -> Option<String> {
    table
        .upstreams()
        .iter()
        .find(|u| &*u.name == name)
        .map(|u| u.url.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests;

//! Which routes a path can match, found without trying every route: routes are filed by
//! the literal their pattern starts with (`/users/{id}` under `users`), and the few whose
//! pattern starts with a parameter or has no segment at all (`/{tenant}/…`, `prefix: /`)
//! are candidates for every path. A path's candidates are the routes filed under its first
//! segment and those, merged back into table order, so resolution still takes the first
//! route of the table that matches: the index only skips routes that cannot match (a
//! pattern whose first segment is the literal `users` matches no path whose first segment
//! is anything else). A table of 10,000 routes resolves a request by trying a handful.

use std::collections::HashMap;

use super::matcher::{Pattern, first_segment};

/// Route positions by the literal their pattern starts with.
#[derive(Debug, Default)]
pub struct RouteIndex {
    /// Positions of the routes starting with each literal, ascending.
    by_first: HashMap<Box<str>, Box<[u32]>>,
    /// Positions of the routes that may match any first segment, ascending.
    any_first: Box<[u32]>,
}

/// The positions of a path's candidate routes, in table order.
#[derive(Debug, Clone)]
pub struct Candidates<'i> {
    filed: &'i [u32],
    any: &'i [u32],
}

// === impl RouteIndex ===

impl RouteIndex {
    /// The index of `patterns`, in table order.
    pub fn new<'p>(patterns: impl IntoIterator<Item = &'p Pattern>) -> Self {
        let mut by_first: HashMap<Box<str>, Vec<u32>> = HashMap::new();
        let mut any_first = Vec::new();
        for (position, pattern) in patterns.into_iter().enumerate() {
            // A table holds far fewer than 2^32 routes (validation caps the file's size).
            let position = u32::try_from(position).unwrap_or(u32::MAX);
            match pattern.first_literal() {
                Some(literal) => by_first.entry(literal.into()).or_default().push(position),
                None => any_first.push(position),
            }
        }
        Self {
            by_first: by_first
                .into_iter()
                .map(|(literal, positions)| (literal, positions.into()))
                .collect(),
            any_first: any_first.into(),
        }
    }

    /// The routes `path` may match, in table order.
    pub fn candidates(&self, path: &str) -> Candidates<'_> {
        let filed = first_segment(path)
            .and_then(|segment| self.by_first.get(segment))
            .map_or(&[][..], |positions| &positions[..]);
        Candidates {
            filed,
            any: &self.any_first,
        }
    }
}

// === impl Candidates ===

impl Iterator for Candidates<'_> {
    type Item = usize;

    /// The next position of either list, the smaller first: a merge of two ascending lists.
    fn next(&mut self) -> Option<usize> {
        let next = match (self.filed.first(), self.any.first()) {
            (Some(&f), Some(&a)) if f < a => {
                self.filed = &self.filed[1..];
                f
            }
            (_, Some(&a)) => {
                self.any = &self.any[1..];
                a
            }
            (Some(&f), None) => {
                self.filed = &self.filed[1..];
                f
            }
            (None, None) => return None,
        };
        Some(next as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `templates` as patterns, `prefix:P` a prefix route.
    fn patterns(templates: &[&str]) -> Vec<Pattern> {
        templates
            .iter()
            .map(|t| match t.strip_prefix("prefix:") {
                Some(prefix) => Pattern::prefix(prefix),
                None => Pattern::template(t),
            })
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn index(templates: &[&str]) -> RouteIndex {
        RouteIndex::new(&patterns(templates))
    }

    #[test]
    fn a_path_gets_the_routes_of_its_first_segment_and_the_open_ones_in_table_order() {
        let index = index(&[
            "/users/{id}/friends",
            "/{tenant}/health",
            "/users/{id}",
            "/messages/{id}",
            "prefix:/",
        ]);
        assert_eq!(
            index.candidates("/users/7").collect::<Vec<_>>(),
            vec![0, 1, 2, 4]
        );
        assert_eq!(
            index.candidates("/messages/1").collect::<Vec<_>>(),
            vec![1, 3, 4]
        );
        assert_eq!(index.candidates("/other").collect::<Vec<_>>(), vec![1, 4]);
        assert_eq!(index.candidates("/").collect::<Vec<_>>(), vec![1, 4]);
    }

    #[test]
    fn every_route_that_matches_is_a_candidate() {
        let templates = [
            "/users/{id}/friends",
            "/users",
            "/{tenant}/users",
            "/static/{*rest}",
            "prefix:/static",
            "prefix:/",
            "/",
        ];
        let patterns = patterns(&templates);
        let index = RouteIndex::new(&patterns);
        for path in [
            "/",
            "/users",
            "/users/",
            "/users/1/friends",
            "/static",
            "/static/a/b",
            "/x/users",
            "/x",
            "//users",
        ] {
            let matching: Vec<usize> = (0..patterns.len())
                .filter(|&i| patterns[i].matches(path))
                .collect();
            let candidates: Vec<usize> = index
                .candidates(path)
                .filter(|&i| patterns[i].matches(path))
                .collect();
            assert_eq!(candidates, matching, "{path}");
        }
    }
}

use std::collections::HashMap;

use kit::ids::UserId;

use super::Lookup;

/// What looking up a set of profiles found, and how the cache and the users service did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolved {
    /// One lookup per id asked for.
    pub lookups: HashMap<UserId, Lookup>,
    /// Fresh cache hits.
    pub hits: u64,
    /// Ids that were not fresh in the cache.
    pub misses: u64,
    /// Some ids could not be loaded (users failed or was late).
    pub users_failed: bool,
    /// Some lookups are stale cache entries served because the users service failed.
    pub stale_served: bool,
}

// === impl Resolved ===

impl Resolved {
    /// Adds what a further lookup found: its lookups, its counts, its failures.
    pub fn absorb(&mut self, more: Resolved) {
        self.lookups.extend(more.lookups);
        self.hits += more.hits;
        self.misses += more.misses;
        self.users_failed |= more.users_failed;
        self.stale_served |= more.stale_served;
    }

    /// Whether the users service says `id` does not exist.
    pub fn is_missing(&self, id: UserId) -> bool {
        self.lookups.get(&id) == Some(&Lookup::Missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uid(n: i64) -> UserId {
        UserId::new(n)
    }

    #[test]
    fn absorbing_adds_lookups_and_counts_and_keeps_failures() {
        let mut all = Resolved {
            lookups: HashMap::from([(uid(1), Lookup::Missing)]),
            hits: 1,
            misses: 0,
            users_failed: true,
            stale_served: false,
        };
        all.absorb(Resolved {
            lookups: HashMap::from([(uid(2), Lookup::Unknown)]),
            hits: 0,
            misses: 2,
            users_failed: false,
            stale_served: true,
        });
        assert_eq!(all.lookups.len(), 2);
        assert_eq!((all.hits, all.misses), (1, 2));
        assert!(
            all.users_failed,
            "a failure is not undone by a later success"
        );
        assert!(all.stale_served);
    }

    #[test]
    fn absorbing_nothing_changes_nothing() {
        let mut all = Resolved {
            lookups: HashMap::from([(uid(1), Lookup::Unknown)]),
            hits: 3,
            misses: 4,
            users_failed: true,
            stale_served: true,
        };
        let before = all.clone();
        all.absorb(Resolved::default());
        assert_eq!(all, before);
    }

    #[test]
    fn only_a_missing_lookup_is_missing() {
        let resolved = Resolved {
            lookups: HashMap::from([(uid(1), Lookup::Missing), (uid(2), Lookup::Unknown)]),
            ..Resolved::default()
        };
        assert!(resolved.is_missing(uid(1)));
        assert!(!resolved.is_missing(uid(2)), "unknown is not missing");
        assert!(!resolved.is_missing(uid(3)), "not looked up is not missing");
    }
}

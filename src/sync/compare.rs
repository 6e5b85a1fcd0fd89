//! Comparing the two sides of one entity: each side as a sorted index of key → digest,
//! walked together; then, for the entities whose digests differ, the fields that do.

use std::cmp::Ordering;

use super::entity::{Digest, Entity, FieldValue, Key, Normalized, TOMBSTONE};

/// One side's live entities of one kind: key → digest, sorted by key, one entry per key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Index(Vec<(Key, Digest)>);

/// What the walk over both indexes found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Live entities on the monolith.
    pub monolith_count: usize,
    /// Live entities on the service.
    pub service_count: usize,
    /// Keys only the service holds, ascending.
    pub missing_on_monolith: Vec<Key>,
    /// Keys only the monolith holds, ascending.
    pub missing_on_service: Vec<Key>,
    /// Keys both hold with different digests, ascending.
    pub different: Vec<Key>,
}

/// One field that differs between the sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDiff {
    /// The field's name.
    pub field: &'static str,
    /// Its value on the monolith.
    pub monolith: FieldValue,
    /// Its value on the service.
    pub service: FieldValue,
}

/// A feed record: an entity's key and its digest, or [`TOMBSTONE`] (32 bytes: a side's
/// million messages hold 32 MB).
pub type Record = (Key, Digest);

// === impl Index ===

impl Index {
    /// The index of a replay's records, in feed order. A key met more than once (an entity
    /// written again during the replay, met at its old position and its new one) keeps its
    /// last record; a key whose last record is a tombstone is absent.
    pub fn from_records(mut records: Vec<Record>) -> Self {
        // Stable: records of one key stay in feed order, so the last of a run is the latest.
        records.sort_by_key(|(key, _)| *key);
        // Compacted in place, so no second vector of the same length is ever held.
        let mut kept = 0;
        for i in 0..records.len() {
            let (key, digest) = records[i];
            let last_of_run = records.get(i + 1).is_none_or(|(next, _)| *next != key);
            if last_of_run && digest != TOMBSTONE {
                records[kept] = (key, digest);
                kept += 1;
            }
        }
        records.truncate(kept);
        records.shrink_to_fit();
        Self(records)
    }

    /// Live entities.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no entity is live.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Walks both indexes in key order.
pub fn compare(monolith: &Index, service: &Index) -> Outcome {
    let mut outcome = Outcome {
        monolith_count: monolith.len(),
        service_count: service.len(),
        ..Outcome::default()
    };
    let (mut m, mut s) = (monolith.0.iter().peekable(), service.0.iter().peekable());
    loop {
        match (m.peek(), s.peek()) {
            (None, None) => break,
            (Some(&&(key, _)), None) => {
                outcome.missing_on_service.push(key);
                m.next();
            }
            (None, Some(&&(key, _))) => {
                outcome.missing_on_monolith.push(key);
                s.next();
            }
            (Some(&&(mk, md)), Some(&&(sk, sd))) => match mk.cmp(&sk) {
                Ordering::Less => {
                    outcome.missing_on_service.push(mk);
                    m.next();
                }
                Ordering::Greater => {
                    outcome.missing_on_monolith.push(sk);
                    s.next();
                }
                Ordering::Equal => {
                    if md != sd {
                        outcome.different.push(mk);
                    }
                    m.next();
                    s.next();
                }
            },
        }
    }
    outcome
}

/// The fields of `entity` whose values differ, in field order.
pub fn field_diffs(entity: Entity, monolith: &Normalized, service: &Normalized) -> Vec<FieldDiff> {
    entity
        .fields()
        .iter()
        .zip(monolith.0.iter().zip(&service.0))
        .filter(|(_, (m, s))| m != s)
        .map(|(field, (m, s))| FieldDiff {
            field: field.name,
            monolith: m.clone(),
            service: s.clone(),
        })
        .collect()
}

// === impl Outcome ===

impl Outcome {
    /// Whether both sides hold the same entities with the same fields.
    pub fn is_equal(&self) -> bool {
        self.missing_on_monolith.is_empty()
            && self.missing_on_service.is_empty()
            && self.different.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn the_last_record_of_a_key_wins_and_tombstones_are_absent() {
        let index = Index::from_records(vec![
            (3, 30),
            (1, 10),
            (2, 20),
            (3, 31),
            (2, TOMBSTONE),
            (4, TOMBSTONE),
            (4, 40),
        ]);
        assert_eq!(index, Index(vec![(1, 10), (3, 31), (4, 40)]));
        assert!(Index::from_records(vec![(1, TOMBSTONE)]).is_empty());
    }

    #[test]
    fn equal_sides_are_equal() {
        let side = Index::from_records(vec![(1, 10), (2, 20)]);
        let outcome = compare(&side, &side.clone());
        assert!(outcome.is_equal());
        assert_eq!((outcome.monolith_count, outcome.service_count), (2, 2));
        assert!(compare(&Index::default(), &Index::default()).is_equal());
    }

    #[test]
    fn each_kind_of_difference_is_named_by_key() {
        let monolith = Index::from_records(vec![(1, 10), (2, 20), (4, 40), (6, 60)]);
        let service = Index::from_records(vec![(1, 10), (2, 21), (3, 30), (6, 60), (7, 70)]);
        let outcome = compare(&monolith, &service);
        assert!(!outcome.is_equal());
        assert_eq!(outcome.missing_on_monolith, [3, 7]);
        assert_eq!(outcome.missing_on_service, [4]);
        assert_eq!(outcome.different, [2]);
        assert_eq!((outcome.monolith_count, outcome.service_count), (4, 5));
    }

    #[test]
    fn one_empty_side_misses_everything() {
        let side = Index::from_records(vec![(1, 1), (2, 2)]);
        let outcome = compare(&Index::default(), &side);
        assert_eq!(outcome.missing_on_monolith, [1, 2]);
        assert!(outcome.missing_on_service.is_empty() && outcome.different.is_empty());
    }

    #[test]
    fn field_diffs_name_each_field_with_both_values() {
        let monolith = Entity::User.normalize(
            r#"{"id": 5, "name": "Ada", "avatar_url": null, "created_at": "2026-01-01T00:00:00Z"}"#,
        );
        let service = Entity::User
            .normalize(r#"{"id": 5, "name": "Bea", "created_at": "2026-01-01T00:00:00.000001Z"}"#);
        let diffs = field_diffs(Entity::User, &monolith, &service);
        let fields: Vec<&str> = diffs.iter().map(|d| d.field).collect();
        assert_eq!(fields, ["name", "avatar_url", "created_at"]);
        assert_eq!(diffs[0].monolith, FieldValue::Present(Value::from("Ada")));
        assert_eq!(diffs[0].service, FieldValue::Present(Value::from("Bea")));
        assert_eq!(diffs[1].monolith, FieldValue::Present(Value::Null));
        assert_eq!(diffs[1].service, FieldValue::Absent);
        assert!(field_diffs(Entity::User, &monolith, &monolith).is_empty());
    }
}

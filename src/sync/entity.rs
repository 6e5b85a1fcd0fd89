//! The entities the two sides hold, the fields each is compared on, and an entity's
//! normalized form and digest.
//!
//! An event's `data` is reduced to the fields of the entity as the services' APIs define
//! it, in a fixed order, each value normalized so that two spellings of one value compare
//! equal: integers as integers, instants as the instant they name (`…:00Z` and
//! `…:00.000000Z` are one instant). A field the API does not define is left out; a field
//! it defines that `data` lacks is [`FieldValue::Absent`], which differs from `null`.
//!
//! What the sides write today (the monolith's `store/*.rs` and each service's `store.rs`,
//! where their `Change::upserted` is built) has exactly these fields on both sides, so
//! nothing is left out at present; the rule is there for a side that adds a field of its
//! own before the other does.

use std::fmt;

use kit::timestamp::Timestamp;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// One kind of entity both sides hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Entity {
    /// A user: subject its id; on the users service.
    User,
    /// A friendship: subject `LOW-HIGH`; on the friends service.
    Friendship,
    /// A message: subject its id; on the messages service.
    Message,
}

/// A compared field: its name in `data` and how its value is normalized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The JSON key.
    pub name: &'static str,
    /// Its type.
    pub kind: FieldKind,
}

/// How a field's value is normalized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// An integer (an id).
    Integer,
    /// A string, compared exactly, or `null`.
    Text,
    /// An RFC 3339 instant, compared as the instant it names (to the microsecond).
    Instant,
}

/// One field's normalized value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    /// `data` has no such key.
    Absent,
    /// The value, normalized: an instant as RFC 3339 in UTC, an integer as a JSON integer;
    /// a value of the wrong type as given.
    Present(Value),
}

/// An entity's compared fields, in [`Entity::fields`] order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized(pub Vec<FieldValue>);

/// An entity's key, packed in 128 bits: an id, or a friendship's two ids (lower in the
/// high half).
pub type Key = u128;

/// 128 bits of the SHA-256 of an entity's normalized fields; never [`TOMBSTONE`].
pub type Digest = u128;

/// The digest that stands for a deletion in a feed record.
pub const TOMBSTONE: Digest = 0;

/// A subject that is not of its entity's form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{subject}` is not a {entity} subject (expected {expected})")]
pub struct SubjectError {
    subject: String,
    entity: &'static str,
    expected: &'static str,
}

const USER_FIELDS: &[Field] = &[
    Field::new("id", FieldKind::Integer),
    Field::new("name", FieldKind::Text),
    Field::new("avatar_url", FieldKind::Text),
    Field::new("created_at", FieldKind::Instant),
];

const FRIENDSHIP_FIELDS: &[Field] = &[
    Field::new("user_id", FieldKind::Integer),
    Field::new("friend_id", FieldKind::Integer),
];

const MESSAGE_FIELDS: &[Field] = &[
    Field::new("id", FieldKind::Integer),
    Field::new("author_id", FieldKind::Integer),
    Field::new("text", FieldKind::Text),
    Field::new("created_at", FieldKind::Instant),
];

// === impl Entity ===

impl Entity {
    /// Every entity, in the order they are verified and reported.
    pub const ALL: [Self; 3] = [Self::User, Self::Friendship, Self::Message];

    /// Its position in [`Entity::ALL`].
    pub fn index(self) -> usize {
        match self {
            Self::User => 0,
            Self::Friendship => 1,
            Self::Message => 2,
        }
    }

    /// Its name in event types: `user`, `friendship`, `message`.
    pub fn name(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Friendship => "friendship",
            Self::Message => "message",
        }
    }

    /// The service that holds it, as routes.yaml names its upstream.
    pub fn service(self) -> &'static str {
        match self {
            Self::User => "users",
            Self::Friendship => "friends",
            Self::Message => "messages",
        }
    }

    /// The fields it is compared on: those of the services' API (`User`, `Message`, the
    /// friends feed's `{"user_id", "friend_id"}`).
    pub fn fields(self) -> &'static [Field] {
        match self {
            Self::User => USER_FIELDS,
            Self::Friendship => FRIENDSHIP_FIELDS,
            Self::Message => MESSAGE_FIELDS,
        }
    }

    /// The key of `subject`: a positive id, or `LOW-HIGH` for a friendship.
    pub fn key(self, subject: &str) -> Result<Key, SubjectError> {
        let id = |text: &str| text.parse::<u64>().ok().filter(|&id| id > 0);
        let key = match self {
            Self::User | Self::Message => id(subject).map(u128::from),
            Self::Friendship => subject
                .split_once('-')
                .and_then(|(low, high)| Some((id(low)?, id(high)?)))
                .map(|(low, high)| u128::from(low) << 64 | u128::from(high)),
        };
        key.ok_or_else(|| SubjectError {
            subject: subject.to_owned(),
            entity: self.name(),
            expected: match self {
                Self::Friendship => "LOW-HIGH, two positive ids",
                Self::User | Self::Message => "a positive id",
            },
        })
    }

    /// The subject of `key`, as the feeds write it.
    pub fn subject(self, key: Key) -> String {
        // The halves are u64 by construction (see `key`): the casts drop nothing.
        let (high, low) = ((key >> 64) as u64, key as u64);
        match self {
            Self::Friendship => format!("{high}-{low}"),
            Self::User | Self::Message => key.to_string(),
        }
    }

    /// `data` reduced to the compared fields; a `data` that is not a JSON object has every
    /// field absent.
    pub fn normalize(self, data: &str) -> Normalized {
        let object = match serde_json::from_str::<Value>(data) {
            Ok(Value::Object(object)) => object,
            _ => serde_json::Map::new(),
        };
        Normalized(
            self.fields()
                .iter()
                .map(|field| match object.get(field.name) {
                    None => FieldValue::Absent,
                    Some(value) => FieldValue::Present(field.kind.normalize(value)),
                })
                .collect(),
        )
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

// === impl Field ===

impl Field {
    const fn new(name: &'static str, kind: FieldKind) -> Self {
        Self { name, kind }
    }
}

// === impl FieldKind ===

impl FieldKind {
    fn normalize(self, value: &Value) -> Value {
        match (self, value) {
            (Self::Integer, Value::Number(n)) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => Value::from(i),
                (None, Some(u)) => Value::from(u),
                (None, None) => value.clone(),
            },
            (Self::Instant, Value::String(text)) => match Timestamp::parse_rfc3339(text) {
                Ok(at) => Value::String(at.to_rfc3339()),
                Err(_) => value.clone(),
            },
            _ => value.clone(),
        }
    }
}

// === impl FieldValue ===

impl fmt::Display for FieldValue {
    /// The value as JSON, or `(absent)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Absent => f.write_str("(absent)"),
            Self::Present(value) => write!(f, "{value}"),
        }
    }
}

// === impl Normalized ===

impl Normalized {
    /// 128 bits of the SHA-256 of the fields: each as a tag (absent or present) and its
    /// value's JSON text with its length, so no two distinct lists share an encoding. A
    /// zero is made 1, [`TOMBSTONE`] being reserved.
    pub fn digest(&self) -> Digest {
        let mut hasher = Sha256::new();
        for value in &self.0 {
            match value {
                FieldValue::Absent => hasher.update([0]),
                FieldValue::Present(value) => {
                    let text = value.to_string();
                    hasher.update([1]);
                    hasher.update((text.len() as u64).to_le_bytes());
                    hasher.update(text.as_bytes());
                }
            }
        }
        let digest = hasher.finalize();
        let mut first = [0u8; 16];
        first.copy_from_slice(&digest[..16]);
        u128::from_be_bytes(first).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_round_trip_through_keys() {
        assert_eq!(Entity::User.key("42"), Ok(42));
        assert_eq!(Entity::User.subject(42), "42");
        let key = Entity::Friendship.key("3-17").unwrap();
        assert_eq!(Entity::Friendship.subject(key), "3-17");
        assert_ne!(key, Entity::Friendship.key("17-3").unwrap());
        let big = Entity::Message.key(&u64::MAX.to_string()).unwrap();
        assert_eq!(Entity::Message.subject(big), u64::MAX.to_string());
    }

    #[test]
    fn malformed_subjects_are_refused_with_the_expected_form() {
        for bad in ["", "0", "-1", "x", "1-2", "18446744073709551616"] {
            assert!(Entity::User.key(bad).is_err(), "{bad}");
        }
        for bad in ["", "1", "1-", "-2", "0-2", "1-2-3", "a-b"] {
            assert!(Entity::Friendship.key(bad).is_err(), "{bad}");
        }
        let err = Entity::Friendship.key("7").unwrap_err().to_string();
        assert_eq!(
            err,
            "`7` is not a friendship subject (expected LOW-HIGH, two positive ids)"
        );
    }

    #[test]
    fn normalizing_keeps_the_api_fields_and_one_spelling_of_each_value() {
        let a = Entity::User.normalize(
            r#"{"id": 42, "name": "Ada", "avatar_url": null,
                "created_at": "2026-01-01T00:00:00Z", "internal_flag": true}"#,
        );
        let b = Entity::User.normalize(
            r#"{"created_at": "2026-01-01T01:00:00.000000+01:00", "avatar_url": null,
                "name": "Ada", "id": 42}"#,
        );
        assert_eq!(
            a, b,
            "key order, instant spelling and unknown fields do not count"
        );
        assert_eq!(a.digest(), b.digest());
        assert_eq!(
            a.0[3],
            FieldValue::Present(Value::from("2026-01-01T00:00:00Z"))
        );
    }

    #[test]
    fn absent_null_and_changed_values_all_differ() {
        let full = Entity::User.normalize(
            r#"{"id": 1, "name": "Ada", "avatar_url": null, "created_at": "2026-01-01T00:00:00Z"}"#,
        );
        let absent = Entity::User
            .normalize(r#"{"id": 1, "name": "Ada", "created_at": "2026-01-01T00:00:00Z"}"#);
        let renamed = Entity::User.normalize(
            r#"{"id": 1, "name": "Bea", "avatar_url": null, "created_at": "2026-01-01T00:00:00Z"}"#,
        );
        assert_eq!(absent.0[2], FieldValue::Absent);
        assert_eq!(absent.0[2].to_string(), "(absent)");
        assert_eq!(full.0[2].to_string(), "null");
        let digests = [full.digest(), absent.digest(), renamed.digest()];
        assert_ne!(digests[0], digests[1]);
        assert_ne!(digests[0], digests[2]);
    }

    #[test]
    fn data_that_is_no_object_has_every_field_absent() {
        for data in ["[]", "\"x\"", "not json"] {
            let n = Entity::Friendship.normalize(data);
            assert_eq!(n.0, [FieldValue::Absent, FieldValue::Absent], "{data}");
        }
        let unparsable = Entity::Message.normalize(r#"{"created_at": "yesterday"}"#);
        assert_eq!(
            unparsable.0[3],
            FieldValue::Present(Value::from("yesterday"))
        );
    }
}

//! Typed ids (positive 64-bit integers) and the `ids=1,2,3` list syntax of bulk endpoints.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

/// The most ids one bulk request may name.
pub const MAX_IDS: usize = 500;

/// Why a single id failed to parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Not a plain decimal number (sign, spaces, letters, or empty).
    #[error("`{0}` is not a positive 64-bit integer")]
    NotANumber(String),
    /// Zero: ids start at 1.
    #[error("`{0}` is not a positive 64-bit integer (ids start at 1)")]
    NotPositive(String),
    /// More than 2^63 - 1.
    #[error("`{0}` is not a positive 64-bit integer (larger than 9223372036854775807)")]
    Overflow(String),
}

/// Why an id list was refused; the message names the bad token or the limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdListError {
    /// The parameter is absent or empty.
    #[error("`{param}` must list 1 to {max} comma-separated ids, e.g. `{param}=1,2,3`")]
    Empty {
        /// The query parameter's name.
        param: &'static str,
        /// The cap.
        max: usize,
    },
    /// One item is not a positive 64-bit integer.
    #[error("`{param}`: item {position}, {source}")]
    BadToken {
        /// The query parameter's name.
        param: &'static str,
        /// 1-based position of the item in the list.
        position: usize,
        /// What was wrong with it.
        source: IdError,
    },
    /// More items than the cap.
    #[error("`{param}` lists more than {max} ids; split the request")]
    TooMany {
        /// The query parameter's name.
        param: &'static str,
        /// The cap.
        max: usize,
    },
}

/// Parses one positive id: ASCII decimal digits only, 1 ..= i64::MAX.
pub fn parse_positive(token: &str) -> Result<i64, IdError> {
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_digit()) {
        return Err(IdError::NotANumber(token.to_owned()));
    }
    match token.parse::<i64>() {
        Ok(0) => Err(IdError::NotPositive(token.to_owned())),
        Ok(n) => Ok(n),
        Err(_) => Err(IdError::Overflow(token.to_owned())),
    }
}

/// Parses `1,2,3`: at most `max` items; duplicates are then dropped, the first occurrence
/// keeping its place. (The cap counts items, as OpenAPI's `maxItems` does, so the published
/// schema describes exactly what is accepted.)
pub fn parse_id_list<T: From<Id>>(
    param: &'static str,
    raw: Option<&str>,
    max: usize,
) -> Result<Vec<T>, IdListError> {
    let raw = raw.unwrap_or_default();
    if raw.is_empty() {
        return Err(IdListError::Empty { param, max });
    }
    if raw.split(',').nth(max).is_some() {
        return Err(IdListError::TooMany { param, max });
    }
    let mut seen = HashSet::new();
    let mut ids = Vec::new();
    for (index, token) in raw.split(',').enumerate() {
        let id = parse_positive(token).map_err(|source| IdListError::BadToken {
            param,
            position: index + 1,
            source,
        })?;
        if seen.insert(id) {
            ids.push(T::from(Id(id)));
        }
    }
    Ok(ids)
}

/// Deserializes an optional JSON Schema `integer`: any JSON number without a fractional
/// part (`3`, `3.0`, `3e2`: JSON Schema counts all of them as integers), as an `i64`;
/// `null` is `None`. A fraction, or a value beyond the `i64` range, is an error naming it.
///
/// For body fields whose schema says `integer` but whose own checks (such as a positive
/// id) come later, with messages of their own: `#[serde(default, deserialize_with = …)]`.
pub fn json_integer<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    struct Visitor;
    impl<'de> serde::de::Visitor<'de> for Visitor {
        type Value = Option<i64>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an integer from -9223372036854775808 to 9223372036854775807")
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
            i64::try_from(v)
                .map(Some)
                .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
            // -2^63 and 2^63 are exact in f64; the range is [-2^63, 2^63).
            const LIMIT: f64 = 9_223_372_036_854_775_808.0;
            if v.fract() == 0.0 && (-LIMIT..LIMIT).contains(&v) {
                #[allow(clippy::cast_possible_truncation)]
                Ok(Some(v as i64))
            } else {
                Err(E::invalid_value(serde::de::Unexpected::Float(v), &self))
            }
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
    }
    d.deserialize_any(Visitor)
}

/// The ids one writer hands out when several create rows of one table: slot `k` of `n`
/// takes the ids `i` with `i mod n = k mod n` (slot `n` the multiples of `n`), each above
/// every id it has seen, like MySQL's `auto_increment_offset` / `auto_increment_increment`
/// for multi-writer replication. Two writers with different slots of the same `n` never
/// hand out the same id, whatever either has replicated; ids stay positive integers and
/// keep growing with time on both sides. `1/1` (the default) is every id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdSlot {
    slot: u32,
    of: u32,
}

/// A malformed `--id-slot`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not an id slot: expected SLOT/WRITERS with 1 <= SLOT <= WRITERS <= 1024, e.g. 1/2"
)]
pub struct IdSlotError(String);

// === impl IdSlot ===

impl IdSlot {
    /// The one writer of a table: every id.
    pub const ONLY: Self = Self { slot: 1, of: 1 };

    /// Slot `slot` of `of` writers, `1 <= slot <= of <= 1024`.
    pub fn new(slot: u32, of: u32) -> Result<Self, IdSlotError> {
        if slot == 0 || slot > of || of > 1024 {
            return Err(IdSlotError(format!("{slot}/{of}")));
        }
        Ok(Self { slot, of })
    }

    /// This writer's slot, `1..=writers`.
    pub fn slot(self) -> u32 {
        self.slot
    }

    /// How many writers share the ids.
    pub fn writers(self) -> u32 {
        self.of
    }

    /// The smallest id of this slot above `seen` (at least 1); `None` past `i64::MAX`.
    pub fn next_above(self, seen: i64) -> Option<i64> {
        let of = i64::from(self.of);
        let residue = i64::from(self.slot) % of;
        let seen = seen.max(0);
        // The first candidate above `seen` with the slot's residue.
        let base = seen - seen.rem_euclid(of);
        let candidate = base.checked_add(residue)?;
        let id = if candidate > seen {
            candidate
        } else {
            candidate.checked_add(of)?
        };
        Some(id)
    }

    /// Whether `id` is one this slot hands out.
    pub fn holds(self, id: i64) -> bool {
        id.rem_euclid(i64::from(self.of)) == i64::from(self.slot) % i64::from(self.of)
    }
}

impl Default for IdSlot {
    fn default() -> Self {
        Self::ONLY
    }
}

impl fmt::Display for IdSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.slot, self.of)
    }
}

impl FromStr for IdSlot {
    type Err = IdSlotError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || IdSlotError(s.to_owned());
        let (slot, of) = s.split_once('/').ok_or_else(bad)?;
        let number = |t: &str| {
            if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            t.parse::<u32>().map_err(|_| bad())
        };
        Self::new(number(slot)?, number(of)?).map_err(|_| bad())
    }
}

/// An untyped positive id, the common currency between the typed ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(i64);

// === impl Id ===

impl Id {
    /// The id's value, always at least 1.
    pub fn get(self) -> i64 {
        self.0
    }
}

/// Declares a typed id: a positive `i64` newtype that parses, prints and (de)serializes as a
/// bare integer and documents itself in OpenAPI with `minimum: 1`.
#[macro_export]
macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(i64);

        impl $name {
            /// Wraps a value known to be positive (from the database, or a parsed [`Id`]).
            ///
            /// # Panics
            /// Debug builds assert the value is positive.
            pub fn new(value: i64) -> Self {
                debug_assert!(value > 0, "ids are positive");
                Self(value)
            }

            /// The id's value, always at least 1.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl From<$crate::ids::Id> for $name {
            fn from(id: $crate::ids::Id) -> Self {
                Self(id.get())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(&self.0, f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::ids::IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $crate::ids::parse_positive(s).map(Self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::ids::Id::deserialize(d).map(Self::from)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::ids::id_schema()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

typed_id!(
    /// A user's id.
    UserId
);
typed_id!(
    /// A message's id.
    MessageId
);

/// The OpenAPI schema of every id: a positive int64.
pub fn id_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(1))
        .maximum(Some(i64::MAX))
        .examples([serde_json::json!(42)])
        .into()
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for Id {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_positive(s).map(Id)
    }
}

impl Serialize for Id {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.0)
    }
}

impl<'de> Deserialize<'de> for Id {
    /// Accepts a JSON integer, or a string of digits (path and query parameters arrive as
    /// strings); anything else is an error naming what was given.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Id;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a positive 64-bit integer")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Id, E> {
                if v > 0 {
                    Ok(Id(v))
                } else {
                    Err(E::custom(IdError::NotPositive(v.to_string())))
                }
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Id, E> {
                match i64::try_from(v) {
                    Ok(v) => self.visit_i64(v),
                    Err(_) => Err(E::custom(IdError::Overflow(v.to_string()))),
                }
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Id, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_slots_interleave_and_never_collide() {
        let odd: IdSlot = "1/2".parse().unwrap();
        let even: IdSlot = "2/2".parse().unwrap();
        assert_eq!(odd.next_above(0), Some(1));
        assert_eq!(odd.next_above(1), Some(3));
        assert_eq!(odd.next_above(2), Some(3));
        assert_eq!(even.next_above(0), Some(2));
        assert_eq!(even.next_above(2), Some(4));
        assert_eq!(even.next_above(3), Some(4));
        assert_eq!(IdSlot::ONLY.next_above(41), Some(42));
        assert_eq!(IdSlot::ONLY.next_above(-5), Some(1));
        let third: IdSlot = "3/3".parse().unwrap();
        assert_eq!(third.next_above(1000), Some(1002));
        // Whatever one side has seen of the other's ids, their ids stay apart.
        let mut handed = HashSet::new();
        let mut seen = 0;
        for step in 0..500_i64 {
            let a = odd.next_above(seen).unwrap();
            let b = even.next_above(seen + step % 3).unwrap();
            assert!(odd.holds(a) && even.holds(b) && !odd.holds(b), "{a} {b}");
            assert!(a > seen && b > seen);
            handed.insert(a);
            handed.insert(b);
            seen = a.max(b) - step % 2;
        }
        assert!(handed.iter().all(|id| odd.holds(*id) != even.holds(*id)));
        assert_eq!(IdSlot::ONLY.next_above(i64::MAX), None);
        assert_eq!(odd.next_above(i64::MAX), None);
        assert_eq!(odd.next_above(i64::MAX - 1), Some(i64::MAX));
    }

    #[test]
    fn id_slots_parse_strictly() {
        assert_eq!("1/1".parse::<IdSlot>().unwrap(), IdSlot::ONLY);
        assert_eq!("2/3".parse::<IdSlot>().unwrap().to_string(), "2/3");
        for bad in [
            "", "1", "0/2", "3/2", "1/0", "a/2", "1/2/3", "-1/2", "1/2000", " 1/2",
        ] {
            assert!(bad.parse::<IdSlot>().is_err(), "{bad:?}");
        }
    }

    fn parse(raw: &str) -> Result<Vec<i64>, IdListError> {
        parse_id_list::<Id>("ids", Some(raw), 5).map(|v| v.into_iter().map(Id::get).collect())
    }

    #[test]
    fn keeps_first_occurrence_order_and_drops_duplicates() {
        assert_eq!(parse("3,1,3,2,1").unwrap(), vec![3, 1, 2]);
    }

    #[test]
    fn rejects_each_bad_token_by_name_and_position() {
        for (raw, token, pos) in [
            ("1,abc", "abc", 2),
            ("0", "0", 1),
            ("-1", "-1", 1),
            ("+1", "+1", 1),
            ("1, 2", " 2", 2),
            ("1,,2", "", 2),
            ("1,", "", 2),
            ("9223372036854775808", "9223372036854775808", 1),
        ] {
            let err = parse(raw).unwrap_err();
            match &err {
                IdListError::BadToken { position, .. } => assert_eq!(*position, pos, "{raw}"),
                other => panic!("{raw}: {other:?}"),
            }
            assert!(
                err.to_string().contains(&format!("`{token}`")),
                "{raw}: {err}"
            );
        }
    }

    #[test]
    fn rejects_empty_and_too_many() {
        assert!(matches!(parse(""), Err(IdListError::Empty { .. })));
        assert!(matches!(
            parse_id_list::<Id>("ids", None, 5),
            Err(IdListError::Empty { .. })
        ));
        let err = parse("1,2,3,4,5,6").unwrap_err();
        assert!(err.to_string().contains("more than 5"), "{err}");
        // The cap counts items, duplicates included, like OpenAPI's maxItems.
        assert!(parse("1,2,3,3,3,3").is_err());
        assert_eq!(parse("1,1,1,1,1").unwrap(), vec![1]);
    }

    #[test]
    fn max_i64_is_accepted() {
        assert_eq!(parse("9223372036854775807").unwrap(), vec![i64::MAX]);
    }

    #[test]
    fn json_integers_are_numbers_without_a_fraction() {
        #[derive(Debug, serde::Deserialize)]
        struct Body {
            #[serde(default, deserialize_with = "json_integer")]
            n: Option<i64>,
        }
        let n = |json: &str| serde_json::from_str::<Body>(json).map(|b| b.n);
        assert_eq!(n(r#"{"n": 328}"#).unwrap(), Some(328));
        assert_eq!(n(r#"{"n": 328.0}"#).unwrap(), Some(328));
        assert_eq!(n(r#"{"n": 3e2}"#).unwrap(), Some(300));
        assert_eq!(n(r#"{"n": -4}"#).unwrap(), Some(-4));
        assert_eq!(n(r#"{"n": 9223372036854775807}"#).unwrap(), Some(i64::MAX));
        assert_eq!(
            n(r#"{"n": -9.223372036854775808e18}"#).unwrap(),
            Some(i64::MIN)
        );
        assert_eq!(n(r#"{"n": null}"#).unwrap(), None);
        assert_eq!(n("{}").unwrap(), None);
        for bad in ["328.5", "9223372036854775808", "9.3e18", "\"7\"", "true"] {
            let err = n(&format!(r#"{{"n": {bad}}}"#)).unwrap_err().to_string();
            assert!(err.contains("expected an integer"), "{bad}: {err}");
        }
    }

    #[test]
    fn typed_ids_round_trip_through_display_fromstr_and_serde() {
        for n in [1_i64, 42, i64::MAX] {
            let id: UserId = n.to_string().parse().unwrap();
            assert_eq!(id.to_string(), n.to_string());
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(json, n.to_string());
            assert_eq!(serde_json::from_str::<UserId>(&json).unwrap(), id);
        }
        assert!(serde_json::from_str::<UserId>("0").is_err());
        assert!(serde_json::from_str::<UserId>("-3").is_err());
        assert!(serde_json::from_str::<UserId>("1.5").is_err());
        assert!(serde_json::from_str::<UserId>("\"7\"").is_ok());
    }
}

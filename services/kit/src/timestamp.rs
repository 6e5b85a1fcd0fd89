//! Instants as the databases store them (integer microseconds since the Unix epoch, exact
//! and ordered the same on every backend) and as the API shows them (RFC 3339, UTC).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A UTC instant with microsecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(i64);

// === impl Timestamp ===

impl Timestamp {
    /// The current time, truncated to microseconds so it round-trips through storage.
    pub fn now() -> Self {
        let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
        // Microseconds since 1970 fit an i64 for the next 290,000 years.
        Self(i64::try_from(nanos / 1000).unwrap_or(i64::MAX))
    }

    /// From microseconds since the Unix epoch.
    pub const fn from_micros(micros: i64) -> Self {
        Self(micros)
    }

    /// Microseconds since the Unix epoch.
    pub const fn as_micros(self) -> i64 {
        self.0
    }

    fn to_datetime(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// RFC 3339 in UTC, e.g. `2026-01-01T12:00:00.25Z` (fraction only when non-zero).
    pub fn to_rfc3339(self) -> String {
        self.to_datetime()
            .format(&Rfc3339)
            .unwrap_or_else(|_| String::from("1970-01-01T00:00:00Z"))
    }

    /// Appends the instant as a JSON string (its RFC 3339 text in quotes, what serializing
    /// it writes) to `out`, with no allocation of its own.
    pub fn write_json(self, out: &mut Vec<u8>) {
        out.push(b'"');
        let start = out.len();
        if self.to_datetime().format_into(out, &Rfc3339).is_err() {
            out.truncate(start);
            out.extend_from_slice(b"1970-01-01T00:00:00Z");
        }
        out.push(b'"');
    }

    /// Parses RFC 3339 with any offset.
    pub fn parse_rfc3339(text: &str) -> Result<Self, time::error::Parse> {
        let dt = OffsetDateTime::parse(text, &Rfc3339)?;
        Ok(Self(
            i64::try_from(dt.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX),
        ))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Self::parse_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .description(Some("RFC 3339 instant in UTC"))
            .examples([serde_json::json!("2026-01-01T12:00:00Z")])
            .into()
    }
}

impl utoipa::ToSchema for Timestamp {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_rfc3339() {
        for micros in [
            0,
            1_767_225_600_000_000,
            1_767_225_600_250_000,
            1_767_225_600_000_001,
        ] {
            let ts = Timestamp::from_micros(micros);
            let text = ts.to_rfc3339();
            assert_eq!(Timestamp::parse_rfc3339(&text).unwrap(), ts, "{text}");
        }
        assert_eq!(
            Timestamp::from_micros(1_767_225_600_000_000).to_rfc3339(),
            "2026-01-01T00:00:00Z"
        );
    }

    #[test]
    fn writes_the_json_that_serializing_writes() {
        for micros in [
            0,
            1_767_225_600_250_000,
            1_767_225_600_000_001,
            i64::MAX,
            -1,
        ] {
            let ts = Timestamp::from_micros(micros);
            let mut out = b"[".to_vec();
            ts.write_json(&mut out);
            assert_eq!(out[1..], serde_json::to_vec(&ts).unwrap(), "{micros}");
        }
    }

    #[test]
    fn now_is_whole_microseconds_and_rejects_garbage() {
        let now = Timestamp::now();
        assert_eq!(Timestamp::parse_rfc3339(&now.to_rfc3339()).unwrap(), now);
        assert!(Timestamp::parse_rfc3339("yesterday").is_err());
    }
}

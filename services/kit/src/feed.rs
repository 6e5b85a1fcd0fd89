//! Change feeds: the transactional outbox every service with a database keeps, served as a
//! log other services follow.
//!
//! - [`Feed`] ([`outbox`]): every write records its [`Change`]s in the same database
//!   transaction as the write, each becoming an [`Event`] with a `seq` that increases in
//!   commit order. The feed is compacted as it is written: an entity's new event replaces
//!   its previous one, so the log holds one event per live entity plus the tombstones of
//!   recent deletions, and replaying it from 0 yields the current state.
//! - [`api`]: `GET /changes?after=&limit=&wait=` (long poll) and `GET /feeds` (the head and
//!   every consumer's position and lag).
//! - [`follow`]: a [`Follower`] reads a feed (over HTTP, or from NATS JetStream) and hands
//!   each batch to a [`Consumer`], which applies it and stores its position with the effect.
//! - [`known`]: a follower's durable set of the keys another feed holds (the users that
//!   exist), with a cascade that deletes its own rows of a deleted key, both in the
//!   transaction that stores its position; and the gate writes ask before naming a key.
//! - [`nats`]: the same feed relayed to a JetStream stream, and JetStream as a follower's
//!   source.
//! - [`replicate`]: two sides that hold the same entities following each other's feeds
//!   (the monolith and a service during a migration), last writer winning.
//! - [`hlc`]: the hybrid logical clock that stamps each event's `version`.
//! - [`metrics`]: the feed head and every follower's position and lag, for `/metrics`.
//!
//! Events are CloudEvents 1.0 in structured mode (JSON), with the extension attributes
//! `seq` (position in the source's feed), `version` (per entity, increasing) and `origin`
//! (the side where the write was made, which differs from `source` for an event applied
//! from another feed).

use std::fmt;

use axum::response::{IntoResponseParts, ResponseParts};
use http::HeaderValue;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::ToSchema;

use crate::timestamp::Timestamp;

pub mod api;
pub mod follow;
pub mod hlc;
pub mod known;
pub mod metrics;
pub mod nats;
pub mod outbox;
pub mod replicate;
#[cfg(test)]
mod testing;

pub use follow::{Consumer, FollowOptions, Follower, FollowerStatus, Source, Start};
pub use outbox::{Change, Feed, FeedOptions, Page, ReadError};

/// The response header carrying a write's feed position, `SOURCE:SEQ`
/// (`X-Change-Position: messages:18342`). A request may carry it back, one or more times,
/// to ask for at least that state.
pub const CHANGE_POSITION: http::HeaderName = http::HeaderName::from_static("x-change-position");

/// The CloudEvents spec version of every event.
pub const SPEC_VERSION: &str = "1.0";

/// One change, as a CloudEvents 1.0 JSON object.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = ChangeEvent)]
#[schema(example = json!({
    "specversion": "1.0",
    "id": "users-18c2f3a1b4d-1042",
    "source": "users",
    "type": "user.upserted",
    "subject": "42",
    "time": "2026-01-02T10:00:00.123456Z",
    "datacontenttype": "application/json",
    "data": {"id": 42, "name": "Ada Okafor", "avatar_url": null, "created_at": "2026-01-02T10:00:00.123456Z"},
    "seq": 1042,
    "version": 1767348000123456_i64,
    "origin": "users"
}))]
pub struct Event {
    /// Always `1.0`.
    pub specversion: String,
    /// Unique; the dedupe key (also JetStream's `Nats-Msg-Id`).
    pub id: String,
    /// The service whose feed this is.
    pub source: String,
    /// `ENTITY.upserted` or `ENTITY.deleted`, e.g. `user.upserted`, `friendship.deleted`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The entity's key: a user or message id, or `LOW-HIGH` for a friendship.
    pub subject: String,
    /// When the write committed.
    pub time: Timestamp,
    /// `application/json` when `data` is present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datacontenttype: Option<String>,
    /// The entity's whole state after the write, as its service's API shows it; absent for
    /// a deletion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub data: Option<Box<RawValue>>,
    /// Position in the source's feed: increases in commit order, never reused.
    pub seq: u64,
    /// The entity's version: increases with every change of that entity (a hybrid logical
    /// clock reading, microseconds since the Unix epoch plus a logical part).
    pub version: i64,
    /// Where the write was first made: `source` itself, or the feed it was replicated from.
    pub origin: String,
}

/// A position in one source's feed: `SOURCE:SEQ`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Position {
    /// The feed's source name.
    pub source: String,
    /// The sequence number.
    pub seq: u64,
}

/// A malformed `X-Change-Position` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a change position: expected SOURCE:SEQ, e.g. messages:18342")]
pub struct PositionError(String);

// === impl Event ===

impl Event {
    /// The entity part of the type: `user` for `user.upserted`.
    pub fn entity(&self) -> &str {
        self.kind.split_once('.').map_or(&self.kind, |(e, _)| e)
    }

    /// True for `ENTITY.deleted`.
    pub fn is_deletion(&self) -> bool {
        self.kind.ends_with(".deleted")
    }

    /// `data` read as `T` (a consumer's own tolerant view of the entity); `None` for a
    /// deletion.
    pub fn data_as<T: serde::de::DeserializeOwned>(&self) -> Result<Option<T>, serde_json::Error> {
        self.data
            .as_deref()
            .map(|raw| serde_json::from_str(raw.get()))
            .transpose()
    }
}

// === impl Position ===

impl Position {
    /// Position `seq` of `source`'s feed.
    pub fn new(source: impl Into<String>, seq: u64) -> Self {
        Self {
            source: source.into(),
            seq,
        }
    }

    /// Every position in the `X-Change-Position` headers of a request (each header may
    /// hold a comma-separated list). A malformed one is an error naming it.
    pub fn from_headers(headers: &http::HeaderMap) -> Result<Vec<Self>, PositionError> {
        let mut positions = Vec::new();
        for value in headers.get_all(CHANGE_POSITION) {
            let text = value
                .to_str()
                .map_err(|_| PositionError(String::from_utf8_lossy(value.as_bytes()).into()))?;
            for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                positions.push(item.parse()?);
            }
        }
        Ok(positions)
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.source, self.seq)
    }
}

impl std::str::FromStr for Position {
    type Err = PositionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || PositionError(s.to_owned());
        let (source, seq) = s.rsplit_once(':').ok_or_else(bad)?;
        let valid_source = !source.is_empty()
            && source
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid_source || seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let seq = seq.parse().map_err(|_| bad())?;
        Ok(Self::new(source, seq))
    }
}

/// A write's answer carries its position as `X-Change-Position`.
impl IntoResponseParts for Position {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        // A source name is ASCII letters, digits, `-` and `_` (see `FromStr`), and the
        // outbox only ever builds positions from its own name.
        if let Ok(value) = HeaderValue::from_str(&self.to_string()) {
            res.headers_mut().insert(CHANGE_POSITION, value);
        }
        Ok(res)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_and_reject_junk() {
        let p: Position = "messages:18342".parse().unwrap();
        assert_eq!(p, Position::new("messages", 18342));
        assert_eq!(p.to_string(), "messages:18342");
        for bad in [
            "",
            "messages",
            ":1",
            "messages:",
            "messages:-1",
            "mes sages:1",
            "a:1x",
            "a:99999999999999999999999",
        ] {
            assert!(bad.parse::<Position>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn positions_come_from_every_header_and_list_item() {
        let mut headers = http::HeaderMap::new();
        headers.append(
            CHANGE_POSITION,
            HeaderValue::from_static("users:3, messages:7"),
        );
        headers.append(CHANGE_POSITION, HeaderValue::from_static("friends:1"));
        let all = Position::from_headers(&headers).unwrap();
        assert_eq!(
            all,
            [
                Position::new("users", 3),
                Position::new("messages", 7),
                Position::new("friends", 1)
            ]
        );
        headers.append(CHANGE_POSITION, HeaderValue::from_static("nope"));
        assert!(Position::from_headers(&headers).is_err());
    }

    #[test]
    fn event_type_parts() {
        let event: Event = serde_json::from_value(serde_json::json!({
            "specversion": "1.0", "id": "x", "source": "users", "type": "user.deleted",
            "subject": "4", "time": "2026-01-01T00:00:00Z", "seq": 3, "version": 9,
            "origin": "users"
        }))
        .unwrap();
        assert_eq!(event.entity(), "user");
        assert!(event.is_deletion());
        assert!(event.data_as::<serde_json::Value>().unwrap().is_none());
    }
}

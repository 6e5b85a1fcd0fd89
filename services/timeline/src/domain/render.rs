//! A timeline's JSON written once, straight from the data it joins: the body, byte for byte
//! what serializing a [`Timeline`] gives, and its [`ETag`], hashed while the body is written
//! from the same bytes put in canonical order (keys sorted, `generated_at` left out). No
//! intermediate document, no copy of a message or a profile.

use std::ops::Range;

use kit::etag::{ETag, TagWriter};
use kit::ids::UserId;
use kit::timestamp::Timestamp;
use serde::Serialize;

use super::{Degradation, Entry, EntryMessage, Profile, Timeline};

#[cfg(test)]
mod tests;

/// One entry of a timeline, borrowed from where its friend's profile and messages are held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryRef<'a> {
    /// The friend's id.
    pub id: UserId,
    /// The friend's name; `None` when the profile is unknown.
    pub name: Option<&'a str>,
    /// The friend's avatar URL, if any.
    pub avatar_url: Option<&'a str>,
    /// Up to `per_friend` messages, newest first.
    pub messages: &'a [EntryMessage],
}

/// A timeline as the response carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The JSON body.
    pub body: Vec<u8>,
    /// The tag of its content (all but `generated_at`).
    pub etag: ETag,
    /// Where in `body` the value of `generated_at`, the last field, begins.
    stamp: usize,
}

/// What a timeline holds besides its entries.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// Whose timeline.
    pub user_id: UserId,
    /// Deleted friends, ascending.
    pub missing_friends: &'a [UserId],
    /// What could not be read.
    pub degraded: &'a [Degradation],
    /// When the answer was made.
    pub generated_at: Timestamp,
}

// === impl Rendered ===

impl Rendered {
    /// The same timeline, made at `generated_at`.
    pub fn restamped(&self, generated_at: Timestamp) -> Self {
        let mut body = Vec::with_capacity(self.stamp + 40);
        body.extend_from_slice(&self.body[..self.stamp]);
        generated_at.write_json(&mut body);
        body.push(b'}');
        Self {
            body,
            etag: self.etag.clone(),
            stamp: self.stamp,
        }
    }
}

// === impl EntryRef ===

impl<'a> EntryRef<'a> {
    /// The entry of `id`, whose profile is `profile` (`None`: unknown), with `messages`.
    pub fn new(id: UserId, profile: Option<&'a Profile>, messages: &'a [EntryMessage]) -> Self {
        Self {
            id,
            name: profile.map(|p| p.name.as_str()),
            avatar_url: profile.and_then(|p| p.avatar_url.as_deref()),
            messages,
        }
    }

    /// The entry as a [`Timeline`] holds it.
    pub fn to_entry(&self) -> Entry {
        Entry {
            friend: super::Friend {
                id: self.id,
                name: self.name.map(str::to_owned),
                avatar_url: self.avatar_url.map(str::to_owned),
            },
            messages: self.messages.to_vec(),
        }
    }
}

impl<'a> From<&'a Entry> for EntryRef<'a> {
    fn from(entry: &'a Entry) -> Self {
        Self {
            id: entry.friend.id,
            name: entry.friend.name.as_deref(),
            avatar_url: entry.friend.avatar_url.as_deref(),
            messages: &entry.messages,
        }
    }
}

// === impl Timeline ===

impl Timeline {
    /// The body and tag of this timeline.
    pub fn render(&self) -> Rendered {
        let frame = Frame {
            user_id: self.user_id,
            missing_friends: &self.missing_friends,
            degraded: &self.degraded,
            generated_at: self.generated_at,
        };
        render(frame, self.entries.iter().map(EntryRef::from))
    }
}

/// The body and tag of the timeline `frame` with `entries`.
///
/// The body's keys are in the order [`Timeline`] serializes them; the tag hashes the same
/// value bytes with every object's keys sorted, as [`ETag::of_json`] would.
pub fn render<'a>(
    frame: Frame<'_>,
    entries: impl ExactSizeIterator<Item = EntryRef<'a>>,
) -> Rendered {
    let mut body = Vec::with_capacity(256 + entries.len() * 192);
    let mut tag = TagWriter::new();
    let degraded = {
        let mut out = Vec::with_capacity(16);
        json(&mut out, frame.degraded);
        out
    };
    tag.write(b"{\"degraded\":");
    tag.write(&degraded);
    tag.write(b",\"entries\":[");
    body.extend_from_slice(b"{\"user_id\":");
    let user_id = span(&mut body, |out| json(out, &frame.user_id));
    body.extend_from_slice(b",\"entries\":[");
    for (i, entry) in entries.enumerate() {
        if i > 0 {
            body.push(b',');
            tag.write(b",");
        }
        write_entry(&mut body, &mut tag, &entry);
    }
    body.extend_from_slice(b"],\"missing_friends\":");
    let missing = span(&mut body, |out| json(out, frame.missing_friends));
    tag.write(b"],\"missing_friends\":");
    tag.write(&body[missing]);
    tag.write(b",\"user_id\":");
    tag.write(&body[user_id]);
    tag.write(b"}");
    body.extend_from_slice(b",\"degraded\":");
    body.extend_from_slice(&degraded);
    body.extend_from_slice(b",\"generated_at\":");
    let stamp = body.len();
    frame.generated_at.write_json(&mut body);
    body.push(b'}');
    Rendered {
        body,
        etag: tag.finish(),
        stamp,
    }
}

/// `{"friend":{"id":…,"name":…,"avatar_url":…},"messages":[{"id":…,"text":…,"created_at":…},…]}`
/// into the body, and into the tag with each object's keys sorted.
fn write_entry(body: &mut Vec<u8>, tag: &mut TagWriter, entry: &EntryRef<'_>) {
    body.extend_from_slice(b"{\"friend\":");
    tag.write(b"{\"friend\":");
    write_object(
        body,
        tag,
        [
            ("id", &|out| json(out, &entry.id)),
            ("name", &|out| json(out, &entry.name)),
            ("avatar_url", &|out| json(out, &entry.avatar_url)),
        ],
        [2, 0, 1],
    );
    body.extend_from_slice(b",\"messages\":[");
    tag.write(b",\"messages\":[");
    for (i, message) in entry.messages.iter().enumerate() {
        if i > 0 {
            body.push(b',');
            tag.write(b",");
        }
        write_object(
            body,
            tag,
            [
                ("id", &|out| json(out, &message.id)),
                ("text", &|out| json(out, &message.text)),
                ("created_at", &|out| message.created_at.write_json(out)),
            ],
            [2, 0, 1],
        );
    }
    body.extend_from_slice(b"]}");
    tag.write(b"]}");
}

/// A field of an object: its key (plain, nothing to escape) and what writes its value.
type Field<'a> = (&'static str, &'a dyn Fn(&mut Vec<u8>));

/// An object of `fields` (plain keys, each with what writes its value) into the body in
/// their order, and into the tag in key order (`sorted`: the fields' indices, by key), from
/// the same value bytes.
fn write_object(
    body: &mut Vec<u8>,
    tag: &mut TagWriter,
    fields: [Field<'_>; 3],
    sorted: [usize; 3],
) {
    let mut values: [(&str, Range<usize>); 3] = [("", 0..0), ("", 0..0), ("", 0..0)];
    body.push(b'{');
    for (i, (key, write)) in fields.into_iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.push(b'"');
        body.extend_from_slice(key.as_bytes());
        body.extend_from_slice(b"\":");
        values[i] = (key, span(body, write));
    }
    body.push(b'}');
    debug_assert!(sorted.windows(2).all(|w| values[w[0]].0 < values[w[1]].0));
    tag.write(b"{");
    for (i, at) in sorted.into_iter().enumerate() {
        let (key, value) = values[at].clone();
        if i > 0 {
            tag.write(b",");
        }
        tag.write(b"\"");
        tag.write(key.as_bytes());
        tag.write(b"\":");
        tag.write(&body[value]);
    }
    tag.write(b"}");
}

/// Where in `out` what `write` appends lands.
fn span(out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) -> Range<usize> {
    let start = out.len();
    write(out);
    start..out.len()
}

/// Appends `value`'s compact JSON to `out`. The values written here (ids, strings, options
/// and lists of them) always serialize, and writing into a `Vec` cannot fail.
fn json(out: &mut Vec<u8>, value: &(impl Serialize + ?Sized)) {
    let written = serde_json::to_writer(out, value);
    debug_assert!(written.is_ok(), "{written:?}");
}

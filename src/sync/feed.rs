//! Reading a side's current state from its change feed: a replay of `GET /changes` from
//! 0, page by page, each page's events mapped to what the comparison keeps, by entity.
//!
//! The whole feed is read, unfiltered: the monolith's holds all three entities, and one
//! replay of it serves them all. (`&entities=` is not used: on a large feed the filtered
//! read is several times slower per page than the unfiltered one.)
//!
//! The feed is compacted, so a replay yields each live entity's latest event and the
//! tombstones of recent deletions. The replay's first page gives `oldest`, sent back with
//! every later read so positions below the feed's current `oldest` stay readable; a 410
//! (a tombstone expired meanwhile) restarts the replay from 0. It ends with the first page
//! that reaches the head it reports: an entity written during the replay moves to a
//! position past the head it was read against, and is met there too.
//!
//! Only `type`, `subject` and `data` of an event are read; the envelope (`id`, `seq`,
//! `version`, `origin`, `time`, `source`) may differ between sides holding the same data.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::entity::Entity;

/// Events asked for per page: the most a feed serves.
pub const PAGE_LIMIT: u32 = 5000;

/// Replays restarted after a 410 before giving up.
const MAX_RESTARTS: u32 = 5;

/// One side's feed. Cloning is shallow.
#[derive(Debug, Clone)]
pub struct FeedReader {
    client: reqwest::Client,
    base: Arc<str>,
    timeout: Duration,
}

/// An event, as far as the comparison reads it.
#[derive(Debug, Deserialize)]
pub struct EventView {
    /// `ENTITY.upserted` or `ENTITY.deleted`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The entity's key.
    pub subject: String,
    /// The entity's state; absent for a deletion.
    #[serde(default)]
    pub data: Option<Box<RawValue>>,
}

/// Why a feed could not be read. Each names the URL it was reading.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// No answer: refused, unresolvable, reset, or not within the timeout.
    #[error("cannot read {url}: {why}")]
    Unreachable {
        /// The URL asked.
        url: String,
        /// The innermost cause.
        why: String,
    },
    /// An answer other than 200 or 410.
    #[error("cannot read {url}: it answered {status}{detail}")]
    Status {
        /// The URL asked.
        url: String,
        /// The status.
        status: reqwest::StatusCode,
        /// `: ` and the problem's `detail` or `title`, when it sent one.
        detail: String,
    },
    /// A 200 whose body is no feed page, or a page that breaks the feed's rules.
    #[error("cannot read {url}: {why}")]
    Malformed {
        /// The URL asked.
        url: String,
        /// What is wrong.
        why: String,
    },
    /// Every replay met a 410 before reaching the head.
    #[error(
        "cannot read {url}: the replay was restarted {MAX_RESTARTS} times after 410s (tombstones \
         expiring faster than the feed can be read)"
    )]
    Unstable {
        /// The URL of the feed.
        url: String,
    },
}

/// A page as served.
#[derive(Debug, Deserialize)]
struct PageView {
    changes: Vec<EventView>,
    next_after: u64,
    head: u64,
    #[serde(default)]
    oldest: u64,
}

/// Where a replay stands after one page.
struct Progress {
    next_after: u64,
    head: u64,
    oldest: u64,
}

enum Fetched {
    Page(bytes::Bytes),
    Gone,
}

// === impl FeedReader ===

impl FeedReader {
    /// The feed of the side at `base` (`http://host:port`), every request given `timeout`.
    pub fn new(client: reqwest::Client, base: &str, timeout: Duration) -> Self {
        Self {
            client,
            base: base.trim_end_matches('/').into(),
            timeout,
        }
    }

    /// The side's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Replays the feed from 0 and returns what `map` makes of each event, by entity
    /// ([`Entity::index`]) and in feed order (`None`: skip it); events of other entity
    /// types are skipped. `map` runs off the async threads, a page at a time; an error from
    /// it stops the replay as a malformed page.
    pub async fn replay<T, F>(&self, map: F) -> Result<[Vec<T>; 3], ReadError>
    where
        T: Send + 'static,
        F: Fn(Entity, &EventView) -> Result<Option<T>, String> + Send + Sync + 'static,
    {
        let map = Arc::new(map);
        let mut restarts = 0;
        'replay: loop {
            let mut out: [Vec<T>; 3] = Default::default();
            let (mut after, mut oldest) = (0, None);
            loop {
                let url = self.url(after, oldest);
                let bytes = match self.fetch(&url).await? {
                    Fetched::Page(bytes) => bytes,
                    Fetched::Gone if restarts < MAX_RESTARTS => {
                        restarts += 1;
                        tracing::info!(%url, "410: the feed moved on, replaying from 0");
                        continue 'replay;
                    }
                    Fetched::Gone => {
                        return Err(ReadError::Unstable {
                            url: self.url(0, None),
                        });
                    }
                };
                let map = Arc::clone(&map);
                let parsed = tokio::task::spawn_blocking(move || read_page(&bytes, &*map)).await;
                let (items, page) = match parsed {
                    Ok(Ok(read)) => read,
                    Ok(Err(why)) => return Err(ReadError::Malformed { url, why }),
                    Err(join) => {
                        return Err(ReadError::Malformed {
                            url,
                            why: format!("reading the page failed: {join}"),
                        });
                    }
                };
                for (all, page) in out.iter_mut().zip(items) {
                    all.extend(page);
                }
                if page.next_after >= page.head {
                    return Ok(out);
                }
                if page.next_after <= after {
                    return Err(ReadError::Malformed {
                        url,
                        why: format!(
                            "`next_after` {} does not move past `after` {after} below the head {}",
                            page.next_after, page.head
                        ),
                    });
                }
                oldest.get_or_insert(page.oldest);
                after = page.next_after;
            }
        }
    }

    fn url(&self, after: u64, oldest: Option<u64>) -> String {
        let mut url = format!("{}/changes?after={after}&limit={PAGE_LIMIT}", self.base);
        if let Some(oldest) = oldest {
            url.push_str(&format!("&oldest={oldest}"));
        }
        url
    }

    async fn fetch(&self, url: &str) -> Result<Fetched, ReadError> {
        let unreachable = |err: reqwest::Error| ReadError::Unreachable {
            url: url.to_owned(),
            why: if err.is_timeout() {
                format!(
                    "no answer within {}",
                    humantime::format_duration(self.timeout)
                )
            } else {
                innermost(&err)
            },
        };
        let response = self
            .client
            .get(url)
            .timeout(self.timeout)
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status();
        if status == reqwest::StatusCode::GONE {
            return Ok(Fetched::Gone);
        }
        let body = response.bytes().await.map_err(unreachable)?;
        if status != reqwest::StatusCode::OK {
            return Err(ReadError::Status {
                url: url.to_owned(),
                status,
                detail: problem_detail(&body),
            });
        }
        Ok(Fetched::Page(body))
    }
}

/// The items `map` makes of a page's events, by entity, and where the replay stands.
fn read_page<T, F>(bytes: &[u8], map: &F) -> Result<([Vec<T>; 3], Progress), String>
where
    F: Fn(Entity, &EventView) -> Result<Option<T>, String>,
{
    let page: PageView =
        serde_json::from_slice(bytes).map_err(|err| format!("not a feed page: {err}"))?;
    let mut items: [Vec<T>; 3] = Default::default();
    for event in &page.changes {
        let kind = event.kind.split_once('.').map_or("", |(e, _)| e);
        let Some(entity) = Entity::ALL.into_iter().find(|e| e.name() == kind) else {
            continue;
        };
        if let Some(item) = map(entity, event)? {
            items[entity.index()].push(item);
        }
    }
    Ok((
        items,
        Progress {
            next_after: page.next_after,
            head: page.head,
            oldest: page.oldest,
        },
    ))
}

/// `: detail` (or `: title`) of a problem body, or nothing.
fn problem_detail(body: &[u8]) -> String {
    let Ok(problem) = serde_json::from_slice::<serde_json::Value>(body) else {
        return String::new();
    };
    ["detail", "title"]
        .iter()
        .find_map(|key| problem[key].as_str())
        .map(|text| format!(": {text}"))
        .unwrap_or_default()
}

/// The deepest source of `err`: `Connection refused (os error 111)` rather than reqwest's
/// `error sending request for url (…)`.
fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

// === impl EventView ===

impl EventView {
    /// Whether this is a tombstone (`ENTITY.deleted`).
    pub fn is_deletion(&self) -> bool {
        self.kind.ends_with(".deleted")
    }

    /// The entity's `data`, for an upsert that carries it.
    pub fn data(&self) -> Option<&str> {
        if self.is_deletion() {
            return None;
        }
        self.data.as_deref().map(RawValue::get)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(bytes: &str) -> Result<([Vec<String>; 3], Progress), String> {
        read_page(bytes.as_bytes(), &|entity, e: &EventView| {
            Ok(Some(format!(
                "{entity} {}:{}",
                e.subject,
                e.data().is_some()
            )))
        })
    }

    #[test]
    fn a_page_yields_its_events_by_entity_and_where_to_go_on() {
        let (items, progress) = keys(
            r#"{"changes": [
                {"type": "user.upserted", "subject": "1", "data": {"id": 1}, "seq": 3},
                {"type": "message.upserted", "subject": "9", "data": {"id": 9}},
                {"type": "user.deleted", "subject": "2"},
                {"type": "avatar.upserted", "subject": "4", "data": {}}
            ], "next_after": 3, "head": 10, "oldest": 2}"#,
        )
        .unwrap();
        assert_eq!(items[Entity::User.index()], ["user 1:true", "user 2:false"]);
        assert_eq!(items[Entity::Message.index()], ["message 9:true"]);
        assert!(items[Entity::Friendship.index()].is_empty());
        assert_eq!(
            (progress.next_after, progress.head, progress.oldest),
            (3, 10, 2)
        );
    }

    #[test]
    fn a_body_that_is_no_page_is_refused() {
        for body in [
            "",
            "[]",
            r#"{"changes": []}"#,
            r#"{"changes": [{}], "next_after": 1, "head": 1}"#,
        ] {
            let why = keys(body).err().unwrap();
            assert!(why.starts_with("not a feed page"), "{body}: {why}");
        }
    }

    #[test]
    fn problem_details_are_quoted_when_present() {
        assert_eq!(
            problem_detail(br#"{"title": "Not Found", "detail": "no route"}"#),
            ": no route"
        );
        assert_eq!(problem_detail(br#"{"title": "Not Found"}"#), ": Not Found");
        assert_eq!(problem_detail(b"<html>"), "");
    }

    #[test]
    fn urls_carry_the_replays_oldest() {
        let reader = FeedReader::new(reqwest::Client::new(), "http://h:1/", Duration::ZERO);
        assert_eq!(reader.base(), "http://h:1");
        assert_eq!(reader.url(0, None), "http://h:1/changes?after=0&limit=5000");
        assert_eq!(
            reader.url(5000, Some(7)),
            "http://h:1/changes?after=5000&limit=5000&oldest=7"
        );
    }
}

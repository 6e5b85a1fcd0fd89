//! `gateway sync verify`: whether the monolith and the services hold the same data.
//!
//! During the migration each side keeps its own database, the two kept in step by
//! replicating their change feeds. Verifying reads every entity's current state from both
//! sides' feeds and compares them entity by entity: users (monolith ↔ users service),
//! friendships (↔ friends) and messages (↔ messages).
//!
//! - [`feed`]: a replay of one entity from a side's `GET /changes`, page by page.
//! - [`entity`]: the compared fields of each entity, their normalized form and its digest.
//! - [`compare`]: both sides as sorted key → digest indexes, walked together; the fields
//!   of the entities whose digests differ.
//! - [`report`]: the summary and the differences, as text or JSON.
//!
//! Memory stays proportional to the entity count, 32 bytes an entity a side, never the
//! JSON: each side keeps only its entities' keys and 128-bit digests, one entity kind at a
//! time. Only the entities whose digests differ are read a second time, for their fields.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use crate::table::{self, LoadErrors, Overrides};

pub mod compare;
pub mod entity;
pub mod feed;
pub mod report;

pub use feed::{FeedReader, ReadError};
pub use report::{Report, Text};

use self::compare::{Index, Record};
use self::entity::{Entity, Key, Normalized};
use self::report::{Difference, EntityReport, FieldReport, SideUrl};

/// The four sides' base URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sides {
    /// The monolith.
    pub monolith: String,
    /// The users service.
    pub users: String,
    /// The friends service.
    pub friends: String,
    /// The messages service.
    pub messages: String,
}

/// Base URLs given on the command line, each replacing the routes file's upstream of that
/// name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SideFlags {
    /// `--monolith`.
    pub monolith: Option<String>,
    /// `--users`.
    pub users: Option<String>,
    /// `--friends`.
    pub friends: Option<String>,
    /// `--messages`.
    pub messages: Option<String>,
}

/// Why the sides' URLs are not known.
#[derive(Debug, thiserror::Error)]
pub enum SidesError {
    /// The routes file cannot be read or is invalid.
    #[error("{file}: {}", .errors.0.first().map(ToString::to_string).unwrap_or_default())]
    Routes {
        /// The file.
        file: String,
        /// Everything wrong with it (the first is shown).
        errors: LoadErrors,
    },
    /// The routes file defines no upstream of a side's name, and no flag gives it.
    #[error("{file} has no upstream `{name}`; give its URL with --{name}")]
    Missing {
        /// The file.
        file: String,
        /// The side.
        name: &'static str,
    },
}

/// One entity's verification, before its differences are described.
struct Pass {
    report: EntityReport,
    different: Vec<Key>,
}

// === impl Sides ===

impl Sides {
    /// The four URLs: each flag given, else the upstream of that name in `routes` (read
    /// with the gateway's own parser and rules). The file is not read when every flag is
    /// given.
    pub fn resolve(routes: &Path, flags: SideFlags) -> Result<Self, SidesError> {
        if let SideFlags {
            monolith: Some(monolith),
            users: Some(users),
            friends: Some(friends),
            messages: Some(messages),
        } = flags
        {
            return Ok(Self {
                monolith,
                users,
                friends,
                messages,
            });
        }
        let file = routes.display().to_string();
        let overrides = [
            ("monolith", &flags.monolith),
            ("users", &flags.users),
            ("friends", &flags.friends),
            ("messages", &flags.messages),
        ]
        .into_iter()
        .filter_map(|(name, url)| Some((name, url.as_deref()?)))
        .fold(Overrides::default(), |o, (name, url)| o.with(name, url));
        let loaded = table::load_file(routes, &overrides).map_err(|errors| SidesError::Routes {
            file: file.clone(),
            errors,
        })?;
        let url = |name: &'static str| {
            loaded
                .table
                .upstreams()
                .iter()
                .find(|u| &*u.name == name)
                .map(|u| u.url.to_string())
                .or_else(|| overrides.url(name).map(str::to_owned))
                .ok_or_else(|| SidesError::Missing {
                    file: file.clone(),
                    name,
                })
        };
        Ok(Self {
            monolith: url("monolith")?,
            users: url("users")?,
            friends: url("friends")?,
            messages: url("messages")?,
        })
    }

    /// The service side that holds `entity`.
    pub fn service(&self, entity: Entity) -> &str {
        match entity {
            Entity::User => &self.users,
            Entity::Friendship => &self.friends,
            Entity::Message => &self.messages,
        }
    }

    fn named(&self) -> Vec<SideUrl> {
        [
            ("monolith", &self.monolith),
            ("users", &self.users),
            ("friends", &self.friends),
            ("messages", &self.messages),
        ]
        .into_iter()
        .map(|(name, url)| SideUrl {
            name,
            url: url.clone(),
        })
        .collect()
    }
}

/// Reads both sides of every entity and compares them; each feed request may take up to
/// `timeout`.
pub async fn verify(sides: &Sides, timeout: Duration) -> Result<Report, ReadError> {
    let client = reqwest::Client::builder()
        .connect_timeout(timeout)
        .build()
        .map_err(|err| ReadError::Unreachable {
            url: sides.monolith.clone(),
            why: format!("no HTTP client: {err}"),
        })?;
    let monolith = FeedReader::new(client.clone(), &sides.monolith, timeout);
    let mut entities = Vec::new();
    for entity in Entity::ALL {
        let service = FeedReader::new(client.clone(), sides.service(entity), timeout);
        let pass = digests(entity, &monolith, &service).await?;
        entities.push(describe(entity, &monolith, &service, pass).await?);
    }
    Ok(Report {
        equal: entities.iter().all(|e| e.differences() == 0),
        sides: sides.named(),
        entities,
    })
}

/// Both sides of `entity` as digests, compared.
#[tracing::instrument(skip_all, fields(entity = %entity))]
async fn digests(
    entity: Entity,
    monolith: &FeedReader,
    service: &FeedReader,
) -> Result<Pass, ReadError> {
    let record = move |event: &feed::EventView| -> Result<Option<Record>, String> {
        let key = entity.key(&event.subject).map_err(|err| err.to_string())?;
        Ok(Some((
            key,
            event.data().map(|d| entity.normalize(d).digest()),
        )))
    };
    let (m, s) = tokio::try_join!(
        monolith.replay(entity, record),
        service.replay(entity, record)
    )?;
    let outcome = compare::compare(&Index::from_records(m), &Index::from_records(s));
    tracing::info!(
        monolith = outcome.monolith_count,
        service = outcome.service_count,
        "compared"
    );
    let subjects = |keys: &[Key]| keys.iter().map(|&k| entity.subject(k)).collect();
    let mut report = EntityReport::new(entity);
    report.monolith_count = outcome.monolith_count;
    report.service_count = outcome.service_count;
    report.missing_on_monolith = subjects(&outcome.missing_on_monolith);
    report.missing_on_service = subjects(&outcome.missing_on_service);
    Ok(Pass {
        report,
        different: outcome.different,
    })
}

/// `pass`'s report with the fields of each entity whose digests differ, read again from
/// both sides (keeping only those entities).
#[tracing::instrument(skip_all, fields(entity = %entity, different = pass.different.len()))]
async fn describe(
    entity: Entity,
    monolith: &FeedReader,
    service: &FeedReader,
    mut pass: Pass,
) -> Result<EntityReport, ReadError> {
    if pass.different.is_empty() {
        return Ok(pass.report);
    }
    let wanted: std::sync::Arc<HashSet<Key>> = pass
        .different
        .iter()
        .copied()
        .collect::<HashSet<_>>()
        .into();
    let keep = move |event: &feed::EventView| -> Result<Option<(Key, Option<Normalized>)>, String> {
        let key = entity.key(&event.subject).map_err(|err| err.to_string())?;
        Ok(wanted
            .contains(&key)
            .then(|| (key, event.data().map(|d| entity.normalize(d)))))
    };
    let (m, s) = tokio::try_join!(
        monolith.replay(entity, keep.clone()),
        service.replay(entity, keep)
    )?;
    let (m, s) = (latest(m), latest(s));
    pass.report.different = pass
        .different
        .iter()
        .map(|key| {
            let fields = match (m.get(key), s.get(key)) {
                (Some(Some(m)), Some(Some(s))) => compare::field_diffs(entity, m, s)
                    .into_iter()
                    .map(FieldReport)
                    .collect(),
                // Deleted on one side since the first read: no field to name.
                _ => Vec::new(),
            };
            Difference {
                subject: entity.subject(*key),
                fields,
            }
        })
        .collect();
    Ok(pass.report)
}

/// Each key's last record.
fn latest<T>(records: Vec<(Key, T)>) -> std::collections::HashMap<Key, T> {
    records.into_iter().collect()
}

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
//! Each side's feed is read once, all four at the same time (the monolith's one replay
//! serves all three entities). Memory stays proportional to the entity count, 32 bytes an
//! entity a side, never the JSON: a side keeps only its entities' keys and 128-bit
//! digests. Only the entities whose digests differ are read a second time, for their
//! fields.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::table::{self, LoadErrors, Overrides};

pub mod compare;
pub mod entity;
pub mod feed;
pub mod report;

pub use feed::{FeedReader, ReadError};
pub use report::{Report, Text};

use self::compare::{Index, Record};
use self::entity::{Entity, Key, Normalized, TOMBSTONE};
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

/// An entity read again for its fields: its key and normalized fields (`None`: deleted).
type Described = (Key, Option<Normalized>);

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
    let services = Entity::ALL.map(|e| FeedReader::new(client.clone(), sides.service(e), timeout));
    let passes = digests(&monolith, &services).await?;
    let entities = describe(&monolith, &services, passes).await?;
    Ok(Report {
        equal: entities.iter().all(|e| e.differences() == 0),
        sides: sides.named(),
        entities,
    })
}

/// Every side's feed as digests, read at once, and each entity's two sides compared.
/// A service's events of another entity than its own are not compared.
#[tracing::instrument(skip_all)]
async fn digests(
    monolith: &FeedReader,
    services: &[FeedReader; 3],
) -> Result<[Pass; 3], ReadError> {
    let record = |entity: Entity, event: &feed::EventView| -> Result<Option<Record>, String> {
        let key = entity.key(&event.subject).map_err(|err| err.to_string())?;
        let digest = event
            .data()
            .map_or(TOMBSTONE, |d| entity.normalize(d).digest());
        Ok(Some((key, digest)))
    };
    let [users, friends, messages] = services;
    let (mut m, u, f, s) = tokio::try_join!(
        monolith.replay(record),
        users.replay(record),
        friends.replay(record),
        messages.replay(record)
    )?;
    let mut own = [u, f, s]
        .into_iter()
        .zip(Entity::ALL)
        .map(|(mut records, entity)| std::mem::take(&mut records[entity.index()]));
    Ok(Entity::ALL.map(|entity| {
        let service = own.next().unwrap_or_default();
        let monolith = std::mem::take(&mut m[entity.index()]);
        let outcome = compare::compare(
            &Index::from_records(monolith),
            &Index::from_records(service),
        );
        tracing::info!(
            %entity,
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
        Pass {
            report,
            different: outcome.different,
        }
    }))
}

/// Each pass's report with the fields of each entity whose digests differ, read again
/// (keeping only those entities) from the monolith and the services that have any.
#[tracing::instrument(skip_all)]
async fn describe(
    monolith: &FeedReader,
    services: &[FeedReader; 3],
    passes: [Pass; 3],
) -> Result<Vec<EntityReport>, ReadError> {
    if passes.iter().all(|p| p.different.is_empty()) {
        return Ok(passes.into_iter().map(|p| p.report).collect());
    }
    let wanted: Arc<[HashSet<Key>; 3]> = Arc::new(
        passes
            .each_ref()
            .map(|p| p.different.iter().copied().collect()),
    );
    let keep = {
        let wanted = Arc::clone(&wanted);
        move |entity: Entity, event: &feed::EventView| -> Result<Option<Described>, String> {
            let key = entity.key(&event.subject).map_err(|err| err.to_string())?;
            Ok(wanted[entity.index()]
                .contains(&key)
                .then(|| (key, event.data().map(|d| entity.normalize(d)))))
        }
    };
    let read = |entity: Entity| {
        let (reader, keep) = (services[entity.index()].clone(), keep.clone());
        let needed = !wanted[entity.index()].is_empty();
        async move {
            match needed {
                true => reader.replay(keep).await,
                false => Ok(Default::default()),
            }
        }
    };
    let (mut m, u, f, s) = tokio::try_join!(
        monolith.replay(keep.clone()),
        read(Entity::User),
        read(Entity::Friendship),
        read(Entity::Message)
    )?;
    let mut own = [u, f, s]
        .into_iter()
        .zip(Entity::ALL)
        .map(|(mut records, entity)| std::mem::take(&mut records[entity.index()]));
    Ok(passes
        .into_iter()
        .zip(Entity::ALL)
        .map(|(mut pass, entity)| {
            let m: HashMap<Key, Option<Normalized>> =
                std::mem::take(&mut m[entity.index()]).into_iter().collect();
            let s: HashMap<Key, Option<Normalized>> =
                own.next().unwrap_or_default().into_iter().collect();
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
            pass.report
        })
        .collect())
}

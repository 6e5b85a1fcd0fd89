//! What `gateway sync verify` prints: a summary per entity, then each difference, as text
//! for a terminal (each kind of difference listed up to [`LISTED`] times) or as JSON with
//! everything.

use std::fmt::{self, Write as _};

use serde::Serialize;
use serde::ser::SerializeMap as _;

use super::compare::FieldDiff;
use super::entity::{Entity, FieldValue};

/// Differences of one kind (one entity, missing one way or different) listed in text.
pub const LISTED: usize = 20;

/// The whole verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Whether every entity is the same on both sides.
    pub equal: bool,
    /// The sides read: `monolith`, `users`, `friends`, `messages` → base URL.
    pub sides: Vec<SideUrl>,
    /// One entry per entity, in [`Entity::ALL`] order.
    pub entities: Vec<EntityReport>,
}

/// A side's name and base URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SideUrl {
    /// `monolith`, `users`, `friends` or `messages`.
    pub name: &'static str,
    /// Its base URL.
    pub url: String,
}

/// One entity on both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntityReport {
    /// `user`, `friendship` or `message`.
    pub entity: &'static str,
    /// The service that holds it.
    pub service: &'static str,
    /// Live entities on the monolith.
    pub monolith_count: usize,
    /// Live entities on the service.
    pub service_count: usize,
    /// Subjects only the service holds.
    pub missing_on_monolith: Vec<String>,
    /// Subjects only the monolith holds.
    pub missing_on_service: Vec<String>,
    /// Subjects both hold with different fields.
    pub different: Vec<Difference>,
}

/// One entity both sides hold, with the fields that differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// Its subject.
    pub subject: String,
    /// Each differing field. Empty when the entity changed between the two reads (its
    /// fields equal on the second, or it was deleted on one side meanwhile).
    pub fields: Vec<FieldReport>,
}

/// One differing field: in JSON `{"field", "monolith", "service"}`, a side's key left out
/// when that side's `data` lacks the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldReport(pub FieldDiff);

/// [`Report`] as text.
#[derive(Debug, Clone, Copy)]
pub struct Text<'a>(pub &'a Report);

// === impl Report ===

impl Report {
    /// The report as JSON (pretty-printed, with a final newline).
    pub fn to_json(&self) -> String {
        // A tree of strings, numbers and vectors: it always serializes.
        serde_json::to_string_pretty(self).map_or_else(|_| String::from("{}\n"), |s| s + "\n")
    }

    /// Differences over every entity.
    pub fn differences(&self) -> usize {
        self.entities.iter().map(EntityReport::differences).sum()
    }
}

// === impl EntityReport ===

impl EntityReport {
    /// An entity's report with nothing found yet.
    pub fn new(entity: Entity) -> Self {
        Self {
            entity: entity.name(),
            service: entity.service(),
            monolith_count: 0,
            service_count: 0,
            missing_on_monolith: Vec::new(),
            missing_on_service: Vec::new(),
            different: Vec::new(),
        }
    }

    /// Missing either way, or different.
    pub fn differences(&self) -> usize {
        self.missing_on_monolith.len() + self.missing_on_service.len() + self.different.len()
    }
}

// === impl FieldReport ===

impl Serialize for FieldReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("field", self.0.field)?;
        for (side, value) in [("monolith", &self.0.monolith), ("service", &self.0.service)] {
            if let FieldValue::Present(value) = value {
                map.serialize_entry(side, value)?;
            }
        }
        map.end()
    }
}

// === impl Text ===

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let report = self.0;
        let sides: Vec<String> = report
            .sides
            .iter()
            .map(|side| format!("{} {}", side.name, side.url))
            .collect();
        writeln!(f, "sides: {}", sides.join(", "))?;
        writeln!(
            f,
            "{:<10}  {:<8}  {:>11}  {:>10}  {:>19}  {:>18}  {:>9}",
            "entity",
            "service",
            "on monolith",
            "on service",
            "missing on monolith",
            "missing on service",
            "different"
        )?;
        for e in &report.entities {
            writeln!(
                f,
                "{:<10}  {:<8}  {:>11}  {:>10}  {:>19}  {:>18}  {:>9}",
                e.entity,
                e.service,
                e.monolith_count,
                e.service_count,
                e.missing_on_monolith.len(),
                e.missing_on_service.len(),
                e.different.len()
            )?;
        }
        if report.differences() > 0 {
            writeln!(f, "differences:")?;
        }
        for e in &report.entities {
            let on_monolith = format!("missing on the monolith, held by {}", e.service);
            let on_service = format!("missing on {}, held by the monolith", e.service);
            list(f, e.entity, &on_monolith, &e.missing_on_monolith, |_| {
                String::new()
            })?;
            list(f, e.entity, &on_service, &e.missing_on_service, |_| {
                String::new()
            })?;
            list(f, e.entity, "different", &e.different, |d| {
                fields(d, e.service)
            })?;
        }
        match report.differences() {
            0 => writeln!(f, "equal: both sides hold the same data"),
            n => writeln!(f, "{n} difference(s)"),
        }
    }
}

/// A subject, listed.
trait Subject {
    fn subject(&self) -> &str;
}

impl Subject for String {
    fn subject(&self) -> &str {
        self
    }
}

impl Subject for Difference {
    fn subject(&self) -> &str {
        &self.subject
    }
}

/// Up to [`LISTED`] lines `  ENTITY SUBJECT: WHAT` and what `details` adds, then
/// `  … and N more`.
fn list<T: Subject>(
    f: &mut fmt::Formatter<'_>,
    entity: &str,
    what: &str,
    items: &[T],
    details: impl Fn(&T) -> String,
) -> fmt::Result {
    for item in items.iter().take(LISTED) {
        writeln!(f, "  {entity} {}: {what}{}", item.subject(), details(item))?;
    }
    if items.len() > LISTED {
        writeln!(f, "  … and {} more {entity}s {what}", items.len() - LISTED)?;
    }
    Ok(())
}

/// `: name: monolith "Ada", users "Bea"; …`.
fn fields(difference: &Difference, service: &str) -> String {
    if difference.fields.is_empty() {
        return " (changed while being read; run again)".to_owned();
    }
    let mut out = String::new();
    for (i, FieldReport(diff)) in difference.fields.iter().enumerate() {
        let sep = if i == 0 { ":" } else { ";" };
        let _ = write!(
            out,
            "{sep} {}: monolith {}, {service} {}",
            diff.field, diff.monolith, diff.service
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn report() -> Report {
        let mut users = EntityReport::new(Entity::User);
        users.monolith_count = 3;
        users.service_count = 2;
        users.missing_on_service = vec!["3".into()];
        users.different = vec![Difference {
            subject: "1".into(),
            fields: vec![
                FieldReport(FieldDiff {
                    field: "name",
                    monolith: FieldValue::Present(Value::from("Ada")),
                    service: FieldValue::Present(Value::from("Bea")),
                }),
                FieldReport(FieldDiff {
                    field: "avatar_url",
                    monolith: FieldValue::Present(Value::Null),
                    service: FieldValue::Absent,
                }),
            ],
        }];
        let mut messages = EntityReport::new(Entity::Message);
        messages.missing_on_monolith = (1..=25).map(|i| i.to_string()).collect();
        Report {
            equal: false,
            sides: vec![SideUrl {
                name: "monolith",
                url: "http://m".into(),
            }],
            entities: vec![users, messages],
        }
    }

    #[test]
    fn text_names_each_difference_and_caps_each_kind() {
        let text = Text(&report()).to_string();
        assert!(text.starts_with("sides: monolith http://m\n"), "{text}");
        assert!(
            text.contains("  user 1: different: name: monolith \"Ada\", users \"Bea\"; avatar_url: monolith null, users (absent)\n"),
            "{text}"
        );
        assert!(
            text.contains("  user 3: missing on users, held by the monolith\n"),
            "{text}"
        );
        let listed = text
            .lines()
            .filter(|l| l.starts_with("  message ") && l.ends_with("held by messages"))
            .count();
        assert_eq!(listed, LISTED, "{text}");
        assert!(
            text.contains("… and 5 more messages missing on the monolith"),
            "{text}"
        );
        assert!(text.ends_with("27 difference(s)\n"), "{text}");
    }

    #[test]
    fn json_lists_everything_and_leaves_out_an_absent_value() {
        let json: Value = serde_json::from_str(&report().to_json()).unwrap();
        assert_eq!(json["equal"], false);
        assert_eq!(
            json["entities"][0]["different"][0]["fields"],
            json!([
                {"field": "name", "monolith": "Ada", "service": "Bea"},
                {"field": "avatar_url", "monolith": null}
            ])
        );
        assert_eq!(
            json["entities"][1]["missing_on_monolith"]
                .as_array()
                .unwrap()
                .len(),
            25
        );
    }

    #[test]
    fn an_equal_report_says_so() {
        let report = Report {
            equal: true,
            sides: Vec::new(),
            entities: vec![EntityReport::new(Entity::Friendship)],
        };
        let text = Text(&report).to_string();
        assert!(
            text.ends_with("equal: both sides hold the same data\n"),
            "{text}"
        );
        assert_eq!(report.differences(), 0);
    }
}

//! The W3C `Server-Timing` header: where a timeline's time went, for browser devtools.

use std::fmt::Write;
use std::time::Duration;

/// Stages with their durations and descriptions, in the order they were recorded.
#[derive(Debug, Default, Clone)]
pub struct ServerTiming {
    metrics: Vec<(&'static str, Option<Duration>, Option<String>)>,
}

// === impl ServerTiming ===

impl ServerTiming {
    /// Records a stage that took `took`.
    pub fn stage(&mut self, name: &'static str, took: Duration) {
        self.metrics.push((name, Some(took), None));
    }

    /// Records a stage with a description, e.g. `chunks=2`.
    pub fn stage_with(&mut self, name: &'static str, took: Duration, desc: String) {
        self.metrics.push((name, Some(took), Some(desc)));
    }

    /// Records a metric without a duration, e.g. cache hits.
    pub fn note(&mut self, name: &'static str, desc: String) {
        self.metrics.push((name, None, Some(desc)));
    }

    /// The header value: `friends;dur=1.2, users;dur=3.4;desc="…", …`.
    pub fn header_value(&self) -> String {
        let mut out = String::new();
        for (i, (name, took, desc)) in self.metrics.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(name);
            if let Some(took) = took {
                let _ = write!(out, ";dur={:.2}", took.as_secs_f64() * 1000.0);
            }
            if let Some(desc) = desc {
                // A quoted-string: keep it to characters that need no escaping.
                let clean: String = desc.chars().filter(|c| *c != '"' && *c != '\\').collect();
                let _ = write!(out, ";desc=\"{clean}\"");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_per_the_spec() {
        let mut timing = ServerTiming::default();
        timing.stage("friends", Duration::from_micros(1500));
        timing.stage_with("users", Duration::from_millis(3), "chunks=2".into());
        timing.note("cache", "hit=40 miss=\"10\"".into());
        assert_eq!(
            timing.header_value(),
            r#"friends;dur=1.50, users;dur=3.00;desc="chunks=2", cache;desc="hit=40 miss=10""#
        );
    }
}

//! The rules of `shadow:`: a known upstream that does not already serve the route, a
//! route that serves GET or HEAD (nothing else is ever shadowed), percentages within
//! 0..=100, valid JSON pointers.

use serde_saphyr::Spanned;

use super::{Checker, unknown_upstream};
use crate::table::compiled::{Methods, Target, Upstream, UpstreamId};
use crate::table::config::ShadowConfig;
use crate::table::shadow::{
    DEFAULT_MAX_IN_FLIGHT, DEFAULT_NOISE_SAMPLE, DEFAULT_PERCENT, DEFAULT_TIMEOUT, PointerPattern,
    Shadow,
};

/// The most shadow requests one route may have in flight.
const MAX_IN_FLIGHT_LIMIT: u64 = 65_536;

// === impl Checker ===

impl Checker {
    /// A route's `shadow:` compiled: `Some(None)` when it has none, `None` after recording
    /// its errors. `methods` and `target` are `None` when already refused.
    pub(super) fn shadow(
        &mut self,
        config: Option<&Spanned<ShadowConfig>>,
        methods: Option<Methods>,
        target: Option<&Target>,
        names: &[&str],
        upstreams: &[Upstream],
    ) -> Option<Option<Shadow>> {
        let Some(config) = config else {
            return Some(None);
        };
        let c = &config.value;
        let mut ok = true;
        if let Some(methods) = methods
            && !methods.has_safe()
        {
            self.error(
                &config.referenced,
                format!(
                    "shadow: the route serves only {methods}; only GET and HEAD are ever shadowed, so the shadow would get nothing"
                ),
            );
            ok = false;
        }
        let (upstream, serves) = self.shadow_upstream(&c.to, target, names, upstreams);
        ok &= !serves;
        let percent = self.percent("shadow.percent", c.percent.as_ref(), DEFAULT_PERCENT);
        let noise_sample = self.percent(
            "shadow.noise_sample",
            c.noise_sample.as_ref(),
            DEFAULT_NOISE_SAMPLE,
        );
        let timeout = match &c.timeout {
            Some(value) => self.duration("shadow.timeout", Some(value)),
            None => Some(DEFAULT_TIMEOUT),
        };
        let max_in_flight = self.max_in_flight(c.max_in_flight.as_ref());
        let mut ignore = Vec::new();
        for pointer in c.ignore.iter().flatten() {
            match PointerPattern::parse(&pointer.value) {
                Ok(pattern) => ignore.push(pattern),
                Err(why) => {
                    self.error(&pointer.referenced, format!("shadow.ignore: {why}"));
                    ok = false;
                }
            }
        }
        if !ok {
            return None;
        }
        Some(Some(Shadow {
            upstream: upstream?,
            percent: percent?,
            compare: c.compare.unwrap_or(true),
            ignore: ignore.into(),
            timeout: timeout?,
            max_in_flight: max_in_flight?,
            noise_sample: noise_sample?,
        }))
    }

    /// The shadow's upstream, if known, and whether it already serves the route (an
    /// error, recorded).
    fn shadow_upstream(
        &mut self,
        to: &Spanned<String>,
        target: Option<&Target>,
        names: &[&str],
        upstreams: &[Upstream],
    ) -> (Option<UpstreamId>, bool) {
        if !names.contains(&to.value.as_str()) {
            self.error(
                &to.referenced,
                format!("shadow.to: {}", unknown_upstream(&to.value, names)),
            );
            return (None, false);
        }
        // Absent only when the upstream itself was invalid, already reported.
        let upstream = upstreams
            .iter()
            .position(|u| *u.name == *to.value)
            .map(UpstreamId);
        let serves = match (upstream, target) {
            (Some(id), Some(Target::One(primary))) => *primary == id,
            (Some(id), Some(Target::Split(split))) => {
                split.sides.iter().any(|&(_, side)| side == id)
            }
            _ => false,
        };
        if serves {
            self.error(
                &to.referenced,
                format!(
                    "shadow.to: `{}` already serves this route; a shadow must be another upstream",
                    to.value
                ),
            );
        }
        (upstream, serves)
    }

    fn max_in_flight(&mut self, value: Option<&Spanned<u64>>) -> Option<usize> {
        match value {
            Some(v) if v.value == 0 || v.value > MAX_IN_FLIGHT_LIMIT => {
                self.error(
                    &v.referenced,
                    format!(
                        "shadow.max_in_flight: {} is outside 1..={MAX_IN_FLIGHT_LIMIT}",
                        v.value
                    ),
                );
                None
            }
            Some(v) => usize::try_from(v.value).ok(),
            None => Some(DEFAULT_MAX_IN_FLIGHT),
        }
    }

    fn percent(&mut self, field: &str, value: Option<&Spanned<u64>>, default: u8) -> Option<u8> {
        let Some(value) = value else {
            return Some(default);
        };
        match u8::try_from(value.value) {
            Ok(n) if n <= 100 => Some(n),
            _ => {
                self.error(
                    &value.referenced,
                    format!("{field}: {} is outside 0..=100", value.value),
                );
                None
            }
        }
    }
}

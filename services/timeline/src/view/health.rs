//! Whether the view may answer: every follower caught up once, and none too far behind.

use std::time::Duration;

use crate::domain::Part;
use crate::metrics::ViewState;

/// One follower as the view's health reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PartStatus {
    /// The part it builds.
    pub part: Part,
    /// It has been at its feed's head since start (or since its last replay).
    pub caught_up: bool,
    /// Its last read reached its feed.
    pub connected: bool,
    /// How long since it was last at its feed's head (zero when it is).
    pub lag: Duration,
}

/// The view's health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// Some part is still being built: answers are composed, as without a view.
    Building,
    /// Every part is current: the view answers.
    Current,
    /// These parts lag more than allowed or cannot reach their feeds: answers are composed
    /// and say `degraded: view`.
    Lagging(Vec<Part>),
}

/// The health of a view whose followers show `parts`, allowed to lag `max_lag`. A part
/// still building outweighs another that lags: the view is not yet in use.
pub fn judge(parts: &[PartStatus], max_lag: Duration) -> Health {
    if parts.iter().any(|p| !p.caught_up) {
        return Health::Building;
    }
    let lagging: Vec<Part> = parts
        .iter()
        .filter(|p| !p.connected || p.lag > max_lag)
        .map(|p| p.part)
        .collect();
    if lagging.is_empty() {
        Health::Current
    } else {
        Health::Lagging(lagging)
    }
}

// === impl Health ===

impl Health {
    /// The state shown on `/metrics`.
    pub fn state(&self) -> ViewState {
        match self {
            Self::Building => ViewState::Building,
            Self::Current => ViewState::Current,
            Self::Lagging(_) => ViewState::Lagging,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX_LAG: Duration = Duration::from_secs(2);

    fn current(part: Part) -> PartStatus {
        PartStatus {
            part,
            caught_up: true,
            connected: true,
            lag: Duration::ZERO,
        }
    }

    fn all_current() -> Vec<PartStatus> {
        Part::ALL.into_iter().map(current).collect()
    }

    #[test]
    fn every_part_current_is_current() {
        assert_eq!(judge(&all_current(), MAX_LAG), Health::Current);
        assert_eq!(Health::Current.state(), ViewState::Current);
    }

    #[test]
    fn a_lag_up_to_the_limit_is_allowed_and_beyond_it_named() {
        let mut parts = all_current();
        parts[2].lag = MAX_LAG;
        assert_eq!(judge(&parts, MAX_LAG), Health::Current, "exactly the limit");
        parts[2].lag = MAX_LAG + Duration::from_millis(1);
        assert_eq!(
            judge(&parts, MAX_LAG),
            Health::Lagging(vec![Part::Messages])
        );
    }

    #[test]
    fn an_unreachable_feed_lags_whatever_its_lag() {
        let mut parts = all_current();
        parts[0].connected = false;
        parts[1].connected = false;
        let health = judge(&parts, MAX_LAG);
        assert_eq!(health, Health::Lagging(vec![Part::Users, Part::Friends]));
        assert_eq!(health.state(), ViewState::Lagging);
    }

    #[test]
    fn a_part_still_building_outweighs_one_lagging() {
        let mut parts = all_current();
        parts[0].connected = false;
        parts[1].caught_up = false;
        assert_eq!(judge(&parts, MAX_LAG), Health::Building);
        assert_eq!(judge(&[], MAX_LAG), Health::Current, "nothing to wait for");
    }
}

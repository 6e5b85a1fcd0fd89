//! A hybrid logical clock: readings are microseconds since the Unix epoch, never below the
//! wall clock, strictly increasing per clock, and above every reading the clock has
//! observed from elsewhere (`observe`). Two sides that stamp versions with such clocks and
//! observe each other's versions agree on which of two writes of one entity came last
//! (ties broken by origin), whatever their wall clocks say.

use std::sync::atomic::{AtomicI64, Ordering};

use crate::timestamp::Timestamp;

/// The clock. Shared by reference; every method is lock-free.
#[derive(Debug, Default)]
pub struct Hlc {
    last: AtomicI64,
}

// === impl Hlc ===

impl Hlc {
    /// A clock whose readings will exceed `floor` (the largest version already stored).
    pub fn starting_above(floor: i64) -> Self {
        Self {
            last: AtomicI64::new(floor),
        }
    }

    /// A new reading: the wall clock, or one more than the last reading if that is later.
    pub fn tick(&self) -> i64 {
        self.tick_at(Timestamp::now().as_micros())
    }

    /// A reading for the wall-clock time `now` (for tests).
    pub fn tick_at(&self, now: i64) -> i64 {
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let next = now.max(last.saturating_add(1));
            match self
                .last
                .compare_exchange_weak(last, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return next,
                Err(seen) => last = seen,
            }
        }
    }

    /// Takes in a reading made elsewhere, so every later reading here exceeds it.
    pub fn observe(&self, reading: i64) {
        self.last.fetch_max(reading, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_increase_even_when_the_wall_clock_goes_back() {
        let clock = Hlc::default();
        let a = clock.tick_at(1_000);
        let b = clock.tick_at(1_000);
        let c = clock.tick_at(500);
        assert!(a < b && b < c, "{a} {b} {c}");
        assert_eq!(clock.tick_at(5_000), 5_000);
    }

    #[test]
    fn observed_readings_are_exceeded() {
        let clock = Hlc::starting_above(10);
        assert_eq!(clock.tick_at(1), 11);
        clock.observe(1_000_000);
        assert_eq!(clock.tick_at(2), 1_000_001);
        clock.observe(5);
        assert_eq!(clock.tick_at(2), 1_000_002);
    }
}

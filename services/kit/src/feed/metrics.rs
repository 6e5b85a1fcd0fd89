//! The feeds on `/metrics`: this service's feed head, and for each follower its position,
//! the source's head, and its lag in events and seconds, read afresh at every scrape.

use std::sync::{Arc, Mutex, PoisonError};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::ConstGauge;

use super::follow::{Follower, FollowerStatus};
use super::outbox::Feed;

/// The followers a service runs, for `GET /feeds` and `/metrics`. Cloning is shallow.
#[derive(Debug, Clone, Default)]
pub struct Followers(Arc<Mutex<Vec<Follower>>>);

/// A gauge's name, help and how to read it off a follower's status.
type Figure = (&'static str, &'static str, fn(&FollowerStatus) -> f64);

/// A collector of the feed figures of one service.
#[derive(Debug, Clone)]
pub struct FeedCollector {
    feed: Option<Feed>,
    followers: Followers,
}

// === impl Followers ===

impl Followers {
    /// Adds a follower.
    pub fn add(&self, follower: Follower) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(follower);
    }

    /// Every follower's status, in the order they were added.
    pub fn statuses(&self) -> Vec<FollowerStatus> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(Follower::status)
            .collect()
    }

    /// The follower of `source`, if any.
    pub fn of(&self, source: &str) -> Option<Follower> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|f| f.options().source == source)
            .cloned()
    }
}

// === impl FeedCollector ===

impl FeedCollector {
    /// Figures of `feed` (when the service has one) and of `followers`.
    pub fn new(feed: Option<Feed>, followers: Followers) -> Self {
        Self { feed, followers }
    }
}

impl Collector for FeedCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        if let Some(feed) = &self.feed {
            let head = ConstGauge::new(i64::try_from(feed.head()).unwrap_or(i64::MAX));
            let mut metric = encoder.encode_descriptor(
                "feed_head",
                "The last position of this service's change feed",
                None,
                MetricType::Gauge,
            )?;
            head.encode(metric.encode_family(&[("source", feed.source())])?)?;
        }
        let statuses = self.followers.statuses();
        let gauges: [Figure; 5] = [
            (
                "feed_consumer_position",
                "The last position a follower applied",
                |s| s.position as f64,
            ),
            (
                "feed_consumer_source_head",
                "The followed feed's head at the last read",
                |s| s.head as f64,
            ),
            (
                "feed_consumer_lag_events",
                "Events of the followed feed not yet applied",
                |s| s.lag_events as f64,
            ),
            (
                "feed_consumer_lag_seconds",
                "Seconds since the follower was last at the followed feed's head",
                |s| s.lag_seconds,
            ),
            (
                "feed_consumer_connected",
                "1 when the last read reached the followed feed",
                |s| f64::from(u8::from(s.connected)),
            ),
        ];
        for (name, help, value) in gauges {
            let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for status in &statuses {
                let labels = [
                    ("consumer", status.consumer.as_str()),
                    ("source", status.source.as_str()),
                    ("transport", status.transport),
                ];
                ConstGauge::new(value(status)).encode(metric.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::{FollowOptions, Source};
    use tokio_util::sync::CancellationToken;

    #[derive(Clone)]
    struct Nothing;

    impl crate::feed::Consumer for Nothing {
        async fn position(&self) -> anyhow::Result<u64> {
            Ok(0)
        }
        async fn apply(&self, _: &[crate::feed::Event], _: u64) -> anyhow::Result<()> {
            Ok(())
        }
        async fn reset(&self) -> anyhow::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn every_follower_is_a_labelled_series() {
        let followers = Followers::default();
        let stop = CancellationToken::new();
        // Nobody listens on port 9 (discard): the follower stays disconnected.
        let source = Source::http("http://127.0.0.1:9", reqwest::Client::new());
        followers.add(Follower::spawn(
            source,
            Nothing,
            FollowOptions::new("friends", "users"),
            stop.clone(),
        ));
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register_collector(Box::new(FeedCollector::new(None, followers.clone())));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        let labels = r#"{consumer="friends",source="users",transport="http"}"#;
        for name in [
            "feed_consumer_position",
            "feed_consumer_lag_events",
            "feed_consumer_lag_seconds",
        ] {
            assert!(
                text.contains(&format!("{name}{labels} ")),
                "{name} in {text}"
            );
        }
        assert!(
            text.contains(&format!("feed_consumer_connected{labels} 0")),
            "{text}"
        );
        assert_eq!(
            followers
                .of("users")
                .map(|f| f.options().consumer.clone())
                .as_deref(),
            Some("friends")
        );
        assert!(followers.of("messages").is_none());
        stop.cancel();
    }
}

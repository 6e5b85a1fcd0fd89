//! The service's command line; every flag also reads `TIMELINE_<FLAG>` from the environment.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;

use crate::engine::ProfileStrategy;

/// Environment prefix: `--users-url` is also `TIMELINE_USERS_URL`.
pub const ENV_PREFIX: &str = "TIMELINE";

/// Defaults that run on one machine, next to the services' defaults.
pub const DEFAULTS: &[(&str, &str)] = &[
    ("listen", "127.0.0.1:8084"),
    ("users_url", "http://127.0.0.1:8081"),
    ("friends_url", "http://127.0.0.1:8082"),
    ("messages_url", "http://127.0.0.1:8083"),
];

/// `timeline`: each friend's latest messages with their name and avatar.
#[derive(Debug, Clone, Parser)]
#[command(name = "timeline", version, about)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Base URL of the users service.
    #[arg(long, value_name = "URL")]
    pub users_url: String,
    /// Base URL of the friends service.
    #[arg(long, value_name = "URL")]
    pub friends_url: String,
    /// Base URL of the messages service.
    #[arg(long, value_name = "URL")]
    pub messages_url: String,
    /// Whole-request deadline: a timeline (complete or degraded) always comes within it.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "1s")]
    pub deadline: Duration,
    /// Time limit of one downstream request.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "800ms")]
    pub call_timeout: Duration,
    /// Time limit for connecting to a downstream service.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "250ms")]
    pub connect_timeout: Duration,
    /// Most profiles kept in the cache.
    #[arg(long, default_value_t = 100_000)]
    pub cache_capacity: u64,
    /// How long a cached profile is served as fresh; 0 turns the cache off.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "30s")]
    pub cache_ttl: Duration,
    /// How long past its TTL a profile is kept, to be served (and flagged stale) when the
    /// users service fails.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10m")]
    pub cache_stale_for: Duration,
    /// Bulk requests in flight at once per stage (users, messages) for large friend lists.
    #[arg(long, default_value_t = 4)]
    pub fanout_concurrency: usize,
    /// Which profiles a timeline reads: `all` friends' (in parallel with messages), only
    /// the `shown` ones (after messages), or `auto`: `all` when every friend fits in
    /// `limit`, `shown` otherwise.
    #[arg(long, value_enum, default_value_t = ProfileStrategy::Auto)]
    pub profiles: ProfileStrategy,
    /// Answer from the live view built from the services' change feeds (`on`), composing
    /// over HTTP while it builds or lags; or always compose (`off`).
    #[arg(long, value_enum, default_value_t = ViewMode::On)]
    pub view: ViewMode,
    /// The most a feed follower may lag behind its feed's head while the view answers;
    /// beyond it answers are composed and say `degraded: view`.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "2s")]
    pub max_view_lag: Duration,
    /// Memory for the view's kept answers, in MiB (0: none kept). An answer is kept until
    /// what it is made of changes (the user's friends, or their profiles or messages) and
    /// served again, restamped, until then; the least used are evicted past this size.
    #[arg(long, default_value_t = 64)]
    pub view_kept_answers_mib: u64,
    /// How long a request carrying `X-Change-Position` waits for the view to apply those
    /// positions before it is composed instead.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "500ms")]
    pub max_wait_for_writes: Duration,
    /// Read the feeds from NATS JetStream at this URL (`nats://HOST:PORT`, streams
    /// `FEED_<SOURCE>`) instead of each service's `/changes`.
    #[arg(long, value_name = "URL")]
    pub feed_bus: Option<String>,
    /// The view's follower name, which names its JetStream durable consumers (one per
    /// replica); default `timeline-view-<listen port>`.
    #[arg(long, value_name = "NAME")]
    pub view_consumer: Option<String>,
    /// Request limits.
    #[command(flatten)]
    pub limits: kit::layers::Limits,
}

/// Whether the live view answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ViewMode {
    /// Build the view from the feeds and answer from it when it can.
    On,
    /// Compose every timeline over HTTP.
    Off,
}

// === impl Config ===

impl Config {
    /// The view's follower name: `--view-consumer`, else `timeline-view-<listen port>`.
    pub fn view_consumer(&self) -> String {
        self.view_consumer
            .clone()
            .unwrap_or_else(|| format!("timeline-view-{}", self.listen.port()))
    }
}

impl kit::cli::ServiceConfig for Config {
    const ENV_PREFIX: &'static str = ENV_PREFIX;
    const DEFAULTS: &'static [(&'static str, &'static str)] = DEFAULTS;
}

#[cfg(test)]
mod tests {
    use kit::cli::ServiceConfig;

    use super::*;

    #[test]
    fn the_view_is_on_by_default_with_its_limits() {
        let config = Config::try_from_args(["timeline"]).unwrap();
        assert_eq!(config.view, ViewMode::On);
        assert_eq!(config.max_view_lag, Duration::from_secs(2));
        assert_eq!(config.view_kept_answers_mib, 64);
        assert_eq!(config.max_wait_for_writes, Duration::from_millis(500));
        assert_eq!(config.feed_bus, None);
        assert_eq!(config.view_consumer(), "timeline-view-8084");
    }

    #[test]
    fn the_view_flags_are_read() {
        let config = Config::try_from_args([
            "timeline",
            "--view=off",
            "--max-view-lag=250ms",
            "--view-kept-answers-mib=0",
            "--max-wait-for-writes=1s",
            "--feed-bus=nats://127.0.0.1:4222",
            "--view-consumer=timeline-a",
        ])
        .unwrap();
        assert_eq!(config.view, ViewMode::Off);
        assert_eq!(config.max_view_lag, Duration::from_millis(250));
        assert_eq!(config.view_kept_answers_mib, 0);
        assert_eq!(config.max_wait_for_writes, Duration::from_secs(1));
        assert_eq!(config.feed_bus.as_deref(), Some("nats://127.0.0.1:4222"));
        assert_eq!(config.view_consumer(), "timeline-a");
        assert!(Config::try_from_args(["timeline", "--view=maybe"]).is_err());
        assert!(Config::try_from_args(["timeline", "--max-view-lag=soon"]).is_err());
    }
}

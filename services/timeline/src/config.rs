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
    /// Request limits.
    #[command(flatten)]
    pub limits: kit::layers::Limits,
}

impl kit::cli::ServiceConfig for Config {
    const ENV_PREFIX: &'static str = ENV_PREFIX;
    const DEFAULTS: &'static [(&'static str, &'static str)] = DEFAULTS;
}

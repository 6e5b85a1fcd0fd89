//! The service's command line; every flag also reads `FRIENDS_<FLAG>` from the environment.

use std::time::Duration;

use clap::Parser;

/// Environment prefix: `--database` is also `FRIENDS_DATABASE_URL`.
pub const ENV_PREFIX: &str = "FRIENDS";

/// Defaults that run on one machine.
pub const DEFAULTS: &[(&str, &str)] = &[
    ("listen", "127.0.0.1:8082"),
    ("database_url", "sqlite://data/friends.db"),
];

/// `friends`: the symmetric friendship graph, with a paged list for composers.
#[derive(Debug, Clone, Parser)]
#[command(name = "friends", version, about)]
pub struct Config {
    /// Listener, database, demo data and limits.
    #[command(flatten)]
    pub store: kit::cli::StoreArgs,
    /// The users service (`http://HOST:PORT`) whose change feed to follow (on the
    /// `--feed-bus` instead when one is set): a deleted user's friendships are deleted, and
    /// a friendship naming a user that feed does not hold is refused. Without it, any ids
    /// are stored and nothing cascades.
    #[arg(long, value_name = "URL")]
    pub users_url: Option<String>,
    /// How long a friendship naming a user not yet known may wait for the follower to
    /// confirm the users feed's head (beyond it: 503); over JetStream, how long it waits
    /// for the user before it is refused.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, default_value = "1s")]
    pub known_users_wait: Duration,
}

impl kit::cli::ServiceConfig for Config {
    const ENV_PREFIX: &'static str = ENV_PREFIX;
    const DEFAULTS: &'static [(&'static str, &'static str)] = DEFAULTS;
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit::cli::ServiceConfig;

    #[test]
    fn defaults_run_on_one_machine() {
        let config = Config::try_from_args(["friends"]).unwrap();
        assert_eq!(config.store.listen.to_string(), "127.0.0.1:8082");
        assert_eq!(config.store.database_url, "sqlite://data/friends.db");
        assert!(config.store.demo.is_none());
        assert!(config.users_url.is_none());
        assert_eq!(config.known_users_wait, std::time::Duration::from_secs(1));
    }

    #[test]
    fn every_flag_reads_a_friends_variable() {
        let env_of = kit::cli::env_var::<Config>;
        assert_eq!(env_of("listen").as_deref(), Some("FRIENDS_LISTEN"));
        assert_eq!(
            env_of("database_url").as_deref(),
            Some("FRIENDS_DATABASE_URL")
        );
        assert_eq!(env_of("demo").as_deref(), Some("FRIENDS_DEMO"));
        assert_eq!(env_of("users_url").as_deref(), Some("FRIENDS_USERS_URL"));
    }

    #[test]
    fn bad_flags_are_errors() {
        assert!(Config::try_from_args(["friends", "--listen", "nowhere"]).is_err());
        assert!(Config::try_from_args(["friends", "--demo", "users=-1"]).is_err());
    }
}

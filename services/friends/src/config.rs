//! The service's command line; every flag also reads `FRIENDS_<FLAG>` from the environment.

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
    }

    #[test]
    fn bad_flags_are_errors() {
        assert!(Config::try_from_args(["friends", "--listen", "nowhere"]).is_err());
        assert!(Config::try_from_args(["friends", "--demo", "users=-1"]).is_err());
    }
}

//! The monolith's command line; every flag also reads `MONOLITH_<FLAG>` from the environment.

use clap::Parser;

/// Environment prefix: `--database` is also `MONOLITH_DATABASE_URL`.
pub const ENV_PREFIX: &str = "MONOLITH";

/// Defaults that run on one machine, next to the services' defaults.
pub const DEFAULTS: &[(&str, &str)] = &[
    ("listen", "127.0.0.1:8085"),
    ("database_url", "sqlite://data/monolith.db"),
];

/// `monolith`: users, friendships, messages and timelines from one database.
#[derive(Debug, Clone, Parser)]
#[command(name = "monolith", version, about)]
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
    use kit::cli::ServiceConfig;

    use super::*;

    #[test]
    fn defaults_run_on_one_machine() {
        let config = Config::try_from_args(["monolith"]).unwrap();
        assert_eq!(config.store.listen.to_string(), "127.0.0.1:8085");
        assert_eq!(config.store.database_url, "sqlite://data/monolith.db");
        assert!(config.store.demo.is_none());
    }

    #[test]
    fn flags_override_and_bad_values_are_errors() {
        let config = Config::try_from_args([
            "monolith",
            "--listen=127.0.0.1:0",
            "--database=sqlite::memory:",
            "--demo=users=10",
        ])
        .unwrap();
        assert_eq!(config.store.listen.port(), 0);
        assert_eq!(config.store.demo.unwrap().users, 10);
        assert!(Config::try_from_args(["monolith", "--demo=users=-1"]).is_err());
        assert_eq!(
            kit::cli::env_var::<Config>("database_url").as_deref(),
            Some("MONOLITH_DATABASE_URL")
        );
    }
}

//! The service's command line; every flag also reads `USERS_<FLAG>` from the environment.

use clap::Parser;

/// Environment prefix: `--database` is also `USERS_DATABASE_URL`.
pub const ENV_PREFIX: &str = "USERS";

/// Defaults that run on one machine.
pub const DEFAULTS: &[(&str, &str)] = &[
    ("listen", "127.0.0.1:8081"),
    ("database_url", "sqlite://data/users.db"),
];

/// `users`: user profiles, with a bulk read for composers.
#[derive(Debug, Clone, Parser)]
#[command(name = "users", version, about)]
pub struct Config {
    /// Listener, database, demo data and limits.
    #[command(flatten)]
    pub store: kit::cli::StoreArgs,
}

impl kit::cli::ServiceConfig for Config {
    const ENV_PREFIX: &'static str = ENV_PREFIX;
    const DEFAULTS: &'static [(&'static str, &'static str)] = DEFAULTS;
}

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

impl Config {
    /// From the process's arguments and environment; exits with a usage message on error.
    pub fn from_env() -> Self {
        kit::cli::parse(ENV_PREFIX, DEFAULTS)
    }

    /// From explicit arguments (the first is the program name), for tests and `up`.
    pub fn try_from_args<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        kit::cli::try_parse_from(ENV_PREFIX, DEFAULTS, args)
    }
}

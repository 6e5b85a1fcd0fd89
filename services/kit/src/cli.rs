//! Command lines: every flag can also come from the environment as `PREFIX_FLAG_NAME`
//! (`--database` of the users service is `USERS_DATABASE_URL`).

use std::ffi::OsString;
use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;

use crate::demo::DemoSpec;
use crate::layers::Limits;

/// What every service with its own database takes.
#[derive(Debug, Clone, clap::Args)]
pub struct StoreArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Database: sqlite://PATH, sqlite::memory: or postgres://USER@HOST/DB.
    #[arg(long = "database", value_name = "URL")]
    pub database_url: String,
    /// Fill an empty store with the demo world; keys optional:
    /// users=U,friends=F,messages=M,seed=S,celebrities=K,celebrity_friends=N.
    #[arg(long, value_name = "SPEC", num_args = 0..=1, default_missing_value = "")]
    pub demo: Option<DemoSpec>,
    /// Request limits.
    #[command(flatten)]
    pub limits: Limits,
    /// The change feed.
    #[command(flatten)]
    pub feed: FeedArgs,
}

/// How a service keeps its change feed and reads the feeds it follows.
#[derive(Debug, Clone, clap::Args)]
pub struct FeedArgs {
    /// How long a deletion's tombstone stays in the change feed; a follower further behind
    /// replays the feed from 0.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, default_value = "24h")]
    pub tombstone_retention: Duration,
    /// NATS JetStream (`nats://HOST:PORT`): relay this service's feed to it, and read the
    /// feeds this service follows from it instead of over HTTP.
    #[arg(long, value_name = "URL")]
    pub feed_bus: Option<String>,
    /// Replicate from these feeds (`monolith=http://127.0.0.1:8085`, comma-separated or
    /// repeated): this service's entities written on the other side are applied here, last
    /// writer winning, and this side's writes are left for the other side to follow. Read
    /// from the `--feed-bus` instead of the URL when one is set.
    #[arg(long, value_name = "NAME=URL", value_delimiter = ',')]
    pub replicate_from: Vec<FeedSource>,
    /// The ids this side hands out for new rows, when another side creates rows of the same
    /// tables: slot K of N takes the ids equal to K modulo N (`1/2` odd, `2/2` even).
    #[arg(long, value_name = "K/N", default_value = "1/1")]
    pub id_slot: crate::ids::IdSlot,
}

/// A feed to follow: its source name and the base URL of the service that serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedSource {
    /// The feed's source name (`monolith`, `users`).
    pub name: String,
    /// The service's base URL.
    pub url: String,
}

/// A malformed `NAME=URL`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a feed: expected NAME=URL, e.g. monolith=http://127.0.0.1:8085")]
pub struct FeedSourceError(String);

impl std::str::FromStr for FeedSource {
    type Err = FeedSourceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || FeedSourceError(s.to_owned());
        let (name, url) = s.split_once('=').ok_or_else(bad)?;
        let valid_name = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        let valid_url = url.starts_with("http://") || url.starts_with("https://");
        if !valid_name || !valid_url || url.len() <= "https://".len() {
            return Err(bad());
        }
        Ok(Self {
            name: name.to_owned(),
            url: url.trim_end_matches('/').to_owned(),
        })
    }
}

/// A service's typed configuration: its environment prefix and per-service defaults give
/// it [`from_env`](Self::from_env) and [`try_from_args`](Self::try_from_args).
pub trait ServiceConfig: Parser {
    /// Environment prefix: `USERS` makes `--listen` also `USERS_LISTEN`.
    const ENV_PREFIX: &'static str;
    /// Defaults by argument id that run on one machine, e.g. `("listen", "127.0.0.1:8081")`.
    const DEFAULTS: &'static [(&'static str, &'static str)];

    /// From the process's arguments and environment; exits with a usage message on error.
    fn from_env() -> Self {
        parse(Self::ENV_PREFIX, Self::DEFAULTS)
    }

    /// From explicit arguments (the first is the program name), for tests and `up`.
    fn try_from_args<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        try_parse_from(Self::ENV_PREFIX, Self::DEFAULTS, args)
    }
}

/// The environment variable that sets argument `id` of `C` (for the users service,
/// `USERS_DATABASE_URL` for `database_url`); `None` for an unknown argument.
pub fn env_var<C: ServiceConfig>(id: &str) -> Option<String> {
    command::<C>(C::ENV_PREFIX, C::DEFAULTS)
        .get_arguments()
        .find(|arg| arg.get_id() == id)
        .and_then(|arg| arg.get_env())
        .map(|name| name.to_string_lossy().into_owned())
}

/// The process's exit code for a service's result, printing a failure as one line
/// (`users: cannot listen on 127.0.0.1:8081: the address is already in use`).
pub fn exit_code(service: &str, result: anyhow::Result<()>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{service}: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Parses the process's arguments, exiting with clap's message on error.
///
/// `prefix` names the environment variables (`USERS` → `USERS_LISTEN`); `defaults` gives
/// per-service defaults by argument id, e.g. `("listen", "127.0.0.1:8081")`.
pub fn parse<C: Parser>(prefix: &str, defaults: &[(&str, &str)]) -> C {
    match try_parse_from(prefix, defaults, std::env::args_os()) {
        Ok(config) => config,
        Err(err) => err.exit(),
    }
}

/// Like [`parse`], from explicit arguments (the first is the program name).
pub fn try_parse_from<C, I, T>(
    prefix: &str,
    defaults: &[(&str, &str)],
    args: I,
) -> Result<C, clap::Error>
where
    C: Parser,
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut command = command::<C>(prefix, defaults);
    let matches = command.try_get_matches_from_mut(args)?;
    C::from_arg_matches(&matches).map_err(|err| err.format(&mut command))
}

/// `C`'s command with environment names and per-service defaults filled in.
pub fn command<C: Parser>(prefix: &str, defaults: &[(&str, &str)]) -> clap::Command {
    C::command().mut_args(|arg| {
        let id = arg.get_id().as_str().to_owned();
        if arg.is_positional() || id == "help" || id == "version" {
            return arg;
        }
        let arg = arg.env(format!("{prefix}_{}", id.to_ascii_uppercase()));
        match defaults.iter().find(|(name, _)| *name == id) {
            Some((_, value)) => arg.default_value(value.to_string()).required(false),
            None => arg,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Parser)]
    struct Config {
        #[command(flatten)]
        store: StoreArgs,
    }

    const DEFAULTS: &[(&str, &str)] = &[
        ("listen", "127.0.0.1:8081"),
        ("database_url", "sqlite://data/users.db"),
    ];

    #[test]
    fn defaults_apply_and_flags_override() {
        let c: Config = try_parse_from("KITTEST", DEFAULTS, ["x"]).unwrap();
        assert_eq!(c.store.listen.port(), 8081);
        assert_eq!(c.store.database_url, "sqlite://data/users.db");
        assert!(c.store.demo.is_none());
        let c: Config = try_parse_from(
            "KITTEST",
            DEFAULTS,
            ["x", "--listen", "127.0.0.1:0", "--demo"],
        )
        .unwrap();
        assert_eq!(c.store.listen.port(), 0);
        assert_eq!(c.store.demo, Some(DemoSpec::default()));
        let c: Config = try_parse_from(
            "KITTEST",
            DEFAULTS,
            ["x", "--demo", "users=5", "--request-timeout", "250ms"],
        )
        .unwrap();
        assert_eq!(c.store.demo.unwrap().users, 5);
        assert_eq!(c.store.limits.request_timeout.as_millis(), 250);
    }

    #[test]
    fn env_names_carry_the_prefix() {
        let command = command::<Config>("USERS", DEFAULTS);
        let env_of = |id: &str| {
            let arg = command.get_arguments().find(|a| a.get_id() == id).unwrap();
            arg.get_env().map(|e| e.to_string_lossy().into_owned())
        };
        assert_eq!(
            env_of("database_url").as_deref(),
            Some("USERS_DATABASE_URL")
        );
        assert_eq!(env_of("listen").as_deref(), Some("USERS_LISTEN"));
        assert_eq!(
            env_of("request_timeout").as_deref(),
            Some("USERS_REQUEST_TIMEOUT")
        );
    }

    impl ServiceConfig for Config {
        const ENV_PREFIX: &'static str = "KITTEST";
        const DEFAULTS: &'static [(&'static str, &'static str)] = DEFAULTS;
    }

    #[test]
    fn env_var_names_the_variable_of_an_argument() {
        assert_eq!(
            env_var::<Config>("database_url").as_deref(),
            Some("KITTEST_DATABASE_URL")
        );
        assert_eq!(env_var::<Config>("demo").as_deref(), Some("KITTEST_DEMO"));
        assert_eq!(env_var::<Config>("no_such_flag"), None);
    }

    #[test]
    fn replication_sources_and_id_slots_parse() {
        let c: Config = try_parse_from(
            "KITTEST",
            DEFAULTS,
            [
                "x",
                "--replicate-from",
                "users=http://127.0.0.1:1,friends=http://h:2/",
                "--replicate-from",
                "messages=http://h:3",
                "--id-slot",
                "1/2",
            ],
        )
        .unwrap();
        let names: Vec<_> = c
            .store
            .feed
            .replicate_from
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(names, ["users", "friends", "messages"]);
        assert_eq!(c.store.feed.replicate_from[1].url, "http://h:2");
        assert_eq!(c.store.feed.id_slot.to_string(), "1/2");
        let c: Config = try_parse_from("KITTEST", DEFAULTS, ["x"]).unwrap();
        assert!(c.store.feed.replicate_from.is_empty());
        assert_eq!(c.store.feed.id_slot, crate::ids::IdSlot::ONLY);
        for bad in [
            "monolith",
            "=http://h:1",
            "monolith=ftp://h",
            "mono lith=http://h:1",
        ] {
            assert!(
                try_parse_from::<Config, _, _>("KITTEST", DEFAULTS, ["x", "--replicate-from", bad])
                    .is_err(),
                "{bad}"
            );
        }
        assert!(
            try_parse_from::<Config, _, _>("KITTEST", DEFAULTS, ["x", "--id-slot", "3/2"]).is_err()
        );
    }

    #[test]
    fn bad_values_are_errors_not_panics() {
        assert!(
            try_parse_from::<Config, _, _>("KITTEST", DEFAULTS, ["x", "--listen", "nope"]).is_err()
        );
        assert!(
            try_parse_from::<Config, _, _>("KITTEST", DEFAULTS, ["x", "--demo", "users=x"])
                .is_err()
        );
    }
}

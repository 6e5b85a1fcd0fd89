//! The command line: `gateway serve`, `gateway check FILE`, `gateway token`,
//! `gateway sync verify`, and with the `services` feature `gateway openapi` and
//! `gateway up`. Every `serve` flag can also come from a
//! `GATEWAY_*` environment variable.

use std::net::SocketAddr;
#[cfg(feature = "services")]
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
#[cfg(feature = "services")]
use kit::demo::DemoSpec;
use secrecy::SecretString;

use crate::startup::{self, ServeConfig};
use crate::table::{JwksOverride, Overrides, UpstreamOverride};

/// Strangler-Fig gateway: routes.yaml decides, route by route, whether the monolith or a
/// new service answers.
#[derive(Debug, Parser)]
#[command(name = "gateway", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the routes file, reloading it on change, SIGHUP or `POST /admin/reload`.
    Serve(ServeArgs),
    /// Validate a routes file: a summary and exit 0, or every error at line:column and exit 1.
    Check(CheckArgs),
    /// Print demo tokens signed by the key in `--data` (made when missing), one per line,
    /// for the shipped `demo` issuer that `gateway up` trusts.
    Token(TokenArgs),
    /// The data the monolith and the services hold, read from their change feeds.
    Sync(SyncArgs),
    /// The OpenAPI specs: rewrite the checked-in ones from the code (`--write`), check them
    /// (`--check`), or print the merged spec of a routes file.
    #[cfg(feature = "services")]
    Openapi(OpenapiArgs),
    /// The whole system in one process, for one machine: the monolith, the users, friends,
    /// messages and timeline services and the gateway, on their default ports, with demo
    /// data. Ctrl-C stops them all.
    #[cfg(feature = "services")]
    Up(UpArgs),
}

/// `gateway serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The routes file.
    #[arg(
        long,
        env = "GATEWAY_ROUTES",
        value_name = "FILE",
        default_value = "routes.yaml"
    )]
    pub routes: PathBuf,
    /// Address clients call; port 0 picks a free port.
    #[arg(
        long,
        env = "GATEWAY_LISTEN",
        value_name = "ADDR",
        default_value = "127.0.0.1:8080"
    )]
    pub listen: SocketAddr,
    /// Address of the admin API (keep it on loopback or set a token).
    #[arg(
        long,
        env = "GATEWAY_ADMIN",
        value_name = "ADDR",
        default_value = "127.0.0.1:8090"
    )]
    pub admin: SocketAddr,
    /// Bearer token the admin API requires (none: open to whoever reaches its address).
    #[arg(
        long,
        env = "GATEWAY_ADMIN_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub admin_token: Option<SecretString>,
    #[command(flatten)]
    pub upstreams: UpstreamArgs,
    /// Do not watch the routes file (SIGHUP and the admin API still reload it).
    #[arg(long, env = "GATEWAY_NO_WATCH")]
    pub no_watch: bool,
    /// Proxy worker threads, each with its own event loop and connection pools (default:
    /// one per core).
    #[arg(long, env = "GATEWAY_WORKERS", value_name = "N", value_parser = clap::value_parser!(usize))]
    pub workers: Option<usize>,
    /// Requests the proxy handles at once, over all workers; each one more is answered 503
    /// with `Retry-After` at once, never queued (default: 1024 per worker thread).
    #[arg(long, env = "GATEWAY_MAX_CONCURRENT_REQUESTS", value_name = "N", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_concurrent_requests: Option<usize>,
    /// How long to let requests in flight finish on shutdown.
    #[arg(long, env = "GATEWAY_SHUTDOWN_GRACE", value_name = "DURATION", value_parser = humantime::parse_duration, default_value = "10s")]
    pub shutdown_grace: Duration,
}

/// `gateway check`.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// The routes file to validate.
    pub file: PathBuf,
    #[command(flatten)]
    pub upstreams: UpstreamArgs,
}

/// `gateway token`.
#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// The token's subject, a user id; `FIRST-LAST` prints one token per id of the range.
    /// Repeatable; tokens are printed in the order given.
    #[arg(long = "user", value_name = "ID", required = true, value_parser = parse_subjects)]
    pub users: Vec<Vec<String>>,
    /// How long the token is valid.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, default_value = "1h")]
    pub ttl: Duration,
    /// The directory of the signing key, as `gateway up --data` (`signing-key.pem`, and
    /// `jwks.json` beside it).
    #[arg(long, value_name = "DIR", default_value = "data")]
    pub data: PathBuf,
    /// The `iss` claim.
    #[arg(long, value_name = "ISS", default_value = crate::token::DEMO_ISS)]
    pub issuer: String,
    /// The `aud` claim.
    #[arg(long, value_name = "AUD", default_value = crate::token::DEMO_AUDIENCE)]
    pub audience: String,
}

/// `gateway sync`.
#[derive(Debug, Clone, Args)]
pub struct SyncArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: SyncCommand,
}

/// The subcommands of `gateway sync`.
#[derive(Debug, Clone, Subcommand)]
pub enum SyncCommand {
    /// Compare every user, friendship and message on the monolith with the service that
    /// holds it: exit 0 when all are equal, 1 when anything differs, 2 when a side cannot
    /// be read.
    Verify(VerifyArgs),
}

/// `gateway sync verify`. Each side's URL defaults to the routes file's upstream of the
/// same name.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// The routes file whose upstreams name the sides (not read when all four URLs are
    /// given).
    #[arg(long, value_name = "FILE", default_value = "routes.yaml")]
    pub routes: PathBuf,
    /// The monolith's base URL.
    #[arg(long, value_name = "URL")]
    pub monolith: Option<String>,
    /// The users service's base URL.
    #[arg(long, value_name = "URL")]
    pub users: Option<String>,
    /// The friends service's base URL.
    #[arg(long, value_name = "URL")]
    pub friends: Option<String>,
    /// The messages service's base URL.
    #[arg(long, value_name = "URL")]
    pub messages: Option<String>,
    /// Time allowed for each feed request (connecting included).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, default_value = "30s")]
    pub timeout: Duration,
    /// `text`: a summary and up to 20 differences of each kind; `json`: everything.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// How `sync verify` prints its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For a terminal.
    Text,
    /// For a program.
    Json,
}

fn parse_subjects(value: &str) -> Result<Vec<String>, String> {
    crate::token::subjects(value)
}

/// `gateway openapi`.
#[cfg(feature = "services")]
#[derive(Debug, Clone, Args)]
pub struct OpenapiArgs {
    /// Rewrite every checked-in spec from the code.
    #[arg(long, conflicts_with = "check")]
    pub write: bool,
    /// Exit 1, naming each file, when a checked-in spec differs from what the code generates.
    #[arg(long)]
    pub check: bool,
    /// The directory of the checked-in specs.
    #[arg(long, value_name = "DIR", default_value = "openapi")]
    pub dir: PathBuf,
    /// The routes file whose merged spec is checked in as `gateway.json`, and printed when
    /// neither `--write` nor `--check` is given.
    #[arg(long, value_name = "FILE", default_value = "routes.yaml")]
    pub routes: PathBuf,
}

/// `gateway up`. A flag given twice takes its last value.
#[cfg(feature = "services")]
#[derive(Debug, Clone, Args)]
#[command(args_override_self = true)]
pub struct UpArgs {
    /// Keep the databases in a temporary directory, deleted on exit, instead of `--data`.
    #[arg(long)]
    pub fresh: bool,
    /// Directory of the SQLite files, one per part (created when missing).
    #[arg(
        long,
        value_name = "DIR",
        default_value = "data",
        conflicts_with = "fresh"
    )]
    pub data: PathBuf,
    /// The demo world every empty store is filled with (the same in each).
    #[arg(
        long,
        value_name = "SPEC",
        default_value = "users=1000,friends=50,messages=20"
    )]
    pub demo: DemoSpec,
    /// The routes file the gateway serves and watches; its upstream URLs are replaced by
    /// the addresses the parts listen on.
    #[arg(long, value_name = "FILE", default_value = "routes.yaml")]
    pub routes: PathBuf,
    /// Address every part listens on.
    #[arg(long, value_name = "IP", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub host: IpAddr,
    /// The gateway's port (0 picks a free one, as for every port below).
    #[arg(long, value_name = "PORT", default_value_t = 8080)]
    pub gateway_port: u16,
    /// The gateway admin API's port.
    #[arg(long, value_name = "PORT", default_value_t = 8090)]
    pub admin_port: u16,
    /// The users service's port.
    #[arg(long, value_name = "PORT", default_value_t = 8081)]
    pub users_port: u16,
    /// The friends service's port.
    #[arg(long, value_name = "PORT", default_value_t = 8082)]
    pub friends_port: u16,
    /// The messages service's port.
    #[arg(long, value_name = "PORT", default_value_t = 8083)]
    pub messages_port: u16,
    /// The timeline service's port.
    #[arg(long, value_name = "PORT", default_value_t = 8084)]
    pub timeline_port: u16,
    /// The monolith's port.
    #[arg(long, value_name = "PORT", default_value_t = 8085)]
    pub monolith_port: u16,
}

/// Upstream URL overrides, shared by `serve` and `check`.
#[derive(Debug, Clone, Args)]
pub struct UpstreamArgs {
    /// Replace an upstream's URL in every file loaded: NAME=URL, repeatable or
    /// comma-separated (names a file lacks are ignored).
    #[arg(
        long = "upstream",
        env = "GATEWAY_UPSTREAMS",
        value_name = "NAME=URL",
        value_delimiter = ','
    )]
    pub overrides: Vec<UpstreamOverride>,
    /// Replace an issuer's key source in every file loaded: ISSUER=FILE or ISSUER=URL,
    /// repeatable or comma-separated (names a file lacks are ignored).
    #[arg(
        long = "jwks",
        env = "GATEWAY_JWKS",
        value_name = "ISSUER=FILE|URL",
        value_delimiter = ','
    )]
    pub jwks: Vec<JwksOverride>,
}

// === impl ServeConfig ===

impl From<ServeArgs> for ServeConfig {
    fn from(args: ServeArgs) -> Self {
        let workers = args.workers.unwrap_or_else(startup::default_workers);
        Self {
            overrides: args.upstreams.overrides(),
            routes: args.routes,
            listen: args.listen,
            admin: args.admin,
            admin_token: args.admin_token,
            watch: !args.no_watch,
            sighup: true,
            shutdown_grace: args.shutdown_grace,
            workers,
            max_concurrent_requests: args
                .max_concurrent_requests
                .unwrap_or_else(|| startup::default_max_concurrent_requests(workers)),
        }
    }
}

// === impl VerifyArgs ===

impl VerifyArgs {
    /// The URLs given as flags.
    pub fn side_flags(&self) -> crate::sync::SideFlags {
        crate::sync::SideFlags {
            monolith: self.monolith.clone(),
            users: self.users.clone(),
            friends: self.friends.clone(),
            messages: self.messages.clone(),
        }
    }
}

// === impl UpstreamArgs ===

impl UpstreamArgs {
    /// The overrides as one set.
    pub fn overrides(&self) -> Overrides {
        let urls: Overrides = self.overrides.iter().cloned().collect();
        urls.and(self.jwks.iter().cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serve_defaults_and_overrides() {
        let cli = Cli::try_parse_from(["gateway", "serve"]).unwrap();
        let Command::Serve(args) = cli.command else {
            panic!()
        };
        assert_eq!(args.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(args.admin.to_string(), "127.0.0.1:8090");
        assert_eq!(args.routes, PathBuf::from("routes.yaml"));
        assert!(args.admin_token.is_none() && !args.no_watch);
        let cli = Cli::try_parse_from([
            "gateway",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            "users=http://127.0.0.1:1,friends=http://127.0.0.1:2",
            "--upstream",
            "monolith=http://127.0.0.1:3",
        ])
        .unwrap();
        let Command::Serve(args) = cli.command else {
            panic!()
        };
        let o = args.upstreams.overrides();
        assert_eq!(o.url("friends"), Some("http://127.0.0.1:2"));
        assert_eq!(o.url("monolith"), Some("http://127.0.0.1:3"));
    }

    #[test]
    fn the_concurrency_bound_is_a_positive_count_from_a_flag_or_the_environment() {
        let parse = |n: &str| {
            let cli = Cli::try_parse_from(["gateway", "serve", "--max-concurrent-requests", n])?;
            let Command::Serve(args) = cli.command else {
                panic!()
            };
            Ok::<_, clap::Error>(ServeConfig::from(args).max_concurrent_requests)
        };
        assert_eq!(parse("3").unwrap(), 3);
        assert!(parse("0").is_err());
        assert!(parse("many").is_err());
        let cli = Cli::try_parse_from(["gateway", "serve", "--workers", "3"]).unwrap();
        let Command::Serve(args) = cli.command else {
            panic!()
        };
        assert_eq!(
            ServeConfig::from(args).max_concurrent_requests,
            3 * startup::MAX_CONCURRENT_PER_WORKER,
            "the default grows with the workers"
        );
        let command = <Cli as clap::CommandFactory>::command();
        let serve = command.find_subcommand("serve").unwrap();
        let flag = serve
            .get_arguments()
            .find(|a| a.get_id() == "max_concurrent_requests")
            .unwrap();
        assert_eq!(
            flag.get_env().and_then(|e| e.to_str()),
            Some("GATEWAY_MAX_CONCURRENT_REQUESTS")
        );
    }

    #[test]
    fn bad_flags_are_errors() {
        assert!(Cli::try_parse_from(["gateway", "serve", "--listen", "nope"]).is_err());
        assert!(Cli::try_parse_from(["gateway", "serve", "--upstream", "users"]).is_err());
        assert!(Cli::try_parse_from(["gateway", "check"]).is_err());
        assert!(Cli::try_parse_from(["gateway"]).is_err());
        assert!(Cli::try_parse_from(["gateway", "up", "--fresh", "--data", "x"]).is_err());
        assert!(Cli::try_parse_from(["gateway", "up", "--demo", "users=-1"]).is_err());
        assert!(Cli::try_parse_from(["gateway", "up", "--users-port", "70000"]).is_err());
    }

    #[cfg(feature = "services")]
    #[test]
    fn up_defaults_are_the_default_ports_and_demo_world() {
        let cli = Cli::try_parse_from(["gateway", "up"]).unwrap();
        let Command::Up(args) = cli.command else {
            panic!()
        };
        let ports = [
            args.gateway_port,
            args.admin_port,
            args.users_port,
            args.friends_port,
            args.messages_port,
            args.timeline_port,
            args.monolith_port,
        ];
        assert_eq!(ports, [8080, 8090, 8081, 8082, 8083, 8084, 8085]);
        assert_eq!(args.demo, DemoSpec::default());
        assert_eq!(args.data, PathBuf::from("data"));
        assert!(!args.fresh);
    }

    #[test]
    fn sync_verify_defaults_to_the_routes_file_text_and_30s() {
        let cli = Cli::try_parse_from(["gateway", "sync", "verify"]).unwrap();
        let Command::Sync(SyncArgs {
            command: SyncCommand::Verify(args),
        }) = cli.command
        else {
            panic!()
        };
        assert_eq!(args.routes, PathBuf::from("routes.yaml"));
        assert_eq!(args.timeout, Duration::from_secs(30));
        assert_eq!(args.format, Format::Text);
        assert_eq!(args.side_flags(), crate::sync::SideFlags::default());
        let cli = Cli::try_parse_from([
            "gateway",
            "sync",
            "verify",
            "--users",
            "http://u",
            "--format",
            "json",
            "--timeout",
            "250ms",
        ])
        .unwrap();
        let Command::Sync(SyncArgs {
            command: SyncCommand::Verify(args),
        }) = cli.command
        else {
            panic!()
        };
        assert_eq!(args.side_flags().users.as_deref(), Some("http://u"));
        assert_eq!(args.format, Format::Json);
        assert_eq!(args.timeout, Duration::from_millis(250));
        for bad in [
            &["gateway", "sync"][..],
            &["gateway", "sync", "verify", "--format", "yaml"],
            &["gateway", "sync", "verify", "--timeout", "soon"],
        ] {
            assert!(Cli::try_parse_from(bad).is_err(), "{bad:?}");
        }
    }

    #[cfg(feature = "services")]
    #[test]
    fn openapi_write_and_check_exclude_each_other() {
        let cli = Cli::try_parse_from(["gateway", "openapi", "--check"]).unwrap();
        let Command::Openapi(args) = cli.command else {
            panic!()
        };
        assert!(args.check && !args.write);
        assert_eq!(args.dir, PathBuf::from("openapi"));
        assert_eq!(args.routes, PathBuf::from("routes.yaml"));
        assert!(Cli::try_parse_from(["gateway", "openapi", "--write", "--check"]).is_err());
    }
}

//! The five parts behind the gateway, and how each is started: on a Tokio runtime of its
//! own, with the configuration its binary would read from the command line.

use std::fmt;
use std::net::SocketAddr;

use anyhow::Context as _;
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::cli::UpArgs;

/// The five parts behind the gateway, in the order they start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// The legacy system, one database.
    Monolith,
    /// User profiles.
    Users,
    /// Friendships.
    Friends,
    /// Messages.
    Messages,
    /// The composer; no database.
    Timeline,
}

/// The base URLs the timeline service calls (and whose users feed friends and messages
/// follow), and the feeds each side of the migration replicates from.
#[derive(Debug, Default)]
pub(super) struct Urls {
    pub(super) users: String,
    pub(super) friends: String,
    pub(super) messages: String,
    pub(super) monolith: String,
    /// The monolith's `--replicate-from`: the three services' feeds.
    pub(super) replicate_to_monolith: String,
    /// A service's `--replicate-from`: the monolith's feed.
    pub(super) replicate_to_services: String,
}

/// The ids the monolith hands out during the migration: the odd ones.
const MONOLITH_IDS: &str = "1/2";
/// The ids the services hand out: the even ones, so the two sides never collide.
const SERVICE_IDS: &str = "2/2";

/// What one service is started with.
#[derive(Debug)]
pub(super) struct Launch<'a> {
    /// Its listener, bound already.
    pub(super) listener: std::net::TcpListener,
    /// Where that listener listens.
    pub(super) addr: SocketAddr,
    /// Its store's URL, for the services that have one.
    pub(super) database: Option<&'a str>,
    /// The demo world an empty store is filled with.
    pub(super) demo: &'a str,
    /// Where the services the timeline calls listen.
    pub(super) urls: &'a Urls,
}

// === impl Service ===

impl Service {
    /// Every service, in start order.
    pub const ALL: [Self; 5] = [
        Self::Monolith,
        Self::Users,
        Self::Friends,
        Self::Messages,
        Self::Timeline,
    ];

    /// The name in logs, the table and errors.
    pub fn name(self) -> &'static str {
        match self {
            Self::Monolith => "monolith",
            Self::Users => "users",
            Self::Friends => "friends",
            Self::Messages => "messages",
            Self::Timeline => "timeline",
        }
    }

    /// The port `up` gives it.
    pub(super) fn port(self, args: &UpArgs) -> u16 {
        match self {
            Self::Monolith => args.monolith_port,
            Self::Users => args.users_port,
            Self::Friends => args.friends_port,
            Self::Messages => args.messages_port,
            Self::Timeline => args.timeline_port,
        }
    }

    /// The SQLite file under the data directory (the services' own default names).
    pub(super) fn database(self) -> Option<&'static str> {
        match self {
            Self::Monolith => Some("monolith.db"),
            Self::Users => Some("users.db"),
            Self::Friends => Some("friends.db"),
            Self::Messages => Some("messages.db"),
            Self::Timeline => None,
        }
    }

    /// The command line its own binary would be started with.
    fn argv<'a>(self, launch: &Launch<'a>, listen: &'a str) -> Vec<&'a str> {
        let mut argv = vec![self.name(), "--listen", listen];
        if let Some(database) = launch.database {
            argv.extend(["--database", database, "--demo", launch.demo]);
            // Friendships and messages of a deleted user go with it; unknown users are
            // refused, as the monolith refuses them.
            if matches!(self, Self::Friends | Self::Messages) {
                argv.extend(["--users-url", &launch.urls.users]);
            }
            // The migration keeps both sides in sync, whichever serves a route.
            if self == Self::Monolith {
                argv.extend([
                    "--replicate-from",
                    &launch.urls.replicate_to_monolith,
                    "--id-slot",
                    MONOLITH_IDS,
                ]);
            } else {
                argv.extend([
                    "--replicate-from",
                    &launch.urls.replicate_to_services,
                    "--id-slot",
                    SERVICE_IDS,
                ]);
            }
        } else {
            argv.extend([
                "--users-url",
                &launch.urls.users,
                "--friends-url",
                &launch.urls.friends,
                "--messages-url",
                &launch.urls.messages,
            ]);
        }
        argv
    }

    /// Starts the service on `runtime`, configured from [`argv`](Self::argv) (and the
    /// environment, for everything not given), serving until `stop`.
    pub(super) fn spawn(
        self,
        launch: Launch<'_>,
        runtime: &Runtime,
        stop: CancellationToken,
    ) -> anyhow::Result<JoinHandle<anyhow::Result<()>>> {
        use kit::cli::ServiceConfig as _;
        let listen = launch.addr.to_string();
        let argv = self.argv(&launch, &listen);
        let invalid = || format!("{self}: invalid configuration");
        let listener = launch.listener;
        let shutdown = stop.cancelled_owned();
        // The same two calls for each crate: its `Config` from argv, then its `serve`.
        macro_rules! spawn {
            ($service:ident) => {{
                let config = $service::Config::try_from_args(&argv).with_context(invalid)?;
                runtime.spawn(async move {
                    $service::serve(config, tokio_listener(listener)?, shutdown).await
                })
            }};
        }
        Ok(match self {
            Self::Monolith => spawn!(monolith),
            Self::Users => spawn!(users),
            Self::Friends => spawn!(friends),
            Self::Messages => spawn!(messages),
            Self::Timeline => spawn!(timeline),
        })
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A runtime of two threads for one part, its threads named after it (which prefixes its
/// log lines).
pub(super) fn runtime(name: &str) -> anyhow::Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(name)
        .enable_all()
        .build()
        .with_context(|| format!("{name}: cannot start a runtime"))
}

/// Registers a listener bound in advance with the runtime this is called on.
fn tokio_listener(listener: std::net::TcpListener) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::from_std(listener).context("cannot register the listener")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_service_is_given_the_flags_its_own_binary_takes() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let urls = Urls {
            users: "http://u".to_owned(),
            friends: "http://f".to_owned(),
            messages: "http://m".to_owned(),
            monolith: "http://o".to_owned(),
            replicate_to_monolith: "users=http://u,friends=http://f,messages=http://m".to_owned(),
            replicate_to_services: "monolith=http://o".to_owned(),
        };
        let launch = Launch {
            listener,
            addr,
            database: Some("sqlite:///d/users.db"),
            demo: "users=1",
            urls: &urls,
        };
        assert_eq!(
            Service::Users.argv(&launch, "127.0.0.1:1"),
            [
                "users",
                "--listen",
                "127.0.0.1:1",
                "--database",
                "sqlite:///d/users.db",
                "--demo",
                "users=1",
                "--replicate-from",
                "monolith=http://o",
                "--id-slot",
                "2/2"
            ]
        );
        assert_eq!(
            Service::Friends.argv(&launch, "127.0.0.1:3")[7..],
            [
                "--users-url",
                "http://u",
                "--replicate-from",
                "monolith=http://o",
                "--id-slot",
                "2/2"
            ]
        );
        assert_eq!(
            Service::Messages.argv(&launch, "127.0.0.1:4")[7..9],
            ["--users-url", "http://u"]
        );
        assert_eq!(
            Service::Monolith.argv(&launch, "127.0.0.1:5")[7..],
            [
                "--replicate-from",
                "users=http://u,friends=http://f,messages=http://m",
                "--id-slot",
                "1/2"
            ]
        );
        let launch = Launch {
            database: None,
            ..launch
        };
        assert_eq!(
            Service::Timeline.argv(&launch, "127.0.0.1:2")[3..],
            [
                "--users-url",
                "http://u",
                "--friends-url",
                "http://f",
                "--messages-url",
                "http://m"
            ]
        );
    }
}

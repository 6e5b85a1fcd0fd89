//! `gateway up`: the whole system in one process, for one machine.
//!
//! The monolith, the users, friends, messages and timeline services and the gateway each
//! run on a Tokio runtime of their own, whose threads carry the part's name; log lines are
//! prefixed with it, so one terminal reads like six. Every port is bound before anything
//! starts, so a taken port is one line and nothing half-runs. Each part stays its own
//! binary for production: `up` only wires them together on loopback.
//!
//! Order: bind the five services' listeners; start them (each opens its SQLite file under
//! `--data`, or a temporary directory with `--fresh`, and fills an empty store with the demo
//! world); wait until each answers `GET /readyz`; start the gateway on `--routes` with its
//! upstreams pointed at the addresses just bound; print what runs where. SIGINT or SIGTERM
//! stops the gateway first, then the rest, each letting requests in flight finish.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use anyhow::Context as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Subscriber;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::cli::UpArgs;
use crate::startup::{self, ServeConfig};
use crate::table::{Overrides, UpstreamOverride};

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

/// Every name a log line can be prefixed with, padded to the longest.
const NAMES: [&str; 6] = [
    "monolith", "users", "friends", "messages", "timeline", "gateway",
];

/// Stops every part when SIGINT or SIGTERM arrives. The handlers are installed before this
/// returns, so a signal during startup (filling a large demo world, say) stops `up`
/// gracefully instead of killing it.
pub fn on_signal() -> std::io::Result<CancellationToken> {
    let token = CancellationToken::new();
    let stop = token.clone();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        tokio::spawn(async move {
            tokio::select! {
                _ = interrupt.recv() => tracing::info!("SIGINT received, stopping every part"),
                _ = terminate.recv() => tracing::info!("SIGTERM received, stopping every part"),
            }
            stop.cancel();
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        kit::shutdown::signal().await;
        stop.cancel();
    });
    Ok(token)
}

/// Logs to stdout, each line prefixed with the part that wrote it. `RUST_LOG` filters as
/// for every binary of the project.
pub fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,hyper=warn"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let _already_set = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .event_format(Prefixed(tracing_subscriber::fmt::format()))
        .try_init();
}

/// Runs every part until `stop` is cancelled, then stops them all.
///
/// # Errors
///
/// A port that cannot be bound, a database that cannot be opened, an invalid routes file,
/// or a part that fails while running.
pub async fn run(args: UpArgs, stop: CancellationToken) -> anyhow::Result<()> {
    let fresh = if args.fresh {
        Some(
            tempfile::Builder::new()
                .prefix("timeline-up-")
                .tempdir()
                .context("cannot create a temporary data directory")?,
        )
    } else {
        None
    };
    let data = fresh.as_ref().map_or(args.data.as_path(), |dir| dir.path());
    let data = absolute(data)?;

    // Every port first: a taken one fails here, before anything runs. The gateway binds its
    // own listeners when it starts, last; its ports are tried now and let go.
    for (name, port) in [
        ("gateway", args.gateway_port),
        ("gateway admin", args.admin_port),
    ] {
        if port != 0 {
            drop(bind(SocketAddr::new(args.host, port)).context(name)?);
        }
    }
    let mut bound = Vec::with_capacity(Service::ALL.len());
    let mut urls = Urls::default();
    for service in Service::ALL {
        let addr = SocketAddr::new(args.host, service.port(&args));
        let listener = bind(addr).with_context(|| service.to_string())?;
        let addr = listener.local_addr().context("listener address")?;
        match service {
            Service::Users => urls.users = url(addr),
            Service::Friends => urls.friends = url(addr),
            Service::Messages => urls.messages = url(addr),
            Service::Monolith | Service::Timeline => {}
        }
        bound.push((service, listener, addr));
    }

    let demo = args.demo.to_string();
    let services_stop = CancellationToken::new();
    let mut parts = Vec::with_capacity(bound.len());
    let mut table = Vec::with_capacity(bound.len() + 1);
    for (service, listener, addr) in bound {
        let database = service
            .database()
            .map(|file| format!("sqlite://{}", data.join(file).display()));
        let task = service.spawn(
            listener,
            addr,
            database.as_deref(),
            &demo,
            &urls,
            services_stop.clone(),
        )?;
        table.push(Row {
            name: service.name(),
            url: url(addr),
            note: database
                .unwrap_or_else(|| "no database; calls users, friends and messages".to_owned()),
        });
        parts.push(task);
    }

    let started = async {
        wait_ready(&mut parts).await?;
        start_gateway(&args, &table).await
    };
    let gateway = tokio::select! {
        result = started => match result {
            Ok(gateway) => gateway,
            Err(err) => {
                abort_services(parts);
                return Err(err);
            }
        },
        () = stop.cancelled() => {
            abort_services(parts);
            return Ok(());
        }
    };
    let (gateway, gateway_runtime) = gateway;
    table.insert(
        0,
        Row {
            name: "gateway",
            url: url(gateway.addr),
            note: format!(
                "{}, admin {}",
                args.routes.display(),
                url(gateway.admin_addr)
            ),
        },
    );
    println!("{}", Table(&table));
    println!(
        "data in {}{}; try: curl {}/timeline/1 ; Ctrl-C stops every part",
        data.display(),
        if fresh.is_some() {
            " (deleted on exit)"
        } else {
            ""
        },
        url(gateway.addr),
    );

    // Run until told to stop, or until a part stops on its own (which is a failure).
    let failed = tokio::select! {
        () = stop.cancelled() => None,
        (name, result) = first_to_end(&mut parts) => Some((name, result)),
    };
    gateway.stop().await;
    gateway_runtime.shutdown_background();
    stop_services(services_stop, parts).await;
    drop(fresh);
    match failed {
        None => Ok(()),
        Some((name, Ok(()))) => anyhow::bail!("{name} stopped unexpectedly"),
        Some((name, Err(err))) => Err(err.context(name)),
    }
}

/// The base URLs the timeline service calls.
#[derive(Default)]
struct Urls {
    users: String,
    friends: String,
    messages: String,
}

/// A service running on its own runtime.
struct Part {
    service: Service,
    addr: SocketAddr,
    runtime: Runtime,
    /// `None` once awaited.
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

/// One line of the table `up` prints.
struct Row {
    name: &'static str,
    url: String,
    note: String,
}

struct Table<'a>(&'a [Row]);

/// Prefixes each log line with the name of the part whose thread wrote it.
struct Prefixed<F>(F);

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

    fn port(self, args: &UpArgs) -> u16 {
        match self {
            Self::Monolith => args.monolith_port,
            Self::Users => args.users_port,
            Self::Friends => args.friends_port,
            Self::Messages => args.messages_port,
            Self::Timeline => args.timeline_port,
        }
    }

    /// The SQLite file under the data directory (the services' own default names).
    fn database(self) -> Option<&'static str> {
        match self {
            Self::Monolith => Some("monolith.db"),
            Self::Users => Some("users.db"),
            Self::Friends => Some("friends.db"),
            Self::Messages => Some("messages.db"),
            Self::Timeline => None,
        }
    }

    /// Starts the service on a runtime of its own, with the same configuration its binary
    /// would read from the command line (and the environment, for everything not given).
    fn spawn(
        self,
        listener: std::net::TcpListener,
        addr: SocketAddr,
        database: Option<&str>,
        demo: &str,
        urls: &Urls,
        stop: CancellationToken,
    ) -> anyhow::Result<Part> {
        use kit::cli::ServiceConfig as _;
        let name = self.name();
        let listen = addr.to_string();
        let mut argv = vec![name, "--listen", &listen];
        if let Some(database) = database {
            argv.extend(["--database", database, "--demo", demo]);
        } else {
            argv.extend([
                "--users-url",
                &urls.users,
                "--friends-url",
                &urls.friends,
                "--messages-url",
                &urls.messages,
            ]);
        }
        let invalid = || format!("{name}: invalid configuration");
        let runtime = runtime(name)?;
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
        let task = match self {
            Self::Monolith => spawn!(monolith),
            Self::Users => spawn!(users),
            Self::Friends => spawn!(friends),
            Self::Messages => spawn!(messages),
            Self::Timeline => spawn!(timeline),
        };
        Ok(Part {
            service: self,
            addr,
            runtime,
            task: Some(task),
        })
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

// === impl Table ===

impl fmt::Display for Table<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url_width = self.0.iter().map(|row| row.url.len()).max().unwrap_or(0);
        writeln!(f, "{:<9} {:<url_width$}  details", "part", "url")?;
        for row in self.0 {
            writeln!(f, "{:<9} {:<url_width$}  {}", row.name, row.url, row.note)?;
        }
        Ok(())
    }
}

// === impl Prefixed ===

impl<S, N, F> FormatEvent<S, N> for Prefixed<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> fmt::Result {
        let thread = std::thread::current();
        write!(writer, "{:<8} | ", part_of_thread(thread.name()))?;
        self.0.format_event(ctx, writer, event)
    }
}

/// The part a thread belongs to, from the names the runtimes give their threads; `up`
/// for the threads that belong to none (the command's own).
fn part_of_thread(thread: Option<&str>) -> &'static str {
    thread
        .and_then(|thread| {
            NAMES
                .into_iter()
                .find(|name| thread == *name || thread.starts_with(&format!("{name}-")))
        })
        .unwrap_or("up")
}

fn runtime(name: &str) -> anyhow::Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(name)
        .enable_all()
        .build()
        .with_context(|| format!("{name}: cannot start a runtime"))
}

fn bind(addr: SocketAddr) -> anyhow::Result<std::net::TcpListener> {
    let listener =
        std::net::TcpListener::bind(addr).map_err(|err| kit::server::BindError::new(addr, &err))?;
    listener
        .set_nonblocking(true)
        .context("cannot make the listener non-blocking")?;
    Ok(listener)
}

/// Registers a listener bound by [`bind`] with the runtime this is called on.
fn tokio_listener(listener: std::net::TcpListener) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::from_std(listener).context("cannot register the listener")
}

fn url(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("cannot resolve {}", path.display()))
}

/// Waits until every part answers `GET /readyz` with 200; fails when one stops first.
async fn wait_ready(parts: &mut [Part]) -> anyhow::Result<()> {
    for part in parts.iter_mut() {
        loop {
            if let Some(task) = part.task.take_if(|task| task.is_finished()) {
                let err = flatten(task.await)
                    .err()
                    .unwrap_or_else(|| anyhow::anyhow!("stopped before it was ready"));
                return Err(err.context(part.service.name()));
            }
            if ready(part.addr).await {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(())
}

/// Whether `GET /readyz` at `addr` answers 200.
async fn ready(addr: SocketAddr) -> bool {
    let attempt = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream
            .write_all(
                format!("GET /readyz HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await?;
        let mut head = [0_u8; 12];
        stream.read_exact(&mut head).await?;
        Ok::<_, std::io::Error>(head.starts_with(b"HTTP/1.1 200"))
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(2), attempt).await,
        Ok(Ok(true))
    )
}

async fn start_gateway(
    args: &UpArgs,
    table: &[Row],
) -> anyhow::Result<(startup::Running, Runtime)> {
    let overrides: Overrides = table
        .iter()
        .map(|row| UpstreamOverride {
            name: row.name.to_owned(),
            url: row.url.clone(),
        })
        .collect();
    let config = ServeConfig {
        routes: args.routes.clone(),
        listen: SocketAddr::new(args.host, args.gateway_port),
        admin: SocketAddr::new(args.host, args.admin_port),
        admin_token: None,
        overrides,
        watch: true,
        sighup: true,
        shutdown_grace: Duration::from_secs(10),
        workers: startup::default_workers(),
        // What the five parts behind it accept at once together (each sheds beyond kit's
        // limit): the gateway refuses only what would be refused anyway, and sooner.
        max_concurrent_requests: Service::ALL.len()
            * kit::layers::Limits::default().max_concurrency,
    };
    let runtime = runtime("gateway")?;
    let started = runtime.spawn(startup::start(config)).await;
    match started {
        Ok(Ok(running)) => Ok((running, runtime)),
        Ok(Err(err)) => {
            runtime.shutdown_background();
            Err(err.context("gateway"))
        }
        Err(join) => {
            runtime.shutdown_background();
            anyhow::bail!("gateway: crashed while starting: {join}")
        }
    }
}

/// The first part whose task ends, and how it ended.
async fn first_to_end(parts: &mut [Part]) -> (&'static str, anyhow::Result<()>) {
    std::future::poll_fn(|cx| {
        for part in parts.iter_mut() {
            let Some(task) = part.task.as_mut() else {
                continue;
            };
            if let Poll::Ready(joined) = Pin::new(task).poll(cx) {
                part.task = None;
                return Poll::Ready((part.service.name(), flatten(joined)));
            }
        }
        Poll::Pending
    })
    .await
}

fn flatten(joined: Result<anyhow::Result<()>, tokio::task::JoinError>) -> anyhow::Result<()> {
    joined.unwrap_or_else(|join| Err(anyhow::anyhow!("crashed: {join}")))
}

/// Stops services that are still starting: a demo fill is one transaction, so the store
/// is left as it was (and filled on the next start).
fn abort_services(parts: Vec<Part>) {
    for part in parts {
        if let Some(task) = part.task {
            task.abort();
        }
        part.runtime.shutdown_background();
    }
}

/// Stops every service, letting requests in flight finish, and logs any that failed.
async fn stop_services(stop: CancellationToken, parts: Vec<Part>) {
    stop.cancel();
    for mut part in parts {
        if let Some(task) = part.task.take()
            && let Err(err) = flatten(task.await)
        {
            tracing::error!(part = part.service.name(), "{err:#}");
        }
        part.runtime.shutdown_background();
    }
}

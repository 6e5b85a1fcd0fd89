//! How fast a deletion travels the change feeds: from a user's `DELETE` answered by the
//! users service to the cascade applied in the friends and messages services (their
//! friendships and messages gone, each service's follower of the users feed past the
//! deletion's position) and to the timeline service's view and profile cache having dropped
//! the profile (a timeline read carrying the deletion's `X-Change-Position` answered from
//! the view).
//!
//! The users, friends, messages and timeline services run in this process as `gateway up`
//! runs them, each on its own SQLite file, filled with one demo world; deletions are sent
//! at a fixed rate (open loop: one every `1/rate` s whatever the answers do), each of a
//! user with friends and messages. Over HTTP the followers long-poll `/changes`; over
//! JetStream (`nats`) every service relays its feed to a `nats-server -js` this program
//! starts on a free port with a store of its own, and the followers read durable
//! consumers. Prints p50, p99 and max per destination and transport.
//!
//! ```text
//! cargo run --release --example propagation -- [--transport http|nats|both] [--rate 100] [--seconds 20]
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use kit::cli::ServiceConfig as _;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Enough users with friends and messages for `rate × seconds` deletions.
const WORLD: &str = "users=8000,friends=10,messages=5,seed=7";

struct Options {
    transports: Vec<Transport>,
    rate: u32,
    seconds: u32,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Transport {
    Http,
    Nats,
}

/// The three destinations a deletion reaches.
const DESTINATIONS: [&str; 3] = ["friends", "messages", "timeline"];

/// One deletion on its way: when its answer came, and when each destination had it.
#[derive(Default)]
struct Trip {
    answered: Option<Instant>,
    reached: [Option<Duration>; 3],
}

/// Deletions by their position in the users feed.
#[derive(Default)]
struct Trips {
    by_seq: BTreeMap<u64, Trip>,
    /// Per destination (friends, messages), the last position its follower was seen at.
    seen: [u64; 2],
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::from_args()?;
    println!(
        "world {WORLD}; {} deletions/s for {} s per transport",
        options.rate, options.seconds
    );
    println!(
        "\n| transport | deletions | friends p50 ms | p99 ms | max ms | messages p50 ms | p99 ms | max ms | timeline p50 ms | p99 ms | max ms | not reached |"
    );
    println!(
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for transport in &options.transports {
        run(*transport, &options).await?;
    }
    Ok(())
}

async fn run(transport: Transport, options: &Options) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let nats = match transport {
        Transport::Http => None,
        Transport::Nats => Some(Nats::start(dir.path()).await?),
    };
    let stack = Stack::start(dir.path(), nats.as_ref().map(|n| n.url.as_str())).await?;
    stack.until_settled().await?;
    let wanted = (options.rate * options.seconds) as usize;
    let victims = stack.victims(wanted).await?;
    if victims.len() < wanted {
        bail!(
            "the world has only {} users with friends and messages",
            victims.len()
        );
    }

    let trips = Arc::new(Mutex::new(Trips::default()));
    let stop = CancellationToken::new();
    let watchers: Vec<_> = [("friends", stack.friends), ("messages", stack.messages)]
        .into_iter()
        .enumerate()
        .map(|(i, (_, addr))| {
            tokio::spawn(watch(
                stack.http.clone(),
                addr,
                i,
                trips.clone(),
                stop.clone(),
            ))
        })
        .collect();

    // Open loop: one deletion every 1/rate s.
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(options.rate)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut sent = Vec::new();
    for (victim, friend) in victims {
        ticks.tick().await;
        sent.push(tokio::spawn(delete(
            stack.http.clone(),
            stack.users,
            stack.timeline,
            victim,
            friend,
            trips.clone(),
        )));
    }
    let mut failed = 0;
    for task in sent {
        if task.await?.is_err() {
            failed += 1;
        }
    }
    // Every cascade lands within a few seconds; what has not by then is counted missing.
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let done = trips
            .lock()
            .unwrap()
            .by_seq
            .values()
            .all(|t| t.reached.iter().all(Option::is_some));
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();
    for watcher in watchers {
        let _ = watcher.await;
    }
    let trips = trips.lock().unwrap();
    let mut cells = vec![
        match transport {
            Transport::Http => "HTTP `/changes`".to_owned(),
            Transport::Nats => "JetStream".to_owned(),
        },
        trips.by_seq.len().to_string(),
    ];
    let mut missing = failed;
    for d in 0..DESTINATIONS.len() {
        let mut times: Vec<Duration> = trips.by_seq.values().filter_map(|t| t.reached[d]).collect();
        missing += trips.by_seq.len() - times.len();
        times.sort_unstable();
        for q in [0.5, 0.99, 1.0] {
            cells.push(format!("{:.1}", quantile(&times, q).as_secs_f64() * 1e3));
        }
    }
    cells.push(missing.to_string());
    println!("| {} |", cells.join(" | "));
    stack.stop.cancel();
    drop(nats);
    Ok(())
}

/// Deletes `victim` and waits for the timeline to have applied the deletion: a read of
/// `friend`'s timeline carrying its position, answered from the view.
async fn delete(
    http: reqwest::Client,
    users: SocketAddr,
    timeline: SocketAddr,
    victim: i64,
    friend: i64,
    trips: Arc<Mutex<Trips>>,
) -> anyhow::Result<()> {
    let response = http
        .delete(format!("http://{users}/users/{victim}"))
        .send()
        .await?;
    let answered = Instant::now();
    if response.status() != reqwest::StatusCode::NO_CONTENT {
        bail!("DELETE /users/{victim} answered {}", response.status());
    }
    let position = response
        .headers()
        .get("x-change-position")
        .and_then(|v| v.to_str().ok())
        .context("no X-Change-Position")?
        .to_owned();
    let seq: u64 = position
        .strip_prefix("users:")
        .and_then(|s| s.parse().ok())
        .context("not a users position")?;
    {
        let mut trips = trips.lock().unwrap();
        let seen = trips.seen;
        let trip = trips.by_seq.entry(seq).or_default();
        trip.answered = Some(answered);
        // A follower already past it when the answer was read: reached at once.
        for (d, at) in seen.iter().enumerate() {
            if *at >= seq && trip.reached[d].is_none() {
                trip.reached[d] = Some(Duration::ZERO);
            }
        }
    }
    let read = http
        .get(format!("http://{timeline}/timeline/{friend}?limit=1"))
        .header("x-change-position", position)
        .send()
        .await?;
    let took = answered.elapsed();
    let from_view = read
        .headers()
        .get("x-timeline-source")
        .is_some_and(|v| v.as_bytes() == b"view");
    if read.status().is_success() && from_view {
        trips.lock().unwrap().by_seq.entry(seq).or_default().reached[2] = Some(took);
    }
    Ok(())
}

/// Follows destination `d`'s own feed (its cascades commit events there) and, each time it
/// moves, reads where its follower of the users feed is: every deletion up to there has
/// been applied, with its effects, in that service.
async fn watch(
    http: reqwest::Client,
    service: SocketAddr,
    d: usize,
    trips: Arc<Mutex<Trips>>,
    stop: CancellationToken,
) {
    let mut after = 0;
    loop {
        let url = format!("http://{service}/changes?after={after}&limit=1000&wait=2s");
        let page = tokio::select! {
            () = stop.cancelled() => return,
            page = http.get(&url).send() => page,
        };
        let Ok(page) = page else { continue };
        let Ok(page) = page.json::<Value>().await else {
            continue;
        };
        after = page["next_after"].as_u64().unwrap_or(after);
        let Ok(feeds) = http.get(format!("http://{service}/feeds")).send().await else {
            continue;
        };
        let now = Instant::now();
        let Ok(feeds) = feeds.json::<Value>().await else {
            continue;
        };
        let position = users_position(&feeds);
        let mut trips = trips.lock().unwrap();
        trips.seen[d] = trips.seen[d].max(position);
        for trip in trips.by_seq.range_mut(..=position).map(|(_, t)| t) {
            if let (Some(answered), None) = (trip.answered, trip.reached[d]) {
                trip.reached[d] = Some(now.saturating_duration_since(answered));
            }
        }
    }
}

/// Where a service's follower of the users feed is, from its `GET /feeds`.
fn users_position(feeds: &Value) -> u64 {
    feeds["followers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["source"] == "users")
        .and_then(|f| f["position"].as_u64())
        .unwrap_or(0)
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// The four services, in this process.
struct Stack {
    users: SocketAddr,
    friends: SocketAddr,
    messages: SocketAddr,
    timeline: SocketAddr,
    http: reqwest::Client,
    stop: CancellationToken,
}

impl Stack {
    async fn start(dir: &std::path::Path, bus: Option<&str>) -> anyhow::Result<Self> {
        let mut listeners = Vec::new();
        for _ in 0..4 {
            listeners.push(TcpListener::bind("127.0.0.1:0").await?);
        }
        let addrs: Vec<SocketAddr> = listeners
            .iter()
            .map(TcpListener::local_addr)
            .collect::<Result<_, _>>()?;
        let [users, friends, messages, timeline] = addrs[..] else {
            unreachable!()
        };
        let stop = CancellationToken::new();
        let db = |name: &str| format!("--database=sqlite://{}/{name}.db", dir.display());
        let mut bus_args = Vec::new();
        if let Some(url) = bus {
            bus_args.push(format!("--feed-bus={url}"));
        }
        let users_url = format!("--users-url=http://{users}");
        let mut listeners = listeners.into_iter();
        let mut next = || listeners.next().expect("four listeners");
        let shutdown = |stop: &CancellationToken| {
            let stop = stop.clone();
            async move { stop.cancelled().await }
        };

        // Each service's command line: its name, address and `extra`, then the bus.
        let args = |name: &str, addr: SocketAddr, extra: Vec<String>| {
            let mut args = vec![name.to_owned(), format!("--listen={addr}")];
            args.extend(extra);
            args.extend(bus_args.iter().cloned());
            args
        };
        // A store of its own, filled with the world.
        let store = |name: &str| vec![db(name), format!("--demo={WORLD}")];

        let config = users::Config::try_from_args(args("users", users, store("users")))?;
        tokio::spawn(users::serve(config, next(), shutdown(&stop)));
        let mut extra = store("friends");
        extra.push(users_url.clone());
        let config = friends::Config::try_from_args(args("friends", friends, extra))?;
        tokio::spawn(friends::serve(config, next(), shutdown(&stop)));
        let mut extra = store("messages");
        extra.push(users_url.clone());
        let config = messages::Config::try_from_args(args("messages", messages, extra))?;
        tokio::spawn(messages::serve(config, next(), shutdown(&stop)));
        let extra = vec![
            users_url,
            format!("--friends-url=http://{friends}"),
            format!("--messages-url=http://{messages}"),
        ];
        let config = timeline::Config::try_from_args(args("timeline", timeline, extra))?;
        tokio::spawn(timeline::serve(config, next(), shutdown(&stop)));

        Ok(Self {
            users,
            friends,
            messages,
            timeline,
            http: reqwest::Client::builder()
                .no_proxy()
                .pool_max_idle_per_host(256)
                .build()?,
            stop,
        })
    }

    /// Waits until the worlds are filled, the friends and messages services' followers of
    /// the users feed are at its head and the timeline's view is current.
    async fn until_settled(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            if Instant::now() > deadline {
                bail!("the services did not settle within 5 minutes");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            let head = match self.json(self.users, "/feeds").await {
                Ok(v) => v["head"].as_u64().unwrap_or(0),
                Err(_) => continue,
            };
            let mut at_head = head > 0;
            for service in [self.friends, self.messages] {
                let Ok(feeds) = self.json(service, "/feeds").await else {
                    at_head = false;
                    continue;
                };
                at_head &= users_position(&feeds) >= head;
            }
            let current = self
                .http
                .get(format!("http://{}/metrics", self.timeline))
                .send()
                .await
                .ok();
            let current = match current {
                Some(r) => r
                    .text()
                    .await
                    .unwrap_or_default()
                    .contains("timeline_view_state{state=\"current\"} 1"),
                None => false,
            };
            if at_head && current {
                return Ok(());
            }
        }
    }

    /// Up to `n` users with at least one friend and one message, each with a friend whose
    /// timeline is read after the deletion.
    async fn victims(&self, n: usize) -> anyhow::Result<Vec<(i64, i64)>> {
        let mut victims = Vec::new();
        let mut id = 0;
        while victims.len() < n && id < 100_000 {
            id += 1;
            let Ok(friends) = self
                .json(self.friends, &format!("/users/{id}/friends"))
                .await
            else {
                continue;
            };
            let Some(friend) = friends["friend_ids"]
                .as_array()
                .and_then(|f| f.first())
                .and_then(Value::as_i64)
            else {
                continue;
            };
            let latest = self
                .json(
                    self.messages,
                    &format!("/messages/latest?authors={id}&per_author=1"),
                )
                .await?;
            let has_messages = latest["latest"][0]["messages"]
                .as_array()
                .is_some_and(|a| !a.is_empty());
            // Each victim deleted once: a friend must not be a later victim.
            if has_messages && !victims.iter().any(|(v, f)| *v == friend || *f == id) {
                victims.push((id, friend));
            }
        }
        Ok(victims)
    }

    async fn json(&self, addr: SocketAddr, path: &str) -> anyhow::Result<Value> {
        let response = self.http.get(format!("http://{addr}{path}")).send().await?;
        if !response.status().is_success() {
            bail!("GET {path} answered {}", response.status());
        }
        Ok(response.json().await?)
    }
}

/// A `nats-server -js` of this run's own, on a free port, killed on drop.
struct Nats {
    url: String,
    _child: tokio::process::Child,
}

impl Nats {
    async fn start(dir: &std::path::Path) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let store = dir.join("nats");
        let child = tokio::process::Command::new(
            std::env::var_os("NATS_SERVER").unwrap_or_else(|| "nats-server".into()),
        )
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(&store)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start nats-server (install it, or set NATS_SERVER)")?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if Instant::now() > deadline {
                bail!("nats-server did not listen on {port} within 10 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Self {
            url: format!("nats://127.0.0.1:{port}"),
            _child: child,
        })
    }
}

impl Options {
    fn from_args() -> anyhow::Result<Self> {
        let mut options = Self {
            transports: vec![Transport::Http, Transport::Nats],
            rate: 100,
            seconds: 20,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value =
                |name: &str| args.next().with_context(|| format!("{name} needs a value"));
            match arg.as_str() {
                "--transport" => {
                    options.transports = match value("--transport")?.as_str() {
                        "http" => vec![Transport::Http],
                        "nats" => vec![Transport::Nats],
                        "both" => vec![Transport::Http, Transport::Nats],
                        other => bail!("--transport: `{other}` (http, nats or both)"),
                    }
                }
                "--rate" => options.rate = value("--rate")?.parse().context("--rate")?,
                "--seconds" => {
                    options.seconds = value("--seconds")?.parse().context("--seconds")?
                }
                other => bail!("unknown argument `{other}` (--transport, --rate N, --seconds N)"),
            }
        }
        if options.rate == 0 || options.seconds == 0 {
            bail!("--rate and --seconds must be positive");
        }
        Ok(options)
    }
}

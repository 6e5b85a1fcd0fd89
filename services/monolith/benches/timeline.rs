//! Throughput and latency of `GET /timeline/{id}` on a world of at least 1,000,000 messages,
//! for users with about 10, 100 and 1,000 friends; on SQLite (a file), and on PostgreSQL
//! when `TEST_POSTGRES_URL` is set.
//!
//! `cargo bench -p monolith --bench timeline`
//!
//! Environment (all optional): `BENCH_DEMO` the demo spec (default below),
//! `BENCH_ROUNDS` rounds (5), `BENCH_SECONDS` seconds per user per round (2),
//! `BENCH_CONCURRENCY` requests in flight (4), `BENCH_QUERY` the query string
//! (`per_friend=1&limit=50`).
//!
//! Each round measures every user in turn (interleaved, so drift hits all alike) with a
//! closed loop of `BENCH_CONCURRENCY` clients; the table shows each figure's median over
//! the rounds. The server runs in this process on an ephemeral loopback port.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use kit::cli::ServiceConfig;
use kit::demo::World;
use kit::ids::UserId;
use kit::test_util::TestServer;
use monolith::domain::{FriendsPage, TimelineParams};
use monolith::{AppState, Config, Store};

/// Users 1 and 2 are celebrities with about 100 and 1,000 friends; everyone else has
/// about 10; 20,000 users × 50 messages = 1,000,000 messages.
const DEFAULT_SPEC: &str =
    "users=20000,friends=10,messages=50,seed=1,celebrities=2,celebrity_friends=100/1000";

struct Settings {
    spec: String,
    rounds: usize,
    per_round: Duration,
    concurrency: usize,
    query: String,
}

/// One user's figures in one round.
#[derive(Clone, Copy)]
struct Sample {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    db_p50_ms: f64,
}

fn main() {
    let settings = Settings {
        spec: env_or("BENCH_DEMO", DEFAULT_SPEC),
        rounds: env_or("BENCH_ROUNDS", "5").parse().expect("BENCH_ROUNDS"),
        per_round: Duration::from_secs_f64(
            env_or("BENCH_SECONDS", "2").parse().expect("BENCH_SECONDS"),
        ),
        concurrency: env_or("BENCH_CONCURRENCY", "4")
            .parse()
            .expect("BENCH_CONCURRENCY"),
        query: env_or("BENCH_QUERY", "per_friend=1&limit=50"),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let dir = std::env::temp_dir().join(format!("monolith-bench-{}", std::process::id()));
        let sqlite = format!("sqlite://{}/monolith.db", dir.display());
        let mut rows = bench(&settings, "sqlite", &sqlite).await;
        let _ = std::fs::remove_dir_all(&dir);
        match kit::test_util::postgres().await {
            Some(db) => rows.extend(bench(&settings, "postgres", &db.url).await),
            None => println!("\nTEST_POSTGRES_URL unset: PostgreSQL skipped"),
        }
        println!(
            "\nGET /timeline/{{id}}?{}, {} clients, median of {} rounds × {:?}",
            settings.query, settings.concurrency, settings.rounds, settings.per_round
        );
        println!(
            "{:<9} {:>6} {:>8} {:>9} {:>8} {:>8} {:>10}",
            "backend", "user", "friends", "req/s", "p50 ms", "p99 ms", "db p50 ms"
        );
        for row in rows {
            println!("{row}");
        }
    });
}

async fn bench(settings: &Settings, backend: &str, url: &str) -> Vec<String> {
    let world = World::new(settings.spec.parse().expect("BENCH_DEMO"));
    let store = Store::open(url).await.expect("open store");
    let started = Instant::now();
    let counts = store.fill_demo(&world).await.expect("fill").expect("empty");
    println!(
        "\n{backend}: {} users, {} friendship rows, {} messages loaded in {:.1} s",
        counts.users,
        counts.friendships,
        counts.messages,
        started.elapsed().as_secs_f64()
    );
    assert!(
        counts.messages >= 1_000_000,
        "the world has 1,000,000 messages"
    );

    let users = pick_users(&store, world.spec().users).await;

    let config = Config::try_from_args([
        "monolith",
        "--listen=127.0.0.1:0",
        &format!("--database={url}"),
        "--max-concurrency=100000",
    ])
    .expect("config");
    let server = TestServer::start(monolith::app(
        AppState::new(store.clone()),
        &config.store.limits,
    ))
    .await;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(settings.concurrency)
        .tcp_nodelay(true)
        .build()
        .expect("client");
    let urls: Vec<String> = users
        .iter()
        .map(|(user, _)| server.url(&format!("/timeline/{user}?{}", settings.query)))
        .collect();

    // Warm caches and connections before measuring.
    for url in &urls {
        run(
            &client,
            url,
            settings.concurrency,
            Duration::from_millis(300),
        )
        .await;
    }
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); urls.len()];
    for _ in 0..settings.rounds {
        for (i, url) in urls.iter().enumerate() {
            samples[i].push(run(&client, url, settings.concurrency, settings.per_round).await);
        }
    }
    server.stop().await;

    // After the rounds, so PostgreSQL's `EXPLAIN ANALYZE` shows a warm execution.
    // `per_friend=1&limit=50`, the defaults.
    let params = TimelineParams::default();
    for (user, friends) in &users {
        println!("\n{backend} plan, user {user} ({friends} friends):");
        for line in store.explain_timeline(*user, params).await.expect("plan") {
            println!("  {line}");
        }
    }
    store.db().close().await;

    users
        .iter()
        .zip(samples)
        .map(|((user, friends), samples)| {
            let median = |f: fn(&Sample) -> f64| {
                let mut v: Vec<f64> = samples.iter().map(f).collect();
                v.sort_by(f64::total_cmp);
                v[v.len() / 2]
            };
            format!(
                "{backend:<9} {:>6} {friends:>8} {:>9.0} {:>8.2} {:>8.2} {:>10.2}",
                user.get(),
                median(|s| s.rps),
                median(|s| s.p50_ms),
                median(|s| s.p99_ms),
                median(|s| s.db_p50_ms),
            )
        })
        .collect()
}

/// The two celebrities (about 100 and 1,000 friends) and the first ordinary user with
/// exactly 10 friends, each with their friend count.
async fn pick_users(store: &Store, users: u64) -> Vec<(UserId, usize)> {
    let count = |id: i64| async move {
        let page = FriendsPage::parse(Some("5000"), None).unwrap();
        let list = store.friend_page(UserId::new(id), page).await.unwrap();
        list.friend_ids().len()
    };
    let mut ordinary = None;
    for id in 3..=i64::try_from(users).unwrap() {
        if count(id).await == 10 {
            ordinary = Some(id);
            break;
        }
    }
    let ordinary = ordinary.expect("a user with 10 friends");
    let mut picked = Vec::new();
    for id in [ordinary, 1, 2] {
        picked.push((UserId::new(id), count(id).await));
    }
    picked
}

/// A closed loop of `concurrency` clients on `url` for `duration`.
async fn run(
    client: &reqwest::Client,
    url: &str,
    concurrency: usize,
    duration: Duration,
) -> Sample {
    let started = Instant::now();
    let deadline = started + duration;
    let url: Arc<str> = Arc::from(url);
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let client = client.clone();
            let url = url.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut db = Vec::new();
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    let response = client.get(&*url).send().await.expect("request");
                    assert_eq!(response.status(), 200, "{url}");
                    let timing = response
                        .headers()
                        .get("server-timing")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.strip_prefix("db;dur="))
                        .and_then(|v| v.parse::<f64>().ok())
                        .expect("server-timing");
                    let body = response.bytes().await.expect("body");
                    assert!(!body.is_empty());
                    latencies.push(sent.elapsed());
                    db.push(timing);
                }
                (latencies, db)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut db = Vec::new();
    for worker in workers {
        let (l, d) = worker.await.expect("worker");
        latencies.extend(l);
        db.extend(d);
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    db.sort_by(f64::total_cmp);
    let at = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
    Sample {
        rps: latencies.len() as f64 / elapsed,
        p50_ms: at(50).as_secs_f64() * 1000.0,
        p99_ms: at(99).as_secs_f64() * 1000.0,
        db_p50_ms: db[db.len() / 2],
    }
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

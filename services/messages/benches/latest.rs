//! `GET /messages/latest` for 500 authors on a store of 10,000 messages and on one of
//! 1,000,000: the bulk read walks an index per author, so both should answer about as fast.
//!
//! Fills two stores through the demo generator (1,000 users with 10 and with 1,000 messages
//! each, no friends), serves each in-process on an ephemeral port, and times sequential
//! requests for 500 distinct authors, alternating the stores batch by batch (A B A B …) so
//! that drift in machine load hits both alike. Prints requests/s, p50 and p99 per store and
//! the ratios. Runs on SQLite, and on PostgreSQL too when `TEST_POSTGRES_URL` is set.
//!
//! ```text
//! cargo bench -p messages --bench latest [-- --rounds 5 --requests 200]
//! ```

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use kit::demo::World;
use kit::ids::UserId;
use kit::layers::Limits;
use kit::test_util::TestServer;
use messages::{AppState, Store};

const USERS: u64 = 1000;
const AUTHORS_PER_REQUEST: usize = 500;
/// Distinct author lists the requests cycle through.
const AUTHOR_SETS: usize = 64;

struct Options {
    rounds: usize,
    requests: usize,
}

/// One store under test, served on its own port.
struct Target {
    label: &'static str,
    messages: u64,
    store: Store,
    server: TestServer,
    /// Kept so a PostgreSQL database lives as long as the benchmark.
    _database: Option<kit::test_util::TestDatabase>,
}

#[derive(Default)]
struct Samples {
    latencies: Vec<Duration>,
    busy: Duration,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::from_args()?;
    let dir = std::env::temp_dir().join(format!("messages-bench-{}", std::process::id()));
    let sqlite = |name: &str| format!("sqlite://{}/{name}.db", dir.display());
    let result = async {
        let small = target("10k", 10, &sqlite("small"), None).await?;
        let large = target("1M", 1000, &sqlite("large"), None).await?;
        compare("sqlite", &small, &large, &options).await?;
        if std::env::var_os("TEST_POSTGRES_URL").is_some() {
            let small_db = kit::test_util::postgres().await;
            let large_db = kit::test_util::postgres().await;
            let (Some(small_db), Some(large_db)) = (small_db, large_db) else {
                anyhow::bail!("TEST_POSTGRES_URL is set but no database could be made");
            };
            let small = target("10k", 10, &small_db.url.clone(), Some(small_db)).await?;
            let large = target("1M", 1000, &large_db.url.clone(), Some(large_db)).await?;
            compare("postgres", &small, &large, &options).await?;
        } else {
            println!("\nTEST_POSTGRES_URL unset: PostgreSQL skipped");
        }
        Ok(())
    }
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// A store of `USERS` × `per_user` demo messages at `url`, served in-process.
async fn target(
    label: &'static str,
    per_user: u64,
    url: &str,
    database: Option<kit::test_util::TestDatabase>,
) -> anyhow::Result<Target> {
    let spec = format!("users={USERS},friends=0,messages={per_user},seed=1");
    let store = Store::open(url).await?;
    let started = Instant::now();
    let inserted = store
        .fill_demo(&World::new(spec.parse()?))
        .await?
        .context("the benchmark's store is not empty")?;
    println!(
        "filled {label:>3} ({}): {inserted} messages in {:.1} s",
        kit::store::redact(url),
        started.elapsed().as_secs_f64()
    );
    let app = messages::app(
        AppState {
            store: store.clone(),
            users: None,
        },
        &Limits::default(),
    );
    Ok(Target {
        label,
        messages: inserted,
        store,
        server: TestServer::start(app).await,
        _database: database,
    })
}

async fn compare(
    backend: &str,
    small: &Target,
    large: &Target,
    options: &Options,
) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let paths: Vec<String> = author_sets()
        .iter()
        .map(|authors| {
            let list: Vec<String> = authors.iter().map(ToString::to_string).collect();
            format!("/messages/latest?authors={}", list.join(","))
        })
        .collect();

    print_plans(backend, large).await?;
    println!("\n{backend}: GET /messages/latest, {AUTHORS_PER_REQUEST} authors a request");
    println!(
        "{:<8} {:>10} {:>10} {:>9} {:>9} {:>9} {:>9}",
        "store", "messages", "per_author", "requests", "req/s", "p50 ms", "p99 ms"
    );
    for per_author in [1, 10] {
        let mut samples = [Samples::default(), Samples::default()];
        // Warm-up: connections, statement caches, the page cache.
        for target in [small, large] {
            run(&client, target, &paths, per_author, 20).await?;
        }
        for _ in 0..options.rounds {
            for (target, samples) in [small, large].into_iter().zip(&mut samples) {
                let batch = run(&client, target, &paths, per_author, options.requests).await?;
                samples.busy += batch.busy;
                samples.latencies.extend(batch.latencies);
            }
        }
        let figures: Vec<Figures> = samples.iter_mut().map(Figures::of).collect();
        for (target, f) in [small, large].into_iter().zip(&figures) {
            println!(
                "{:<8} {:>10} {:>10} {:>9} {:>9.0} {:>9.2} {:>9.2}",
                target.label,
                target.messages,
                per_author,
                f.requests,
                f.per_second,
                ms(f.p50),
                ms(f.p99)
            );
        }
        let (a, b) = (&figures[0], &figures[1]);
        println!(
            "ratio {} / {} (per_author={per_author}): p50 ×{:.2}, p99 ×{:.2}, req/s ×{:.2}",
            large.label,
            small.label,
            b.p50.as_secs_f64() / a.p50.as_secs_f64(),
            b.p99.as_secs_f64() / a.p99.as_secs_f64(),
            b.per_second / a.per_second,
        );
    }
    Ok(())
}

/// The engine's plans on the large store: the bulk read for 500 authors, and a page.
async fn print_plans(backend: &str, target: &Target) -> anyhow::Result<()> {
    let sets = author_sets();
    let plan = target.store.explain_latest(&sets[0], 10).await?;
    println!("\n{backend} plan, latest for {AUTHORS_PER_REQUEST} authors, per_author=10:");
    for line in plan {
        println!("    {line}");
    }
    let cursor = target
        .store
        .cursor(kit::ids::MessageId::new(500_000))
        .await?;
    let plan = target.store.explain_page(sets[0][0], cursor, 51).await?;
    println!("{backend} plan, a page of 50 below a message:");
    for line in plan {
        println!("    {line}");
    }
    Ok(())
}

/// `count` sequential requests to `target`, cycling through `paths`.
async fn run(
    client: &reqwest::Client,
    target: &Target,
    paths: &[String],
    per_author: u32,
    count: usize,
) -> anyhow::Result<Samples> {
    let mut samples = Samples::default();
    let started = Instant::now();
    for path in paths.iter().cycle().take(count) {
        let url = target
            .server
            .url(&format!("{path}&per_author={per_author}"));
        let sent = Instant::now();
        let response = client.get(&url).send().await?;
        ensure!(response.status() == 200, "{url}: {}", response.status());
        let body = response.bytes().await?;
        samples.latencies.push(sent.elapsed());
        // A cheap check that the answer is the full one: every author is listed.
        ensure!(body.starts_with(b"{\"latest\":[{\"author_id\":"), "{url}");
    }
    samples.busy = started.elapsed();
    Ok(samples)
}

struct Figures {
    requests: usize,
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

impl Figures {
    fn of(samples: &mut Samples) -> Self {
        samples.latencies.sort_unstable();
        let n = samples.latencies.len();
        let at = |q: usize| samples.latencies[(n * q / 100).min(n - 1)];
        Self {
            requests: n,
            per_second: n as f64 / samples.busy.as_secs_f64(),
            p50: at(50),
            p99: at(99),
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `AUTHOR_SETS` lists of 500 distinct authors among the 1,000 users, each in its own
/// shuffled order; the same every run.
fn author_sets() -> Vec<Vec<UserId>> {
    let mut state = 0x5EED_u64;
    let mut next = move || {
        // SplitMix64.
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    (0..AUTHOR_SETS)
        .map(|_| {
            let mut ids: Vec<i64> = (1..=USERS as i64).collect();
            for i in (1..ids.len()).rev() {
                let j = (next() % (i as u64 + 1)) as usize;
                ids.swap(i, j);
            }
            ids.truncate(AUTHORS_PER_REQUEST);
            ids.into_iter().map(UserId::new).collect()
        })
        .collect()
}

// === impl Options ===

impl Options {
    /// `--rounds N` and `--requests N` (per store and round); other arguments, such as the
    /// `--bench` cargo passes, are ignored.
    fn from_args() -> anyhow::Result<Self> {
        let mut options = Self {
            rounds: 5,
            requests: 100,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let slot = match arg.as_str() {
                "--rounds" => &mut options.rounds,
                "--requests" => &mut options.requests,
                _ => continue,
            };
            let value = args
                .next()
                .with_context(|| format!("{arg} needs a number"))?;
            *slot = value
                .parse()
                .with_context(|| format!("{arg} {value}: not a whole number"))?;
            ensure!(*slot > 0, "{arg} must be at least 1");
        }
        Ok(options)
    }
}

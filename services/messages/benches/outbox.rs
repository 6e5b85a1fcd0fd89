//! What the transactional outbox costs a write: `Store::create` (the message's id from its
//! writer's slot, its row and its `message.upserted` event, messages created at once
//! sharing one transaction) against the same writes without their events, committed the
//! same way (group commit) and one transaction each, on one store.
//!
//! Each kind runs with 1 writer (sequential writes: every batch holds one write, so this
//! is the cost of one lone write) and with `--writers` concurrent writers (as concurrent
//! `POST /messages` would arrive; throughput is what the outbox may cost at most 15% of).
//! Kinds alternate in interleaved rounds (A B C, then B C A, …) so that drift in machine
//! load hits all alike. Prints writes/s, p50 and p99 of each and medians of the per-round
//! ratios. The HTTP layer in front of `POST /messages` adds the same cost to every kind, so
//! the ratios here are the most the outbox can cost a `POST`. Runs on a SQLite file, and on
//! PostgreSQL too when `TEST_POSTGRES_URL` is set.
//!
//! ```text
//! cargo bench -p messages --bench outbox [-- --rounds 7 --writes 2000 --writers 32]
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use kit::ids::UserId;
use kit::store::batch::Batcher;
use kit::timestamp::Timestamp;
use messages::Store;
use messages::domain::{MessageText, NewMessage};

struct Options {
    rounds: usize,
    writes: usize,
    writers: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `Store::create`: id, row and event, group-committed.
    Outbox,
    /// The same without the event: ids and rows, group-committed.
    Rows,
    /// Without the event, one transaction per write: id and row.
    Row,
}

const KINDS: [Kind; 3] = [Kind::Outbox, Kind::Rows, Kind::Row];

const LABELS: [&str; 3] = [
    "with the outbox: id, row and event (`Store::create`, group commit)",
    "without the event, group commit: ids and rows",
    "without the event, one transaction per write: id and row",
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::from_args()?;
    let dir = std::env::temp_dir().join(format!("messages-outbox-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = async {
        let url = format!("sqlite://{}/outbox.db", dir.display());
        compare("sqlite", Store::open(&url).await?, &options).await?;
        if std::env::var_os("TEST_POSTGRES_URL").is_some() {
            let db = kit::test_util::postgres()
                .await
                .context("TEST_POSTGRES_URL is set but no database could be made")?;
            compare("postgres", Store::open(&db.url).await?, &options).await?;
        } else {
            println!("\nTEST_POSTGRES_URL unset: PostgreSQL skipped");
        }
        Ok(())
    }
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// The ways of writing, on one store.
struct Writers {
    store: Store,
    /// `Kind::Rows`: the store's own group commit, minus the events.
    rows: Batcher<NewMessage, ()>,
}

async fn compare(backend: &str, store: Store, options: &Options) -> anyhow::Result<()> {
    let feed = store.feed().clone();
    let rows = Batcher::spawn(100, move |batch: Vec<NewMessage>| {
        let feed = feed.clone();
        async move {
            let mut tx = feed.begin().await?;
            let ids = feed.next_ids(&mut tx, "messages", batch.len()).await?;
            let count = batch.len();
            kit::store::insert_rows(
                &mut tx,
                "INSERT INTO messages (id, author_id, text, created_at)",
                4,
                ids.into_iter().zip(batch),
                |q, (id, m)| {
                    q.bind(id)
                        .bind(m.author_id.get())
                        .bind(m.text.as_str().to_owned())
                        .bind(Timestamp::now().as_micros())
                },
            )
            .await?;
            tx.commit().await?;
            Ok(vec![(); count])
        }
    });
    let writers = Arc::new(Writers { store, rows });
    for concurrency in [1, options.writers] {
        println!(
            "\n{backend}, {concurrency} writer(s): {} rounds of {} writes per kind",
            options.rounds, options.writes
        );
        // Warm-up: the pool's connections opened, the tables' first pages allocated.
        for kind in KINDS {
            batch(&writers, kind, options.writes / 4, concurrency).await?;
        }
        let mut rounds: Vec<[Stats; 3]> = Vec::new();
        for round in 0..options.rounds {
            // Each round starts one kind later, so none always runs first.
            let mut stats = [Stats::default(); 3];
            for i in 0..KINDS.len() {
                let k = (round + i) % KINDS.len();
                let (mut samples, took) =
                    batch(&writers, KINDS[k], options.writes, concurrency).await?;
                stats[k] = summary(&mut samples, took);
            }
            rounds.push(stats);
        }
        report(&rounds);
    }
    Ok(())
}

fn report(rounds: &[[Stats; 3]]) {
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let of = |k: usize, f: fn(&Stats) -> f64| median(rounds.iter().map(|r| f(&r[k])).collect());
    println!("| writes | per s | p50 ms | p99 ms |");
    println!("| --- | ---: | ---: | ---: |");
    for (k, label) in LABELS.iter().enumerate() {
        println!(
            "| {label} | {:.0} | {:.3} | {:.3} |",
            of(k, |s| s.rate),
            of(k, |s| s.p50),
            of(k, |s| s.p99)
        );
    }
    let ratio = |a: usize, b: usize| median(rounds.iter().map(|r| r[a].rate / r[b].rate).collect());
    let outbox = ratio(0, 1);
    println!(
        "outbox ÷ without the event (same write path), writes/s, median of per-round ratios: {outbox:.2}x (the outbox costs {:.0}%)",
        (1.0 - outbox) * 100.0
    );
    println!(
        "outbox ÷ without the event, one transaction per write: {:.2}x",
        ratio(0, 2)
    );
}

#[derive(Clone, Copy, Default)]
struct Stats {
    rate: f64,
    p50: f64,
    p99: f64,
}

fn summary(samples: &mut [Duration], took: Duration) -> Stats {
    samples.sort_unstable();
    let at = |q: f64| {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples[i].as_secs_f64() * 1e3
    };
    #[allow(clippy::cast_precision_loss)]
    let rate = samples.len() as f64 / took.as_secs_f64();
    Stats {
        rate,
        p50: at(0.5),
        p99: at(0.99),
    }
}

/// `writes` writes of `kind` by `concurrency` writers at once: every write's time, and the
/// time for all.
async fn batch(
    writers: &Arc<Writers>,
    kind: Kind,
    writes: usize,
    concurrency: usize,
) -> anyhow::Result<(Vec<Duration>, Duration)> {
    let started = Instant::now();
    let per_writer = writes.div_ceil(concurrency);
    let tasks: Vec<_> = (0..concurrency)
        .map(|w| {
            let writers = writers.clone();
            tokio::spawn(async move {
                let mut samples = Vec::with_capacity(per_writer);
                for i in 0..per_writer {
                    let n = w * per_writer + i;
                    let message = NewMessage {
                        author_id: UserId::new(i64::try_from(n % 1000).unwrap_or(0) + 1),
                        text: MessageText::parse(format!("message {n} of a benchmark batch"))?,
                    };
                    let one = Instant::now();
                    write(&writers, kind, message).await?;
                    samples.push(one.elapsed());
                }
                anyhow::Ok(samples)
            })
        })
        .collect();
    let mut samples = Vec::with_capacity(writes);
    for task in tasks {
        samples.extend(task.await??);
    }
    Ok((samples, started.elapsed()))
}

async fn write(writers: &Writers, kind: Kind, message: NewMessage) -> anyhow::Result<()> {
    let store = &writers.store;
    match kind {
        Kind::Outbox => {
            store.create(&message).await?;
        }
        Kind::Rows => writers.rows.submit(message).await?,
        Kind::Row => {
            let mut tx = store.db().begin_write().await?;
            let id = store.feed().next_id(&mut tx, "messages").await?;
            insert(&mut tx, id, &message).await?;
            tx.commit().await?;
        }
    }
    Ok(())
}

/// The row `Store::create` inserts.
async fn insert(
    conn: &mut sqlx::AnyConnection,
    id: i64,
    message: &NewMessage,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO messages (id, author_id, text, created_at) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(message.author_id.get())
        .bind(message.text.as_str().to_owned())
        .bind(Timestamp::now().as_micros())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

impl Options {
    fn from_args() -> anyhow::Result<Self> {
        let mut options = Self {
            rounds: 7,
            writes: 2000,
            writers: 32,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = |name: &str| -> anyhow::Result<usize> {
                let v = args
                    .next()
                    .with_context(|| format!("{name} needs a value"))?;
                let n: usize = v.parse().with_context(|| format!("{name}: `{v}`"))?;
                anyhow::ensure!(n > 0, "{name} must be positive");
                Ok(n)
            };
            match arg.as_str() {
                "--rounds" => options.rounds = value("--rounds")?,
                "--writes" => options.writes = value("--writes")?,
                "--writers" => options.writers = value("--writers")?,
                // `cargo bench` passes `--bench`.
                "--bench" => {}
                other => anyhow::bail!(
                    "unknown argument `{other}` (--rounds N, --writes N, --writers N)"
                ),
            }
        }
        Ok(options)
    }
}

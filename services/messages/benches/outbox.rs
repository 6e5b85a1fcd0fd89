//! What the transactional outbox costs a write: `Store::create` (the message's row and its
//! `message.upserted` event in one transaction) against the same `INSERT` in a
//! transaction of its own with no event, on one store.
//!
//! Both run the same statement through the same pool and transaction kind (`BEGIN
//! IMMEDIATE` on SQLite), alternating in batches (A B A B …) so that drift in machine load
//! hits both alike; each batch's writes are sequential, one transaction each, as requests
//! would commit them. Prints writes/s, p50 and p99 of each and the medians of the per-round
//! ratios. The HTTP layer in front of `POST /messages` adds the same cost to both, so the
//! ratio here is the most the outbox can cost a `POST`. Runs on a SQLite file, and on
//! PostgreSQL too when `TEST_POSTGRES_URL` is set.
//!
//! ```text
//! cargo bench -p messages --bench outbox [-- --rounds 7 --writes 2000]
//! ```

use std::time::{Duration, Instant};

use anyhow::Context;
use kit::ids::UserId;
use kit::timestamp::Timestamp;
use messages::Store;
use messages::domain::{MessageText, NewMessage};

struct Options {
    rounds: usize,
    writes: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Outbox,
    Bare,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::from_args()?;
    let dir = std::env::temp_dir().join(format!("messages-outbox-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = async {
        let url = format!("sqlite://{}/outbox.db", dir.display());
        compare("sqlite", &Store::open(&url).await?, &options).await?;
        if std::env::var_os("TEST_POSTGRES_URL").is_some() {
            let db = kit::test_util::postgres()
                .await
                .context("TEST_POSTGRES_URL is set but no database could be made")?;
            compare("postgres", &Store::open(&db.url).await?, &options).await?;
        } else {
            println!("\nTEST_POSTGRES_URL unset: PostgreSQL skipped");
        }
        Ok(())
    }
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn compare(backend: &str, store: &Store, options: &Options) -> anyhow::Result<()> {
    println!(
        "\n{backend}: {} rounds of {} sequential writes per kind",
        options.rounds, options.writes
    );
    // Warm-up: the pool's connections opened, the tables' first pages allocated.
    batch(store, Kind::Outbox, options.writes / 4).await?;
    batch(store, Kind::Bare, options.writes / 4).await?;
    let mut rows = Vec::new();
    for round in 0..options.rounds {
        // Each round starts with the other kind, so neither always runs second.
        let order = if round % 2 == 0 {
            [Kind::Outbox, Kind::Bare]
        } else {
            [Kind::Bare, Kind::Outbox]
        };
        let mut outbox = Vec::new();
        let mut bare = Vec::new();
        for kind in order {
            let samples = batch(store, kind, options.writes).await?;
            match kind {
                Kind::Outbox => outbox = samples,
                Kind::Bare => bare = samples,
            }
        }
        rows.push((stats(&mut outbox), stats(&mut bare)));
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (outbox, bare): (Vec<_>, Vec<_>) = rows.iter().copied().unzip();
    let rate = |s: &[Stats]| median(s.iter().map(|s| s.rate).collect());
    let p50 = |s: &[Stats]| median(s.iter().map(|s| s.p50).collect());
    let p99 = |s: &[Stats]| median(s.iter().map(|s| s.p99).collect());
    println!("| writes | per s | p50 ms | p99 ms |");
    println!("| --- | ---: | ---: | ---: |");
    for (label, s) in [
        ("with the outbox (row + event)", &outbox),
        ("without (row only)", &bare),
    ] {
        println!(
            "| {label} | {:.0} | {:.3} | {:.3} |",
            rate(s),
            p50(s),
            p99(s)
        );
    }
    let ratio = median(rows.iter().map(|(o, b)| o.rate / b.rate).collect());
    println!(
        "outbox ÷ without, writes/s, median of per-round ratios: {ratio:.2}x (the outbox costs {:.0}%)",
        (1.0 - ratio) * 100.0
    );
    Ok(())
}

#[derive(Clone, Copy)]
struct Stats {
    rate: f64,
    p50: f64,
    p99: f64,
}

fn stats(samples: &mut [Duration]) -> Stats {
    let total: Duration = samples.iter().sum();
    samples.sort_unstable();
    let at = |q: f64| {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples[i].as_secs_f64() * 1e3
    };
    #[allow(clippy::cast_precision_loss)]
    let rate = samples.len() as f64 / total.as_secs_f64();
    Stats {
        rate,
        p50: at(0.5),
        p99: at(0.99),
    }
}

async fn batch(store: &Store, kind: Kind, writes: usize) -> anyhow::Result<Vec<Duration>> {
    let mut samples = Vec::with_capacity(writes);
    for i in 0..writes {
        let message = NewMessage {
            author_id: UserId::new(i64::try_from(i % 1000).unwrap_or(0) + 1),
            text: MessageText::parse(format!("message {i} of a benchmark batch"))?,
        };
        let started = Instant::now();
        match kind {
            Kind::Outbox => {
                store.create(&message).await?;
            }
            Kind::Bare => {
                let mut tx = store.db().begin_write().await?;
                sqlx::query(
                    "INSERT INTO messages (author_id, text, created_at) VALUES ($1, $2, $3) \
                     RETURNING id, author_id, text, created_at",
                )
                .bind(message.author_id.get())
                .bind(message.text.as_str().to_owned())
                .bind(Timestamp::now().as_micros())
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
            }
        }
        samples.push(started.elapsed());
    }
    Ok(samples)
}

impl Options {
    fn from_args() -> anyhow::Result<Self> {
        let mut options = Self {
            rounds: 7,
            writes: 2000,
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
                // `cargo bench` passes `--bench`.
                "--bench" => {}
                other => anyhow::bail!("unknown argument `{other}` (--rounds N, --writes N)"),
            }
        }
        Ok(options)
    }
}

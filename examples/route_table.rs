//! What a large route table costs: generates a routes file of `--routes` routes (default
//! 10,000, over 10 upstreams, a `prefix: /` fallback last), then prints the median time to
//! parse, validate and compile it, the median time of a live reload of it (the file read,
//! compiled and swapped in by the same reloader `gateway serve` runs), and the time to
//! match one request against it, for a request matching the table's first route, one in
//! the middle, its last path route, and one only the fallback serves; and, for scale, the
//! same match on the shipped `routes.yaml`.
//!
//! ```text
//! cargo run --release --example route_table -- --routes 10000
//! ```

use std::hint::black_box;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use gateway::reload::Reloader;
use gateway::snapshot::Trigger;
use gateway::table::{self, Overrides, Resolution, RouteTable};
use http::{HeaderMap, Method};

#[derive(Debug, Parser)]
struct Args {
    /// Routes in the generated file.
    #[arg(long, default_value_t = 10_000)]
    routes: usize,
    /// Timed runs of the parse and of the reload (the median is printed).
    #[arg(long, default_value_t = 7)]
    runs: usize,
}

const UPSTREAMS: usize = 10;

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("route_table: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> anyhow::Result<()> {
    let routes = args.routes.max(1);
    let runs = args.runs.max(1);
    let text = routes_file(routes, 0);
    println!(
        "generated: {routes} routes over {UPSTREAMS} upstreams, {} KiB of YAML",
        text.len() / 1024
    );

    let overrides = Overrides::default();
    let parse = median(runs, || {
        let started = Instant::now();
        let loaded = table::parse(&text, &overrides).map_err(|e| anyhow::anyhow!("{e}"))?;
        let took = started.elapsed();
        black_box(loaded);
        Ok(took)
    })?;
    println!("parse + validate + compile: {}", ms(parse));

    let dir = tempfile::tempdir()?;
    let path = dir.path().join("routes.yaml");
    std::fs::write(&path, &text)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let reloader = runtime.block_on(async {
        Reloader::start(path.clone(), overrides.clone(), 2).map_err(|e| anyhow::anyhow!("{e}"))
    })?;
    let mut serial = 0;
    let reload = median(runs, || {
        // A different comment each time: a new version, the same routes, so every reload
        // swaps a freshly compiled table and no route moves.
        serial += 1;
        write(&path, &routes_file(routes, serial))?;
        let started = Instant::now();
        let reloaded = runtime
            .block_on(reloader.reload(Trigger::Admin))
            .map_err(|e| anyhow::anyhow!("the reload was rejected: {e:?}"))?;
        let took = started.elapsed();
        anyhow::ensure!(reloaded.changed, "the reload did not swap the table");
        Ok(took)
    })?;
    println!("live reload (read, compile, swap): {}", ms(reload));

    let loaded = table::parse(&text, &overrides).map_err(|e| anyhow::anyhow!("{e}"))?;
    let table = &loaded.table;
    let middle = routes / 2;
    let last = routes - 1;
    for (what, path) in [
        ("first route", "/r0/items/7".to_owned()),
        ("middle route", format!("/r{middle}/items/7")),
        ("last path route", format!("/r{last}/items/7")),
        ("fallback (prefix: /)", "/nowhere/at/all".to_owned()),
    ] {
        println!(
            "match, {what} ({path}): {}",
            per_match(table, &path, &format!("u{}", upstream_of(&path, routes)))?
        );
    }
    let shipped = table::load_file(Path::new("routes.yaml"), &overrides)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "match on the shipped routes.yaml ({} routes), GET /users/1: {}",
        shipped.table.routes().len(),
        per_match(&shipped.table, "/users/1", "users")?
    );
    Ok(())
}

/// A routes file of `routes` routes: `/r{i}/items/{id}` to upstream `u{i % 10}`, then a
/// `prefix: /` fallback to `u0`; `serial` only changes a comment.
fn routes_file(routes: usize, serial: usize) -> String {
    use std::fmt::Write as _;
    let mut text = format!("# generated, serial {serial}\nupstreams:\n");
    for u in 0..UPSTREAMS {
        let _ = writeln!(text, "  u{u}: {{url: \"http://127.0.0.1:{}\"}}", 9000 + u);
    }
    text.push_str("routes:\n");
    for i in 0..routes.saturating_sub(1) {
        let _ = writeln!(
            text,
            "  - path: /r{i}/items/{{id}}\n    to: u{}",
            i % UPSTREAMS
        );
    }
    text.push_str("  - prefix: /\n    to: u0\n");
    text
}

/// The upstream the generated table sends `path` to.
fn upstream_of(path: &str, routes: usize) -> usize {
    path.strip_prefix("/r")
        .and_then(|rest| rest.split('/').next())
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|n| *n < routes.saturating_sub(1))
        .map_or(0, |n| n % UPSTREAMS)
}

/// The time of one `resolve` of GET `path`, which must reach `upstream`.
fn per_match(table: &RouteTable, path: &str, upstream: &str) -> anyhow::Result<String> {
    let headers = HeaderMap::new();
    match table.resolve(&Method::GET, path, &headers) {
        Resolution::Found { upstream: u, .. } if &*u.name == upstream => {}
        Resolution::Found { upstream: u, .. } => {
            anyhow::bail!("{path} went to {}, not {upstream}", u.name)
        }
        _ => anyhow::bail!("{path} matched nothing"),
    }
    // As many matches as fit in about 200 ms, then the mean of each.
    let mut n = 0u64;
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(200) {
        for _ in 0..64 {
            black_box(table.resolve(&Method::GET, black_box(path), &headers));
        }
        n += 64;
    }
    let each = started.elapsed().as_secs_f64() / n as f64;
    Ok(if each < 1e-6 {
        format!("{:.0} ns", each * 1e9)
    } else {
        format!("{:.1} µs", each * 1e6)
    })
}

fn median(
    runs: usize,
    mut once: impl FnMut() -> anyhow::Result<Duration>,
) -> anyhow::Result<Duration> {
    let mut times = (0..runs)
        .map(|_| once())
        .collect::<anyhow::Result<Vec<_>>>()?;
    times.sort();
    Ok(times[times.len() / 2])
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    // Written beside and renamed, as an editor or a deploy would.
    let staged = path.with_extension("yaml.new");
    std::fs::write(&staged, text)?;
    std::fs::rename(&staged, path)?;
    Ok(())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

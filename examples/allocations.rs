//! Heap allocations per proxied request: runs `gateway serve` in this process with a
//! counting allocator (dhat's), sends requests to it from client threads that allocate
//! nothing while they measure, and prints the allocations and bytes the gateway made per
//! request. The upstream runs elsewhere (`stub-upstream`), so nothing else in this process
//! allocates on the request's path.
//!
//! ```text
//! cargo run --release --example allocations -- --upstream users=http://127.0.0.1:18081
//! ```
//!
//! Prints one line, `allocations per request: A, bytes per request: B (N requests over C
//! connections, GET PATH)`; `--profile FILE` also writes dhat's profile, every allocation
//! site with its backtrace, for dhat's viewer.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Parser;
use gateway::startup::{self, ServeConfig};
use gateway::table::{Overrides, UpstreamOverride};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[derive(Debug, Parser)]
struct Args {
    /// The routes file served.
    #[arg(long, default_value = "routes.yaml")]
    routes: PathBuf,
    /// `NAME=URL`: where an upstream of the file really is (repeatable).
    #[arg(long = "upstream")]
    upstreams: Vec<UpstreamOverride>,
    /// The path every request asks for.
    #[arg(long, default_value = "/users/1")]
    path: String,
    /// One extra request header, `name: value` (a bearer token, say).
    #[arg(long)]
    header: Option<String>,
    /// Requests measured, spread over the connections.
    #[arg(long, default_value_t = 20_000)]
    requests: usize,
    /// Keep-alive connections, one client thread each.
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// Also write dhat's profile of the whole run (every allocation site, for dhat's
    /// viewer) to this file.
    #[arg(long)]
    profile: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("allocations: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> anyhow::Result<String> {
    let _profiler = match &args.profile {
        Some(file) => dhat::Profiler::builder().file_name(file).build(),
        None => dhat::Profiler::builder().testing().build(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let overrides: Overrides = args.upstreams.iter().cloned().collect();
    let workers = startup::default_workers();
    let config = ServeConfig {
        routes: args.routes.clone(),
        listen: "127.0.0.1:0".parse()?,
        admin: "127.0.0.1:0".parse()?,
        admin_token: None,
        overrides,
        watch: false,
        sighup: false,
        shutdown_grace: Duration::from_secs(1),
        workers,
        max_concurrent_requests: startup::default_max_concurrent_requests(workers),
    };
    let running = runtime.block_on(startup::start(config))?;
    let addr = running.addr;

    let connections = args.connections.max(1);
    let per_connection = args.requests.div_ceil(connections);
    let mut request = format!("GET {} HTTP/1.1\r\nHost: {addr}\r\n", args.path);
    if let Some(header) = &args.header {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    let request: Arc<[u8]> = request.into_bytes().into();
    // Warmed up, measuring, done: the counts are read while every client waits.
    let warmed = Arc::new(Barrier::new(connections + 1));
    let go = Arc::new(Barrier::new(connections + 1));
    let done = Arc::new(Barrier::new(connections + 1));
    let clients: Vec<_> = (0..connections)
        .map(|_| {
            let (request, warmed, go, done) = (
                Arc::clone(&request),
                Arc::clone(&warmed),
                Arc::clone(&go),
                Arc::clone(&done),
            );
            std::thread::spawn(move || -> anyhow::Result<()> {
                let mut client = Client::connect(addr)?;
                // Warm-up: the connection, the upstream pool, every lazy first-use.
                for _ in 0..200 {
                    client.exchange(&request)?;
                }
                warmed.wait();
                go.wait();
                let measured = (0..per_connection).try_for_each(|_| client.exchange(&request));
                done.wait();
                measured
            })
        })
        .collect();
    warmed.wait();
    let before = dhat::HeapStats::get();
    go.wait();
    done.wait();
    let after = dhat::HeapStats::get();
    for client in clients {
        client
            .join()
            .map_err(|_| anyhow::anyhow!("a client thread panicked"))??;
    }
    runtime.block_on(running.stop());
    let requests = (per_connection * connections) as f64;
    let blocks = (after.total_blocks - before.total_blocks) as f64 / requests;
    let bytes = (after.total_bytes - before.total_bytes) as f64 / requests;
    Ok(format!(
        "allocations per request: {blocks:.1}, bytes per request: {bytes:.0} ({} requests over {connections} connections, GET {})",
        per_connection * connections,
        args.path
    ))
}

/// A keep-alive HTTP/1.1 client that allocates nothing per exchange.
struct Client {
    stream: TcpStream,
    buffer: Box<[u8; 64 * 1024]>,
}

impl Client {
    fn connect(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr).context("connecting to the gateway")?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(Self {
            stream,
            buffer: Box::new([0; 64 * 1024]),
        })
    }

    /// Sends `request` and reads its whole answer, which must be 2xx with a length.
    fn exchange(&mut self, request: &[u8]) -> anyhow::Result<()> {
        self.stream.write_all(request)?;
        let mut filled = 0;
        let (head, length) = loop {
            let read = self.stream.read(&mut self.buffer[filled..])?;
            if read == 0 {
                bail!("the gateway closed the connection");
            }
            filled += read;
            if let Some(end) = find(&self.buffer[..filled], b"\r\n\r\n") {
                let head = &self.buffer[..end];
                if !head.starts_with(b"HTTP/1.1 2") {
                    bail!(
                        "answer: {}",
                        String::from_utf8_lossy(&head[..head.len().min(64)])
                    );
                }
                break (
                    end + 4,
                    content_length(head).context("an answer without Content-Length")?,
                );
            }
            if filled == self.buffer.len() {
                bail!("an answer head larger than the buffer");
            }
        };
        let mut body = filled - head;
        while body < length {
            let read = self.stream.read(&mut self.buffer[..])?;
            if read == 0 {
                bail!("the gateway closed the connection mid-body");
            }
            body += read;
        }
        Ok(())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn content_length(head: &[u8]) -> Option<usize> {
    head.split(|&b| b == b'\n').find_map(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let colon = line.iter().position(|&b| b == b':')?;
        let (name, value) = line.split_at(colon);
        if !name.eq_ignore_ascii_case(b"content-length") {
            return None;
        }
        std::str::from_utf8(&value[1..]).ok()?.trim().parse().ok()
    })
}

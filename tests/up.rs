//! `gateway up` end to end: the real binary on free ports with `--fresh`, a timeline
//! fetched through its gateway, then SIGINT: every part stops and the command exits 0.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::BufRead as _;
use std::net::TcpStream;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The six parts `up` runs, as its table and its log prefixes name them.
const PARTS: [&str; 6] = [
    "gateway", "monolith", "users", "friends", "messages", "timeline",
];

/// Every port flag of `up`, each given 0 so the test never clashes with a running stack.
const FREE_PORTS: [&str; 14] = [
    "--gateway-port",
    "0",
    "--admin-port",
    "0",
    "--users-port",
    "0",
    "--friends-port",
    "0",
    "--messages-port",
    "0",
    "--timeline-port",
    "0",
    "--monolith-port",
    "0",
];

/// A world that fills in a moment.
const SMALL: &str = "users=60,friends=6,messages=4";

/// `gateway up` run from an empty directory, its stdout lines sent to a channel.
struct Up {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    _cwd: tempfile::TempDir,
}

impl Up {
    /// `up --fresh --demo DEMO`, on free ports, with `extra` flags.
    fn start(demo: &str, extra: &[&str]) -> Self {
        let cwd = tempfile::tempdir().unwrap();
        let routes = concat!(env!("CARGO_MANIFEST_DIR"), "/routes.yaml");
        let mut child = Command::new(env!("CARGO_BIN_EXE_gateway"))
            .args(["up", "--fresh", "--demo", demo, "--routes", routes])
            .args(FREE_PORTS)
            .args(extra)
            .current_dir(cwd.path())
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                let _ = tx.send(line);
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
            _cwd: cwd,
        }
    }

    /// The next stdout line, or `None` once `up` closed stdout or a minute passed.
    fn next_line(&mut self) -> Option<String> {
        let line = self.lines.recv_timeout(Duration::from_secs(60)).ok()?;
        self.seen.push(line.clone());
        Some(line)
    }

    /// Reads stdout up to the end of the table; returns each part's URL.
    fn table(&mut self) -> Vec<(String, String)> {
        let mut rows = Vec::new();
        while let Some(line) = self.next_line() {
            if line.starts_with("data in ") {
                return rows;
            }
            let mut words = line.split_whitespace();
            if let (Some(part), Some(url)) = (words.next(), words.next())
                && PARTS.contains(&part)
                && url.starts_with("http://")
            {
                rows.push((part.to_owned(), url.to_owned()));
            }
        }
        panic!("up ended before printing its table: {:#?}", self.seen);
    }

    fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    }

    /// Waits up to 30 s for `up` to exit; then drains the rest of its stdout.
    fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                while let Some(_line) = self.next_line() {}
                return status;
            }
            assert!(Instant::now() < deadline, "up did not exit within 30 s");
            // Reading its output while it stops paces the loop.
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(50)) {
                self.seen.push(line);
            }
        }
    }

    fn stderr(&mut self) -> String {
        let mut text = String::new();
        std::io::Read::read_to_string(self.child.stderr.as_mut().unwrap(), &mut text).unwrap();
        text
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn url_of<'a>(table: &'a [(String, String)], part: &str) -> &'a str {
    &table.iter().find(|(name, _)| name == part).unwrap().1
}

fn accepts(url: &str) -> bool {
    TcpStream::connect(url.trim_start_matches("http://")).is_ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn up_serves_a_timeline_through_the_gateway_and_stops_on_sigint() {
    let mut up = Up::start(SMALL, &[]);
    let table = tokio::task::block_in_place(|| up.table());
    let names: Vec<&str> = table.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "gateway", "monolith", "users", "friends", "messages", "timeline"
        ]
    );
    let gateway = url_of(&table, "gateway");

    let data_dir = up
        .seen
        .iter()
        .find_map(|line| line.strip_prefix("data in "))
        .and_then(|rest| rest.split(' ').next())
        .map(std::path::PathBuf::from)
        .unwrap();
    // A timeline is its owner's only: `up` made a signing key in its data directory and
    // trusts it, and `gateway token` signs with it.
    assert!(data_dir.join("signing-key.pem").exists());
    let anonymous = reqwest::get(format!("{gateway}/timeline/1")).await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let out = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .args(["token", "--user", "1", "--data"])
        .arg(&data_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();

    // The shipped routes.yaml sends timelines to the timeline service, which composes
    // them from the three services; the monolith answers the rest.
    let response = reqwest::Client::new()
        .get(format!("{gateway}/timeline/1"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["x-upstream"].to_str().unwrap(),
        "timeline"
    );
    let timeline: Value = response.json().await.unwrap();
    let entries = timeline["entries"].as_array().unwrap();
    assert!(!entries.is_empty(), "{timeline}");
    for entry in entries {
        assert!(
            entry["friend"]["name"]
                .as_str()
                .is_some_and(|n| !n.is_empty())
        );
    }
    // Every part holds the same demo world: the monolith's user 1 is the users service's.
    let direct: Value = reqwest::get(format!("{}/users/1", url_of(&table, "monolith")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let routed: Value = reqwest::get(format!("{gateway}/users/1"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(direct, routed);

    assert!(data_dir.join("users.db").exists(), "{}", data_dir.display());

    up.signal("INT");
    let status = tokio::task::block_in_place(|| up.wait());
    assert!(status.success(), "exit status {status}");
    for (part, url) in &table {
        assert!(!accepts(url), "{part} still listens on {url}");
    }
    assert!(
        !data_dir.exists(),
        "--fresh left {} behind",
        data_dir.display()
    );
    for part in PARTS {
        let prefix = format!("{part:<8} | ");
        assert!(
            up.seen.iter().any(|line| line.starts_with(&prefix)),
            "no log line of {part}: {:#?}",
            up.seen
        );
    }
}

#[test]
fn a_taken_port_is_one_clear_line_and_nothing_runs() {
    for (flag, part) in [
        ("--users-port", "users"),
        ("--gateway-port", "gateway"),
        ("--admin-port", "gateway admin"),
    ] {
        taken_port_is_refused(flag, part);
    }
}

fn taken_port_is_refused(flag: &str, part: &str) {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    // The last of a repeated flag wins: this one overrides the free port.
    let mut up = Up::start(SMALL, &[flag, &port]);
    let status = up.wait();
    assert_eq!(status.code(), Some(1), "{flag}");
    let stderr = up.stderr();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!("up: {part}: cannot listen on 127.0.0.1:{port}"))
            && stderr.contains("already in use"),
        "{stderr}"
    );
    assert!(
        !up.seen.iter().any(|line| line.contains("listening")),
        "{:#?}",
        up.seen
    );
}

#[test]
fn sigterm_during_startup_stops_cleanly() {
    // A world big enough that filling it is still under way when the signal arrives.
    let mut up = Up::start("users=20000,friends=20,messages=20", &[]);
    let line = up.next_line();
    assert!(line.is_some(), "up printed nothing");
    up.signal("TERM");
    let status = up.wait();
    assert!(status.success(), "exit status {status}; {}", up.stderr());
    assert!(
        !up.seen.iter().any(|line| line.starts_with("data in ")),
        "{:#?}",
        up.seen
    );
}

//! The `gateway` binary itself: `check` on every shipped file, `serve` refusing an invalid
//! one, and `serve` configured from the environment, reloading on SIGHUP and stopping
//! cleanly on SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{Upstreams, client, signal, version_of};

const BIN: &str = env!("CARGO_BIN_EXE_gateway");

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn check_passes_every_shipped_file_with_a_summary() {
    let mut files = vec!["routes.yaml".to_owned()];
    for phase in [
        "0-monolith",
        "1-users",
        "2-friends",
        "3-messages",
        "4-timeline",
    ] {
        files.push(format!("load/phases/{phase}.yaml"));
    }
    for file in files {
        let out = Command::new(BIN)
            .current_dir(root())
            .args(["check", &file])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.starts_with(&format!("{file}: ok, version ")),
            "{stdout}"
        );
        assert!(stdout.contains("/users/{id}/friends"), "{stdout}");
        assert!(stdout.lines().count() < 25, "more than a screen:\n{stdout}");
    }
}

#[test]
fn check_lists_every_error_at_line_and_column_and_fails() {
    let file = "testdata/routes/invalid-many.yaml";
    let out = Command::new(BIN)
        .current_dir(root())
        .args(["check", file])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains(": error: ")).collect();
    assert_eq!(errors.len(), 7, "{stderr}");
    for (line, needle) in [
        ("3:20", "not a duration"),
        ("5:16", "must be http://"),
        ("6:19", "must not have a path"),
        ("9:9", "unknown upstream `userz`"),
        ("10:1", "duplicate route"),
        ("13:12", "sum to 0"),
        ("15:20", "`FETCH` is not a method"),
    ] {
        let prefix = format!("{file}:{line}: error: ");
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with(&prefix) && e.contains(needle)),
            "no {prefix}…{needle} in\n{stderr}"
        );
    }
    assert!(
        stderr.ends_with("7 error(s); the table would not be loaded\n"),
        "{stderr}"
    );
    let out = Command::new(BIN)
        .args(["check", "/no/such/routes.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /no/such/routes.yaml"));
}

#[test]
fn serve_refuses_an_invalid_file_with_its_errors_and_starts_nothing() {
    let file = "testdata/routes/invalid-many.yaml";
    let out = Command::new(BIN)
        .current_dir(root())
        .args(["serve", "--routes", file])
        .args(["--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"])
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("gateway: the routes file is invalid; nothing was started"),
        "{stderr}"
    );
    assert!(
        stderr.contains("9:9") && stderr.contains("unknown upstream `userz`"),
        "{stderr}"
    );
    // An error for the operator, not a crash report.
    assert!(!stderr.contains("backtrace"), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("listening"));
}

#[test]
fn check_reports_every_auth_and_rate_limit_error_at_its_place() {
    let file = "testdata/routes/invalid-auth.yaml";
    let out = Command::new(BIN)
        .current_dir(root())
        .args(["check", file])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for (at, needle) in [
        ("5:16", "audiences: list at least one"),
        ("6:18", "`HS256` is refused"),
        ("7:15", "http:// or https://"),
        ("11:33", "`always` is not `required`, `optional` or `none`"),
        ("12:42", "`owner` needs `auth: required`"),
        ("13:40", "`subject` needs `auth"),
        ("14:53", "`lots` has no `/`"),
    ] {
        let prefix = format!("{file}:{at}: error: ");
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with(&prefix) && l.contains(needle)),
            "no {prefix}…{needle} in\n{stderr}"
        );
    }
}

#[test]
fn check_refuses_every_bad_shadow_at_its_place() {
    let file = "testdata/routes/invalid-shadow.yaml";
    let out = Command::new(BIN)
        .current_dir(root())
        .args(["check", file])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for (at, needle) in [
        (
            "6:59",
            "the route serves only POST; only GET and HEAD are ever shadowed",
        ),
        ("7:54", "shadow.to: unknown upstream `userz`"),
        ("8:47", "shadow.to: `users` already serves this route"),
        ("9:66", "shadow.percent: 150 is outside 0..=100"),
        ("9:80", "`generated_at` is not a JSON pointer"),
    ] {
        let prefix = format!("{file}:{at}: error: ");
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with(&prefix) && l.contains(needle)),
            "no {prefix}…{needle} in\n{stderr}"
        );
    }
}

#[test]
fn check_refuses_a_jwks_file_that_is_no_jwks() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("jwks.json");
    std::fs::write(&bad, "-----BEGIN PRIVATE KEY-----\n").unwrap();
    let out = Command::new(BIN)
        .current_dir(root())
        .args(["check", "routes.yaml", "--jwks"])
        .arg(format!("demo={}", bad.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("routes.yaml:") && stderr.contains("not a JWKS document"),
        "{stderr}"
    );
    let good = crate::tokens::DEMO.jwks_file.display().to_string();
    let out = Command::new(BIN)
        .current_dir(root())
        .args(["check", "routes.yaml", "--jwks", &format!("demo={good}")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("[auth required, owner {user_id}]"),
        "{stdout}"
    );
    assert!(stdout.contains("issuer demo: iss gateway-demo"), "{stdout}");
}

#[tokio::test]
async fn serve_reads_its_flags_from_the_environment_reloads_on_sighup_and_stops_on_sigterm() {
    let upstreams = Upstreams::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("routes.yaml");
    let phase0 = std::fs::read_to_string(root().join("load/phases/0-monolith.yaml")).unwrap();
    let phase1 = std::fs::read_to_string(root().join("load/phases/1-users.yaml")).unwrap();
    std::fs::write(&file, &phase0).unwrap();
    let overrides: Vec<String> = upstreams
        .all
        .iter()
        .map(|u| format!("{}={}", u.name, u.url()))
        .collect();
    let mut child = Command::new(BIN)
        .arg("serve")
        .env("GATEWAY_ROUTES", &file)
        .env("GATEWAY_LISTEN", "127.0.0.1:0")
        .env("GATEWAY_ADMIN", "127.0.0.1:0")
        .env("GATEWAY_UPSTREAMS", overrides.join(","))
        .env(
            "GATEWAY_JWKS",
            format!("demo={}", crate::tokens::DEMO.jwks_file.display()),
        )
        .env("GATEWAY_NO_WATCH", "true")
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // The first log line saying "gateway listening" carries both addresses.
    let (addr, admin) = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref().take(50) {
            let line = line.unwrap();
            let Ok(json) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if json["fields"]["message"] == "gateway listening" {
                let field = |k: &str| json["fields"][k].as_str().unwrap().to_owned();
                // Keep draining so the child never blocks on a full pipe.
                std::thread::spawn(move || lines.for_each(drop));
                return (field("addr"), field("admin_addr"));
            }
        }
        panic!("the gateway never said it was listening");
    })
    .await
    .unwrap();
    let http = client();
    let upstream_of = |path: &'static str| {
        let url = format!("http://{addr}{path}");
        let http = http.clone();
        async move {
            let token = crate::tokens::demo_token("1");
            let response = http.get(url).bearer_auth(token).send().await.unwrap();
            response.headers()["x-upstream"]
                .to_str()
                .unwrap()
                .to_owned()
        }
    };
    assert_eq!(upstream_of("/users/1").await, "monolith");

    std::fs::write(&file, &phase1).unwrap();
    let pid = child.id();
    signal(pid, "HUP");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let routes: serde_json::Value = http
            .get(format!("http://{admin}/admin/routes"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if routes["version"] == version_of(&phase1) {
            assert_eq!(routes["trigger"], "sighup");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "SIGHUP did not reload"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(upstream_of("/users/1").await, "users");
    assert_eq!(upstream_of("/timeline/1").await, "monolith");

    signal(pid, "TERM");
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
}

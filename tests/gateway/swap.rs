//! Swaps under load: several clients send reads and writes to every endpoint family for
//! several seconds while the table is swapped across the phase files at least 50 times,
//! through every reload path. No request may fail, every response must come from an
//! upstream that a table active during the request allowed, and every write must be
//! applied exactly once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::reload::{sighup, write_atomically};
use crate::routing::{ENDPOINTS, PHASES, expected};
use crate::support::{Gateway, Upstreams, WRITE_ID, shipped, version_of};

const CLIENTS: usize = 4;
const MIN_SWAPS: usize = 60;
const MIN_LOAD: Duration = Duration::from_secs(4);

/// One swap: which phase, when it was asked for, and when the admin API first showed it.
#[derive(Debug, Clone, Copy)]
struct Swap {
    phase: usize,
    asked: Instant,
    seen: Instant,
}

/// One request: what it was, when it was sent and answered, and who answered.
#[derive(Debug)]
struct Served {
    family: &'static str,
    sent: Instant,
    answered: Instant,
    upstream: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swaps_under_load_fail_nothing_route_correctly_and_apply_writes_once() {
    let upstreams = Upstreams::start().await;
    // Without the shipped per-user limit on posting: every client here posts as user 1, as
    // fast as the gateway answers, and this test is about swaps, not limits (tests/gateway/
    // limits.rs is).
    let texts: Vec<String> = PHASES
        .iter()
        .map(|(file, _)| {
            let text = shipped(file);
            let unlimited: Vec<&str> = text
                .lines()
                .filter(|line| !line.trim_start().starts_with("rate_limit:"))
                .collect();
            assert!(
                unlimited.len() < text.lines().count(),
                "{file} has a rate limit"
            );
            unlimited.join("\n") + "\n"
        })
        .collect();
    let gateway = Arc::new(Gateway::start(&texts[0], upstreams.overrides()).await);
    let start = Instant::now();
    let swaps = Arc::new(Mutex::new(vec![Swap {
        phase: 0,
        asked: start,
        seen: start,
    }]));
    let stop = Arc::new(AtomicBool::new(false));
    let next_write = Arc::new(AtomicUsize::new(0));

    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (gateway, stop, next_write) = (
            Arc::clone(&gateway),
            Arc::clone(&stop),
            Arc::clone(&next_write),
        );
        // Every path names user 1, so user 1's token passes every owner check.
        let token = crate::tokens::demo_token("1");
        clients.push(tokio::spawn(async move {
            let mut served = Vec::new();
            let mut writes = Vec::new();
            let mut i = c;
            while !stop.load(Ordering::SeqCst) && served.len() < 200_000 {
                let (family, method, path) = ENDPOINTS[i % ENDPOINTS.len()];
                i += 1;
                let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
                let mut request = gateway
                    .http
                    .request(method.clone(), gateway.url(path))
                    .bearer_auth(&token)
                    .body("{}");
                let write = (method != reqwest::Method::GET)
                    .then(|| format!("w{}", next_write.fetch_add(1, Ordering::SeqCst)));
                if let Some(id) = &write {
                    request = request.header(WRITE_ID, id);
                }
                let sent = Instant::now();
                let response = request
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("{method} {path} failed: {e}"));
                let answered = Instant::now();
                assert_eq!(response.status(), 200, "{method} {path}");
                let upstream = response.headers()["x-upstream"]
                    .to_str()
                    .unwrap()
                    .to_owned();
                served.push(Served {
                    family,
                    sent,
                    answered,
                    upstream,
                });
                writes.extend(write);
            }
            (served, writes)
        }));
    }

    // Swap through the phases and back, rotating the reload path each time.
    let mut phase = 0usize;
    let mut forward = true;
    let mut by_path = [0usize; 4];
    let mut triggers: HashMap<String, usize> = HashMap::new();
    let mut n = 0;
    while n < MIN_SWAPS || start.elapsed() < MIN_LOAD {
        if (forward && phase == PHASES.len() - 1) || (!forward && phase == 0) {
            forward = !forward;
        }
        phase = if forward { phase + 1 } else { phase - 1 };
        let text = &texts[phase];
        let asked = Instant::now();
        let path = n % 4;
        match path {
            0 => std::fs::write(&gateway.file, text).unwrap(),
            1 => write_atomically(&gateway.file, text),
            // Replaced atomically before a SIGHUP or an admin reload: the watcher may have
            // swapped the table in before the signal's own load runs, which may then read
            // the file while the next swap writes it; a rename is never seen half done.
            2 => {
                write_atomically(&gateway.file, text);
                sighup();
            }
            _ => {
                write_atomically(&gateway.file, text);
                let response = gateway.reload().await;
                assert_eq!(response.status(), 200);
            }
        }
        let routes = gateway.wait_for_version(&version_of(text)).await;
        *triggers
            .entry(routes["trigger"].as_str().unwrap().to_owned())
            .or_default() += 1;
        swaps.lock().unwrap().push(Swap {
            phase,
            asked,
            seen: Instant::now(),
        });
        by_path[path] += 1;
        n += 1;
    }
    stop.store(true, Ordering::SeqCst);

    let mut served = Vec::new();
    let mut writes = Vec::new();
    for client in clients {
        let (s, w) = client.await.unwrap();
        served.extend(s);
        writes.extend(w);
    }
    let swaps = swaps.lock().unwrap().clone();
    assert!(swaps.len() > MIN_SWAPS, "{} swaps", swaps.len());
    assert!(
        by_path.iter().all(|&n| n >= 10),
        "swaps by path (write, rename, sighup, admin): {by_path:?}"
    );
    // Which load swapped a table in is a race: the watcher may beat SIGHUP or the admin
    // call to a file it also saw change (they then find nothing new). That each path swaps
    // on its own is tested in reload.rs; here every path ran, and the watcher took most of
    // the plain writes and renames (a late SIGHUP's load may take one now and then).
    assert!(
        triggers
            .get("file")
            .is_some_and(|&n| n >= (by_path[0] + by_path[1]) / 2),
        "swaps by trigger: {triggers:?}"
    );
    assert!(served.len() > 500, "only {} requests", served.len());

    eprintln!(
        "{} requests, {} writes, {} swaps by trigger {triggers:?} in {:?}",
        served.len(),
        writes.len(),
        swaps.len() - 1,
        start.elapsed()
    );
    // Phase i was active at most from `asked_i` to `seen_{i+1}`; a request was routed at
    // some moment between sending and answer, so its upstream must be what one of the
    // phases active in that window says.
    for s in &served {
        let allowed: Vec<&str> = swaps
            .iter()
            .enumerate()
            .filter(|(i, swap)| {
                let until = swaps.get(i + 1).map_or(s.answered, |next| next.seen);
                swap.asked <= s.answered && until >= s.sent
            })
            .map(|(_, swap)| expected(swap.phase, s.family))
            .collect();
        assert!(
            allowed.contains(&s.upstream.as_str()),
            "{} was served by {} but the tables active then allowed {allowed:?}",
            s.family,
            s.upstream
        );
    }

    // Every file the watcher read was whole: no load was refused along the way.
    let routes = gateway.routes().await;
    assert!(
        routes["last_rejected"].is_null(),
        "{}",
        routes["last_rejected"]
    );

    // Writes: each applied exactly once, and nothing applied that was not sent.
    let applied = upstreams.writes();
    assert_eq!(applied.len(), writes.len(), "writes applied vs sent");
    for id in &writes {
        assert_eq!(applied.get(id), Some(&1), "write {id}");
    }
}

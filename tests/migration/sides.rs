//! The four sides of the migration: the monolith and the users, friends and messages
//! services, in this process with SQLite files of their own, replicating to each other over
//! their change feeds as `gateway up` runs them.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use kit::cli::ServiceConfig as _;
use kit::test_util::eventually;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// How long replication may take to show a write on the other side.
pub(crate) const SOON: Duration = Duration::from_secs(15);

/// The four sides, each on a port of its own bound once, with its own stop.
pub(crate) struct Sides {
    dir: tempfile::TempDir,
    addrs: [SocketAddr; 4],
    stops: [CancellationToken; 4],
    pub(crate) http: reqwest::Client,
}

/// The sides, in `Sides::addrs` order.
pub(crate) const MONOLITH: usize = 0;
pub(crate) const USERS: usize = 1;
pub(crate) const FRIENDS: usize = 2;
pub(crate) const MESSAGES: usize = 3;
pub(crate) const NAMES: [&str; 4] = ["monolith", "users", "friends", "messages"];

impl Sides {
    /// The monolith filled with the demo world `monolith_demo`, the services with
    /// `services_demo` (`None` starts them empty), replicating as `up` configures it.
    pub(crate) async fn start(monolith_demo: &str, services_demo: Option<&str>) -> Self {
        kit::test_util::init_tracing();
        let mut addrs = Vec::new();
        let mut listeners = Vec::new();
        for _ in NAMES {
            let listener = kit::server::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
                .await
                .unwrap();
            addrs.push(listener.local_addr().unwrap());
            listeners.push(listener);
        }
        let sides = Self {
            dir: tempfile::tempdir().unwrap(),
            addrs: addrs.try_into().unwrap(),
            stops: std::array::from_fn(|_| CancellationToken::new()),
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
        };
        for (side, listener) in listeners.into_iter().enumerate() {
            let demo = if side == MONOLITH {
                Some(monolith_demo)
            } else {
                services_demo
            };
            sides.serve(side, listener, demo);
        }
        sides
    }

    pub(crate) fn url(&self, side: usize, path: &str) -> String {
        format!("http://{}{path}", self.addrs[side])
    }

    /// The command line `up` gives `side`.
    fn args(&self, side: usize, demo: Option<&str>) -> Vec<String> {
        let name = NAMES[side];
        let db = self.dir.path().join(format!("{name}.db"));
        let mut args = vec![
            name.to_owned(),
            format!("--listen={}", self.addrs[side]),
            format!("--database=sqlite://{}", db.display()),
        ];
        if let Some(demo) = demo {
            args.push(format!("--demo={demo}"));
        }
        if side == MONOLITH {
            args.push(format!(
                "--replicate-from=users={},friends={},messages={}",
                self.url(USERS, ""),
                self.url(FRIENDS, ""),
                self.url(MESSAGES, "")
            ));
            args.push("--id-slot=1/2".to_owned());
        } else {
            args.push(format!(
                "--replicate-from=monolith={}",
                self.url(MONOLITH, "")
            ));
            args.push("--id-slot=2/2".to_owned());
        }
        if side == FRIENDS || side == MESSAGES {
            args.push(format!("--users-url={}", self.url(USERS, "")));
        }
        args
    }

    /// Serves `side` on `listener` until its stop is cancelled.
    fn serve(&self, side: usize, listener: TcpListener, demo: Option<&str>) {
        let args = self.args(side, demo);
        let stop = self.stops[side].clone();
        let shutdown = async move { stop.cancelled().await };
        let served = async move {
            match side {
                MONOLITH => {
                    let config = monolith::Config::try_from_args(args).unwrap();
                    monolith::serve(config, listener, shutdown).await
                }
                USERS => {
                    let config = users::Config::try_from_args(args).unwrap();
                    users::serve(config, listener, shutdown).await
                }
                FRIENDS => {
                    let config = friends::Config::try_from_args(args).unwrap();
                    friends::serve(config, listener, shutdown).await
                }
                _ => {
                    let config = messages::Config::try_from_args(args).unwrap();
                    messages::serve(config, listener, shutdown).await
                }
            }
        };
        tokio::spawn(async move { served.await.expect("a side failed") });
    }

    /// Stops `side`; its port answers nothing until [`restart`](Self::restart).
    pub(crate) async fn stop(&mut self, side: usize) {
        self.stops[side].cancel();
        // The listener closes once the server has finished.
        eventually("the side to stop", SOON, || async {
            tokio::net::TcpStream::connect(self.addrs[side])
                .await
                .is_err()
                .then_some(())
        })
        .await;
    }

    /// Starts `side` again on its port and database.
    pub(crate) async fn restart(&mut self, side: usize) {
        self.stops[side] = CancellationToken::new();
        let listener = kit::server::bind(self.addrs[side]).await.unwrap();
        self.serve(side, listener, None);
    }

    pub(crate) async fn get(&self, side: usize, path: &str) -> (u16, Value) {
        let response = self.http.get(self.url(side, path)).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub(crate) async fn send(
        &self,
        side: usize,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let method: reqwest::Method = method.parse().unwrap();
        let mut request = self.http.request(method.clone(), self.url(side, path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let position = response.headers().get("x-change-position").cloned();
        let body = response.json().await.unwrap_or(Value::Null);
        assert!(
            status.is_success(),
            "{method} {path} on {}: {status} {body}",
            NAMES[side]
        );
        assert!(position.is_some(), "{method} {path}: no X-Change-Position");
        body
    }

    /// Waits until `path` on `side` answers `status` with a body that `check` accepts.
    pub(crate) async fn until(
        &self,
        side: usize,
        path: &str,
        status: u16,
        check: impl Fn(&Value) -> bool,
    ) {
        let what = format!("GET {path} on {} to answer {status}", NAMES[side]);
        eventually(&what, SOON, || async {
            let (got, body) = self.get(side, path).await;
            (got == status && check(&body)).then_some(())
        })
        .await;
    }

    /// Every side's feed head.
    pub(crate) async fn heads(&self) -> Vec<Value> {
        let mut heads = Vec::new();
        for side in 0..NAMES.len() {
            heads.push(self.get(side, "/feeds").await.1["head"].clone());
        }
        heads
    }

    /// The follower of `side` named `consumer`, as `GET /feeds` shows it.
    pub(crate) async fn follower(&self, side: usize, consumer: &str) -> Value {
        let (_, feeds) = self.get(side, "/feeds").await;
        feeds["followers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["consumer"] == consumer)
            .cloned()
            .unwrap_or_else(|| panic!("no follower {consumer} on {}: {feeds}", NAMES[side]))
    }
}

impl Drop for Sides {
    fn drop(&mut self) {
        for stop in &self.stops {
            stop.cancel();
        }
    }
}

/// `1,2,3`: the `ids=` of a bulk read.
pub(crate) fn id_list(ids: impl IntoIterator<Item = i64>) -> String {
    ids.into_iter()
        .map(|id| id.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// The ids of a page of friends (`{"user_id": 1, "friend_ids": [...]}`, on every side).
pub(crate) fn friend_ids(body: &Value) -> BTreeSet<i64> {
    body["friend_ids"]
        .as_array()
        .map(|friends| friends.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default()
}

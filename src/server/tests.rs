use std::collections::BTreeMap;
use std::sync::Mutex;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;

use super::*;
use crate::snapshot::{ClientCache, Trigger};
use crate::table::{self, Overrides};

/// The fields of every `request` span, in the order the spans were made; each span
/// remembers its index in its extensions, for the fields recorded later.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<BTreeMap<String, String>>>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Spans {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != "request" {
            return;
        }
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        let mut spans = self.0.lock().unwrap();
        spans.push(fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(spans.len() - 1);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(index) = ctx
            .span(id)
            .and_then(|span| span.extensions().get::<usize>().copied())
        else {
            return;
        };
        values.record(&mut Fields(&mut self.0.lock().unwrap()[index]));
    }
}

/// A proxy listener on an ephemeral port, serving `routes` (its upstreams as written).
async fn listener(routes: &str) -> (SocketAddr, CancellationToken) {
    let loaded = table::parse(routes, &Overrides::default()).unwrap();
    let snapshot = Snapshot::build(loaded, &mut ClientCache::new(1), Trigger::Startup);
    let tables = Arc::new(ArcSwap::from_pointee(snapshot));
    let stack = Stack::new(Proxy::new(tables, 0), Arc::new(Bound::new(8)));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    tokio::spawn(serve(listener, stack, stop.clone(), Duration::from_secs(1)));
    (addr, stop)
}

// A current-thread runtime: the listener, the proxy and the client all run on this thread,
// where the capturing subscriber is the default.
#[tokio::test]
async fn each_request_has_a_span_with_its_id_and_the_route_pattern_never_the_path() {
    let spans = Spans::default();
    let _default =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(spans.clone()));
    // Nothing listens on port 9: the request fails after matching, with a 502.
    let (addr, stop) = listener(
        "upstreams: {users: {url: 'http://127.0.0.1:9'}}\n\
         routes: [{path: '/users/{id}', to: users}]\n",
    )
    .await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let matched = http
        .get(format!("http://{addr}/users/42"))
        .header("x-request-id", "span-test-1")
        .send()
        .await
        .unwrap();
    assert_eq!(matched.status(), 502);
    let unmatched = http
        .get(format!("http://{addr}/nowhere"))
        .header("x-request-id", "span-test-2")
        .send()
        .await
        .unwrap();
    assert_eq!(unmatched.status(), 404);
    stop.cancel();

    let spans = spans.0.lock().unwrap().clone();
    assert_eq!(spans.len(), 2, "{spans:#?}");
    assert_eq!(spans[0]["request_id"], "span-test-1");
    assert_eq!(spans[0]["method"], "GET");
    assert_eq!(spans[0]["route"], "/users/{id}");
    assert_eq!(spans[1]["request_id"], "span-test-2");
    assert!(
        !spans[1].contains_key("route"),
        "no route matched: {spans:#?}"
    );
    for span in &spans {
        assert!(
            span.values()
                .all(|v| !v.contains("/users/42") && !v.contains("/nowhere")),
            "a raw path in a span: {span:#?}"
        );
    }
}

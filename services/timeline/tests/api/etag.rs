//! The timeline's `ETag` and `If-None-Match`, from the live view and composed alike.

use serde_json::Value;

use crate::stack::{Stack, without_generated_at};

const WORLD: &str = "users=60,friends=6,messages=4,seed=3,celebrities=1,celebrity_friends=20";

/// 2026-06-01T00:00:00Z: newer than every demo message.
const LATER: i64 = 1_780_272_000_000_000;

/// What a `GET` answered: status, `x-timeline-source`, `ETag`, body text.
struct Answer {
    status: u16,
    source: String,
    etag: String,
    body: String,
}

/// `GET path` on the timeline service with `positions` as `X-Change-Position` and
/// `If-None-Match: inm` when given.
async fn get(stack: &Stack, path: &str, positions: &[&str], inm: Option<&str>) -> Answer {
    let mut request = stack.client.get(stack.timeline.url(path));
    for position in positions {
        request = request.header("x-change-position", *position);
    }
    if let Some(inm) = inm {
        request = request.header("if-none-match", inm);
    }
    let response = request.send().await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let (source, etag) = (header("x-timeline-source"), header("etag"));
    Answer {
        status: response.status().as_u16(),
        source,
        etag,
        body: response.text().await.unwrap(),
    }
}

fn content(answer: &Answer) -> Value {
    without_generated_at(serde_json::from_str(&answer.body).unwrap())
}

#[tokio::test]
async fn the_tag_follows_the_content_whether_viewed_or_composed() {
    let stack = Stack::live(WORLD, &["--cache-ttl=0s", "--max-wait-for-writes=10s"]).await;
    let owner = 2;
    stack.until_view(owner).await;
    let path = format!("/timeline/{owner}");
    // A position of a feed the view does not follow composes at once.
    let compose = ["monolith:1"];

    let view = get(&stack, &path, &[], None).await;
    assert_eq!((view.status, view.source.as_str()), (200, "view"));
    let tag = view.etag.clone();
    assert!(
        tag.starts_with('"') && tag.ends_with('"') && tag.len() > 2,
        "{tag}"
    );
    assert_eq!(get(&stack, &path, &[], None).await.etag, tag, "stable");
    let composed = get(&stack, &path, &compose, None).await;
    assert_eq!(composed.source, "composed");
    assert_eq!(content(&composed), content(&view));
    assert_eq!(composed.etag, tag, "the same content, the same tag");

    // A tag held is a 304 with no body, on either path; `W/`, lists and `*` match too.
    let weak = format!("W/{tag}");
    let listed = format!("\"other\", {tag}");
    for inm in [tag.as_str(), weak.as_str(), listed.as_str(), "*"] {
        for positions in [&[][..], &compose[..]] {
            let answer = get(&stack, &path, positions, Some(inm)).await;
            assert_eq!(answer.status, 304, "{inm} {positions:?}");
            assert_eq!(answer.etag, tag);
            assert_eq!(answer.body, "");
        }
    }
    let other = get(&stack, &path, &[], Some("\"other\"")).await;
    assert_eq!((other.status, other.etag.as_str()), (200, tag.as_str()));
    assert_eq!(content(&other), content(&view));

    // A friend's new message changes the content, so the tag: the old one gets a 200.
    let friend = content(&view)["entries"][0]["friend"]["id"]
        .as_i64()
        .unwrap();
    let (id, position) = stack.write_message(friend, "fresh news", LATER).await;
    let after = get(&stack, &path, &[&position], Some(&tag)).await;
    assert_eq!((after.status, after.source.as_str()), (200, "view"));
    assert_ne!(after.etag, tag);
    assert_eq!(content(&after)["entries"][0]["messages"][0]["id"], id);
    let composed = get(&stack, &path, &compose, None).await;
    assert_eq!(composed.etag, after.etag);
    let held = get(&stack, &path, &[], Some(&after.etag)).await;
    assert_eq!(held.status, 304);

    // No timeline, nothing to match: `*` on an unknown user is the 404.
    assert_eq!(
        get(&stack, "/timeline/999999", &[], Some("*")).await.status,
        404
    );
}

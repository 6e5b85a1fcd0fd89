//! The timeline's `ETag` and `If-None-Match`.

use crate::helpers::{TestApp, spawn_app};

kit::on_both_backends!(the_timeline_tag_follows_its_content_and_if_none_match_gets_304);

/// `GET path` with `If-None-Match: inm`: status, `ETag`, body.
async fn get_if_none_match(app: &TestApp, path: &str, inm: &str) -> (u16, String, String) {
    let response = app
        .client
        .get(app.url(path))
        .header("if-none-match", inm)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let etag = response
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, etag, response.text().await.unwrap())
}

async fn etag_of(app: &TestApp, path: &str) -> String {
    let response = app.get(path).await;
    assert_eq!(response.status(), 200);
    response.headers()["etag"].to_str().unwrap().to_owned()
}

async fn the_timeline_tag_follows_its_content_and_if_none_match_gets_304(database_url: &str) {
    let app = spawn_app(database_url, None).await;
    let owner = app.user_id("Owner").await;
    let b = app.user_id("B").await;
    let c = app.user_id("C").await;
    app.befriend(owner, b).await;
    app.befriend(owner, c).await;
    app.post_message(b, "first").await;
    let path = format!("/timeline/{owner}");

    // Stable while nothing changes, though `generated_at` does.
    let tag = etag_of(&app, &path).await;
    assert!(
        tag.starts_with('"') && tag.ends_with('"') && tag.len() > 2,
        "{tag}"
    );
    assert_eq!(etag_of(&app, &path).await, tag);

    // A tag held is a 304 with no body; `W/`, lists and `*` match too.
    let weak = format!("W/{tag}");
    let listed = format!("\"other\", {tag}");
    for inm in [tag.as_str(), weak.as_str(), listed.as_str(), "*"] {
        let (status, etag, body) = get_if_none_match(&app, &path, inm).await;
        assert_eq!(
            (status, etag.as_str(), body.as_str()),
            (304, tag.as_str(), ""),
            "{inm}"
        );
    }
    // Another tag, or an unreadable field, gets the timeline.
    for inm in ["\"other\"", "not-a-tag"] {
        let (status, etag, body) = get_if_none_match(&app, &path, inm).await;
        assert_eq!((status, etag.as_str()), (200, tag.as_str()), "{inm}");
        assert!(body.contains("\"entries\""), "{body}");
    }

    // A friend's new message changes the timeline and its tag: the old tag gets a 200.
    app.post_message(c, "second").await;
    let (status, new_tag, body) = get_if_none_match(&app, &path, &tag).await;
    assert_eq!(status, 200);
    assert_ne!(new_tag, tag);
    assert!(body.contains("second"), "{body}");
    assert_eq!(etag_of(&app, &path).await, new_tag);

    // No timeline, nothing to match: `*` on an unknown user is the 404.
    let (status, _, _) = get_if_none_match(&app, "/timeline/999999", "*").await;
    assert_eq!(status, 404);
}

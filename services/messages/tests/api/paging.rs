use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_bad_request, ids, spawn_app};

kit::on_both_backends!(
    pages_concatenate_to_all_of_an_authors_messages_newest_first,
    a_deleted_cursor_falls_back_to_lower_ids,
    a_cursor_of_another_author_pages_by_its_position,
);

/// Follows `next_before` from the first page, returning every page's ids.
async fn all_pages(app: &TestApp, author: i64, limit: u32) -> Vec<Vec<i64>> {
    let mut pages = Vec::new();
    let mut path = format!("/users/{author}/messages?limit={limit}");
    for _ in 0..1000 {
        let page = app.get_json(&path).await;
        assert_eq!(page["author_id"], author);
        let page_ids = ids(&page["messages"]);
        let next = page["next_before"].as_i64();
        if let Some(next) = next {
            assert_eq!(
                page_ids.last(),
                Some(&next),
                "next_before is the page's last id"
            );
            assert_eq!(
                page_ids.len(),
                limit as usize,
                "only a full page says more follow"
            );
        }
        pages.push(page_ids);
        match next {
            Some(before) => {
                path = format!("/users/{author}/messages?limit={limit}&before={before}")
            }
            None => return pages,
        }
    }
    panic!("paging did not end within 1000 pages");
}

async fn pages_concatenate_to_all_of_an_authors_messages_newest_first(database_url: &str) {
    let app = spawn_app(database_url, None).await;
    // Author 2: 23 messages over 9 instants, so page boundaries fall inside ties; author 3's
    // messages interleave and must never show up.
    let mut expected: Vec<(i64, i64)> = Vec::new();
    for i in 0..23_i64 {
        let second = 1000 + (i * 7) % 9;
        let id = app.create_message_at(2, &format!("m{i}"), second).await;
        expected.push((second, id));
        app.create_message_at(3, "other", second).await;
    }
    expected.sort_unstable_by(|a, b| b.cmp(a));
    let expected: Vec<i64> = expected.into_iter().map(|(_, id)| id).collect();

    for limit in [1, 2, 5, 22, 23, 24, 500] {
        let pages = all_pages(&app, 2, limit).await;
        let flat: Vec<i64> = pages.iter().flatten().copied().collect();
        assert_eq!(flat, expected, "limit={limit}");
        assert_eq!(
            pages.len(),
            23_usize.div_ceil(limit as usize).max(1),
            "limit={limit}"
        );
    }

    // The default page holds 50.
    for i in 0..40 {
        app.create_message(2, &format!("later {i}")).await;
    }
    let page = app.get_json("/users/2/messages").await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 50);
    assert_eq!(page["next_before"], page["messages"][49]["id"]);
    assert_eq!(page["messages"][0]["text"], "later 39");
    let flat: Vec<i64> = all_pages(&app, 2, 50).await.concat();
    assert_eq!(flat.len(), 63);
    assert_eq!(&flat[40..], &expected[..]);
}

async fn a_deleted_cursor_falls_back_to_lower_ids(database_url: &str) {
    let app = spawn_app(database_url, None).await;
    let mut mine = Vec::new();
    for second in 1..=6 {
        mine.push(
            app.create_message_at(1, &format!("at {second}"), second * 10)
                .await,
        );
    }
    let [m1, m2, m3, m4, m5, m6] = mine[..] else {
        unreachable!()
    };
    let first = app.get_json("/users/1/messages?limit=2").await;
    assert_eq!(ids(&first["messages"]), [m6, m5]);
    assert_eq!(first["next_before"], m5);

    // The cursor's message goes away between two pages: paging carries on below its id.
    assert_eq!(app.delete(&format!("/messages/{m5}")).await.status(), 204);
    let second = app
        .get_json(&format!("/users/1/messages?limit=2&before={m5}"))
        .await;
    assert_eq!(ids(&second["messages"]), [m4, m3]);
    assert_eq!(second["next_before"], m3);
    let third = app
        .get_json(&format!("/users/1/messages?limit=2&before={m3}"))
        .await;
    assert_eq!(ids(&third["messages"]), [m2, m1]);
    assert_eq!(third["next_before"], Value::Null);

    // An id that never existed is no error either.
    let page = app
        .get_json("/users/1/messages?before=9223372036854775807")
        .await;
    assert_eq!(ids(&page["messages"]), [m6, m4, m3, m2, m1]);
    let page = app
        .get_json(&format!("/users/1/messages?before={m1}"))
        .await;
    assert_eq!(
        page,
        json!({"author_id": 1, "messages": [], "next_before": null})
    );
}

async fn a_cursor_of_another_author_pages_by_its_position(database_url: &str) {
    let app = spawn_app(database_url, None).await;
    let old = app.create_message_at(1, "old", 100).await;
    let tied = app.create_message_at(1, "tied, lower id", 200).await;
    let other = app.create_message_at(2, "someone else", 200).await;
    let tied_higher = app.create_message_at(1, "tied, higher id", 200).await;
    app.create_message_at(1, "new", 300).await;

    // Strictly older than message `other` in (created_at, id) order.
    let page = app
        .get_json(&format!("/users/1/messages?before={other}"))
        .await;
    assert_eq!(ids(&page["messages"]), [tied, old]);
    assert!(tied_higher > other);
}

#[tokio::test]
async fn an_author_without_messages_gets_an_empty_page() {
    let app = spawn_app("sqlite::memory:", None).await;
    app.create_message(1, "not 42").await;
    for path in ["/users/42/messages", "/users/42/messages?limit=1&before=1"] {
        let page = app.get_json(path).await;
        assert_eq!(
            page,
            json!({"author_id": 42, "messages": [], "next_before": null})
        );
    }
}

#[tokio::test]
async fn bad_paging_queries_name_the_parameter_and_the_range() {
    let app = spawn_app("sqlite::memory:", None).await;
    for value in ["0", "501", "-1", "abc", "", "2.5", "99999999999"] {
        assert_bad_request(
            &app,
            &format!("/users/1/messages?limit={value}"),
            "bad-request",
            &[&format!(
                "`limit` must be an integer from 1 to 500 (default 50); got `{value}`"
            )],
        )
        .await;
    }
    for value in ["0", "-3", "abc", "", "9223372036854775808"] {
        assert_bad_request(
            &app,
            &format!("/users/1/messages?before={value}"),
            "bad-request",
            &[
                "`before`",
                "from 1 to 9223372036854775807",
                &format!("`{value}`"),
            ],
        )
        .await;
    }
}

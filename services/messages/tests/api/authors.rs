//! The caller the gateway authenticated (`x-authenticated-user`) posts and deletes only
//! its own messages; calls without the header (internal ones) are served as before.

use serde_json::json;

use crate::helpers::{assert_problem, spawn_app};

kit::on_both_backends!(only_the_author_posts_and_deletes);

async fn only_the_author_posts_and_deletes(database_url: &str) {
    let app = spawn_app(database_url, None).await;
    let post = |caller: Option<&'static str>, author: i64| {
        let mut request = app
            .client
            .post(app.url("/messages"))
            .json(&json!({"author_id": author, "text": "hi"}));
        if let Some(caller) = caller {
            request = request.header("x-authenticated-user", caller);
        }
        request.send()
    };
    let problem = assert_problem(post(Some("4"), 3).await.unwrap(), 403, "forbidden").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("only user 3"),
        "{problem}"
    );
    assert_eq!(
        app.get_json("/users/3/messages").await["messages"],
        json!([])
    );
    let own: serde_json::Value = post(Some("3"), 3).await.unwrap().json().await.unwrap();
    assert_eq!(own["author_id"], 3);
    let internal = post(None, 3).await.unwrap();
    assert_eq!(internal.status(), 201);

    let id = own["id"].as_i64().unwrap();
    let delete = |caller: &'static str| {
        app.client
            .delete(app.url(&format!("/messages/{id}")))
            .header("x-authenticated-user", caller)
            .send()
    };
    assert_problem(delete("4").await.unwrap(), 403, "forbidden").await;
    assert_eq!(app.get(&format!("/messages/{id}")).await.status(), 200);
    assert_eq!(delete("3").await.unwrap().status(), 204);
    assert_problem(delete("3").await.unwrap(), 404, "not-found").await;
}

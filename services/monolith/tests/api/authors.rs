//! The caller the gateway authenticated (`x-authenticated-user`) posts and deletes only
//! its own messages; calls without the header (internal ones) are served as before.

use serde_json::{Value, json};

use crate::helpers::{assert_problem, spawn_app};

kit::on_both_backends!(only_the_author_posts_and_deletes);

async fn only_the_author_posts_and_deletes(database_url: &str) {
    let app = spawn_app(database_url, None).await;
    let ada = app.user_id("Ada").await;
    let grace = app.user_id("Grace").await;
    let post = |caller: Option<i64>, author: i64| {
        let mut request = app
            .client
            .post(app.url("/messages"))
            .json(&json!({"author_id": author, "text": "hi"}));
        if let Some(caller) = caller {
            request = request.header("x-authenticated-user", caller.to_string());
        }
        request.send()
    };
    let problem = assert_problem(post(Some(grace), ada).await.unwrap(), 403, "forbidden").await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains(&format!("only user {ada}")), "{detail}");
    let page = app.get_json(&format!("/users/{ada}/messages")).await;
    assert_eq!(page["messages"], json!([]), "nothing was written");
    let own: Value = post(Some(ada), ada).await.unwrap().json().await.unwrap();
    assert_eq!(own["author_id"], ada);
    assert_eq!(post(None, ada).await.unwrap().status(), 201);

    let id = own["id"].as_i64().unwrap();
    let delete = |caller: i64| {
        app.client
            .delete(app.url(&format!("/messages/{id}")))
            .header("x-authenticated-user", caller.to_string())
            .send()
    };
    assert_problem(delete(grace).await.unwrap(), 403, "forbidden").await;
    assert_eq!(app.get(&format!("/messages/{id}")).await.status(), 200);
    assert_eq!(delete(ada).await.unwrap().status(), 204);
    assert_problem(delete(ada).await.unwrap(), 404, "not-found").await;
}

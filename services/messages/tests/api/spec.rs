use serde_json::{Value, json};

/// The parameter `name` of `method path` in the published spec.
fn parameter<'a>(spec: &'a Value, path: &str, method: &str, name: &str) -> &'a Value {
    spec["paths"][path][method]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{method} {path} documents `{name}`"))
}

#[test]
fn operations_schemas_and_limits_are_published() {
    let spec = serde_json::to_value(messages::openapi()).unwrap();
    assert_eq!(spec["info"]["title"], "messages");
    assert_eq!(spec["servers"][0]["url"], "http://127.0.0.1:8083");

    for (path, method, operation_id) in [
        ("/messages", "post", "createMessage"),
        ("/messages/latest", "get", "listLatestMessages"),
        ("/messages/{id}", "get", "getMessage"),
        ("/messages/{id}", "delete", "deleteMessage"),
        ("/users/{id}/messages", "get", "listUserMessages"),
    ] {
        let operation = &spec["paths"][path][method];
        assert_eq!(operation["operationId"], operation_id, "{method} {path}");
        assert_eq!(operation["tags"], json!(["messages"]), "{operation_id}");
        let responses = operation["responses"].as_object().unwrap();
        for status in ["500", "503", "504"] {
            assert!(
                responses.contains_key(status),
                "{operation_id} documents {status}"
            );
        }
    }
    let responses = &spec["paths"]["/messages"]["post"]["responses"];
    for status in ["201", "400", "413", "415", "422"] {
        assert!(
            responses[status].is_object(),
            "createMessage documents {status}"
        );
    }
    assert!(responses["201"]["headers"]["Location"].is_object());
    for (path, method) in [("/messages/{id}", "get"), ("/messages/{id}", "delete")] {
        assert!(spec["paths"][path][method]["responses"]["404"].is_object());
    }

    let schemas = &spec["components"]["schemas"];
    for name in [
        "Message",
        "CreateMessage",
        "MessagePage",
        "LatestMessages",
        "AuthorMessages",
        "Problem",
    ] {
        assert!(
            schemas[name]["example"].is_object(),
            "{name} has an example"
        );
    }
    assert_eq!(
        schemas["CreateMessage"]["required"],
        json!(["author_id", "text"])
    );
    assert_eq!(schemas["CreateMessage"]["additionalProperties"], false);
    assert_eq!(
        schemas["MessagePage"]["required"],
        json!(["author_id", "messages", "next_before"]),
        "next_before is always present, null on the last page"
    );
    let text = &schemas["CreateMessage"]["properties"]["text"];
    assert_eq!(
        (&text["minLength"], &text["maxLength"]),
        (&json!(1), &json!(1000))
    );

    let authors = parameter(&spec, "/messages/latest", "get", "authors");
    assert_eq!(authors["required"], true);
    assert_eq!(authors["style"], "form");
    assert_eq!(authors["explode"], false);
    assert_eq!(authors["schema"]["type"], "array");
    assert_eq!(authors["schema"]["minItems"], 1);
    assert_eq!(authors["schema"]["maxItems"], 500);

    for (path, name, min, max, default) in [
        ("/messages/latest", "per_author", 1, 10, 1),
        ("/users/{id}/messages", "limit", 1, 500, 50),
    ] {
        let schema = &parameter(&spec, path, "get", name)["schema"];
        assert_eq!(schema["minimum"], min, "{name}: {schema}");
        assert_eq!(schema["maximum"], max, "{name}: {schema}");
        assert_eq!(schema["default"], default, "{name}: {schema}");
    }
    let before = &parameter(&spec, "/users/{id}/messages", "get", "before")["schema"];
    assert_eq!(before["minimum"], 1, "{before}");
}

use serde_json::json;

use super::*;

fn spec(user_id: &Value, parameters: &Value, description: &str) -> Value {
    json!({
        "paths": {
            "/users/{id}": {"get": {
                "operationId": "getUser",
                "summary": description,
                "tags": ["users"],
                "parameters": parameters,
                "responses": {
                    "200": {"description": description, "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/User"}}}},
                    "404": {"description": "no", "content": {"application/problem+json": {
                        "schema": {"$ref": "#/components/schemas/Problem"}}}},
                },
            }},
            "/only/here": {"get": {"operationId": "onlyHere", "responses": {}}},
        },
        "components": {"schemas": {
            "User": {
                "type": "object",
                "description": description,
                "properties": {"id": user_id, "description": {"type": "string"}},
            },
            "UserId": {"type": "integer", "minimum": 1, "example": 42},
            "Problem": {"type": "object"},
        }},
    })
}

fn id_param() -> Value {
    json!([{"name": "id", "in": "path", "required": true, "description": "The id",
        "schema": {"$ref": "#/components/schemas/UserId"}}])
}

#[test]
fn prose_and_ref_layout_do_not_count() {
    let left = spec(
        &json!({"$ref": "#/components/schemas/UserId"}),
        &id_param(),
        "A",
    );
    // The same id schema inline instead of by reference, other descriptions and examples.
    let right = spec(
        &json!({"type": "integer", "minimum": 1, "example": 7}),
        &json!([{"name": "id", "in": "path", "required": true,
            "schema": {"type": "integer", "minimum": 1}}]),
        "B",
    );
    assert_eq!(compare_shared(&left, &right), []);
}

#[test]
fn a_changed_limit_is_named_with_its_place() {
    let left = spec(&json!({"type": "integer", "minimum": 1}), &id_param(), "A");
    let right = spec(&json!({"type": "integer", "minimum": 0}), &id_param(), "A");
    let differences = compare_shared(&left, &right);
    assert_eq!(differences.len(), 1, "{differences:?}");
    let d = &differences[0];
    assert_eq!(d.operation, "GET /users/{id}");
    assert_eq!(
        d.at,
        "responses.200.content.application/json.properties.id.minimum"
    );
    assert_eq!((d.left.as_str(), d.right.as_str()), ("1", "0"));
}

#[test]
fn parameters_operation_ids_and_statuses_count() {
    let left = spec(&json!({"type": "integer"}), &id_param(), "A");
    let mut right = spec(
        &json!({"type": "integer"}),
        &json!([{"name": "id", "in": "path", "required": true,
            "schema": {"type": "integer", "minimum": 1, "maximum": 10}}]),
        "A",
    );
    right["paths"]["/users/{id}"]["get"]["operationId"] = json!("readUser");
    right["paths"]["/users/{id}"]["get"]["responses"]
        .as_object_mut()
        .unwrap()
        .remove("404");
    let places: Vec<String> = compare_shared(&left, &right)
        .into_iter()
        .map(|d| d.at)
        .collect();
    assert_eq!(
        places,
        [
            "operationId",
            "parameters.path:id.schema.maximum",
            "responses.404"
        ]
    );
}

#[test]
fn only_shared_operations_are_compared() {
    let left = spec(&json!({"type": "integer"}), &id_param(), "A");
    let mut right = left.clone();
    right["paths"].as_object_mut().unwrap().remove("/only/here");
    assert_eq!(
        shared_operations(&left, &right),
        [("/users/{id}".to_owned(), "get")]
    );
}

#[test]
fn a_property_named_like_a_keyword_is_kept() {
    let schema = json!({"description": "prose", "properties": {
        "description": {"type": "string", "description": "prose"},
        "example": {"type": "integer"}}});
    assert_eq!(
        without_prose(&schema),
        json!({"properties": {"description": {"type": "string"}, "example": {"type": "integer"}}})
    );
}

#[test]
fn component_conflicts_ignore_prose_but_not_shape() {
    let a = json!({"components": {"schemas": {
        "User": {"type": "object", "description": "one"}, "Id": {"type": "integer"}}}});
    let b = json!({"components": {"schemas": {
        "User": {"type": "object", "description": "two"}, "Id": {"type": "string"}}}});
    let conflicts = component_conflicts(&[("a", a), ("b", b)]);
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert!(
        conflicts[0].starts_with("schemas/Id: a defines it"),
        "{conflicts:?}"
    );
}

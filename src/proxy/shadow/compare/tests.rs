use bytes::Bytes;
use http::HeaderValue;
use serde_json::json;

use super::*;

fn patterns(list: &[&str]) -> Vec<PointerPattern> {
    list.iter()
        .map(|p| PointerPattern::parse(p).unwrap())
        .collect()
}

fn json_answer(status: u16, body: &str) -> Answer {
    Answer {
        status,
        content_type: Some(HeaderValue::from_static("application/json")),
        body: Bytes::copy_from_slice(body.as_bytes()),
    }
}

#[test]
fn key_order_never_matters() {
    let a = json_answer(200, r#"{"id":1,"name":"Ada","tags":{"x":1,"y":2}}"#);
    let b = json_answer(200, r#"{"tags":{"y":2,"x":1},"name":"Ada","id":1}"#);
    assert!(compare(&a, &b, &[]).is_equal());
}

#[test]
fn each_differing_value_is_named_by_its_pointer() {
    let a = json!({"id": 1, "name": "Ada", "profile": {"city": "Oslo", "age": 30}});
    let b = json!({"id": 1, "name": "Bo", "profile": {"city": "Oslo", "age": 31}, "extra": true});
    assert_eq!(
        diff(&a, &b, &[]).pointers,
        ["/name", "/profile/age", "/extra"]
    );
    let missing = json!({"id": 1});
    assert_eq!(diff(&missing, &json!({}), &[]).pointers, ["/id"]);
}

#[test]
fn arrays_are_compared_index_by_index() {
    let a = json!({"items": [1, 2, 3]});
    let b = json!({"items": [1, 5, 3, 4]});
    assert_eq!(diff(&a, &b, &[]).pointers, ["/items/1", "/items/3"]);
    // Order matters in an array, unlike in an object.
    let swapped = json!({"items": [2, 1, 3]});
    assert_eq!(diff(&a, &swapped, &[]).pointers, ["/items/0", "/items/1"]);
}

#[test]
fn a_type_change_is_one_difference_at_its_pointer() {
    let a = json!({"v": {"x": 1}});
    let b = json!({"v": [1]});
    assert_eq!(diff(&a, &b, &[]).pointers, ["/v"]);
    assert_eq!(diff(&json!(1), &json!(2), &[]).pointers, [""]);
}

#[test]
fn ignored_pointers_and_what_is_below_them_are_skipped() {
    let a = json!({"generated_at": "1", "meta": {"etag": "a", "n": 1}, "name": "Ada"});
    let b = json!({"generated_at": "2", "meta": {"etag": "b", "n": 2}, "name": "Ada"});
    assert!(
        diff(&a, &b, &patterns(&["/generated_at", "/meta"]))
            .pointers
            .is_empty()
    );
    assert_eq!(
        diff(&a, &b, &patterns(&["/generated_at", "/meta/etag"])).pointers,
        ["/meta/n"]
    );
}

#[test]
fn a_star_matches_any_index_or_key() {
    let a =
        json!({"entries": [{"id": 1, "at": "x"}, {"id": 2, "at": "y"}], "by": {"a": {"at": 1}}});
    let b =
        json!({"entries": [{"id": 1, "at": "z"}, {"id": 3, "at": "w"}], "by": {"a": {"at": 2}}});
    assert_eq!(
        diff(&a, &b, &patterns(&["/entries/*/at", "/*/a/at"])).pointers,
        ["/entries/1/id"]
    );
}

#[test]
fn keys_with_slashes_and_tildes_are_escaped() {
    let a = json!({"a/b": 1, "c~d": 1});
    let b = json!({"a/b": 2, "c~d": 2});
    assert_eq!(diff(&a, &b, &[]).pointers, ["/a~1b", "/c~0d"]);
    assert!(
        diff(&a, &b, &patterns(&["/a~1b", "/c~0d"]))
            .pointers
            .is_empty()
    );
}

#[test]
fn status_and_content_type_are_compared() {
    let a = json_answer(200, "{}");
    let b = json_answer(404, "{}");
    let found = compare(&a, &b, &[]);
    assert!(found.status && !found.content_type && found.pointers.is_empty());
    let mut c = json_answer(200, "{}");
    c.content_type = Some(HeaderValue::from_static("application/json; charset=utf-8"));
    assert!(compare(&a, &c, &[]).content_type);
    let mut d = json_answer(200, "{}");
    d.content_type = Some(HeaderValue::from_static("Application/JSON"));
    assert!(compare(&a, &d, &[]).is_equal());
}

#[test]
fn other_bodies_are_compared_byte_for_byte() {
    let text = |body: &'static str| Answer {
        status: 200,
        content_type: Some(HeaderValue::from_static("text/plain")),
        body: Bytes::from_static(body.as_bytes()),
    };
    assert!(compare(&text("same"), &text("same"), &[]).is_equal());
    assert_eq!(compare(&text("one"), &text("two"), &[]).pointers, [""]);
    // JSON that does not parse is compared as bytes too.
    let broken = json_answer(200, "{not json");
    assert_eq!(
        compare(&broken, &json_answer(200, "{}"), &[]).pointers,
        [""]
    );
}

#[test]
fn a_huge_difference_is_cut_at_the_limit() {
    let a: Vec<u32> = (0..100).collect();
    let b: Vec<u32> = (1000..1100).collect();
    let found = diff(&json!(a), &json!(b), &[]);
    assert_eq!(found.pointers.len(), MAX_POINTERS);
    assert!(found.truncated);
}

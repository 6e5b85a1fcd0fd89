use super::*;

#[test]
fn hygiene_accepts_ordinary_paths() {
    for ok in [
        "/",
        "/users",
        "/users/",
        "/users/1/friends",
        "/a%20b",
        "/caf%C3%A9",
        "/x;v=1",
        "/a.b/..c/...",
    ] {
        assert_eq!(check_path(ok), Ok(()), "{ok}");
    }
}

#[test]
fn hygiene_refuses_every_trick() {
    let cases = [
        ("*", PathError::NotAbsolute),
        ("users", PathError::NotAbsolute),
        ("/users/../admin", PathError::DotSegment),
        ("/users/./1", PathError::DotSegment),
        ("/users/..", PathError::DotSegment),
        ("/users/..;x=1/admin", PathError::DotSegment),
        ("/users//1", PathError::EmptySegment),
        ("//users", PathError::EmptySegment),
        ("/users/1%2Ffriends", PathError::EncodedSeparator),
        ("/users/1%2ffriends", PathError::EncodedSeparator),
        ("/users/1%5Cfriends", PathError::EncodedSeparator),
        ("/users/%2e%2e/admin", PathError::EncodedUnreserved),
        ("/users/%2E/1", PathError::EncodedUnreserved),
        ("/%75sers/1", PathError::EncodedUnreserved),
        ("/users/%", PathError::BadEncoding),
        ("/users/%4", PathError::BadEncoding),
        ("/users/%zz", PathError::BadEncoding),
        ("/users/%00", PathError::BadEncoding),
        ("/users\\1", PathError::BadCharacter),
        ("/users/\t", PathError::BadCharacter),
    ];
    for (path, want) in cases {
        assert_eq!(check_path(path), Err(want), "{path}");
    }
}

#[test]
fn templates_match_whole_segments() {
    let p = Pattern::template("/users/{id}/friends").unwrap();
    assert!(p.matches("/users/7/friends"));
    assert!(!p.matches("/users/7/friends/"));
    assert!(!p.matches("/users/7/friendsx"));
    assert!(!p.matches("/users//friends"));
    assert!(!p.matches("/users/7"));
    assert!(!p.matches("/users/7/friends/8"));
    let root = Pattern::template("/").unwrap();
    assert!(root.matches("/"));
    assert!(!root.matches("/x"));
}

#[test]
fn catch_all_needs_something_prefix_does_not() {
    let t = Pattern::template("/static/{*rest}").unwrap();
    assert!(t.matches("/static/a/b.css"));
    assert!(!t.matches("/static/"));
    assert!(!t.matches("/static"));
    let p = Pattern::prefix("/static/").unwrap();
    assert!(p.matches("/static"));
    assert!(p.matches("/static/"));
    assert!(p.matches("/static/a/b.css"));
    assert!(!p.matches("/staticx"));
    assert!(Pattern::prefix("/").unwrap().matches("/anything/at/all"));
}

#[test]
fn params_are_read_by_position() {
    let p = Pattern::template("/users/{id}/friends/{friend_id}").unwrap();
    assert_eq!(p.param_index("friend_id"), Some(3));
    assert_eq!(Pattern::param_at("/users/7/friends/9", 1), Some("7"));
    assert_eq!(Pattern::param_at("/users/7/friends/9", 3), Some("9"));
    assert_eq!(Pattern::param_at("/users", 3), None);
    assert_eq!(p.param_index("nope"), None);
}

#[test]
fn bad_templates_say_why() {
    for (bad, needle) in [
        ("users", "must start with `/`"),
        ("/users/{id", "whole segment"),
        ("/users/x{id}", "whole segment"),
        ("/users/{1d}", "not a parameter"),
        ("/users/{}", "not a parameter"),
        ("/{*rest}/x", "last segment"),
        ("/users/{id}/x/{id}", "twice"),
        ("/users//x", "empty segment"),
        ("/users/", "empty segment"),
        ("/users/../x", "`..` segment"),
        ("/users/a%20b", "may hold only"),
    ] {
        let err = Pattern::template(bad).unwrap_err();
        assert!(err.contains(needle), "{bad}: {err}");
    }
    assert!(Pattern::prefix("/a/{id}").is_err());
    assert!(Pattern::prefix("a").is_err());
}

#[test]
fn specificity_orders_literal_param_catch_all_prefix() {
    let order = [
        "/users/me",
        "/users/{id}",
        "/users/{id}/friends",
        "/users/{*rest}",
    ];
    let parsed: Vec<Pattern> = order
        .iter()
        .map(|s| Pattern::template(s).unwrap())
        .collect();
    for pair in parsed.windows(2) {
        assert_eq!(
            pair[0].specificity(&pair[1]),
            Ordering::Less,
            "{} before {}",
            pair[0],
            pair[1]
        );
    }
    let prefix = Pattern::prefix("/users").unwrap();
    assert_eq!(parsed[3].specificity(&prefix), Ordering::Less);
    let exact = Pattern::template("/users").unwrap();
    assert_eq!(exact.specificity(&prefix), Ordering::Less);
}

#[test]
fn shapes_ignore_parameter_names() {
    let a = Pattern::template("/users/{id}").unwrap();
    let b = Pattern::template("/users/{user_id}").unwrap();
    let c = Pattern::template("/users/{id}/friends").unwrap();
    assert!(a.same_shape(&b));
    assert!(!a.same_shape(&c));
    let p = Pattern::prefix("/users").unwrap();
    let t = Pattern::template("/users/{*rest}").unwrap();
    assert!(!p.same_shape(&t), "a prefix also matches `/users` itself");
}

/// A tiny deterministic generator, so the property tests need no extra crate and every
/// failure reproduces.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[usize::try_from(self.next() % from.len() as u64).unwrap()]
    }
}

/// Paths built from the pieces path tricks are made of.
fn random_path(rng: &mut XorShift) -> String {
    const PIECES: &[&str] = &[
        "/", "/", "/", "users", "1", "friends", "{id}", ".", "..", "%2e", "%2E", "%2f", "%2F",
        "%5c", "%", "%4", "%zz", "%00", "%20", "%C3%A9", ";", "\\", "a", "~", "-", "_", "*",
        "?x=1", "\t", "é",
    ];
    let len = rng.next() % 10;
    (0..len).map(|_| rng.pick(PIECES)).collect()
}

/// Decodes every `%XX` once, as a lenient upstream would.
fn decode_once(path: &str) -> Vec<u8> {
    let bytes = path.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = path.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

#[test]
fn accepted_paths_never_hide_a_traversal_or_an_extra_segment() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut accepted = 0;
    for _ in 0..200_000 {
        let path = random_path(&mut rng);
        if check_path(&path).is_err() {
            continue;
        }
        accepted += 1;
        let decoded = decode_once(&path);
        // One decoding adds no separator and no dot segment an upstream could act on.
        assert_eq!(
            decoded.iter().filter(|&&b| b == b'/').count(),
            path.matches('/').count(),
            "{path}"
        );
        assert!(!decoded.contains(&b'\\'), "{path}");
        for segment in decoded.split(|&b| b == b'/') {
            let bare = segment.split(|&b| b == b';').next().unwrap_or_default();
            assert!(bare != b"." && bare != b"..", "{path}");
        }
    }
    assert!(
        accepted > 1000,
        "the generator should also make valid paths ({accepted})"
    );
}

#[test]
fn matching_never_panics_on_any_path() {
    let patterns: Vec<Pattern> = [
        "/",
        "/users",
        "/users/{id}",
        "/users/{id}/friends/{friend_id}",
        "/users/{*rest}",
    ]
    .iter()
    .map(|t| Pattern::template(t).unwrap())
    .chain(
        ["/", "/users", "/users/1/"]
            .iter()
            .map(|p| Pattern::prefix(p).unwrap()),
    )
    .collect();
    let mut rng = XorShift(42);
    for _ in 0..50_000 {
        let path = random_path(&mut rng);
        for pattern in &patterns {
            let _ = pattern.matches(&path);
        }
        for index in 0..5 {
            let _ = Pattern::param_at(&path, index);
        }
    }
}

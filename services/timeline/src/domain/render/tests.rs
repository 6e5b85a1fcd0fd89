use kit::ids::MessageId;

use super::*;
use crate::domain::Friend;

/// Strings that JSON must escape or that are not ASCII.
const TEXTS: [&str; 8] = [
    "",
    "plain",
    "quote \" and backslash \\",
    "new\nline\ttab\r",
    "control \u{1} \u{1f}",
    "accents é ü ß, 中文",
    "emoji 😀 and \u{2028}",
    "</script>",
];

fn timeline(seed: &mut u64) -> Timeline {
    let mut next = |below: u64| {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed % below
    };
    let text = |n: u64| TEXTS[n as usize % TEXTS.len()].to_owned();
    let entries = (0..next(6))
        .map(|i| Entry {
            friend: Friend {
                id: UserId::new(i as i64 + 2),
                name: (next(4) != 0).then(|| text(next(8))),
                avatar_url: (next(2) == 0).then(|| text(next(8))),
            },
            messages: (0..next(4))
                .map(|m| EntryMessage {
                    id: MessageId::new((i * 10 + m) as i64 + 1),
                    text: text(next(8)),
                    created_at: Timestamp::from_micros(
                        1_767_225_600_000_000 + next(3) as i64 * 250_000,
                    ),
                })
                .collect(),
        })
        .collect();
    let degraded = [
        Degradation::Users,
        Degradation::Messages,
        Degradation::StaleProfiles,
        Degradation::View,
    ]
    .into_iter()
    .filter(|_| next(3) == 0)
    .collect();
    Timeline {
        user_id: UserId::new(1),
        entries,
        missing_friends: (0..next(3)).map(|i| UserId::new(100 + i as i64)).collect(),
        degraded,
        generated_at: Timestamp::from_micros(1_767_225_600_123_456),
    }
}

#[test]
fn the_body_is_what_serializing_gives_and_the_tag_what_of_json_gives() {
    let mut seed = 0x2545_f491_4f6c_dd1d;
    for _ in 0..500 {
        let timeline = timeline(&mut seed);
        let rendered = timeline.render();
        assert_eq!(
            String::from_utf8_lossy(&rendered.body),
            serde_json::to_string(&timeline).unwrap()
        );
        assert_eq!(
            rendered.etag,
            ETag::of_json(&timeline, &["generated_at"]).unwrap(),
            "{timeline:?}"
        );
    }
}

#[test]
fn the_tag_leaves_out_when_the_answer_was_made_and_nothing_else() {
    let mut seed = 7;
    let mut timeline = timeline(&mut seed);
    let first = timeline.render();
    timeline.generated_at = Timestamp::from_micros(5);
    let later = timeline.render();
    assert_ne!(first.body, later.body);
    assert_eq!(first.etag, later.etag);
    assert_eq!(first.restamped(Timestamp::from_micros(5)), later);
    timeline.missing_friends.push(UserId::new(999));
    assert_ne!(timeline.render().etag, first.etag);
}

#[test]
fn an_entry_borrowed_and_owned_renders_alike() {
    let profile = Profile {
        id: UserId::new(3),
        name: "Grace".into(),
        avatar_url: Some("https://a.example/3.png".into()),
    };
    let messages = [EntryMessage {
        id: MessageId::new(9),
        text: "hi".into(),
        created_at: Timestamp::from_micros(0),
    }];
    let borrowed = EntryRef::new(profile.id, Some(&profile), &messages);
    let owned = borrowed.to_entry();
    assert_eq!(EntryRef::from(&owned), borrowed);
    assert_eq!(owned.friend.name.as_deref(), Some("Grace"));
    let unknown = EntryRef::new(profile.id, None, &[]);
    assert_eq!((unknown.name, unknown.avatar_url), (None, None));
}

//! Unit tests of `paging`: token format, stop rule, duplicate detection.

use super::*;
use crate::baton::connector::types::{ErrorKind, LogLevel};
use crate::scim::model::raw_item_id;
use serde_json::json;

fn cursor(generation: u64, received: u64, total: Option<u64>) -> Cursor {
    Cursor {
        type_id: "user".into(),
        generation,
        start_index: received + 1,
        received,
        total,
    }
}

#[test]
fn tokens_roundtrip() {
    for c in [
        cursor(1, 100, Some(250)),
        cursor(7, 3, None),
        cursor(u64::MAX, u64::MAX - 1, Some(u64::MAX)),
    ] {
        let token = c.encode();
        assert_eq!(Cursor::decode(&token, "user").unwrap(), c, "{token}");
    }
    assert_eq!(cursor(2, 100, Some(250)).encode(), "v1.user.2.101.100.250");
    assert_eq!(cursor(2, 100, None).encode(), "v1.user.2.101.100.-");
}

#[test]
fn malformed_tokens_are_invalid_arguments() {
    let long = format!("v1.user.1.1.0.{}", "1".repeat(200));
    let cases = [
        "garbage",
        "v1.user.1.101.100",
        "v1.user.1.101.100.250.9",
        "v2.user.1.101.100.250",
        "v1.user.x.101.100.-",
        "v1.user.1.+101.+100.-",
        "v1.user.1. 101.100.-",
        "v1.user.1.101.100.",
        "v1.user.1.5.0.-",
        "v1.user.1.0.18446744073709551615.-",
        "v1.user.1.18446744073709551617.18446744073709551616.-",
        "v1.group.1.101.100.-",
        "v1.user.1.101.100.-1",
        long.as_str(),
    ];
    for token in cases {
        let e = Cursor::decode(token, "user").unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidArgument, "{token}");
    }
    let e = Cursor::decode("v1.group.1.101.100.-", "user").unwrap_err();
    assert!(e.message.contains("`group` listing"), "{}", e.message);
}

/// A scripted server: `pages[i]` answers the i-th request with a total and ids.
struct Script {
    pages: Vec<(Option<u64>, Vec<String>)>,
}

/// Runs a whole listing; returns the startIndex of each request, the kept ids
/// and the notes.
fn run(script: &Script) -> (Vec<u64>, Vec<String>, Notes) {
    let mut listings = Listings::default();
    let mut notes = Notes::new();
    let (mut starts, mut kept, mut token) = (Vec::new(), Vec::new(), String::new());
    loop {
        let i = starts.len();
        assert!(i < 50, "the listing does not stop");
        let fetched = listings
            .page(
                "user",
                "user",
                &token,
                Requests::only(|start, _| {
                    starts.push(start);
                    let (total, ids) = script.pages.get(i).cloned().unwrap_or_default();
                    let items: Vec<_> = ids.iter().map(|id| json!({ "id": id })).collect();
                    Ok(ListResponse::of_items(total, &items))
                }),
                |raw, _| {
                    let id = raw_item_id(raw)?;
                    (id != "bad").then(|| (id.clone(), id))
                },
                &mut notes,
            )
            .unwrap();
        kept.extend(fetched.items);
        match fetched.next_page_token {
            Some(next) => token = next,
            None => return (starts, kept, notes),
        }
    }
}

fn ids(range: std::ops::Range<u32>) -> Vec<String> {
    range.map(|i| format!("u{i}")).collect()
}

#[test]
fn stop_rule() {
    type Pages = Vec<(Option<u64>, Vec<String>)>;
    let cases: Vec<(&str, Pages, Vec<u64>, usize)> = vec![
        (
            "exact multiple",
            vec![(Some(200), ids(0..100)), (Some(200), ids(100..200))],
            vec![1, 101],
            200,
        ),
        (
            "short last page",
            vec![(Some(150), ids(0..100)), (Some(150), ids(100..150))],
            vec![1, 101],
            150,
        ),
        ("empty", vec![(Some(0), vec![])], vec![1], 0),
        (
            "total too small",
            vec![(Some(10), ids(0..100))],
            vec![1],
            100,
        ),
        (
            "total too big",
            vec![
                (Some(999), ids(0..100)),
                (Some(999), ids(100..160)),
                (Some(999), vec![]),
            ],
            vec![1, 101, 161],
            160,
        ),
        (
            "no total",
            vec![(None, ids(0..100)), (None, ids(100..130)), (None, vec![])],
            vec![1, 101, 131],
            130,
        ),
        (
            "small pages",
            vec![(Some(90), ids(0..60)), (Some(90), ids(60..90))],
            vec![1, 61],
            90,
        ),
        (
            "ignored startIndex",
            vec![
                (None, ids(0..100)),
                (None, ids(0..100)),
                (None, ids(0..100)),
            ],
            vec![1, 101],
            // The repeated page is passed on; the host keeps one copy.
            200,
        ),
    ];
    for (name, pages, want_starts, want_kept) in cases {
        let (starts, kept, _) = run(&Script { pages });
        assert_eq!(starts, want_starts, "{name}");
        assert_eq!(kept.len(), want_kept, "{name}");
    }
}

#[test]
fn duplicates_are_passed_on_with_a_warning() {
    let mut second = ids(100..199);
    second.insert(0, "u42".into());
    let (starts, kept, notes) = run(&Script {
        pages: vec![(Some(200), ids(0..100)), (Some(200), second)],
    });
    assert_eq!(starts, vec![1, 101]);
    assert_eq!(kept.len(), 200);
    assert!(notes.has(LogLevel::Warn, "user u42 came twice"));
}

#[test]
fn skipped_items_still_advance_the_start_index() {
    let mut first = ids(0..99);
    first.push("bad".into());
    let (starts, kept, _) = run(&Script {
        pages: vec![(Some(101), first), (Some(101), ids(99..100))],
    });
    assert_eq!(starts, vec![1, 101]);
    assert_eq!(kept.len(), 100);
}

#[test]
fn total_changes_are_logged() {
    let (_, _, notes) = run(&Script {
        pages: vec![(Some(150), ids(0..100)), (Some(149), ids(100..149))],
    });
    assert!(notes.has(LogLevel::Warn, "changed from 150 to 149"));
    let (_, _, notes) = run(&Script {
        pages: vec![(Some(300), ids(0..100)), (Some(300), vec![])],
    });
    assert!(notes.has(LogLevel::Warn, "after 100 of 300"));
}

#[test]
fn memory_is_trusted_only_for_the_last_issued_token() {
    let mut listings = Listings::default();
    let mut notes = Notes::new();
    let page = |ids: Vec<String>| {
        move |_, _| {
            let items: Vec<_> = ids.iter().map(|id| json!({ "id": id })).collect();
            Ok(ListResponse::of_items(Some(1000), &items))
        }
    };
    let map = |raw: &str, _: &mut Notes| {
        let id = raw_item_id(raw)?;
        Some((id.clone(), id))
    };
    let first = listings
        .page(
            "user",
            "user",
            "",
            Requests::only(page(ids(0..100))),
            map,
            &mut notes,
        )
        .unwrap();
    let token = first.next_page_token.unwrap();
    // A retry of the same token keeps the memory: u5 is a repeat.
    let again = listings
        .page(
            "user",
            "user",
            &token,
            Requests::only(page(vec!["u5".into()])),
            map,
            &mut notes,
        )
        .unwrap();
    assert_eq!(again.items, vec!["u5".to_string()]);
    let repeats = |notes: &Notes| {
        let lines = notes.lines().iter();
        lines.filter(|(_, m)| m.contains("u5 came twice")).count()
    };
    assert_eq!(repeats(&notes), 1);
    // The old first-page token of another listing is foreign now: memory restarts.
    let foreign = cursor(99, 100, Some(1000)).encode();
    let other = listings
        .page(
            "user",
            "user",
            &foreign,
            Requests::only(page(vec!["u5".into()])),
            map,
            &mut notes,
        )
        .unwrap();
    assert_eq!(other.items, vec!["u5".to_string()]);
    assert_eq!(repeats(&notes), 1, "a restarted memory saw u5 before");
    assert!(notes.has(LogLevel::Debug, "duplicate detection restarts"));
    // Another type's listing is independent.
    let groups = listings
        .page(
            "group",
            "group",
            "",
            Requests::only(page(vec!["u5".into()])),
            map,
            &mut notes,
        )
        .unwrap();
    assert_eq!(groups.items.len(), 1);
    assert_eq!(repeats(&notes), 1, "the group listing saw u5 before");
}

#[test]
fn failed_fetch_keeps_the_token_usable() {
    let mut listings = Listings::default();
    let mut notes = Notes::new();
    let ok = |_, _| Ok(ListResponse::of_items(Some(300), &[json!({"id": "a"})]));
    let map = |raw: &str, _: &mut Notes| Some((raw_item_id(raw)?, ()));
    let token = listings
        .page("user", "user", "", Requests::only(ok), map, &mut notes)
        .unwrap()
        .next_page_token
        .unwrap();
    let failing = |_, _| Err(crate::error::internal("boom"));
    assert!(listings
        .page(
            "user",
            "user",
            &token,
            Requests::only(failing),
            map,
            &mut notes
        )
        .is_err());
    let retry = listings
        .page("user", "user", &token, Requests::only(ok), map, &mut notes)
        .unwrap();
    // Same memory as before the failure: `a` is recognised as a repeat.
    assert_eq!(retry.items.len(), 1);
    assert!(notes.has(LogLevel::Warn, "user a came twice"));
    assert!(!notes.has(LogLevel::Debug, "restarts"));
}

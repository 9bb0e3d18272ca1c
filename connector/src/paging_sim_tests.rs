//! Paging against simulated servers: each anomaly of issue 7 as a unit test,
//! and the stop rule as a property (`prop_paging_*`): whatever totals, page
//! sizes, repeats and unusable items a server sends, a listing ends within
//! the bound stated in `paging`'s docs.

use crate::scim::model::raw_item_id;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;
use crate::baton::connector::types::LogLevel;
use crate::prop_support;

/// One answer of a simulated server: `totalResults`, `itemsPerPage` and the
/// items, each an id number or an unusable item (`None`, no `id`).
#[derive(Clone, Debug)]
struct Answer {
    total: Option<u64>,
    per_page: Option<u64>,
    items: Vec<Option<u16>>,
}

fn answer(total: Option<u64>, items: impl IntoIterator<Item = u16>) -> Answer {
    Answer {
        total,
        per_page: None,
        items: items.into_iter().map(Some).collect(),
    }
}

/// What one whole listing did.
struct Run {
    /// `startIndex` of each request.
    starts: Vec<u64>,
    /// Items in each answer.
    lens: Vec<u64>,
    /// Items with an id, in all answers.
    valid: u64,
    /// Ids kept, in order.
    kept: Vec<String>,
    /// `startIndex` of each request sent ahead.
    sent_ahead: Vec<u64>,
    /// The first total in effect after a non-empty page (what sets the budget).
    first_total: Option<u64>,
    notes: Notes,
}

/// Runs a listing against `server` (request number, startIndex, count) and
/// fails the test if it takes more than `limit` requests, or if a page sent
/// ahead is not exactly the next request (or the listing ends after it).
fn drive(
    listings: &mut Listings,
    limit: usize,
    mut server: impl FnMut(usize, u64, u32) -> Answer,
) -> Run {
    let mut run = Run {
        starts: Vec::new(),
        lens: Vec::new(),
        valid: 0,
        kept: Vec::new(),
        sent_ahead: Vec::new(),
        first_total: None,
        notes: Notes::new(),
    };
    let (mut token, mut total) = (String::new(), None);
    // The request sent ahead on the previous page, if any.
    let mut sent_ahead: Option<(u64, u32)> = None;
    loop {
        let i = run.starts.len();
        assert!(i < limit, "the listing did not stop after {limit} requests");
        let mut got = None;
        let mut ahead = None;
        let fetched = listings
            .page(
                "user",
                "user",
                &token,
                Requests {
                    fetch: |start, count| {
                        if let Some(prefetched) = sent_ahead {
                            assert_eq!(prefetched, (start, count), "the page sent ahead");
                        }
                        let a = server(i, start, count);
                        got = Some((start, a.clone()));
                        let items: Vec<_> = a.items.iter().map(item).collect();
                        let mut page = ListResponse::of_items(a.total, &items);
                        page.items_per_page = a.per_page;
                        Ok(page)
                    },
                    prefetch: |start, count| ahead = Some((start, count)),
                },
                |raw, _| {
                    let id = raw_item_id(raw)?;
                    Some((id.clone(), id))
                },
                &mut run.notes,
            )
            .unwrap();
        let (start, a) = got.unwrap();
        run.starts.push(start);
        run.lens.push(a.items.len() as u64);
        run.valid += a.items.iter().filter(|n| n.is_some()).count() as u64;
        total = a.total.or(total);
        if !a.items.is_empty() && run.first_total.is_none() {
            run.first_total = total;
        }
        run.kept.extend(fetched.items);
        sent_ahead = ahead;
        run.sent_ahead.extend(ahead.map(|(start, _)| start));
        match fetched.next_page_token {
            Some(next) => token = next,
            None => {
                assert_eq!(sent_ahead, None, "a page was sent ahead after the last one");
                return run;
            }
        }
    }
}

fn item(n: &Option<u16>) -> Value {
    match n {
        Some(n) => json!({ "id": format!("u{n}") }),
        None => json!({ "userName": "no id" }),
    }
}

/// Runs a scripted listing (answer `i` for request `i`, empty after the end).
fn scripted(pages: Vec<Answer>) -> Run {
    drive(&mut Listings::default(), 50, |i, _, _| {
        pages.get(i).cloned().unwrap_or_else(|| answer(None, []))
    })
}

#[test]
fn with_a_total_each_next_page_is_sent_ahead_and_none_after_the_last() {
    let run = scripted(vec![
        answer(Some(250), 0..100),
        answer(Some(250), 100..200),
        answer(Some(250), 200..250),
    ]);
    assert_eq!(run.starts, vec![1, 101, 201]);
    assert_eq!(run.sent_ahead, vec![101, 201]);
    // Without a total, going on depends on the items: nothing is sent ahead.
    let run = scripted(vec![answer(None, 0..100), answer(None, 100..130)]);
    assert_eq!((run.starts.len(), run.sent_ahead.len()), (3, 0));
}

#[test]
fn a_total_that_changes_mid_listing_is_followed_and_logged() {
    let run = scripted(vec![answer(Some(150), 0..100), answer(Some(160), 100..160)]);
    assert_eq!((run.starts, run.kept.len()), (vec![1, 101], 160));
    assert!(run
        .notes
        .has(LogLevel::Warn, "count changed from 150 to 160"));
}

#[test]
fn duplicates_across_pages_are_passed_on_and_summed_up() {
    let run = scripted(vec![answer(Some(200), 0..100), answer(Some(200), 99..199)]);
    // The host keeps the first copy and counts the repeat in its summary.
    assert_eq!(run.kept.len(), 200);
    assert!(run.notes.has(LogLevel::Warn, "user u99 came twice"));
    assert!(run.notes.has(
        LogLevel::Warn,
        "the user listing returned 1 users more than once"
    ));
}

#[test]
fn repeats_are_logged_one_by_one_only_at_first() {
    // A server ignoring startIndex, with a total: 3 pages of the same 100 users.
    let run = drive(&mut Listings::default(), 50, |_, _, _| {
        answer(Some(300), 0..100)
    });
    assert_eq!((run.starts.len(), run.kept.len()), (3, 300));
    let warnings = |needle: &str| {
        let lines = run.notes.lines().iter();
        lines
            .filter(|(l, m)| *l == LogLevel::Warn && m.contains(needle))
            .count()
    };
    assert_eq!(warnings("came twice"), 20);
    assert_eq!(warnings("returned 200 users more than once"), 1);
}

#[test]
fn short_pages_before_the_end_lose_nothing() {
    let run = scripted(vec![
        answer(Some(250), 0..60),
        answer(Some(250), 60..160),
        answer(Some(250), 160..250),
    ]);
    assert_eq!((run.starts, run.kept.len()), (vec![1, 61, 161], 250));
    assert!(run.notes.has(
        LogLevel::Debug,
        "a page of 60 users where 100 were asked for came before the end (60 of 250 received); \
         continuing at startIndex 61"
    ));
}

#[test]
fn an_empty_page_short_of_the_total_ends_with_a_warning() {
    for (pages, want) in [
        (vec![answer(Some(5), [])], "after 0 of 5 users"),
        (
            vec![answer(Some(300), 0..100), answer(Some(300), [])],
            "after 100 of 300 users",
        ),
    ] {
        let run = scripted(pages);
        let line =
            format!("the user listing ended short of totalResults: an empty page came {want}");
        assert!(
            run.notes.has(LogLevel::Warn, &line),
            "{:?}",
            run.notes.lines()
        );
    }
    let run = scripted(vec![answer(None, 0..3), answer(None, [])]);
    assert!(!run.notes.lines().iter().any(|(l, _)| *l == LogLevel::Warn));
}

#[test]
fn a_wrong_items_per_page_is_ignored_and_logged() {
    let mut first = answer(Some(150), 0..100);
    first.per_page = Some(10);
    let run = scripted(vec![first, answer(Some(150), 100..150)]);
    assert_eq!((run.starts, run.kept.len()), (vec![1, 101], 150));
    assert!(run
        .notes
        .has(LogLevel::Debug, "itemsPerPage 10 but holds 100 users"));
}

#[test]
fn a_total_that_keeps_growing_stops_at_the_budget() {
    // Always 100 items ahead: first total 200, budget 2 * 200 + 100.
    let run = drive(&mut Listings::default(), 50, |_, start, _| {
        let first = (start - 1) as u16;
        answer(Some(start - 1 + 200), first..first + 100)
    });
    assert_eq!(run.starts, [1, 101, 201, 301, 401]);
    assert!(run
        .notes
        .has(LogLevel::Warn, "stopping the user listing after 500 users"));
}

#[test]
fn without_a_total_a_page_with_nothing_new_ends_the_listing() {
    let unusable = Answer {
        total: None,
        per_page: None,
        items: vec![None; 3],
    };
    let run = scripted(vec![answer(None, 0..3), unusable]);
    assert_eq!((run.starts, run.kept.len()), (vec![1, 4], 3));
    assert!(run
        .notes
        .has(LogLevel::Warn, "a page held no user not seen before"));
}

#[test]
fn the_cap_ends_any_listing() {
    let mut listings = Listings::with_limits(10, 25);
    let run = drive(&mut listings, 50, |_, start, count| {
        answer(None, start as u16..start as u16 + count as u16)
    });
    assert_eq!(run.starts, [1, 11, 21]);
    assert!(run
        .notes
        .has(LogLevel::Warn, "after 30 users, the most one listing reads"));
}

/// Distinct ids a simulated server can send.
const UNIVERSE: u16 = 20;

/// A `totalResults` as a simulated server computes it.
#[derive(Clone, Debug)]
enum Total {
    /// Always this number (small, or near `u64::MAX`).
    Fixed(u64),
    /// This many more than the items sent so far: a total that runs ahead.
    Ahead(u64),
}

/// One scripted answer; its total is computed when it is sent.
fn answers() -> impl Strategy<Value = (Option<Total>, Answer)> {
    let total = option::of(prop_oneof![
        (0u64..60).prop_map(Total::Fixed),
        (0u64..5).prop_map(|d| Total::Fixed(u64::MAX - d)),
        (1u64..30).prop_map(Total::Ahead),
    ]);
    let items = vec(option::weighted(0.9, 0..UNIVERSE), 0..8);
    (total, option::of(0u64..200), items).prop_map(|(total, per_page, items)| {
        let answer = Answer {
            total: None,
            per_page,
            items,
        };
        (total, answer)
    })
}

#[test]
fn prop_paging_terminates_within_the_bound() {
    // A server cycling through a script never runs out of pages: only the
    // stop rule can end the listing.
    let strategy = (vec(answers(), 1..8), 1u32..6, 1u64..400);
    prop_support::run(256, strategy, |(script, page_size, max_items)| {
        let mut listings = Listings::with_limits(page_size, max_items);
        let hard = UNIVERSE as usize + max_items as usize + 2;
        let run = drive(&mut listings, hard, |i, start, count| {
            assert_eq!(count, page_size);
            let (total, mut answer) = script[i % script.len()].clone();
            answer.total = total.map(|t| match t {
                Total::Fixed(n) => n,
                Total::Ahead(n) => start - 1 + n,
            });
            answer
        });
        // Pages before a total is known each bring a new id; after it, each
        // brings an item towards the budget (or the cap).
        let items_bound = run
            .first_total
            .map_or(0, |t| budget(t, page_size).min(max_items));
        let bound = u64::from(UNIVERSE) + items_bound + 1;
        assert!(
            run.starts.len() as u64 <= bound,
            "{} > {bound}",
            run.starts.len()
        );
        assert_eq!(run.starts[0], 1);
        for k in 1..run.starts.len() {
            assert_eq!(run.starts[k], run.starts[k - 1] + run.lens[k - 1]);
        }
        // Every valid item is passed on, repeats included (the host keeps one).
        assert_eq!(run.kept.len() as u64, run.valid, "an item was dropped");
    });
}

#[test]
fn prop_paging_tokens_never_panic() {
    let token = prop_oneof![
        ".{0,40}",
        "v1\\.(user|group)\\.[0-9]{1,3}\\.[0-9]{1,21}\\.[0-9]{1,21}\\.([0-9]{1,21}|-)",
    ];
    prop_support::run(256, token, |token| {
        let mut listings = Listings::default();
        let mut notes = Notes::new();
        let result = listings.page(
            "user",
            "user",
            &token,
            Requests::only(|_, _| Ok(ListResponse::default())),
            |_, _| None::<(String, ())>,
            &mut notes,
        );
        if let Ok(cursor) = Cursor::decode(&token, "user") {
            assert_eq!(cursor.encode(), token);
            assert!(result.is_ok());
        } else {
            assert!(token.is_empty() || result.is_err());
        }
    });
}

//! A tiny reference client against pagination anomalies and a seeded mix of faults:
//! what a correct client must do, and proof that the server lets it end with the
//! same data as a clean run wherever the anomaly or fault allows.

mod common;

use std::collections::HashSet;
use std::net::SocketAddr;

use common::{send, Resp};
use notion_scim_test_server::{Anomaly, Config, Fault, Schedule, ScheduledFault, TestServer};
use serde_json::Value;

const TOKEN: &str = "test-token";

fn server() -> TestServer {
    TestServer::start(Config {
        users: 250,
        groups: 7,
        ..Config::default()
    })
    .expect("server starts")
}

/// What a full listing produced.
#[derive(Debug)]
struct Listing {
    /// Unique items, in first-seen order.
    items: Vec<Value>,
    /// Items seen again (by id).
    duplicates: usize,
    /// `totalResults` of the last page.
    last_total: u64,
    /// Requests sent, retries included.
    requests: usize,
}

/// One page, retried until it is a well-formed ListResponse: the reference client
/// treats 429, 5xx, resets, non-SCIM content types, unparsable JSON and resources
/// without an `id` as transient. (It does not sleep out Retry-After: tests are fast.)
fn fetch_page(addr: SocketAddr, target: &str, requests: &mut usize) -> Value {
    for _ in 0..50 {
        *requests += 1;
        let Ok(r) = send(addr, "GET", target, Some(TOKEN), None) else {
            continue;
        };
        if let Some(page) = well_formed(&r) {
            return page;
        }
        assert!(
            r.status == 200 || r.status == 429 || r.status >= 500,
            "a non-transient status {} for {target}",
            r.status
        );
    }
    panic!("{target} never came back well-formed");
}

fn well_formed(r: &Resp) -> Option<Value> {
    let json_type = r.header("content-type").is_some_and(|t| {
        t.starts_with("application/scim+json") || t.starts_with("application/json")
    });
    if r.status != 200 || !json_type || r.body.len() > 1 << 20 {
        return None;
    }
    let v: Value = serde_json::from_slice(&r.body).ok()?;
    v["totalResults"].as_u64()?;
    let items = v["Resources"].as_array()?;
    items.iter().all(|i| i["id"].is_string()).then_some(v)
}

/// The paging loop: advance by the items received, stop at `totalResults` or on an
/// empty page, de-duplicate by id, and never loop without bound.
fn list_all(s: &TestServer, resource: &str, count: usize) -> Listing {
    let mut out = Listing {
        items: Vec::new(),
        duplicates: 0,
        last_total: 0,
        requests: 0,
    };
    let mut seen = HashSet::new();
    let mut start = 1;
    for _ in 0..10_000 {
        let target = format!("/scim/v2/{resource}?startIndex={start}&count={count}");
        let page = fetch_page(s.addr(), &target, &mut out.requests);
        out.last_total = page["totalResults"].as_u64().unwrap();
        let items = page["Resources"].as_array().unwrap();
        if items.is_empty() {
            return out;
        }
        start += items.len();
        for item in items {
            if seen.insert(item["id"].as_str().unwrap().to_string()) {
                out.items.push(item.clone());
            } else {
                out.duplicates += 1;
            }
        }
        // `start - 1` items were received: stop once that reaches the total.
        if start as u64 > out.last_total {
            return out;
        }
    }
    panic!("paging {resource} never ended");
}

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

fn page(s: &TestServer, start: usize, count: usize) -> Value {
    let target = format!("/scim/v2/Users?startIndex={start}&count={count}");
    send(s.addr(), "GET", &target, Some(TOKEN), None)
        .expect("a response")
        .json()
}

fn page_ids(v: &Value) -> Vec<String> {
    ids(v["Resources"].as_array().unwrap())
}

#[test]
fn each_anomaly_shapes_pages_as_documented() {
    let s = server();
    let all = ids(&s.users());

    s.enable_anomaly(Anomaly::DuplicateAcrossPages);
    let (p1, p2) = (page(&s, 1, 100), page(&s, 101, 100));
    assert_eq!(page_ids(&p1).last(), page_ids(&p2).first());
    assert_eq!(
        (p1["totalResults"].as_u64(), p2["totalResults"].as_u64()),
        (Some(250), Some(251))
    );
    s.clear_anomalies();

    s.enable_anomaly(Anomaly::ShortPages);
    let p = page(&s, 1, 100);
    assert_eq!(
        (page_ids(&p), p["itemsPerPage"].as_u64()),
        (all[..50].to_vec(), Some(50))
    );
    s.disable_anomaly(Anomaly::ShortPages);

    s.enable_anomaly(Anomaly::EmptyPageBeforeEnd);
    let p = page(&s, 201, 100);
    assert_eq!(
        (
            p["Resources"].as_array().unwrap().len(),
            p["totalResults"].as_u64()
        ),
        (0, Some(250))
    );
    assert_eq!(page_ids(&page(&s, 101, 100)), all[100..200].to_vec());
    s.clear_anomalies();

    s.enable_anomaly(Anomaly::WrongItemsPerPage);
    let p = page(&s, 201, 100);
    assert_eq!(
        (page_ids(&p).len(), p["itemsPerPage"].as_u64()),
        (50, Some(51))
    );
    s.clear_anomalies();

    s.enable_anomaly(Anomaly::TotalResultsDrift);
    let totals: Vec<u64> = [1, 101, 201]
        .iter()
        .map(|&start| page(&s, start, 100)["totalResults"].as_u64().unwrap())
        .collect();
    assert_eq!(totals, vec![250, 253, 251]);

    // Filtered look-ups stay exact, and the directory itself never changes.
    for a in Anomaly::ALL {
        s.enable_anomaly(a);
    }
    assert_eq!(s.anomalies(), Anomaly::ALL.to_vec());
    let email = s.users()[0]["userName"].as_str().unwrap().to_string();
    let hit = send(
        s.addr(),
        "GET",
        &format!("/scim/v2/Users?filter=email%20eq%20%22{email}%22&startIndex=1&count=100"),
        Some(TOKEN),
        None,
    )
    .unwrap()
    .json();
    assert_eq!(
        (hit["totalResults"].as_u64(), hit["itemsPerPage"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(ids(&s.users()), all);
}

#[test]
fn a_correct_client_recovers_everything_under_each_lossless_anomaly() {
    let s = server();
    let (users, groups) = (s.users(), s.groups());
    for anomaly in Anomaly::ALL.into_iter().filter(|a| a.is_lossless()) {
        s.clear_anomalies();
        s.enable_anomaly(anomaly);
        for count in [100, 7] {
            let got = list_all(&s, "Users", count);
            assert_eq!(got.items, users, "{anomaly} count={count}");
            let dups_expected = anomaly == Anomaly::DuplicateAcrossPages;
            assert_eq!(got.duplicates > 0, dups_expected, "{anomaly}: {got:?}");
            assert_eq!(list_all(&s, "Groups", 2).items, groups, "{anomaly}");
        }
    }
    // And all of them at once.
    for a in Anomaly::ALL.into_iter().filter(|a| a.is_lossless()) {
        s.enable_anomaly(a);
    }
    assert_eq!(list_all(&s, "Users", 100).items, users);
}

#[test]
fn an_empty_page_before_the_end_hides_the_tail_detectably() {
    let s = server();
    s.enable_anomaly(Anomaly::EmptyPageBeforeEnd);
    let got = list_all(&s, "Users", 100);
    // Pages at 1 and 101 are whole; the one at 201 (past half of 250) is empty.
    assert_eq!(got.items, s.users()[..200].to_vec());
    assert!((got.items.len() as u64) < got.last_total);
    assert_eq!(got.requests, 3);
}

#[test]
fn a_seeded_mix_of_every_fault_and_lossless_anomaly_loses_nothing() {
    let clean = server();
    let want = (
        list_all(&clean, "Users", 100).items,
        list_all(&clean, "Groups", 3).items,
    );
    let run = || {
        let s = server();
        let faults = [
            Fault::RateLimit {
                retry_after_secs: 1,
            },
            Fault::RateLimitHttpDate {
                retry_after_secs: 1,
            },
            Fault::Status(502),
            Fault::Status(503),
            Fault::Status(504),
            Fault::Status(529),
            Fault::HtmlError(502),
            Fault::Drop,
            Fault::Delay(std::time::Duration::from_millis(5)),
            Fault::TruncatedBody,
            Fault::WrongContentType,
            Fault::Oversized { pad_bytes: 2 << 20 },
            Fault::MissingField("id".into()),
        ];
        for (i, fault) in faults.into_iter().enumerate() {
            s.inject(ScheduledFault::new(
                fault,
                Schedule::probability(0.05, 1000 + i as u64),
            ));
        }
        for a in Anomaly::ALL.into_iter().filter(|a| a.is_lossless()) {
            s.enable_anomaly(a);
        }
        let users = list_all(&s, "Users", 100);
        let groups = list_all(&s, "Groups", 3);
        let log = s.requests();
        // A 200 asked again at once was one the client found malformed.
        let bad_200s = log
            .windows(2)
            .filter(|w| {
                w[0].status == 200 && (&w[0].path, &w[0].query) == (&w[1].path, &w[1].query)
            })
            .count();
        let statuses: Vec<u16> = log.iter().map(|r| r.status).collect();
        (users, groups, (statuses, bad_200s))
    };
    let (users, groups, statuses) = run();
    assert_eq!((users.items.clone(), groups.items.clone()), want);
    // Faults of every kind did happen (0 = a dropped connection), and the same
    // seeds fault the same requests next time.
    let (codes, bad_200s) = &statuses;
    for wanted in [0, 429, 502, 529] {
        assert!(codes.contains(&wanted), "{wanted} missing from {codes:?}");
    }
    assert!(*bad_200s > 0, "{codes:?}");
    let (again_users, _, again_statuses) = run();
    assert_eq!(
        (again_users.requests, again_statuses),
        (users.requests, statuses)
    );
}

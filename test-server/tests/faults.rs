//! Fault injection over HTTP: schedules, the wire shape of every fault, the token
//! bucket, and the binary's flags.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{send, Resp};
use notion_scim_test_server::scim::ERROR_SCHEMA;
use notion_scim_test_server::{
    Config, Fault, RateLimit, Schedule, ScheduledFault, TestServer, PADDING_FIELD,
};
use serde_json::Value;

const TOKEN: &str = "test-token";
const USERS: &str = "/scim/v2/Users?startIndex=1&count=100";

fn server() -> TestServer {
    TestServer::start(Config {
        users: 30,
        groups: 3,
        ..Config::default()
    })
    .expect("server starts")
}

fn get(addr: SocketAddr, target: &str) -> Resp {
    send(addr, "GET", target, Some(TOKEN), None).expect("a response")
}

fn statuses(s: &TestServer, n: usize, target: &str) -> Vec<u16> {
    (0..n).map(|_| get(s.addr(), target).status).collect()
}

fn assert_scim_error(r: &Resp, status: u16) {
    assert_eq!(r.status, status);
    assert_eq!(r.header("content-type"), Some("application/scim+json"));
    let v = r.json();
    assert_eq!(v["schemas"][0], ERROR_SCHEMA);
    assert_eq!(v["status"], status.to_string());
}

/// Seconds since the epoch of an IMF-fixdate such as `Sun, 06 Nov 1994 08:49:37 GMT`.
fn parse_imf_fixdate(s: &str) -> u64 {
    let parts: Vec<&str> = s.split([' ', ':']).collect();
    assert_eq!((parts.len(), parts[7]), (8, "GMT"), "{s}");
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let num = |i: usize| parts[i].parse::<u64>().unwrap();
    let month = months.iter().position(|m| *m == parts[2]).unwrap() as u64 + 1;
    let (day, year) = (num(1), num(3));
    // Days before the month in a non-leap year, plus the leap day when past February.
    let before = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334][month as usize - 1];
    let leap = |y: u64| y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400));
    let days = (1970..year).map(|y| 365 + u64::from(leap(y))).sum::<u64>()
        + before
        + u64::from(month > 2 && leap(year))
        + day
        - 1;
    days * 86_400 + num(4) * 3600 + num(5) * 60 + num(6)
}

#[test]
fn schedules_pick_every_nth_first_k_and_seeded_requests() {
    let s = server();
    s.inject(ScheduledFault::new(
        Fault::Status(503),
        Schedule::every_nth(3),
    ));
    assert_eq!(
        statuses(&s, 7, USERS),
        vec![200, 200, 503, 200, 200, 503, 200]
    );
    s.clear_faults();
    s.fail_next(Fault::Status(502), 2);
    assert_eq!(statuses(&s, 3, USERS), vec![502, 502, 200]);
    s.clear_faults();

    // The same seed faults the same requests, on any server, as predicted.
    let schedule = Schedule::probability(0.3, 42);
    let run = || {
        let s = server();
        s.inject(ScheduledFault::new(Fault::Status(504), schedule));
        statuses(&s, 40, USERS)
    };
    let first = run();
    assert_eq!(first, run());
    let predicted: Vec<u16> = (1..=40)
        .map(|n| if schedule.fires(n) { 504 } else { 200 })
        .collect();
    assert_eq!(first, predicted);
    assert!(first.contains(&504) && first.contains(&200));
}

#[test]
fn scoped_faults_count_only_the_requests_they_match() {
    let s = server();
    s.inject(
        ScheduledFault::new(Fault::Status(503), Schedule::every_nth(2))
            .only_method("GET")
            .only_path("/Users"),
    );
    let one = format!("/scim/v2/Users/{}", s.users()[0]["id"].as_str().unwrap());
    let targets: [&str; 7] = [
        USERS,
        "/scim/v2/Groups",
        one.as_str(),
        USERS,
        USERS,
        "/scim/v2/Groups",
        USERS,
    ];
    let got: Vec<u16> = targets.iter().map(|t| get(s.addr(), t).status).collect();
    assert_eq!(got, vec![200, 200, 200, 503, 200, 200, 503]);
}

#[test]
fn rate_limit_faults_give_retry_after_in_seconds_or_as_a_date() {
    let s = server();
    s.fail_next(
        Fault::RateLimit {
            retry_after_secs: 3,
        },
        1,
    );
    let r = get(s.addr(), USERS);
    assert_scim_error(&r, 429);
    assert_eq!(r.header("retry-after"), Some("3"));

    s.fail_next(
        Fault::RateLimitHttpDate {
            retry_after_secs: 5,
        },
        1,
    );
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let r = get(s.addr(), USERS);
    let after = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert_scim_error(&r, 429);
    let at = parse_imf_fixdate(r.header("retry-after").unwrap());
    assert!(at >= before + 5 && at <= after + 6, "{before} {at} {after}");
    assert!(at >= parse_imf_fixdate(r.header("date").unwrap()) + 5);
}

#[test]
fn gateway_statuses_carry_a_scim_body_and_html_pages_do_not() {
    let s = server();
    for code in [502, 503, 504, 529] {
        s.fail_next(Fault::Status(code), 1);
        assert_scim_error(&get(s.addr(), USERS), code);
    }
    s.fail_next(Fault::HtmlError(502), 1);
    let r = get(s.addr(), USERS);
    assert_eq!(r.status, 502);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    let body = String::from_utf8(r.body).unwrap();
    assert!(body.starts_with("<!DOCTYPE html>") && body.contains("502 Bad Gateway"));
}

#[test]
fn body_faults_reshape_a_real_answer() {
    let s = server();
    let clean = get(s.addr(), USERS);
    let clean_json = clean.json();

    s.fail_next(Fault::TruncatedBody, 1);
    let r = get(s.addr(), USERS);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/scim+json"));
    let length: usize = r.header("content-length").unwrap().parse().unwrap();
    assert_eq!(length, r.body.len());
    assert_eq!(r.body, clean.body[..clean.body.len() / 2]);
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());

    s.fail_next(Fault::WrongContentType, 1);
    let r = get(s.addr(), USERS);
    assert_eq!(
        (r.status, r.header("content-type")),
        (200, Some("text/html; charset=utf-8"))
    );
    assert_eq!(r.json(), clean_json);

    s.fail_next(Fault::Oversized { pad_bytes: 3 << 20 }, 1);
    let r = get(s.addr(), USERS);
    assert!(r.body.len() > 3 << 20);
    let mut v = r.json();
    assert_eq!(v[PADDING_FIELD].as_str().unwrap().len(), 3 << 20);
    v.as_object_mut().unwrap().remove(PADDING_FIELD);
    assert_eq!(v, clean_json);

    s.fail_next(Fault::MissingField("id".into()), 1);
    let v = get(s.addr(), USERS).json();
    assert!(v["Resources"][0].get("id").is_none());
    assert_eq!(
        v["Resources"][0]["userName"],
        clean_json["Resources"][0]["userName"]
    );
    assert_eq!(v["Resources"][1], clean_json["Resources"][1]);
    // Only the answer was damaged: the next read is whole again.
    assert_eq!(get(s.addr(), USERS).json(), clean_json);
}

#[test]
fn delays_and_drops_as_scheduled_faults() {
    let s = server();
    s.inject(ScheduledFault::new(
        Fault::Delay(Duration::from_millis(200)),
        Schedule::first(1),
    ));
    let t = Instant::now();
    assert_eq!(get(s.addr(), USERS).status, 200);
    assert!(t.elapsed() >= Duration::from_millis(200));
    s.inject(ScheduledFault::new(Fault::Drop, Schedule::every_nth(2)));
    assert!(send(s.addr(), "GET", USERS, Some(TOKEN), None).is_ok());
    assert!(send(s.addr(), "GET", USERS, Some(TOKEN), None).is_err());
    let log = s.requests();
    assert_eq!(
        log.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![200, 200, 0]
    );
}

#[test]
fn faults_after_handling_lose_the_answer_but_keep_the_write() {
    let s = server();
    s.fail_next(Fault::DropAfterHandling, 1);
    let body = br#"{"userName": "late@corp.com"}"#;
    assert!(send(s.addr(), "POST", "/scim/v2/Users", Some(TOKEN), Some(body)).is_err());
    assert!(s.users().iter().any(|u| u["userName"] == "late@corp.com"));
    assert_eq!(s.requests()[0].status, 0);
    // A blind retry now collides; a filtered read first finds the user.
    let retry = send(s.addr(), "POST", "/scim/v2/Users", Some(TOKEN), Some(body)).unwrap();
    assert_scim_error(&retry, 409);

    s.fail_next(Fault::HangAfterHandling, 1);
    let addr = s.addr();
    let client = std::thread::spawn(move || {
        let body = br#"{"displayName": "Slow"}"#;
        send(addr, "POST", "/scim/v2/Groups", Some(TOKEN), Some(body))
    });
    let t = Instant::now();
    while !s.groups().iter().any(|g| g["displayName"] == "Slow") {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the write never happened"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!client.is_finished());
    s.shutdown();
    assert!(client.join().unwrap().is_err());
}

#[test]
fn the_token_bucket_allows_a_burst_then_answers_429_and_refills() {
    let s = server();
    // One token every 100 ms, three at once.
    s.set_rate_limit(Some(RateLimit::new(10.0, 3)));
    // Rejected requests never reach the fault rules, so this fires on the 4th
    // admitted request whatever the bucket does.
    s.inject(ScheduledFault::new(
        Fault::Status(503),
        Schedule::range(4, Some(1)),
    ));
    assert_eq!(statuses(&s, 3, USERS), vec![200, 200, 200]);
    let r = get(s.addr(), USERS);
    assert_scim_error(&r, 429);
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(r.json()["detail"].as_str().unwrap().contains("rate limit"));
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(get(s.addr(), USERS).status, 503);
    // At 10 per second a paced client is never turned away.
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(120));
        assert_eq!(get(s.addr(), USERS).status, 200);
    }
    s.set_rate_limit(None);
    assert_eq!(statuses(&s, 5, USERS), vec![200; 5]);
    assert_eq!(s.requests()[3].status, 429);
}

#[test]
fn the_retry_after_of_the_bucket_is_whole_seconds_rounded_up() {
    let s = server();
    s.set_rate_limit(Some(RateLimit::new(0.4, 1)));
    assert_eq!(get(s.addr(), USERS).status, 200);
    let r = get(s.addr(), USERS);
    assert_eq!((r.status, r.header("retry-after")), (429, Some("3")));
}

fn spawn(args: &[&str]) -> (Child, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_notion-scim-test-server"))
        .args(["--listen", "127.0.0.1:0", "--users", "30", "--groups", "2"])
        .args(args)
        .env_remove("NOTION_TEST_SERVER_TOKEN")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn binary");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let host = line
        .trim()
        .strip_prefix("listening on http://")
        .and_then(|rest| rest.strip_suffix("/scim/v2"));
    match host.and_then(|h| h.parse().ok()) {
        Some(addr) => (child, addr),
        None => {
            let _ = child.kill();
            panic!("unexpected first line: {line:?}")
        }
    }
}

#[test]
fn the_binary_takes_faults_anomalies_and_a_rate_limit_from_flags() {
    let (mut child, addr) = spawn(&[
        "--fault",
        "status=503,first=1",
        "--fault",
        "truncate,every=2,path=/Groups",
        "--anomaly",
        "short-pages",
        "--anomaly",
        "wrong-items-per-page",
        "--rate-limit",
        "0.5",
        "--rate-burst",
        "4",
    ]);
    let first = get(addr, USERS);
    let page = get(addr, "/scim/v2/Users?startIndex=1&count=20");
    let groups = [get(addr, "/scim/v2/Groups"), get(addr, "/scim/v2/Groups")];
    let limited = get(addr, USERS);
    let _ = child.kill();
    let _ = child.wait();
    assert_scim_error(&first, 503);
    let page = page.json();
    assert_eq!(page["Resources"].as_array().unwrap().len(), 10);
    assert_eq!(page["itemsPerPage"], 11);
    assert_eq!(groups[0].status, 200);
    assert!(serde_json::from_slice::<Value>(&groups[1].body).is_err());
    assert_scim_error(&limited, 429);
    assert_eq!(limited.header("retry-after"), Some("2"));
}

#[test]
fn the_binary_rejects_bad_flags_naming_the_bad_part() {
    let cases: [(&[&str], &str); 4] = [
        (&["--fault", "status=503,every=x"], "`every=x`"),
        (&["--fault", "teleport"], "unknown item `teleport`"),
        (&["--anomaly", "sideways"], "unknown anomaly `sideways`"),
        (&["--rate-limit=-1"], "not a positive number"),
    ];
    for (args, wanted) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_notion-scim-test-server"))
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                let mut err = String::new();
                c.stderr.take().unwrap().read_to_string(&mut err)?;
                Ok((c.wait()?, err))
            })
            .expect("run binary");
        assert_eq!(out.0.code(), Some(2), "{args:?}: {}", out.1);
        assert!(out.1.contains(wanted), "{args:?}: {}", out.1);
    }
}

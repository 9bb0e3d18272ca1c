//! End-to-end tests: a real server on an ephemeral port, driven by a tiny HTTP/1.1
//! client written over `std::net::TcpStream` (one request per connection).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{send, Resp};
use notion_scim_test_server::scim::{ERROR_SCHEMA, LIST_RESPONSE, NOTION_USER_EXT};
use notion_scim_test_server::{Config, Fault, FaultRule, TestServer};
use serde_json::{json, Value};

const TOKEN: &str = "test-token";

fn get(s: &TestServer, target: &str) -> Resp {
    send(s.addr(), "GET", target, Some(TOKEN), None).expect("request failed")
}

fn with_body(s: &TestServer, method: &str, target: &str, body: &Value) -> Resp {
    let bytes = serde_json::to_vec(body).unwrap();
    send(s.addr(), method, target, Some(TOKEN), Some(&bytes)).expect("request failed")
}

fn server(users: usize, groups: usize) -> TestServer {
    TestServer::start(Config {
        users,
        groups,
        ..Config::default()
    })
    .expect("server starts")
}

fn assert_scim_error(r: &Resp, status: u16) -> Value {
    assert_eq!(r.status, status);
    assert_eq!(r.header("content-type"), Some("application/scim+json"));
    let v = r.json();
    assert_eq!(v["schemas"][0], ERROR_SCHEMA);
    assert_eq!(v["status"], status.to_string());
    v
}

#[test]
fn a_sync_pages_through_everything_with_exact_request_counts() {
    let s = server(250, 5);
    assert!(s.base_url().starts_with("http://127.0.0.1:"));
    assert!(s.base_url().ends_with("/scim/v2"));
    let check = get(&s, "/scim/v2/Users?startIndex=1&count=1");
    assert_eq!(check.status, 200);
    let mut ids = Vec::new();
    let mut start = 1;
    loop {
        let r = get(&s, &format!("/scim/v2/Users?startIndex={start}&count=100"));
        assert_eq!(r.header("content-type"), Some("application/scim+json"));
        let v = r.json();
        assert_eq!(v["schemas"][0], LIST_RESPONSE);
        assert_eq!(v["totalResults"], 250);
        let page = v["Resources"].as_array().unwrap();
        ids.extend(page.iter().map(|u| u["id"].as_str().unwrap().to_string()));
        start += page.len();
        if page.is_empty() || ids.len() >= 250 {
            break;
        }
    }
    let groups = get(&s, "/scim/v2/Groups?startIndex=1&count=100").json();
    assert_eq!(groups["totalResults"], 5);
    let expected: Vec<String> = s
        .users()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, expected);
    assert_eq!(groups["Resources"].as_array().unwrap(), &s.groups());
    assert_eq!(s.request_count(), 5);
    let log = s.requests();
    assert_eq!(log.len(), 5);
    assert!(log.iter().all(|r| r.status == 200 && r.method == "GET"));
    assert_eq!(log[1].path, "/scim/v2/Users");
    assert_eq!(log[3].query.as_deref(), Some("startIndex=201&count=100"));
    assert_eq!(
        log.iter().map(|r| r.number).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
}

#[test]
fn paging_parameters_are_clamped_or_rejected() {
    let s = server(250, 5);
    let v = get(&s, "/scim/v2/Users?count=1000").json();
    assert_eq!(v["itemsPerPage"], 100);
    assert_eq!(v["startIndex"], 1);
    let v = get(&s, "/scim/v2/Users?startIndex=0&count=0").json();
    assert_eq!(
        (v["totalResults"].as_u64(), v["itemsPerPage"].as_u64()),
        (Some(250), Some(0))
    );
    let v = get(&s, "/scim/v2/Users?startIndex=999").json();
    assert_eq!(v["Resources"], json!([]));
    let v = get(&s, "/scim/v2/Users").json();
    assert_eq!(v["itemsPerPage"], 100);
    assert_scim_error(&get(&s, "/scim/v2/Users?count=ten"), 400);
}

#[test]
fn authentication() {
    let s = server(5, 1);
    let r = send(s.addr(), "GET", "/scim/v2/Users", None, None).unwrap();
    assert_scim_error(&r, 401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    let r = send(s.addr(), "GET", "/scim/v2/Users", Some("wrong"), None).unwrap();
    assert_scim_error(&r, 401);
    let r = send(
        s.addr(),
        "GET",
        "/scim/v2/ServiceProviderConfig",
        None,
        None,
    )
    .unwrap();
    assert_eq!(r.status, 200);
    let spc = r.json();
    assert_eq!(spc["patch"]["supported"], true);
    assert_eq!(spc["filter"]["supported"], true);
    assert_eq!(spc["sort"]["supported"], false);
    assert_eq!(spc["bulk"]["supported"], false);
    assert_eq!(spc["etag"]["supported"], false);
    let r = send(s.addr(), "GET", "/scim/v2/ResourceTypes", None, None).unwrap();
    assert_eq!(r.status, 401);
    let rt = get(&s, "/scim/v2/ResourceTypes").json();
    assert_eq!(
        rt["Resources"][0]["schemaExtensions"][0]["schema"],
        NOTION_USER_EXT
    );
    assert_eq!(rt["Resources"][1]["id"], "Group");
    assert_eq!(s.request_count(), 5);
    assert_eq!(s.requests()[0].status, 401);
}

#[test]
fn filters_over_http() {
    let s = server(250, 5);
    let user = &s.users()[42];
    let email = user["userName"].as_str().unwrap().to_uppercase();
    let r = get(
        &s,
        &format!("/scim/v2/Users?filter=email%20eq%20%22{email}%22"),
    );
    let v = r.json();
    assert_eq!(v["totalResults"], 1);
    assert_eq!(v["Resources"][0], *user);
    let r = get(&s, "/scim/v2/Groups?filter=displayName+eq+Engineering");
    assert_eq!(r.json()["Resources"][0]["displayName"], "Engineering");
    let r = get(&s, "/scim/v2/Users?filter=userName%20eq%20%22x%22");
    assert_eq!(assert_scim_error(&r, 400)["scimType"], "invalidFilter");
    let r = get(&s, "/scim/v2/Groups?filter=displayName%20co%20%22E%22");
    assert_eq!(assert_scim_error(&r, 400)["scimType"], "invalidFilter");
}

#[test]
fn user_lifecycle() {
    let s = server(20, 3);
    let r = with_body(
        &s,
        "POST",
        "/scim/v2/Users",
        &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ann@corp.com",
                "name": {"givenName": "Ann", "familyName": "Lee", "formatted": "Ann Lee"}}),
    );
    assert_eq!(r.status, 201);
    let user = r.json();
    let id = user["id"].as_str().unwrap().to_string();
    assert_eq!(user[NOTION_USER_EXT]["role"], "member");
    assert!(r.header("location").unwrap().ends_with(&id));
    let dup = with_body(
        &s,
        "POST",
        "/scim/v2/Users",
        &json!({"userName": "ANN@corp.com"}),
    );
    assert_eq!(assert_scim_error(&dup, 409)["scimType"], "uniqueness");
    let path = format!("/scim/v2/Users/{id}");
    let r = with_body(
        &s,
        "PATCH",
        &path,
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "value": {NOTION_USER_EXT: {"role": "membership_admin"}}}]}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()[NOTION_USER_EXT]["role"], "membership_admin");
    assert_eq!(
        get(&s, &path).json()[NOTION_USER_EXT]["role"],
        "membership_admin"
    );
    let gid = s.groups()[0]["id"].as_str().unwrap().to_string();
    let r = with_body(
        &s,
        "PATCH",
        &format!("/scim/v2/Groups/{gid}"),
        &json!({"Operations": [{"op": "Add", "path": "members", "value": [{"value": id}]}]}),
    );
    assert_eq!(r.status, 200);
    assert!(r.json()["members"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["value"] == id));
    let r = send(s.addr(), "DELETE", &path, Some(TOKEN), None).unwrap();
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    assert_scim_error(&get(&s, &path), 404);
    let g = get(&s, &format!("/scim/v2/Groups/{gid}")).json();
    assert!(g["members"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["value"] != id));
    let r = send(s.addr(), "DELETE", &path, Some(TOKEN), None).unwrap();
    assert_scim_error(&r, 404);
}

#[test]
fn malformed_requests_get_scim_errors() {
    let s = server(5, 1);
    let r = send(
        s.addr(),
        "POST",
        "/scim/v2/Users",
        Some(TOKEN),
        Some(b"{not json"),
    )
    .unwrap();
    assert_eq!(assert_scim_error(&r, 400)["scimType"], "invalidSyntax");
    let id = s.users()[0]["id"].as_str().unwrap().to_string();
    let r = send(
        s.addr(),
        "PATCH",
        &format!("/scim/v2/Users/{id}"),
        Some(TOKEN),
        Some(b"[]"),
    )
    .unwrap();
    assert_scim_error(&r, 400);
    assert_scim_error(&get(&s, "/scim/v2/Users/not-a-uuid"), 404);
    assert_scim_error(&get(&s, "/scim/v2/Nope"), 404);
    assert_scim_error(&get(&s, "/scim/v2/Schemas"), 404);
    let r = send(s.addr(), "DELETE", "/scim/v2/Users", Some(TOKEN), None).unwrap();
    assert_scim_error(&r, 405);
    let r = with_body(
        &s,
        "POST",
        "/scim/v2/Groups",
        &json!({"displayName": "X", "members": [{"value": "00000000-0000-4000-8000-000000000000"}]}),
    );
    assert_scim_error(&r, 400);
    let r = with_body(
        &s,
        "POST",
        "/scim/v2/Groups",
        &json!({"displayName": "X", "members": [{"value": id}]}),
    );
    assert_eq!(r.status, 201);
}

#[test]
fn rate_limit_and_error_faults() {
    let s = server(5, 1);
    s.fail_next(
        Fault::RateLimit {
            retry_after_secs: 7,
        },
        2,
    );
    for _ in 0..2 {
        let r = get(&s, "/scim/v2/Users");
        assert_scim_error(&r, 429);
        assert_eq!(r.header("retry-after"), Some("7"));
    }
    assert_eq!(get(&s, "/scim/v2/Users").status, 200);
    s.add_fault(FaultRule::new(Fault::Status(503), 5, Some(1)));
    assert_eq!(get(&s, "/scim/v2/Users").status, 200);
    assert_scim_error(&get(&s, "/scim/v2/Users"), 503);
    assert_eq!(get(&s, "/scim/v2/Users").status, 200);
    s.add_fault(FaultRule::from_request(1, Fault::Status(529)));
    assert_eq!(get(&s, "/scim/v2/Groups").status, 529);
    s.clear_faults();
    assert_eq!(get(&s, "/scim/v2/Groups").status, 200);
    let statuses: Vec<u16> = s.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![429, 429, 200, 200, 503, 200, 529, 200]);
}

#[test]
fn delay_fault_slows_responses() {
    let s = server(5, 1);
    s.fail_next(Fault::Delay(Duration::from_millis(300)), 1);
    let t = Instant::now();
    assert_eq!(get(&s, "/scim/v2/Users").status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
}

#[test]
fn drop_fault_closes_the_connection_without_a_response() {
    let s = server(5, 1);
    assert_eq!(get(&s, "/scim/v2/Users").status, 200);
    s.add_fault(FaultRule::from_request(2, Fault::Drop));
    for _ in 0..3 {
        let r = send(s.addr(), "GET", "/scim/v2/Users", Some(TOKEN), None);
        assert!(r.is_err(), "expected a dropped connection");
    }
    // Not a single response byte: either a clean EOF or a reset.
    let mut raw = TcpStream::connect(s.addr()).unwrap();
    raw.write_all(b"GET /scim/v2/Users HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = Vec::new();
    if raw.read_to_end(&mut buf).is_ok() {
        assert!(buf.is_empty(), "{}", String::from_utf8_lossy(&buf));
    }
    let log = s.requests();
    assert_eq!(log.len(), 5);
    assert!(log[1..].iter().all(|r| r.status == 0));
}

#[test]
fn hang_fault_is_released_by_shutdown() {
    let s = server(5, 1);
    s.fail_next(Fault::Hang, 1);
    let addr = s.addr();
    let client = std::thread::spawn(move || send(addr, "GET", "/scim/v2/Users", Some(TOKEN), None));
    let t = Instant::now();
    while s.request_count() == 0 && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(100));
    assert!(!client.is_finished());
    let t = Instant::now();
    s.shutdown();
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "shutdown took {:?}",
        t.elapsed()
    );
    assert!(client.join().unwrap().is_err());
    assert!(TcpStream::connect(addr).is_err());
}

#[test]
fn large_directory_pages_quickly() {
    let t = Instant::now();
    let s = server(100_000, 2_000);
    let started = t.elapsed();
    let t = Instant::now();
    let v = get(&s, "/scim/v2/Users?startIndex=99951&count=100").json();
    assert_eq!(v["totalResults"], 100_000);
    assert_eq!(v["itemsPerPage"], 50);
    let g = get(&s, "/scim/v2/Groups?startIndex=1901&count=100").json();
    assert_eq!(g["itemsPerPage"], 100);
    // Generous bounds: debug build, shared machine.
    assert!(started < Duration::from_secs(10), "start took {started:?}");
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "paging took {:?}",
        t.elapsed()
    );
}

#[test]
fn binary_prints_its_listening_line_and_serves() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_notion-scim-test-server"))
        .args(["--listen", "127.0.0.1:0", "--users", "12", "--groups", "2"])
        .env("NOTION_TEST_SERVER_TOKEN", "bin-token")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn binary");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| {
            let _ = child.kill();
            panic!("unexpected first line: {line:?}")
        });
    let (host, rest) = url.split_once('/').unwrap();
    assert_eq!(rest, "scim/v2");
    let addr: SocketAddr = host.parse().unwrap();
    assert_ne!(addr.port(), 0);
    let r = send(
        addr,
        "GET",
        "/scim/v2/Users?count=5",
        Some("bin-token"),
        None,
    )
    .unwrap();
    let bad = send(addr, "GET", "/scim/v2/Users", Some(TOKEN), None).unwrap();
    // Ctrl-C (SIGINT) must stop it cleanly.
    #[cfg(unix)]
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .map(|st| st.success())
        .unwrap_or(false);
    #[cfg(not(unix))]
    let interrupted = false;
    if !interrupted {
        let _ = child.kill();
    }
    let exit = child.wait().unwrap();
    if interrupted {
        assert!(exit.success(), "exit after SIGINT: {exit:?}");
    }
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["totalResults"], 12);
    assert_eq!(bad.status, 401);
}

#[test]
fn handles_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<TestServer>();
    assert_send_sync::<notion_scim_test_server::ServerState>();
}

//! `--otel-collector-endpoint`: the real `baton-notion` binary exports a trace of its sync
//! to a collector stub, a plain HTTP/1.1 listener that records what is POSTed to it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output};
use std::sync::mpsc::{self, Receiver, Sender};

use baton_host::telemetry::otlp::{
    any_value::Value, status::StatusCode, ExportTraceServiceRequest, Span,
};
use notion_scim_test_server::{Fault, Schedule, ScheduledFault};
use prost::Message;

use super::{server, TOKEN};

/// One request the stub received.
pub(crate) struct Received {
    method: String,
    path: String,
    content_type: String,
    pub(crate) body: Vec<u8>,
}

/// Starts the collector stub on an ephemeral port; every request it answers (with
/// `status`) arrives on the receiver before the answer is sent.
pub(crate) fn collector_stub(status: u16) -> (u16, Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the stub");
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let tx = tx.clone();
            std::thread::spawn(move || serve(stream, &tx, status));
        }
    });
    (port, rx)
}

/// Answers HTTP/1.1 requests on one connection until the client closes it.
fn serve(stream: TcpStream, tx: &Sender<Received>, status: u16) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let path = parts.next().unwrap_or_default().to_string();
        let (mut length, mut chunked, mut content_type) = (0, false, String::new());
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).unwrap();
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap();
            let value = value.trim();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse().unwrap(),
                "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                "content-type" => content_type = value.to_string(),
                _ => {}
            }
        }
        let body = if chunked {
            read_chunked(&mut reader)
        } else {
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            body
        };
        let received = Received {
            method,
            path,
            content_type,
            body,
        };
        if tx.send(received).is_err() {
            return;
        }
        let answer = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n"
        );
        if writer.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

fn read_chunked(reader: &mut impl BufRead) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size).unwrap();
        let size = usize::from_str_radix(size.trim().split(';').next().unwrap(), 16).unwrap();
        let mut chunk = vec![0; size + 2]; // the chunk and its CRLF
        reader.read_exact(&mut chunk).unwrap();
        if size == 0 {
            return body;
        }
        body.extend_from_slice(&chunk[..size]);
    }
}

/// Runs `baton-notion` with the token in its environment (and `env`), logging JSON.
fn baton_notion(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_baton-notion"));
    cmd.args(args)
        .args(["--log-format", "json"])
        .env_remove("BATON_OTEL_COLLECTOR_ENDPOINT")
        .env("BATON_SCIM_TOKEN", TOKEN);
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd.output().expect("baton-notion runs")
}

fn spans(requests: &[Received]) -> Vec<Span> {
    requests
        .iter()
        .map(|r| ExportTraceServiceRequest::decode(r.body.as_slice()).expect("OTLP protobuf"))
        .flat_map(|r| r.resource_spans)
        .flat_map(|r| r.scope_spans)
        .flat_map(|s| s.spans)
        .collect()
}

fn int(span: &Span, key: &str) -> i64 {
    let value = span.attribute(key).and_then(Value::as_int);
    value.unwrap_or_else(|| panic!("{key} missing on {}", span.name))
}

fn text<'a>(span: &'a Span, key: &str) -> &'a str {
    let value = span.attribute(key).and_then(Value::as_str);
    value.unwrap_or_else(|| panic!("{key} missing on {}", span.name))
}

#[test]
fn a_sync_exports_one_span_per_page_under_a_root_span() {
    let server = server(250, 5);
    let (port, received) = collector_stub(200);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.c1z");
    let endpoint = format!("http://127.0.0.1:{port}");
    let out = baton_notion(
        &[
            "--base-url",
            &server.base_url(),
            "-f",
            file.to_str().unwrap(),
            "--otel-collector-endpoint",
            &endpoint,
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("exported the sync's trace"), "{stderr}");

    let requests: Vec<Received> = received.try_iter().collect();
    assert_eq!(requests.len(), 1, "one export request");
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path, "/v1/traces");
    assert_eq!(requests[0].content_type, "application/x-protobuf");
    let raw_token = requests[0]
        .body
        .windows(TOKEN.len())
        .any(|w| w == TOKEN.as_bytes());
    assert!(!raw_token, "the token reached the collector");

    let spans = spans(&requests);
    let roots: Vec<&Span> = spans
        .iter()
        .filter(|s| s.parent_span_id.is_empty())
        .collect();
    assert_eq!(roots.len(), 1, "one root span");
    let root = roots[0];
    assert_eq!(root.name, "sync");
    assert_eq!(text(root, "baton.outcome"), "ok");
    assert_eq!(text(root, "baton.connector"), "baton-notion");
    assert_eq!(text(root, "baton.file"), file.to_str().unwrap());
    assert!(!text(root, "baton.sync_id").is_empty());
    assert_eq!(root.status.clone().unwrap().code, StatusCode::Ok as i32);
    assert_eq!(int(root, "baton.pages"), 5);

    let pages: Vec<&Span> = spans
        .iter()
        .filter(|s| !s.parent_span_id.is_empty())
        .collect();
    let names: Vec<&str> = pages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "list-resources user",
            "list-resources user",
            "list-resources user",
            "list-resources group",
            "list-resources role",
        ]
    );
    let mut ids = vec![&root.span_id];
    for (i, page) in pages.iter().enumerate() {
        assert_eq!(page.trace_id, root.trace_id, "{}", page.name);
        assert_eq!(page.parent_span_id, root.span_id, "{}", page.name);
        assert!(page.start_time_unix_nano >= root.start_time_unix_nano);
        assert!(page.start_time_unix_nano <= page.end_time_unix_nano);
        assert!(page.end_time_unix_nano <= root.end_time_unix_nano);
        assert_eq!(text(page, "baton.listing"), "resources");
        let page_number = if i < 3 { i as i64 + 1 } else { 1 };
        assert_eq!(int(page, "baton.page"), page_number, "{}", page.name);
        ids.push(&page.span_id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 6, "span ids are unique");
    assert_eq!(root.trace_id.len(), 16);
    assert!(root.trace_id.iter().any(|b| *b != 0));

    // Users come 100 per page; the counts are running totals of the resource type, and a
    // page's items are what it added to them.
    let totals: Vec<i64> = pages[..3]
        .iter()
        .map(|p| int(p, "baton.resources"))
        .collect();
    assert_eq!(totals, [100, 200, 250]);
    assert_eq!(int(pages[3], "baton.resources"), 5);
    let mut before = 0;
    for (i, page) in pages.iter().enumerate() {
        let sum: i64 = ["resources", "entitlements", "grants", "duplicates"]
            .iter()
            .map(|k| int(page, &format!("baton.{k}")))
            .sum();
        if i == 0 || page.name != pages[i - 1].name {
            before = 0;
        }
        assert_eq!(int(page, "baton.items"), sum - before, "{}", page.name);
        before = sum;
    }
    let resources: i64 = [pages[2], pages[3], pages[4]]
        .iter()
        .map(|p| int(p, "baton.resources"))
        .sum();
    assert_eq!(int(root, "baton.resources"), resources);

    for span in &spans {
        for kv in &span.attributes {
            let value = kv.value.as_ref().and_then(|v| v.value.as_ref());
            if let Some(Value::StringValue(s)) = value {
                assert!(!s.contains(TOKEN), "{} carries the token", kv.key);
            }
        }
    }
}

#[test]
fn a_failed_sync_still_exports_its_trace_with_the_error() {
    let server = server(3, 1);
    // Request 1 validates; the first page of users then fails for good.
    server.inject(
        ScheduledFault::new(Fault::Status(400), Schedule::range(2, None))
            .only_method("GET")
            .only_path("/Users"),
    );
    let (port, received) = collector_stub(200);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.c1z");
    let endpoint = format!("http://127.0.0.1:{port}/");
    let out = baton_notion(
        &[
            "--base-url",
            &server.base_url(),
            "-f",
            file.to_str().unwrap(),
        ],
        &[("BATON_OTEL_COLLECTOR_ENDPOINT", &endpoint)],
    );
    assert!(!out.status.success(), "the listing fails");
    let requests: Vec<Received> = received.try_iter().collect();
    let spans = spans(&requests);
    assert_eq!(spans.len(), 1, "only the root span: no page was listed");
    let root = &spans[0];
    assert_eq!(text(root, "baton.outcome"), "error");
    assert!(
        text(root, "baton.error").contains("HTTP 400"),
        "{}",
        text(root, "baton.error")
    );
    let status = root.status.clone().unwrap();
    assert_eq!(status.code, StatusCode::Error as i32);
    assert_eq!(int(root, "baton.pages"), 0);
}

#[test]
fn an_unreachable_or_failing_collector_only_warns() {
    let server = server(3, 1);
    // A port nobody listens on any more.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (failing, _received) = collector_stub(503);
    for endpoint in [format!("http://{closed}"), format!("127.0.0.1:{failing}")] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x.c1z");
        let out = baton_notion(
            &[
                "--base-url",
                &server.base_url(),
                "-f",
                file.to_str().unwrap(),
                "--otel-collector-endpoint",
                &endpoint,
                "--otel-collector-endpoint-tls-insecure",
            ],
            &[],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{endpoint}: {stderr}");
        assert!(file.is_file(), "{endpoint}: the c1z was written");
        assert!(
            stderr.contains("could not export the sync's trace"),
            "{endpoint}: {stderr}"
        );
        assert!(stderr.contains("\"level\":\"WARN\""), "{stderr}");
    }
}

#[test]
fn tracing_can_be_disabled_and_a_bad_endpoint_is_a_usage_error() {
    let server = server(3, 1);
    let (port, received) = collector_stub(200);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.c1z");
    let endpoint = format!("http://127.0.0.1:{port}");
    let base_url = server.base_url();
    let mut args = vec!["--base-url", &base_url, "-f", file.to_str().unwrap()];
    args.extend(["--otel-collector-endpoint", &endpoint]);
    let out = baton_notion(&args, &[("BATON_OTEL_TRACING_DISABLED", "true")]);
    assert!(out.status.success());
    assert_eq!(received.try_iter().count(), 0, "nothing is exported");

    let out = baton_notion(
        &[
            "--base-url",
            &base_url,
            "--otel-collector-endpoint",
            "ftp://127.0.0.1:1",
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--otel-collector-endpoint"), "{stderr}");
    assert!(stderr.contains("http or https"), "{stderr}");
}

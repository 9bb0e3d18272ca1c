//! Unit tests of span building, encoding and endpoint parsing.

use std::path::Path;
use std::time::Duration;

use prost::Message;

use super::otlp::{any_value::Value, status::StatusCode, ExportTraceServiceRequest, Span};
use super::*;

fn event<'a>(resource_type: &'a str, items: usize, totals: &'a TypeStats) -> PageEvent<'a> {
    PageEvent {
        resource_type,
        listing: Listing::Resources,
        items,
        totals,
        called_at: std::time::Instant::now() - Duration::from_millis(4),
        call: Duration::from_millis(3),
        write: Duration::from_millis(1),
    }
}

fn stats(pages: u64, resources: u64) -> TypeStats {
    TypeStats {
        pages,
        resources,
        entitlements: 2 * resources,
        grants: 1,
        duplicates: 0,
        total_estimate: None,
    }
}

fn int(span: &Span, key: &str) -> i64 {
    span.attribute(key)
        .and_then(Value::as_int)
        .unwrap_or_else(|| panic!("{key} missing on {}", span.name))
}

fn text<'a>(span: &'a Span, key: &str) -> &'a str {
    span.attribute(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{key} missing on {}", span.name))
}

fn decode(bodies: &[Vec<u8>]) -> Vec<ExportTraceServiceRequest> {
    bodies
        .iter()
        .map(|b| ExportTraceServiceRequest::decode(b.as_slice()).expect("valid protobuf"))
        .collect()
}

fn spans_of(requests: &[ExportTraceServiceRequest]) -> Vec<Span> {
    requests
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| s.spans.clone())
        .collect()
}

/// Two user pages and one group page, ended with an error.
fn failed_trace() -> Trace {
    let mut recorder = TraceRecorder::new("baton-test", "1.2.3", Path::new("out.c1z"));
    // As if the sync began a second ago, so no page is clamped to the root's start.
    recorder.start = recorder.start.checked_sub(Duration::from_secs(1)).unwrap();
    recorder.observe(&event("user", 100, &stats(1, 100)));
    recorder.observe(&event("user", 50, &stats(2, 150)));
    recorder.observe(&event("group", 5, &stats(1, 5)));
    recorder.finish(Err("the connector failed"))
}

#[test]
fn one_root_and_one_child_per_page_survive_a_protobuf_round_trip() {
    let trace = failed_trace();
    let requests = decode(&trace.encode(SPANS_PER_REQUEST));
    assert_eq!(requests.len(), 1);
    let resource = requests[0].resource_spans[0].resource.clone().unwrap();
    let service = resource
        .attributes
        .iter()
        .find(|kv| kv.key == "service.name");
    let service = service
        .and_then(|kv| kv.value.clone())
        .and_then(|v| v.value);
    assert_eq!(service, Some(Value::StringValue("baton-test".into())));

    let spans = spans_of(&requests);
    assert_eq!(spans.len(), 4);
    let root = &spans[0];
    assert_eq!(root.name, "sync");
    assert!(root.parent_span_id.is_empty());
    assert_eq!(root.trace_id.len(), 16);
    assert_eq!(root.span_id.len(), 8);
    assert_eq!(hex(&root.trace_id), trace.trace_id());
    let names: Vec<&str> = spans[1..].iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "list-resources user",
            "list-resources user",
            "list-resources group"
        ]
    );
    for child in &spans[1..] {
        assert_eq!(child.trace_id, root.trace_id);
        assert_eq!(child.parent_span_id, root.span_id);
        assert_ne!(child.span_id, root.span_id);
        assert!(child.start_time_unix_nano < child.end_time_unix_nano);
        assert!(child.start_time_unix_nano >= root.start_time_unix_nano);
        assert!(child.end_time_unix_nano <= root.end_time_unix_nano);
        assert_eq!(text(child, "baton.listing"), "resources");
    }
    assert_ne!(spans[1].span_id, spans[2].span_id);

    let second = &spans[2];
    assert_eq!(text(second, "baton.resource_type"), "user");
    assert_eq!(int(second, "baton.page"), 2);
    assert_eq!(int(second, "baton.items"), 50);
    assert_eq!(int(second, "baton.resources"), 150);
    assert_eq!(int(second, "baton.entitlements"), 300);
    assert_eq!(int(second, "baton.grants"), 1);
    assert_eq!(int(&spans[3], "baton.page"), 1);
    let call = second.attribute("baton.call_ms");
    assert_eq!(call, Some(&Value::DoubleValue(3.0)));
    // The span runs from the start of the connector call to the end of the
    // c1z write (when the event is observed): 4 ms ago, plus the test's own time.
    let length = second.end_time_unix_nano - second.start_time_unix_nano;
    assert!((4_000_000..1_000_000_000).contains(&length), "{length}");
}

#[test]
fn a_failed_sync_reports_the_error_and_the_totals_so_far() {
    let trace = failed_trace();
    let root = &trace.spans()[0];
    assert_eq!(text(root, "baton.outcome"), "error");
    assert_eq!(text(root, "baton.error"), "the connector failed");
    assert_eq!(text(root, "baton.connector"), "baton-test");
    assert_eq!(text(root, "baton.file"), "out.c1z");
    assert!(root.attribute("baton.sync_id").is_none());
    let status = root.status.clone().unwrap();
    assert_eq!(status.code, StatusCode::Error as i32);
    assert_eq!(status.message, "the connector failed");
    assert_eq!(int(root, "baton.resource_types"), 2);
    assert_eq!(int(root, "baton.pages"), 3);
    assert_eq!(int(root, "baton.resources"), 155);
    assert_eq!(int(root, "baton.entitlements"), 310);
    assert_eq!(int(root, "baton.grants"), 2);
}

#[test]
fn a_successful_sync_reports_its_id_and_totals() {
    let mut recorder = TraceRecorder::new("c", "1", Path::new("x.c1z"));
    recorder.observe(&event("user", 1, &stats(1, 1)));
    let trace = recorder.finish_with(End::Ok {
        sync_id: "2abc",
        types: 3,
        totals: stats(4, 9),
    });
    let root = &trace.spans()[0];
    assert_eq!(text(root, "baton.outcome"), "ok");
    assert_eq!(text(root, "baton.sync_id"), "2abc");
    assert_eq!(int(root, "baton.resource_types"), 3);
    assert_eq!(int(root, "baton.pages"), 4);
    assert_eq!(int(root, "baton.resources"), 9);
    assert_eq!(root.status.clone().unwrap().code, StatusCode::Ok as i32);
}

#[test]
fn secrets_are_redacted_from_every_attribute() {
    let mut recorder = TraceRecorder::new("c", "1", Path::new("/tmp/s3cret/x.c1z"));
    recorder.add_secret("s3cret");
    recorder.observe(&event("s3cret-type", 1, &stats(1, 1)));
    let trace = recorder.finish(Err("401 for token s3cret"));
    for body in trace.encode(SPANS_PER_REQUEST) {
        let found = body.windows(6).any(|w| w == b"s3cret");
        assert!(!found, "the secret reached the export");
    }
    assert_eq!(
        text(&trace.spans()[0], "baton.error"),
        "401 for token [REDACTED]"
    );
}

#[test]
fn large_traces_are_split_and_capped() {
    let mut recorder = TraceRecorder::new("c", "1", Path::new("x.c1z"));
    let totals = stats(1, 1);
    for _ in 0..MAX_PAGE_SPANS + 5 {
        recorder.observe(&event("user", 1, &totals));
    }
    let trace = recorder.finish(Err("stopped"));
    assert_eq!(trace.spans().len(), MAX_PAGE_SPANS + 1);
    assert_eq!(int(&trace.spans()[0], "baton.dropped_page_spans"), 5);
    let requests = decode(&trace.encode(4_000));
    assert_eq!(requests.len(), 3);
    assert_eq!(spans_of(&requests).len(), MAX_PAGE_SPANS + 1);
    assert_eq!(spans_of(&requests[..1])[0].name, "sync");
}

#[test]
fn ids_are_random_and_never_zero() {
    let a = random_id::<16>();
    let b = random_id::<16>();
    assert_ne!(a, b);
    assert!(a.iter().any(|x| *x != 0));
}

#[test]
fn endpoints_in_every_accepted_form() {
    let c = Collector::parse("http://127.0.0.1:4318", false).unwrap();
    assert_eq!(c.url(), "http://127.0.0.1:4318/v1/traces");
    assert_eq!(c.hint(), None);
    let c = Collector::parse("localhost:4318", false).unwrap();
    assert_eq!(c.url(), "https://localhost:4318/v1/traces");
    assert!(c.hint().is_some());
    let c = Collector::parse("localhost:4317", true).unwrap();
    assert_eq!(c.url(), "http://localhost:4317/v1/traces");
    assert_eq!(c.port(), 4317);
    let c = Collector::parse("https://otel.example.com/otlp/", true).unwrap();
    assert_eq!(c.url(), "https://otel.example.com:443/otlp/v1/traces");
    let c = Collector::parse(" http://[::1]:9/v1/traces?k=v ", false).unwrap();
    assert_eq!(c.url(), "http://[::1]:9/v1/traces");
}

#[test]
fn unusable_endpoints_are_refused_without_echoing_them() {
    for bad in [
        "",
        "ftp://h:1",
        "http://user:pw@h:1",
        "http://",
        "grpc://h:4317",
    ] {
        let e = Collector::parse(bad, false).expect_err(bad).to_string();
        assert!(e.starts_with("invalid collector endpoint"), "{bad}: {e}");
        assert!(!e.contains("pw"), "{e}");
    }
}

#[test]
fn collector_error_answers_are_summarised() {
    let status = super::otlp::RpcStatus {
        code: 3,
        message: "bad\n  span".into(),
    };
    let body = status.encode_to_vec();
    assert_eq!(export::error_message(&body, true), "bad span");
    let long = "x".repeat(300);
    let message = export::error_message(long.as_bytes(), false);
    assert_eq!(message.chars().count(), 201);
}

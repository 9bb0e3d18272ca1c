//! Malformed answers: each gives a `bad-response` error that names the
//! request and never the token, or a skipped item with a warning.

use super::fake::{client, FakeTransport, TOKEN};
use super::*;
use crate::baton::connector::types::LogLevel;
use crate::notes::Notes;
use crate::paging::Listings;

const USERS_P1: &str = "GET /Users?startIndex=1&count=100";

/// The error of listing the first page of users over one scripted answer.
fn list_error(content_type: Option<&str>, body: &[u8]) -> ConnectorError {
    let fake = FakeTransport::new();
    fake.push_bytes(200, content_type, body);
    let e = client(&fake).list_users(1, PAGE_SIZE).unwrap_err();
    assert!(!e.message.contains(TOKEN), "{}", e.message);
    e
}

#[test]
fn unusable_list_bodies_name_the_request_and_say_why() {
    let cases: &[(Option<&str>, &[u8], &str)] = &[
        (
            Some("application/scim+json"),
            br#"{"totalResults":2,"Resources":[{"id":"u1","userName":"a@x"#,
            ": the body is cut-short JSON (EOF while parsing a string at line 1 column 57)",
        ),
        (
            Some("text/html; charset=utf-8"),
            b"<!DOCTYPE html><html><body>Sign in</body></html>",
            ": the body is an HTML page, not JSON (content-type text/html; charset=utf-8)",
        ),
        (None, b"  \n", ": the body is empty, not JSON"),
        (
            Some("application/json"),
            b"\xff\xfe{}",
            ": the body is not JSON (expected value at line 1 column 1)",
        ),
        (
            None,
            br#"{"totalResults":5}"#,
            ": the ListResponse has no `Resources` although totalResults is 5",
        ),
        (
            None,
            br#"{"totalResults":5,"Resources":null}"#,
            ": the ListResponse has no `Resources` although totalResults is 5",
        ),
        (
            None,
            br#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"200"}"#,
            ": the body is not a SCIM ListResponse (no `Resources`)",
        ),
    ];
    for (content_type, body, why) in cases {
        let e = list_error(*content_type, body);
        assert_eq!(e.kind, ErrorKind::BadResponse);
        assert_eq!(e.message, format!("{USERS_P1}{why}"));
    }
}

#[test]
fn json_is_read_whatever_the_content_type() {
    // The test-server's `Fault::WrongContentType`: valid JSON sent as HTML.
    let fake = FakeTransport::new();
    let body = br#"{"totalResults":1,"Resources":[{"id":"u1","userName":"a@x.test"}]}"#;
    fake.push_bytes(200, Some("text/html; charset=utf-8"), body);
    fake.push_bytes(200, Some("text/plain"), br#"{"id":"g1","members":[]}"#);
    let page = client(&fake).list_users(1, PAGE_SIZE).unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(
        client(&fake).get_group("g1").unwrap().id.as_deref(),
        Some("g1")
    );
}

#[test]
fn unusable_single_resources_name_the_request() {
    let fake = FakeTransport::new();
    fake.push_bytes(200, Some("text/html"), b"<html>oops</html>");
    fake.push(200, r#"{"id":"u1","userName":"#);
    fake.push(200, r#"["u1"]"#);
    let c = client(&fake);
    let messages: Vec<String> = (0..3)
        .map(|_| c.get_user("u1").unwrap_err().message)
        .collect();
    assert_eq!(
        messages,
        [
            "GET /Users/u1: expected a SCIM user, but the body is an HTML page, not JSON \
             (content-type text/html)",
            "GET /Users/u1: expected a SCIM user, but the body is cut-short JSON (EOF while \
             parsing a value at line 1 column 22)",
            "GET /Users/u1: the body is not a SCIM user",
        ]
    );
}

#[test]
fn a_too_large_body_names_the_request() {
    // `wasi_http` refuses a body over its limit with this error; the client
    // adds the request.
    let fake = FakeTransport::new();
    fake.push_err(
        ErrorKind::BadResponse,
        "the response body is larger than 67108864 bytes",
    );
    let e = client(&fake).list_groups(101, PAGE_SIZE).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadResponse);
    assert_eq!(
        e.message,
        "GET /Groups?startIndex=101&count=100: the response body is larger than 67108864 bytes"
    );
}

#[test]
fn items_without_an_id_are_skipped_with_a_warning() {
    let fake = FakeTransport::new();
    fake.push(
        200,
        r#"{"totalResults":3,"Resources":[
            {"userName":"no-id@x.test"},
            {"id":"  ","userName":"blank@x.test"},
            {"id":"u3","userName":"c@x.test"}]}"#,
    );
    let mut notes = Notes::new();
    let page =
        crate::users::list_page(&client(&fake), &mut Listings::default(), "", &mut notes).unwrap();
    let ids: Vec<_> = page
        .resources
        .iter()
        .map(|r| r.id.resource.as_str())
        .collect();
    assert_eq!(ids, ["u3"]);
    assert_eq!(page.next_page_token, None);
    assert!(notes.has(
        LogLevel::Warn,
        "skipping a user without an id: no-id@x.test"
    ));
    assert!(notes.has(
        LogLevel::Warn,
        "skipping a user without an id: blank@x.test"
    ));
}

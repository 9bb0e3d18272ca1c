//! Unit tests of the SCIM client: headers, paging parameters, encodings and
//! the errors of failed requests.

use super::fake::FakeTransport;
use super::*;
use crate::config::{UrlScheme, DEFAULT_BASE_URL};

fn config() -> Config {
    Config {
        token: "tok".into(),
        base_url: crate::config::parse_base_url("http://127.0.0.1:8765/scim/v2/").unwrap(),
    }
}

#[test]
fn requests_carry_auth_and_paging() {
    let fake = FakeTransport::new();
    fake.push(200, r#"{"totalResults":0,"Resources":[]}"#);
    let client = ScimClient::new(&fake, &config());
    client.list_users(101, PAGE_SIZE).unwrap();
    let sent = fake.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].base.scheme, UrlScheme::Http);
    assert_eq!(sent[0].base.authority, "127.0.0.1:8765");
    assert_eq!(sent[0].base.path, "/scim/v2");
    assert_eq!(sent[0].path_and_query, "/Users?startIndex=101&count=100");
    let header = |n: &str| {
        sent[0]
            .headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        header("authorization"),
        None,
        "the host adds the token (baton:connector@0.2.0 credential binding)"
    );
    assert_eq!(header("accept").as_deref(), Some("application/scim+json"));
    assert_ne!(DEFAULT_BASE_URL, "");
}

#[test]
fn failures_name_the_request_but_not_the_token() {
    let fake = FakeTransport::new();
    fake.push(404, r#"{"detail":"no such group"}"#);
    fake.push(200, "not json");
    fake.push(200, "[]");
    fake.push_err(ErrorKind::Unavailable, "connection refused");
    let client = ScimClient::new(&fake, &config());
    let e = client.get_group("a/b?c").unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert_eq!(
        e.message,
        "GET /Groups/a%2Fb%3Fc failed with HTTP 404: no such group"
    );
    let e = client.list_groups(1, 100).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadResponse);
    assert!(e
        .message
        .starts_with("GET /Groups?startIndex=1&count=100: the body is not JSON"));
    let e = client.get_group("g").unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadResponse);
    let e = client.list_users(1, 1).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unavailable);
    assert_eq!(
        e.message,
        "GET /Users?startIndex=1&count=1: connection refused"
    );
    for e in fake.requests() {
        assert!(!e.label().contains("tok"));
    }
}

#[test]
fn validate_makes_one_small_request() {
    let fake = FakeTransport::new();
    fake.push(200, r#"{"totalResults":120,"Resources":[{"id":"u"}]}"#);
    fake.push(401, r#"{"detail":"Unauthorized"}"#);
    fake.push(403, "");
    fake.push(200, "<html>login</html>");
    let client = ScimClient::new(&fake, &config());
    assert_eq!(client.validate(), Ok(()));
    for kind in [ErrorKind::Unauthenticated, ErrorKind::PermissionDenied] {
        let e = client.validate().unwrap_err();
        assert_eq!(e.kind, kind);
        assert!(
            e.message
                .starts_with("the SCIM token was rejected: GET /Users?startIndex=1&count=1 failed"),
            "{}",
            e.message
        );
    }
    assert_eq!(client.validate().unwrap_err().kind, ErrorKind::BadResponse);
    assert_eq!(fake.paths(), vec!["/Users?startIndex=1&count=1"; 4]);
}

#[test]
fn writes_carry_a_json_body_and_reads_none() {
    let fake = FakeTransport::new();
    fake.push(204, "");
    fake.push(204, "");
    fake.push(404, r#"{"detail":"gone"}"#);
    let client = ScimClient::new(&fake, &config());
    assert!(client.patch_user_role("u/1", "member").unwrap().is_none());
    client.delete_user("u1").unwrap();
    let e = client.get_user("u1").unwrap_err();
    assert_eq!(e.message, "GET /Users/u1 failed with HTTP 404: gone");
    assert_eq!(
        found(client.get_user("u1")).unwrap_err().kind,
        ErrorKind::Internal
    );
    let sent = fake.requests();
    let labels: Vec<_> = sent.iter().map(HttpRequest::label).collect();
    assert_eq!(
        labels,
        [
            "PATCH /Users/u%2F1",
            "DELETE /Users/u1",
            "GET /Users/u1",
            "GET /Users/u1"
        ]
    );
    let content_type = |r: &HttpRequest| {
        r.headers
            .iter()
            .find(|(k, _)| k == "content-type")
            .map(|(_, v)| v.clone())
    };
    assert_eq!(content_type(&sent[0]).as_deref(), Some("application/json"));
    assert!(sent[0].body.is_some());
    for r in &sent[1..] {
        assert_eq!((content_type(r), &r.body), (None, &None), "{}", r.label());
    }
}

#[test]
fn query_values_are_encoded() {
    assert_eq!(encode_query_value("a.b-c_d~9"), "a.b-c_d~9");
    assert_eq!(
        encode_query_value("email eq \"a+b&c#@x\""),
        "email%20eq%20%22a%2Bb%26c%23%40x%22"
    );
}

#[test]
fn segments_are_encoded() {
    assert_eq!(encode_segment("0000-aa_bc~"), "0000-aa_bc~");
    assert_eq!(encode_segment("../x y"), "%2E%2E%2Fx%20y");
    assert_eq!(encode_segment("é"), "%C3%A9");
}

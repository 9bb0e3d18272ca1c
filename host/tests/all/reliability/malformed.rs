//! Malformed answers: each ends in an exact error naming the request (and
//! the previous c1z untouched), or, where the data allows, in a sync that
//! skips what it cannot use.

use super::*;

/// Syncs with `fault` on the user pages; the sync must fail with `want`.
fn assert_fails(fault: Fault, policy: impl Fn(&TestServer) -> RunPolicy, want: &str) -> Vec<u16> {
    let server = server(5, 1);
    let previous = Previous::write(&server);
    server.inject(on_user_pages(fault));
    let before = statuses(&server, "/Users").len();
    let message = failure(sync_with(&server, &previous.path, policy(&server)));
    assert_eq!(message, want);
    previous.assert_intact();
    statuses(&server, "/Users")[before..].to_vec()
}

/// Syncs with `fault` on the user pages into a new file; returns the report,
/// the new file's content and the content of a clean sync.
fn survives(fault: Fault) -> (SyncReport, Content, Content) {
    let server = server(5, 1);
    let previous = Previous::write(&server);
    server.inject(on_user_pages(fault));
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("sync.c1z");
    let report = sync_with(&server, &target, quick_retries(&server)).expect("the sync succeeds");
    (report, content(&target), content(&previous.path))
}

#[test]
fn truncated_json_is_a_bad_response_naming_the_request() {
    let sent = assert_fails(
        Fault::TruncatedBody,
        quick_retries,
        "list-resources failed: bad response: GET /Users?startIndex=1&count=100: the body is \
         cut-short JSON (EOF while parsing a string at line 1 column 1690)",
    );
    assert_eq!(sent, [200, 200], "a complete 200 is not retried");
}

#[test]
fn an_html_error_page_is_retried_then_reported_with_a_snippet() {
    let sent = assert_fails(
        Fault::HtmlError(502),
        quick_retries,
        "list-resources failed: unavailable: GET /Users?startIndex=1&count=100 failed with \
         HTTP 502: body: <!DOCTYPE html> <html><head><title>502 Bad Gateway</title></head> \
         <body><h1>502 Bad Gateway</h1><p>The gateway could not get a valid answer from the \
         upstream service.</p></body></html>",
    );
    assert_eq!(sent, [200, 502, 502, 502, 502, 502]);
}

#[test]
fn a_body_over_the_limit_is_cut_off_and_named() {
    let small = |server: &TestServer| RunPolicy {
        response_body_limit: 16 << 10,
        ..quick_retries(server)
    };
    let sent = assert_fails(
        Fault::Oversized {
            pad_bytes: 64 << 10,
        },
        small,
        "the connector exceeded its response body limit of 16 KiB in `list-resources`",
    );
    assert_eq!(sent, [200, 200], "an oversized answer is not retried");
}

#[test]
fn a_list_envelope_without_resources_is_a_bad_response() {
    assert_fails(
        Fault::MissingField("Resources".into()),
        quick_retries,
        "list-resources failed: bad response: GET /Users?startIndex=1&count=100: the \
         ListResponse has no `Resources` although totalResults is 5",
    );
}

#[test]
fn the_wrong_content_type_on_valid_json_is_read_as_json() {
    let (_, got, want) = survives(Fault::WrongContentType);
    assert_eq!(got, want);
}

#[test]
fn a_list_envelope_without_a_total_still_reads_every_item() {
    let (_, got, want) = survives(Fault::MissingField("totalResults".into()));
    assert_eq!(got, want);
}

#[test]
fn a_user_without_an_id_is_skipped_and_the_rest_synced() {
    let (report, got, want) = survives(Fault::MissingField("id".into()));
    let users = |c: &Content| {
        c.resources
            .keys()
            .filter(|k| k.starts_with("user:"))
            .cloned()
            .collect::<Vec<_>>()
    };
    let (got_users, want_users) = (users(&got), users(&want));
    let skipped: Vec<_> = want_users
        .iter()
        .filter(|u| !got_users.contains(u))
        .collect();
    assert_eq!(skipped.len(), 1, "exactly one user is skipped");
    assert_eq!(got_users.len() + 1, want_users.len());
    let skipped_id = skipped[0].trim_start_matches("user:");
    // Its role grant came with its entry and is gone; the group memberships
    // naming it reference a user not in the sync, so they are dropped and counted.
    let of_skipped = |c: &Content| {
        c.grants
            .keys()
            .filter(|g| g.ends_with(&format!(":user:{skipped_id}")))
            .cloned()
            .collect::<Vec<_>>()
    };
    let lost: Vec<_> = of_skipped(&want)
        .into_iter()
        .filter(|g| !got.grants.contains_key(g))
        .collect();
    let memberships = of_skipped(&want).len() - 1;
    assert!(memberships > 0, "the skipped user is in a group");
    assert_eq!(lost.len(), 1 + memberships, "{lost:?}");
    let roles = lost.iter().filter(|g| g.starts_with("role:")).count();
    assert_eq!(roles, 1, "{lost:?}");
    assert!(of_skipped(&got).is_empty());
    assert_eq!(got.grants.len() + lost.len(), want.grants.len());
    assert_eq!(report.summary.dropped.grants, memberships as u64);
    assert_eq!(report.summary.dangling_references, 0);
    assert_eq!(got.entitlements, want.entitlements);
}

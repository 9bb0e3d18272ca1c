//! Writes whose answer is lost (issue 7), end to end: the real CLI and
//! component against the test-server, which makes the write take effect and
//! then drops (or never sends) its answer, or drops the request before
//! handling it. The host never repeats a POST or PATCH, nor a DELETE that
//! may have reached the server, so every re-send seen here is the
//! connector's, and only after a fresh read showed the change missing.
//!
//! Each case checks the server's state, the exact requests (method, path,
//! body and the status the server sent, 0 when no answer went out), the
//! outcome line and the connector's log lines about the check.

use std::process::Output;

use notion_scim_test_server::{Fault, RequestRecord, Schedule, ScheduledFault};
use serde_json::{json, Value};

use super::{calls, role_patch, Workspace, PATCH_OP, ROLE_EXT};
use crate::TOKEN;

/// Logged once per write whose outcome is unknown.
const CHECKING: &str =
    "may or may not have taken effect, so it is checked before anything is sent again";
/// Logged when the read shows the lost write in effect.
const CONFIRMED: &str = "took effect although its answer was lost; it is not sent again";
/// Logged when the read shows the lost write not in effect.
const RESENDING: &str = "did not take effect; sending it once more";

/// A request as [`calls`] reports it: method, path with query, parsed body.
type Call = (String, String, Option<Value>);

fn call(method: &str, path: &str, body: Option<Value>) -> Call {
    (method.to_string(), path.to_string(), body)
}

/// Applies `fault` to the first `count` requests with `method` to `path` (a
/// test-server scope: `/Users` is the list endpoint, `/Users*` adds `/Users/{id}`),
/// counted from now.
fn fault_first(ws: &Workspace, fault: Fault, count: u64, method: &str, path: &str) {
    ws.server.inject(
        ScheduledFault::new(fault, Schedule::first(count))
            .only_method(method)
            .only_path(path),
    );
}

/// One provisioning run: the outcome line (empty when it failed), stderr and
/// the requests it made.
struct Ran {
    line: String,
    stderr: String,
    requests: Vec<RequestRecord>,
}

impl Ran {
    fn of(output: Output, requests: Vec<RequestRecord>) -> Ran {
        let stderr = String::from_utf8_lossy(&output.stderr).to_string();
        assert!(!stderr.contains(TOKEN), "the token is never logged");
        Ran {
            line: String::from_utf8_lossy(&output.stdout)
                .trim_end()
                .to_string(),
            stderr,
            requests,
        }
    }

    /// The statuses the server sent after validation; 0 = no answer.
    fn statuses(&self) -> Vec<u16> {
        self.requests[1..].iter().map(|r| r.status).collect()
    }

    /// How often the connector logged `needle`.
    fn logged(&self, needle: &str) -> usize {
        self.stderr.matches(needle).count()
    }

    /// How often the connector checked a lost write, found it applied, and re-sent it.
    fn assert_recovery(&self, checked: usize, confirmed: usize, resent: usize) {
        let got = (
            self.logged(CHECKING),
            self.logged(CONFIRMED),
            self.logged(RESENDING),
        );
        assert_eq!(got, (checked, confirmed, resent), "{}", self.stderr);
    }
}

/// Runs a provisioning action (with `extra` host flags) that must succeed
/// with exactly one outcome line.
fn succeeds(ws: &Workspace, extra: &[&str], args: &[&str]) -> Ran {
    let (output, requests) = ws.run(&[&["-p", "--log-format", "console"], extra, args].concat());
    let success = output.status.success();
    let ran = Ran::of(output, requests);
    assert!(success, "{args:?} failed: {}", ran.stderr);
    assert_eq!(
        ran.line.lines().count(),
        1,
        "one outcome line: {:?}",
        ran.line
    );
    ran
}

/// Runs a provisioning action that must fail without printing an outcome.
fn fails(ws: &Workspace, args: &[&str]) -> Ran {
    let (output, requests) = ws.run(&[&["-p", "--log-format", "console"], args].concat());
    let success = output.status.success();
    let ran = Ran::of(output, requests);
    assert!(!success, "{args:?} should fail: {}", ran.line);
    assert_eq!(ran.line, "", "a failure claims no outcome");
    ran
}

// ---- create-account -------------------------------------------------------

fn create_args<'a>(email: &'a str, profile: &'a str) -> [&'a str; 4] {
    [
        "--create-account-email",
        email,
        "--create-account-profile",
        profile,
    ]
}

/// The `POST /Users` the connector sends for `email`.
fn post(email: &str, first: &str, last: &str) -> Call {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": email,
        "name": {"givenName": first, "familyName": last, "formatted": format!("{first} {last}")},
        "emails": [{"value": email, "primary": true, "type": "work"}],
        "active": true
    });
    call("POST", "/scim/v2/Users", Some(body))
}

/// The filtered read that tells whether a lost POST created `email`.
fn lookup(email: &str) -> Call {
    let encoded = email.replace('@', "%40");
    call(
        "GET",
        &format!("/scim/v2/Users?filter=email%20eq%20%22{encoded}%22"),
        None,
    )
}

/// The ids of the server's users with this userName.
fn ids_named(ws: &Workspace, email: &str) -> Vec<String> {
    ws.server
        .users()
        .into_iter()
        .filter(|u| u["userName"] == email)
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_create_whose_answer_is_lost_is_looked_up_and_never_posted_twice() {
    let ws = Workspace::new();
    let users_before = ws.server.users().len();
    fault_first(&ws, Fault::DropAfterHandling, 1, "POST", "/Users");
    let email = "lost.answer@example.com";
    let args = create_args(email, r#"{"first_name":"Lost","last_name":"Answer"}"#);

    let ran = succeeds(&ws, &[], &args);
    let ids = ids_named(&ws, email);
    assert_eq!(ids.len(), 1, "exactly one account for the email");
    assert_eq!(ws.server.users().len(), users_before + 1);
    // The POST made the account, so it is reported as created, not as found.
    assert_eq!(ran.line, format!("created user {} (Lost Answer)", ids[0]));
    assert_eq!(
        calls(&ran.requests),
        [post(email, "Lost", "Answer"), lookup(email)]
    );
    assert_eq!(ran.statuses(), [0, 200], "the POST's answer never arrived");
    ran.assert_recovery(1, 1, 0);

    // A later run finds the account instead of making a second one.
    let again = succeeds(&ws, &[], &args);
    assert_eq!(again.line, format!("account already exists: {}", ids[0]));
    assert_eq!(
        calls(&again.requests),
        [post(email, "Lost", "Answer"), lookup(email)]
    );
    assert_eq!(again.statuses(), [409, 200]);
    assert_eq!(ids_named(&ws, email), ids);
}

#[test]
fn a_create_that_timed_out_after_taking_effect_is_looked_up_and_never_posted_twice() {
    let ws = Workspace::new();
    fault_first(&ws, Fault::HangAfterHandling, 1, "POST", "/Users");
    let email = "timed.out@example.com";
    let args = create_args(email, r#"{"first_name":"Timed","last_name":"Out"}"#);

    let ran = succeeds(&ws, &["--http-timeout-seconds", "1"], &args);
    let ids = ids_named(&ws, email);
    assert_eq!(ids.len(), 1, "exactly one account for the email");
    assert_eq!(ran.line, format!("created user {} (Timed Out)", ids[0]));
    assert_eq!(
        calls(&ran.requests),
        [post(email, "Timed", "Out"), lookup(email)]
    );
    assert_eq!(ran.statuses(), [0, 200], "the POST is still unanswered");
    assert_eq!(
        ran.logged(&format!(
            "POST /Users: the server did not answer in time; creating user {email} {CHECKING}"
        )),
        1,
        "{}",
        ran.stderr
    );
    assert_eq!(
        (ran.logged(CONFIRMED), ran.logged(RESENDING)),
        (1, 0),
        "{}",
        ran.stderr
    );
}

#[test]
fn a_create_dropped_before_it_was_handled_is_posted_exactly_once_more() {
    let ws = Workspace::new();
    fault_first(&ws, Fault::Drop, 1, "POST", "/Users");
    let email = "dropped.post@example.com";
    let args = create_args(email, r#"{"first_name":"Dropped","last_name":"Post"}"#);

    let ran = succeeds(&ws, &[], &args);
    let ids = ids_named(&ws, email);
    assert_eq!(ids.len(), 1, "exactly one account for the email");
    assert_eq!(ran.line, format!("created user {} (Dropped Post)", ids[0]));
    let posted = post(email, "Dropped", "Post");
    assert_eq!(
        calls(&ran.requests),
        [posted.clone(), lookup(email), posted]
    );
    assert_eq!(ran.statuses(), [0, 200, 201]);
    ran.assert_recovery(1, 0, 1);
}

#[test]
fn a_create_that_never_took_effect_is_reported_as_failed_after_two_sends() {
    let ws = Workspace::new();
    let users_before = ws.server.users();
    fault_first(&ws, Fault::Drop, 2, "POST", "/Users");
    let email = "never.made@example.com";
    let args = create_args(email, r#"{"first_name":"Never","last_name":"Made"}"#);

    let ran = fails(&ws, &args);
    assert_eq!(ws.server.users(), users_before, "nothing was created");
    let posted = post(email, "Never", "Made");
    assert_eq!(
        calls(&ran.requests),
        [posted.clone(), lookup(email), posted, lookup(email)]
    );
    assert_eq!(ran.statuses(), [0, 200, 0, 200]);
    assert!(
        ran.stderr.contains(&format!(
            "a fresh read shows that creating user {email} did not take effect (sent 2 times)"
        )),
        "{}",
        ran.stderr
    );
    assert_eq!(ran.logged(RESENDING), 1, "{}", ran.stderr);
}

#[test]
fn a_lost_create_that_cannot_be_checked_is_reported_as_unknown_and_not_posted_again() {
    let ws = Workspace::new();
    fault_first(&ws, Fault::DropAfterHandling, 1, "POST", "/Users");
    // The second list read of the run is the lookup (the first validates).
    // The host does not retry a 500.
    ws.server.inject(
        ScheduledFault::new(Fault::Status(500), Schedule::range(2, Some(1)))
            .only_method("GET")
            .only_path("/Users"),
    );
    let email = "unchecked@example.com";
    let args = create_args(email, r#"{"first_name":"Un","last_name":"Checked"}"#);

    let ran = fails(&ws, &args);
    let ids = ids_named(&ws, email);
    assert_eq!(ids.len(), 1, "the POST did take effect, once");
    assert_eq!(
        calls(&ran.requests),
        [post(email, "Un", "Checked"), lookup(email)]
    );
    assert_eq!(ran.statuses(), [0, 500]);
    let lookup_path = lookup(email).1;
    let lookup_label = lookup_path.strip_prefix("/scim/v2").unwrap();
    assert!(
        ran.stderr.contains(&format!(
            "creating user {email} may have taken effect: checking failed (GET {lookup_label} \
             failed with HTTP 500"
        )),
        "says the outcome is unknown: {}",
        ran.stderr
    );
    assert_eq!(
        (ran.logged(CONFIRMED), ran.logged(RESENDING)),
        (0, 0),
        "{}",
        ran.stderr
    );

    let again = succeeds(&ws, &[], &args);
    assert_eq!(again.line, format!("account already exists: {}", ids[0]));
    assert_eq!(ids_named(&ws, email), ids, "still one account");
}

// ---- roles ----------------------------------------------------------------

fn role_of(ws: &Workspace, uid: &str) -> Value {
    ws.user(uid).expect("the user exists")[ROLE_EXT]["role"].clone()
}

fn grant_role_args<'a>(entitlement: &'a str, uid: &'a str) -> [&'a str; 6] {
    [
        "--grant-entitlement",
        entitlement,
        "--grant-principal",
        uid,
        "--grant-principal-type",
        "user",
    ]
}

#[test]
fn a_role_grant_whose_answer_is_lost_is_confirmed_by_a_read_and_not_sent_again() {
    let ws = Workspace::new();
    let uid = ws.user_with_role("member");
    fault_first(&ws, Fault::DropAfterHandling, 1, "PATCH", "/Users*");
    let args = grant_role_args("role:membership_admin:assigned", &uid);

    let ran = succeeds(&ws, &[], &args);
    assert_eq!(
        ran.line,
        format!(
            "granted role:membership_admin:assigned:user:{uid}; replaced grant \
             role:member:assigned:user:{uid}"
        )
    );
    let user_path = format!("/scim/v2/Users/{uid}");
    assert_eq!(
        calls(&ran.requests),
        [
            call("GET", &user_path, None),
            call("PATCH", &user_path, Some(role_patch("membership_admin"))),
            call("GET", &user_path, None),
        ]
    );
    assert_eq!(ran.statuses(), [200, 0, 200]);
    assert_eq!(role_of(&ws, &uid), "membership_admin");
    ran.assert_recovery(1, 1, 0);

    let again = succeeds(&ws, &[], &args);
    assert_eq!(
        again.line,
        format!("already granted role:membership_admin:assigned:user:{uid}")
    );
    assert_eq!(calls(&again.requests), [call("GET", &user_path, None)]);
}

#[test]
fn a_role_revoke_whose_answer_is_lost_is_confirmed_by_a_read_and_not_sent_again() {
    let ws = Workspace::new();
    let uid = ws.user_with_role("member");
    fault_first(&ws, Fault::DropAfterHandling, 1, "PATCH", "/Users*");
    let grant = format!("role:member:assigned:user:{uid}");

    let ran = succeeds(&ws, &[], &["--revoke-grant", &grant]);
    assert_eq!(ran.line, format!("revoked {grant}"));
    let user_path = format!("/scim/v2/Users/{uid}");
    assert_eq!(
        calls(&ran.requests),
        [
            call("GET", &user_path, None),
            call("PATCH", &user_path, Some(role_patch("restricted_member"))),
            call("GET", &user_path, None),
        ]
    );
    assert_eq!(ran.statuses(), [200, 0, 200]);
    assert_eq!(role_of(&ws, &uid), "restricted_member");
    ran.assert_recovery(1, 1, 0);

    let again = succeeds(&ws, &[], &["--revoke-grant", &grant]);
    assert_eq!(again.line, format!("already revoked {grant}"));
    assert_eq!(calls(&again.requests), [call("GET", &user_path, None)]);
}

#[test]
fn role_changes_dropped_before_they_were_handled_are_sent_exactly_once_more() {
    let ws = Workspace::new();
    // A reset before the server read the request, and a 503 it answered
    // without acting: neither changed anything, so both are sent again.
    for (fault, status) in [(Fault::Drop, 0), (Fault::Status(503), 503)] {
        let uid = ws.user_with_role("member");
        fault_first(&ws, fault.clone(), 1, "PATCH", "/Users*");
        let ran = succeeds(
            &ws,
            &[],
            &grant_role_args("role:membership_admin:assigned", &uid),
        );
        assert_eq!(
            ran.line,
            format!(
                "granted role:membership_admin:assigned:user:{uid}; replaced grant \
                 role:member:assigned:user:{uid}"
            ),
            "{fault:?}"
        );
        let user_path = format!("/scim/v2/Users/{uid}");
        let patch = call("PATCH", &user_path, Some(role_patch("membership_admin")));
        let get = call("GET", &user_path, None);
        assert_eq!(
            calls(&ran.requests),
            [get.clone(), patch.clone(), get, patch],
            "{fault:?}"
        );
        assert_eq!(ran.statuses(), [200, status, 200, 200], "{fault:?}");
        assert_eq!(role_of(&ws, &uid), "membership_admin", "{fault:?}");
        ran.assert_recovery(1, 0, 1);
    }

    let uid = ws.user_with_role("member");
    fault_first(&ws, Fault::Drop, 1, "PATCH", "/Users*");
    let grant = format!("role:member:assigned:user:{uid}");
    let ran = succeeds(&ws, &[], &["--revoke-grant", &grant]);
    assert_eq!(ran.line, format!("revoked {grant}"));
    let user_path = format!("/scim/v2/Users/{uid}");
    let patch = call("PATCH", &user_path, Some(role_patch("restricted_member")));
    let get = call("GET", &user_path, None);
    assert_eq!(
        calls(&ran.requests),
        [get.clone(), patch.clone(), get, patch]
    );
    assert_eq!(ran.statuses(), [200, 0, 200, 200]);
    assert_eq!(role_of(&ws, &uid), "restricted_member");

    // Dropped twice: reported as not done, and nothing changed.
    let uid = ws.user_with_role("member");
    fault_first(&ws, Fault::Drop, 2, "PATCH", "/Users*");
    let ran = fails(
        &ws,
        &grant_role_args("role:membership_admin:assigned", &uid),
    );
    assert_eq!(role_of(&ws, &uid), "member", "the role did not change");
    assert_eq!(ran.statuses(), [200, 0, 200, 0, 200]);
    assert!(
        ran.stderr.contains(&format!(
            "a fresh read shows that changing the role of user {uid} to membership_admin did \
             not take effect (sent 2 times)"
        )),
        "{}",
        ran.stderr
    );
}

// ---- group membership -----------------------------------------------------

/// A group, a user outside it and one of its synced members.
fn membership(ws: &Workspace) -> (String, String, String) {
    let group = ws.server.groups()[0]["id"].as_str().unwrap().to_string();
    let members = ws.members(&group);
    let outsider = ws
        .server
        .users()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .find(|id| !members.contains(id))
        .expect("a user outside the group");
    (group, outsider, members[0].clone())
}

fn member_patch(op: &str, uid: &str) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": [{"op": op, "path": "members", "value": [{"value": uid}]}]})
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

/// Adds a user to a group and removes one of its members, checking the
/// requests (`patch_status` is what the server sent for each PATCH's first
/// send; `resent` says whether the connector must send it once more) and
/// that the member list changed by exactly one user each time.
fn add_then_remove(ws: &Workspace, patch_status: u16, resent: bool) {
    let (group, outsider, member) = membership(ws);
    let before = ws.members(&group);
    let group_path = format!("/scim/v2/Groups/{group}");
    let get = call("GET", &group_path, None);
    let expected = |op: &str, uid: &str| {
        let patch = call("PATCH", &group_path, Some(member_patch(op, uid)));
        if resent {
            (
                vec![get.clone(), patch.clone(), get.clone(), patch],
                vec![200, patch_status, 200, 200],
            )
        } else {
            (
                vec![get.clone(), patch, get.clone()],
                vec![200, patch_status, 200],
            )
        }
    };
    let logs = if resent { (1, 0, 1) } else { (1, 1, 0) };

    let entitlement = format!("group:{group}:member");
    let ran = succeeds(
        ws,
        &[],
        &[
            "--grant-entitlement",
            &entitlement,
            "--grant-principal",
            &outsider,
            "--grant-principal-type",
            "user",
        ],
    );
    assert_eq!(ran.line, format!("granted {entitlement}:user:{outsider}"));
    let (want_calls, want_statuses) = expected("Add", &outsider);
    assert_eq!(calls(&ran.requests), want_calls);
    assert_eq!(ran.statuses(), want_statuses);
    let mut want = before.clone();
    want.push(outsider.clone());
    assert_eq!(
        sorted(ws.members(&group)),
        sorted(want.clone()),
        "added once"
    );
    ran.assert_recovery(logs.0, logs.1, logs.2);

    let grant = format!("{entitlement}:user:{member}");
    let ran = succeeds(ws, &[], &["--revoke-grant", &grant]);
    assert_eq!(ran.line, format!("revoked {grant}"));
    let (want_calls, want_statuses) = expected("Remove", &member);
    assert_eq!(calls(&ran.requests), want_calls);
    assert_eq!(ran.statuses(), want_statuses);
    want.retain(|id| *id != member);
    assert_eq!(
        sorted(ws.members(&group)),
        sorted(want),
        "removed once, the others stay"
    );
    ran.assert_recovery(logs.0, logs.1, logs.2);
}

#[test]
fn membership_changes_whose_answers_are_lost_are_confirmed_by_a_read_and_not_sent_again() {
    let ws = Workspace::new();
    // Both PATCHes of the group (the add, then the remove) lose their answer.
    fault_first(&ws, Fault::DropAfterHandling, 2, "PATCH", "/Groups*");
    add_then_remove(&ws, 0, false);
}

#[test]
fn membership_changes_dropped_before_they_were_handled_are_sent_exactly_once_more() {
    let ws = Workspace::new();
    // The first send of each PATCH (the 1st and 3rd PATCH of the group) is
    // dropped unread; the re-sends go through.
    for ordinal in [1, 3] {
        ws.server.inject(
            ScheduledFault::new(Fault::Drop, Schedule::range(ordinal, Some(1)))
                .only_method("PATCH")
                .only_path("/Groups*"),
        );
    }
    add_then_remove(&ws, 0, true);
}

// ---- deletion -------------------------------------------------------------

#[test]
fn a_delete_whose_answer_is_lost_is_confirmed_by_a_read_and_not_sent_again() {
    let ws = Workspace::new();
    let uid = ws.user_with_role("member");
    fault_first(&ws, Fault::DropAfterHandling, 1, "DELETE", "/Users*");
    let args = ["--delete-resource", &uid, "--delete-resource-type", "user"];

    let ran = succeeds(&ws, &[], &args);
    assert_eq!(ran.line, format!("deleted user {uid}"));
    let user_path = format!("/scim/v2/Users/{uid}");
    assert_eq!(
        calls(&ran.requests),
        [
            call("GET", &user_path, None),
            call("DELETE", &user_path, None),
            call("GET", &user_path, None),
        ],
        "neither the host nor the connector sends the DELETE again"
    );
    assert_eq!(ran.statuses(), [200, 0, 404]);
    assert!(ws.user(&uid).is_none());
    ran.assert_recovery(1, 1, 0);

    let again = succeeds(&ws, &[], &args);
    assert_eq!(again.line, format!("already deleted user {uid}"));
    assert_eq!(calls(&again.requests), [call("GET", &user_path, None)]);
}

#[test]
fn a_delete_dropped_before_it_was_handled_is_sent_exactly_once_more() {
    let ws = Workspace::new();
    let uid = ws.user_with_role("member");
    let users_before = ws.server.users().len();
    fault_first(&ws, Fault::Drop, 1, "DELETE", "/Users*");

    let ran = succeeds(
        &ws,
        &[],
        &["--delete-resource", &uid, "--delete-resource-type", "user"],
    );
    assert_eq!(ran.line, format!("deleted user {uid}"));
    let user_path = format!("/scim/v2/Users/{uid}");
    let get = call("GET", &user_path, None);
    let delete = call("DELETE", &user_path, None);
    assert_eq!(
        calls(&ran.requests),
        [get.clone(), delete.clone(), get.clone(), delete, get]
    );
    assert_eq!(ran.statuses(), [200, 0, 200, 204, 404]);
    assert!(ws.user(&uid).is_none());
    assert_eq!(
        ws.server.users().len(),
        users_before - 1,
        "one user removed"
    );
    ran.assert_recovery(1, 0, 1);
}

//! Writes whose answer is lost: the exact request sequences of every
//! provisioning operation when a POST, PATCH or DELETE times out, the
//! connection drops or the server answers 5xx.
//!
//! The scripts follow the test-server's `Fault::DropAfterHandling`: the write
//! happens, the answer is lost, so the read that follows shows the change and
//! nothing is sent twice. The other scripts have the read show no change,
//! and the write is sent exactly once more.

use serde_json::{json, Value};

use crate::baton::connector::types::{
    ConnectorError, CreateAccountOutcome, ErrorKind, LogLevel, ProfileEntry, ProfileValue,
    RevokeOutcome,
};
use crate::notes::Notes;
use crate::provisioning::test_support::{
    client, delete_call, ent, get_call, grant, group, member_patch, patch_call, restricted, rid,
    role_patch, scim_error, user, user_json, Call,
};
use crate::provisioning::{groups, roles, users};
use crate::scim::fake::FakeTransport;
use crate::scim::ScimClient;

/// One scripted answer.
enum A {
    /// An HTTP answer.
    Http(u16, String),
    /// No answer: a transport timeout (`deadline-exceeded`) or reset (`unavailable`).
    Lost(ErrorKind),
}

fn ok(body: impl Into<String>) -> A {
    A::Http(200, body.into())
}

fn timeout() -> A {
    A::Lost(ErrorKind::DeadlineExceeded)
}

fn reset() -> A {
    A::Lost(ErrorKind::Unavailable)
}

fn gone() -> A {
    A::Http(404, scim_error(404, "not found"))
}

/// Plays `answers`, runs `op`, checks the requests and that every answer was used.
fn run<R>(
    name: &str,
    answers: Vec<A>,
    calls: &[Call],
    op: impl FnOnce(&ScimClient<&FakeTransport>, &mut Notes) -> R,
) -> (R, Notes) {
    let fake = FakeTransport::new();
    for answer in answers {
        match answer {
            A::Http(status, body) => fake.push(status, &body),
            A::Lost(ErrorKind::DeadlineExceeded) => fake.push_err(
                ErrorKind::DeadlineExceeded,
                "the server did not answer in time",
            ),
            A::Lost(kind) => fake.push_err(kind, "connection closed early"),
        }
    }
    let mut notes = Notes::new();
    let result = op(&client(&fake), &mut notes);
    assert_eq!(fake.calls(), calls, "{name}");
    assert_eq!(fake.unused(), 0, "{name}");
    for r in fake.requests() {
        assert!(!r.label().contains("secret-token-123"), "{name}");
    }
    (result, notes)
}

// ---- create-account -------------------------------------------------------

const LOOKUP: &str = "/Users?filter=email%20eq%20%22ann%40x.test%22";

fn ann_profile() -> Vec<ProfileEntry> {
    [
        ("email", "ann@x.test"),
        ("first_name", "Ann"),
        ("last_name", "Lee"),
    ]
    .into_iter()
    .map(|(k, v)| ProfileEntry {
        key: k.into(),
        value: ProfileValue::Text(v.into()),
    })
    .collect()
}

fn post() -> Call {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "ann@x.test",
        "name": {"givenName": "Ann", "familyName": "Lee", "formatted": "Ann Lee"},
        "emails": [{"value": "ann@x.test", "primary": true, "type": "work"}],
        "active": true
    });
    ("POST", "/Users".into(), Some(body))
}

fn ann(active: bool) -> Value {
    let mut u = user_json("u1", Some("member"), active);
    u["userName"] = json!("ann@x.test");
    u
}

fn found_ann(active: bool) -> A {
    ok(json!({"totalResults": 1, "Resources": [ann(active)]}).to_string())
}

fn none_found() -> A {
    ok(r#"{"totalResults":0,"Resources":[]}"#)
}

fn create(c: &ScimClient<&FakeTransport>, n: &mut Notes) -> Result<String, ConnectorError> {
    Ok(match users::create_account(c, &ann_profile(), n)? {
        CreateAccountOutcome::Created(r) => format!("created {}", r.id.resource),
        CreateAccountOutcome::AlreadyExists(r) => format!("exists {:?}", r.map(|r| r.id.resource)),
    })
}

#[test]
fn create_account_after_a_lost_answer() {
    let lookup = || get_call(LOOKUP);
    type Case = (&'static str, Vec<A>, Vec<Call>, &'static str);
    let cases: Vec<Case> = vec![
        (
            "the POST took effect: found, never posted twice",
            vec![timeout(), found_ann(true)],
            vec![post(), lookup()],
            "created u1",
        ),
        (
            "a 500 that took effect",
            vec![A::Http(500, scim_error(500, "oops")), found_ann(true)],
            vec![post(), lookup()],
            "created u1",
        ),
        (
            "a 502 that did not: posted once more",
            vec![
                A::Http(502, "<html>Bad gateway</html>".into()),
                none_found(),
                A::Http(201, ann(true).to_string()),
            ],
            vec![post(), lookup(), post()],
            "created u1",
        ),
        (
            "only an inactive user: posted once more, which says 409",
            vec![
                reset(),
                found_ann(false),
                A::Http(409, scim_error(409, "exists")),
                found_ann(true),
            ],
            vec![post(), lookup(), post(), lookup()],
            "exists Some(\"u1\")",
        ),
    ];
    for (name, answers, calls, want) in cases {
        let (got, notes) = run(name, answers, &calls, create);
        assert_eq!(got.as_deref(), Ok(want), "{name}");
        assert!(notes.has(LogLevel::Warn, "POST /Users"), "{name}");
    }
}

#[test]
fn create_account_failures_after_a_lost_answer() {
    let lookup = || get_call(LOOKUP);
    type Case = (&'static str, Vec<A>, Vec<Call>, ErrorKind, &'static str);
    let cases: Vec<Case> = vec![
        (
            "the lookup fails: nothing is sent again",
            vec![timeout(), A::Http(503, scim_error(503, "busy"))],
            vec![post(), lookup()],
            ErrorKind::DeadlineExceeded,
            "POST /Users: the server did not answer in time; creating user ann@x.test may have \
             taken effect: checking failed (GET /Users?filter=email%20eq%20%22ann%40x.test%22 \
             failed with HTTP 503: busy)",
        ),
        (
            "lost twice, absent twice",
            vec![timeout(), none_found(), reset(), none_found()],
            vec![post(), lookup(), post(), lookup()],
            ErrorKind::Unavailable,
            "POST /Users: connection closed early; a fresh read shows that creating user \
             ann@x.test did not take effect (sent 2 times)",
        ),
        (
            "a 429 was refused: no lookup",
            vec![A::Http(429, scim_error(429, "slow down"))],
            vec![post()],
            ErrorKind::Unavailable,
            "POST /Users failed with HTTP 429: slow down",
        ),
    ];
    for (name, answers, calls, kind, message) in cases {
        let (got, _) = run(name, answers, &calls, create);
        let e = got.unwrap_err();
        assert_eq!((e.kind, e.message.as_str()), (kind, message), "{name}");
    }
}

// ---- group membership -----------------------------------------------------

const G1: &str = "/Groups/g1";

#[test]
fn group_membership_after_a_lost_answer() {
    let add = || patch_call(G1, member_patch("Add", "u1"));
    let remove = || patch_call(G1, member_patch("Remove", "u1"));
    let grant_it = |c: &ScimClient<&FakeTransport>, n: &mut Notes| {
        groups::grant(c, &rid("user", "u1"), &ent("group", "g1", "member"), n).map(|o| o.changed)
    };
    let revoke_it = |c: &ScimClient<&FakeTransport>, n: &mut Notes| {
        groups::revoke(c, &grant(ent("group", "g1", "member"), "u1"), n)
    };
    let (got, _) = run(
        "added, answer lost",
        vec![
            ok(group("g1", &["u2"])),
            timeout(),
            ok(group("g1", &["u2", "u1"])),
        ],
        &[get_call(G1), add(), get_call(G1)],
        grant_it,
    );
    assert_eq!(got, Ok(true));
    let (got, _) = run(
        "not added: sent once more",
        vec![
            ok(group("g1", &["u2"])),
            A::Http(503, String::new()),
            ok(group("g1", &["u2"])),
            A::Http(204, String::new()),
        ],
        &[get_call(G1), add(), get_call(G1), add()],
        grant_it,
    );
    assert_eq!(got, Ok(true));
    let (got, _) = run(
        "removed, answer lost",
        vec![ok(group("g1", &["u1"])), reset(), ok(group("g1", &[]))],
        &[get_call(G1), remove(), get_call(G1)],
        revoke_it,
    );
    assert_eq!(got, Ok(RevokeOutcome::Revoked(Vec::new())));
    let (got, _) = run(
        "the group is gone by the check",
        vec![ok(group("g1", &["u1"])), timeout(), gone()],
        &[get_call(G1), remove(), get_call(G1)],
        revoke_it,
    );
    assert_eq!(got, Ok(RevokeOutcome::AlreadyRevoked));
    let (got, _) = run(
        "not removed: sent once more",
        vec![
            ok(group("g1", &["u1"])),
            timeout(),
            ok(group("g1", &["u1"])),
            ok(group("g1", &[])),
        ],
        &[get_call(G1), remove(), get_call(G1), remove()],
        revoke_it,
    );
    assert_eq!(got, Ok(RevokeOutcome::Revoked(Vec::new())));
}

// ---- roles and deletion ---------------------------------------------------

const U1: &str = "/Users/u1";

#[test]
fn role_changes_after_a_lost_answer() {
    let patch = |role| patch_call(U1, role_patch(role));
    let grant_owner = |c: &ScimClient<&FakeTransport>, n: &mut Notes| {
        roles::grant(c, &rid("user", "u1"), &ent("role", "owner", "assigned"), n)
    };
    let member_grant = || grant(ent("role", "member", "assigned"), "u1");
    let (got, notes) = run(
        "granted, answer lost",
        vec![
            ok(user("u1", Some("member"))),
            timeout(),
            ok(user("u1", Some("owner"))),
        ],
        &[get_call(U1), patch("owner"), get_call(U1)],
        grant_owner,
    );
    let got = got.unwrap();
    assert!(got.changed);
    assert_eq!(got.replaced, vec![member_grant()]);
    assert!(notes.has(LogLevel::Info, "took effect although its answer was lost"));
    let (got, _) = run(
        "not granted: sent once more",
        vec![
            ok(user("u1", Some("member"))),
            A::Http(502, String::new()),
            ok(user("u1", Some("member"))),
            ok(user("u1", Some("owner"))),
        ],
        &[get_call(U1), patch("owner"), get_call(U1), patch("owner")],
        grant_owner,
    );
    assert_eq!(got.unwrap().replaced, vec![member_grant()]);
    let revoke_admin = |c: &ScimClient<&FakeTransport>, n: &mut Notes| {
        roles::revoke(
            c,
            &grant(ent("role", "membership_admin", "assigned"), "u1"),
            n,
        )
    };
    let (got, _) = run(
        "revoked, answer lost",
        vec![
            ok(user("u1", Some("membership_admin"))),
            timeout(),
            ok(user("u1", Some("restricted_member"))),
        ],
        &[get_call(U1), patch("restricted_member"), get_call(U1)],
        revoke_admin,
    );
    assert_eq!(got, Ok(RevokeOutcome::Revoked(vec![restricted("u1")])));
    let (got, _) = run(
        "the user left before the check",
        vec![ok(user("u1", Some("membership_admin"))), reset(), gone()],
        &[get_call(U1), patch("restricted_member"), get_call(U1)],
        revoke_admin,
    );
    assert_eq!(got, Ok(RevokeOutcome::AlreadyRevoked));
}

#[test]
fn deletion_after_a_lost_answer() {
    let delete = |c: &ScimClient<&FakeTransport>, n: &mut Notes| users::delete(c, "u1", n);
    let member = || ok(user("u1", Some("member")));
    let (got, _) = run(
        "deleted, answer lost",
        vec![member(), timeout(), gone()],
        &[get_call(U1), delete_call(U1), get_call(U1)],
        delete,
    );
    assert_eq!(got, Ok(true));
    let (got, _) = run(
        "not deleted: sent once more",
        vec![
            member(),
            A::Http(504, String::new()),
            member(),
            A::Http(204, String::new()),
            gone(),
        ],
        &[
            get_call(U1),
            delete_call(U1),
            get_call(U1),
            delete_call(U1),
            get_call(U1),
        ],
        delete,
    );
    assert_eq!(got, Ok(true));
}

#[test]
fn deletion_of_an_inactive_user_after_a_lost_answer() {
    let delete = |c: &ScimClient<&FakeTransport>, n: &mut Notes| users::delete(c, "u1", n);
    let inactive = || ok(user_json("u1", Some("member"), false).to_string());
    let (got, notes) = run(
        "deleted, answer lost",
        vec![inactive(), timeout(), gone()],
        &[get_call(U1), delete_call(U1), get_call(U1)],
        delete,
    );
    assert_eq!(got, Ok(true));
    assert!(notes.has(LogLevel::Info, "took effect although its answer was lost"));
    // Inactive was the state before the DELETE: it does not confirm it.
    let (got, notes) = run(
        "still listed as inactive: sent once more",
        vec![
            inactive(),
            A::Http(504, String::new()),
            inactive(),
            A::Http(204, String::new()),
            gone(),
        ],
        &[
            get_call(U1),
            delete_call(U1),
            get_call(U1),
            delete_call(U1),
            get_call(U1),
        ],
        delete,
    );
    assert_eq!(got, Ok(true));
    assert!(notes.has(LogLevel::Info, "sending it once more"));
    // A 404 to the re-send: the lost DELETE took effect after the check.
    let (got, _) = run(
        "gone by the re-send",
        vec![inactive(), reset(), inactive(), gone()],
        &[get_call(U1), delete_call(U1), get_call(U1), delete_call(U1)],
        delete,
    );
    assert_eq!(got, Ok(true));
}

//! Unit tests of `provisioning::groups`: the exact requests of membership
//! grants and revokes, and their outcomes.

use super::*;
use crate::baton::connector::types::{ErrorKind, LogLevel};
use crate::provisioning::test_support::{
    client, ent, get_call, grant as grant_of, group, member_patch, patch_call, rid, scim_error,
    Call,
};
use crate::scim::fake::FakeTransport;

const G1: &str = "/Groups/g1";

type Answer = (u16, String);

fn ok(body: &str) -> Answer {
    (200, body.to_string())
}

fn gone() -> Answer {
    (404, scim_error(404, "Group not found"))
}

/// Queues `answers`, runs `op` and checks the requests it made.
fn run<R>(
    answers: &[Answer],
    calls: &[Call],
    name: &str,
    op: impl FnOnce(&ScimClient<&FakeTransport>, &mut Notes) -> R,
) -> (R, Notes) {
    let fake = FakeTransport::new();
    for (status, body) in answers {
        fake.push(*status, body);
    }
    let mut notes = Notes::new();
    let result = op(&client(&fake), &mut notes);
    assert_eq!(fake.calls(), calls, "{name}");
    assert_eq!(fake.unused(), 0, "{name}");
    (result, notes)
}

fn membership() -> EntitlementRef {
    ent("group", "g1", "member")
}

#[test]
fn grants() {
    type Want = Result<bool, (ErrorKind, &'static str)>;
    type Case = (&'static str, Vec<Answer>, Vec<Call>, Want);
    let add = || patch_call(G1, member_patch("Add", "u1"));
    let cases: Vec<Case> =
        vec![
        (
            "added, answered with the members",
            vec![ok(&group("g1", &["u2"])), ok(&group("g1", &["u2", "u1"]))],
            vec![get_call(G1), add()],
            Ok(true),
        ),
        (
            "added, answered with 204",
            vec![ok(&group("g1", &[])), (204, String::new())],
            vec![get_call(G1), add()],
            Ok(true),
        ),
        (
            "added, answered with a group without members",
            vec![
                ok(&group("g1", &[])),
                ok(r#"{"id":"g1","displayName":"Engineering"}"#),
            ],
            vec![get_call(G1), add()],
            Ok(true),
        ),
        (
            "already a member",
            vec![ok(&group("g1", &["u2", "U1"]))],
            vec![get_call(G1)],
            Ok(false),
        ),
        (
            "the group does not exist",
            vec![gone()],
            vec![get_call(G1)],
            Err((
                ErrorKind::NotFound,
                "group `g1` not found (GET /Groups/g1 failed with HTTP 404: Group not found)",
            )),
        ),
        (
            "the answer lacks the member",
            vec![ok(&group("g1", &["u2"])), ok(&group("g1", &["u2"]))],
            vec![get_call(G1), add()],
            Err((
                ErrorKind::BadResponse,
                "PATCH /Groups/g1 answered with a member list without user u1: adding the member \
                 did not take effect",
            )),
        ),
        (
            "the answer is not a group",
            vec![ok(&group("g1", &[])), ok("[]")],
            vec![get_call(G1), add()],
            Err((ErrorKind::BadResponse, "PATCH /Groups/g1: the body is not a SCIM group")),
        ),
        (
            "an unknown user",
            vec![ok(&group("g1", &[])), (400, scim_error(400, "no such user"))],
            vec![get_call(G1), add()],
            Err((
                ErrorKind::InvalidArgument,
                "PATCH /Groups/g1 failed with HTTP 400: no such user",
            )),
        ),
    ];
    for (name, answers, calls, want) in cases {
        let (got, notes) = run(&answers, &calls, name, |c, n| {
            grant(c, &rid("user", "u1"), &membership(), n)
        });
        match (got, want) {
            (Ok(g), Ok(changed)) => {
                assert_eq!(g.changed, changed, "{name}");
                assert!(g.replaced.is_empty(), "{name}");
                let info = if changed {
                    "added user u1 to group g1"
                } else {
                    "user u1 is already a member of group g1"
                };
                assert!(
                    notes.has(LogLevel::Info, info),
                    "{name}: {:?}",
                    notes.lines()
                );
            }
            (Err(e), Err((kind, needle))) => {
                assert_eq!(e.kind, kind, "{name}");
                assert!(e.message.contains(needle), "{name}: {}", e.message);
            }
            (g, w) => panic!("{name}: got {g:?}, want {w:?}"),
        }
    }
}

#[test]
fn revokes() {
    type Want = Result<RevokeOutcome, (ErrorKind, &'static str)>;
    type Case = (&'static str, Vec<Answer>, Vec<Call>, Want);
    let remove = || patch_call(G1, member_patch("Remove", "u1"));
    let cases: Vec<Case> = vec![
        (
            "removed, answered with the members",
            vec![ok(&group("g1", &["u1", "u2"])), ok(&group("g1", &["u2"]))],
            vec![get_call(G1), remove()],
            Ok(RevokeOutcome::Revoked(Vec::new())),
        ),
        (
            "removed, answered with 204",
            vec![ok(&group("g1", &["u1"])), (204, String::new())],
            vec![get_call(G1), remove()],
            Ok(RevokeOutcome::Revoked(Vec::new())),
        ),
        (
            "not a member",
            vec![ok(&group("g1", &["u2"]))],
            vec![get_call(G1)],
            Ok(RevokeOutcome::AlreadyRevoked),
        ),
        (
            "the group does not exist",
            vec![gone()],
            vec![get_call(G1)],
            Ok(RevokeOutcome::AlreadyRevoked),
        ),
        (
            "the group was deleted before the PATCH",
            vec![ok(&group("g1", &["u1"])), gone()],
            vec![get_call(G1), remove()],
            Ok(RevokeOutcome::AlreadyRevoked),
        ),
        (
            "the answer still lists the member",
            vec![ok(&group("g1", &["u1"])), ok(&group("g1", &["u1"]))],
            vec![get_call(G1), remove()],
            Err((
                ErrorKind::BadResponse,
                "PATCH /Groups/g1 answered with a member list still holding user u1: removing the \
                 member did not take effect",
            )),
        ),
    ];
    for (name, answers, calls, want) in cases {
        let (got, notes) = run(&answers, &calls, name, |c, n| {
            revoke(c, &grant_of(membership(), "u1"), n)
        });
        match (got, want) {
            (Ok(g), Ok(w)) => {
                assert_eq!(g, w, "{name}");
                assert!(
                    notes.lines().iter().any(|(l, _)| *l == LogLevel::Info),
                    "{name}: {:?}",
                    notes.lines()
                );
            }
            (Err(e), Err((kind, needle))) => {
                assert_eq!(e.kind, kind, "{name}");
                assert!(e.message.contains(needle), "{name}: {}", e.message);
            }
            (g, w) => panic!("{name}: got {g:?}, want {w:?}"),
        }
    }
}

#[test]
fn invalid_memberships_send_nothing() {
    let cases = [
        (
            rid("user", "u1"),
            ent("group", "g1", "assigned"),
            "not `assigned`",
        ),
        (
            rid("user", "u1"),
            ent("group", "", "member"),
            "the group id is empty",
        ),
        (
            rid("group", "g2"),
            ent("group", "g1", "member"),
            "not a principal of type `group`",
        ),
        (
            rid("user", ""),
            ent("group", "g1", "member"),
            "the user id is empty",
        ),
    ];
    for (principal, entitlement, needle) in cases {
        let (got, _) = run(&[], &[], needle, |c, n| {
            grant(c, &principal, &entitlement, n)
        });
        let e = got.unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidArgument, "{needle}");
        assert!(e.message.contains(needle), "{needle}: {}", e.message);
        let g = Grant {
            entitlement: entitlement.clone(),
            principal: principal.clone(),
        };
        let (got, _) = run(&[], &[], needle, |c, n| revoke(c, &g, n));
        assert_eq!(
            got.unwrap_err().kind,
            ErrorKind::InvalidArgument,
            "{needle}"
        );
    }
}

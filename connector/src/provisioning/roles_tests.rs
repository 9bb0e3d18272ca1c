//! Unit tests of `provisioning::roles`: the exact requests of role grants and
//! revokes, and their outcomes.

use super::*;
use crate::baton::connector::types::{ErrorKind, LogLevel};
use crate::provisioning::test_support::{
    client, ent, get_call, grant as grant_of, patch_call, restricted, rid, role_patch, scim_error,
    user, users_page, Call,
};
use crate::scim::fake::FakeTransport;

const U1: &str = "/Users/u1";
const OWNERS_P1: &str = "/Users?startIndex=1&count=100";

type Answer = (u16, String);

fn ok(body: &str) -> Answer {
    (200, body.to_string())
}

fn no_content() -> Answer {
    (204, String::new())
}

fn gone() -> Answer {
    (404, scim_error(404, "User not found"))
}

/// Queues `answers`, runs `op`, checks the requests and that every answer
/// was used, and returns the result with the log lines.
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

fn role_grant(role: &str) -> Grant {
    grant_of(ent("role", role, "assigned"), "u1")
}

#[test]
fn grants() {
    type Case = (
        &'static str,
        &'static str,
        Vec<Answer>,
        Vec<Call>,
        Option<&'static str>,
    );
    let patch = |role| patch_call(U1, role_patch(role));
    // (name, role granted, answers, requests, replaced role); changed unless
    // no PATCH was sent.
    let cases: Vec<Case> = vec![
        (
            "already holds it",
            "member",
            vec![ok(&user("u1", Some("member")))],
            vec![get_call(U1)],
            None,
        ),
        (
            "already holds it, spelt differently by Notion",
            "membership_admin",
            vec![ok(&user("u1", Some("Membership_Admin")))],
            vec![get_call(U1)],
            None,
        ),
        (
            "a change answered with the user",
            "membership_admin",
            vec![
                ok(&user("u1", Some("member"))),
                ok(&user("u1", Some("membership_admin"))),
            ],
            vec![get_call(U1), patch("membership_admin")],
            Some("member"),
        ),
        (
            "a change answered with 204",
            "member",
            vec![ok(&user("u1", Some("restricted_member"))), no_content()],
            vec![get_call(U1), patch("member")],
            Some("restricted_member"),
        ),
        (
            "a change answered with a user without role",
            "owner",
            vec![ok(&user("u1", Some("member"))), ok(&user("u1", None))],
            vec![get_call(U1), patch("owner")],
            Some("member"),
        ),
        (
            "an owner moved down while another owner exists",
            "member",
            vec![
                ok(&user("u1", Some("owner"))),
                ok(&users_page(
                    2,
                    &[("u1", Some("owner"), true), ("u2", Some("owner"), true)],
                )),
                no_content(),
            ],
            vec![get_call(U1), get_call(OWNERS_P1), patch("member")],
            Some("owner"),
        ),
        (
            "a user without a role",
            "member",
            vec![ok(&user("u1", None)), no_content()],
            vec![get_call(U1), patch("member")],
            None,
        ),
    ];
    for (name, role, answers, calls, replaced) in cases {
        let patched = calls.len() > 1;
        let (got, notes) = run(&answers, &calls, name, |c, n| {
            grant(c, &rid("user", "u1"), &ent("role", role, "assigned"), n)
        });
        let got = got.unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(got.changed, patched, "{name}");
        let want: Vec<Grant> = replaced.map(role_grant).into_iter().collect();
        assert_eq!(got.replaced, want, "{name}");
        let info = if patched {
            format!("granted the {role} role to user u1")
        } else {
            format!("user u1 already holds the {role} role")
        };
        assert!(
            notes.has(LogLevel::Info, &info),
            "{name}: {:?}",
            notes.lines()
        );
        if name == "a user without a role" {
            assert!(notes.has(LogLevel::Warn, "user u1 has no workspace role"));
        }
    }
}

#[test]
fn grant_failures() {
    type Case = (
        &'static str,
        Vec<Answer>,
        Vec<Call>,
        ErrorKind,
        &'static str,
    );
    let cases: Vec<Case> =
        vec![
        (
            "the last owner",
            vec![
                ok(&user("u1", Some("owner"))),
                ok(&users_page(2, &[("u1", Some("owner"), true), ("u2", None, true)])),
            ],
            vec![get_call(U1), get_call(OWNERS_P1)],
            ErrorKind::FailedPrecondition,
            "refusing to change the role of user u1 from owner to member: user u1 is the last \
             remaining owner of the workspace",
        ),
        (
            "an unknown user",
            vec![gone()],
            vec![get_call(U1)],
            ErrorKind::NotFound,
            "user `u1` not found (GET /Users/u1 failed with HTTP 404: User not found)",
        ),
        (
            "a refused PATCH",
            vec![
                ok(&user("u1", Some("restricted_member"))),
                (403, scim_error(403, "Forbidden")),
            ],
            vec![get_call(U1), patch_call(U1, role_patch("member"))],
            ErrorKind::PermissionDenied,
            "PATCH /Users/u1 failed with HTTP 403: Forbidden",
        ),
        (
            "a PATCH that did not take",
            vec![
                ok(&user("u1", Some("restricted_member"))),
                ok(&user("u1", Some("restricted_member"))),
            ],
            vec![get_call(U1), patch_call(U1, role_patch("member"))],
            ErrorKind::BadResponse,
            "answered with role \"restricted_member\" instead of \"member\": the role change did \
             not take effect",
        ),
    ];
    for (name, answers, calls, kind, needle) in cases {
        let (got, _) = run(&answers, &calls, name, |c, n| {
            grant(c, &rid("user", "u1"), &ent("role", "member", "assigned"), n)
        });
        let e = got.unwrap_err();
        assert_eq!(e.kind, kind, "{name}");
        assert!(e.message.contains(needle), "{name}: {}", e.message);
        assert!(!e.message.contains("secret-token-123"));
    }
}

#[test]
fn invalid_grants_send_nothing() {
    let cases = [
        (
            rid("user", "u1"),
            ent("role", "guest", "assigned"),
            "unknown Notion workspace role `guest`",
        ),
        (
            rid("user", "u1"),
            ent("role", "Owner", "assigned"),
            "`Owner`",
        ),
        (
            rid("user", "u1"),
            ent("role", "member", "member"),
            "not `member`",
        ),
        (
            rid("group", "g1"),
            ent("role", "member", "assigned"),
            "not a principal of type `group`",
        ),
        (
            rid("user", " "),
            ent("role", "member", "assigned"),
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
        let (got, _) = run(&[], &[], needle, |c, n| {
            revoke(
                c,
                &Grant {
                    entitlement: entitlement.clone(),
                    principal: principal.clone(),
                },
                n,
            )
        });
        assert_eq!(
            got.unwrap_err().kind,
            ErrorKind::InvalidArgument,
            "{needle}"
        );
    }
}

#[test]
fn revokes() {
    type Want = Result<RevokeOutcome, (ErrorKind, &'static str)>;
    type Case = (&'static str, &'static str, Vec<Answer>, Vec<Call>, Want);
    let down = || patch_call(U1, role_patch("restricted_member"));
    let cases: Vec<Case> = vec![
        (
            "revoked, answered with the user",
            "member",
            vec![
                ok(&user("u1", Some("member"))),
                ok(&user("u1", Some("restricted_member"))),
            ],
            vec![get_call(U1), down()],
            Ok(RevokeOutcome::Revoked(vec![restricted("u1")])),
        ),
        (
            "revoked, answered with 204",
            "membership_admin",
            vec![ok(&user("u1", Some("membership_admin"))), no_content()],
            vec![get_call(U1), down()],
            Ok(RevokeOutcome::Revoked(vec![restricted("u1")])),
        ),
        (
            "the user holds another role",
            "member",
            vec![ok(&user("u1", Some("owner")))],
            vec![get_call(U1)],
            Ok(RevokeOutcome::AlreadyRevoked),
        ),
        (
            "the user holds no known role",
            "member",
            vec![ok(&user("u1", Some("guest")))],
            vec![get_call(U1)],
            Ok(RevokeOutcome::AlreadyRevoked),
        ),
        (
            "the user is gone",
            "member",
            vec![gone()],
            vec![get_call(U1)],
            Ok(RevokeOutcome::AlreadyRevoked),
        ),
        (
            "the user left before the PATCH",
            "member",
            vec![ok(&user("u1", Some("member"))), gone()],
            vec![get_call(U1), down()],
            Ok(RevokeOutcome::AlreadyRevoked),
        ),
        (
            "an owner while another owner exists",
            "owner",
            vec![
                ok(&user("u1", Some("owner"))),
                ok(&users_page(
                    2,
                    &[("u2", Some("owner"), true), ("u1", Some("owner"), true)],
                )),
                no_content(),
            ],
            vec![get_call(U1), get_call(OWNERS_P1), down()],
            Ok(RevokeOutcome::Revoked(vec![restricted("u1")])),
        ),
        (
            "the last owner",
            "owner",
            vec![
                ok(&user("u1", Some("owner"))),
                ok(&users_page(1, &[("u1", Some("owner"), true)])),
            ],
            vec![get_call(U1), get_call(OWNERS_P1)],
            Err((
                ErrorKind::FailedPrecondition,
                "refusing to revoke the owner role of user u1: user u1 is the last remaining \
                 owner of the workspace",
            )),
        ),
        (
            "a PATCH that did not take",
            "member",
            vec![
                ok(&user("u1", Some("member"))),
                ok(&user("u1", Some("member"))),
            ],
            vec![get_call(U1), down()],
            Err((
                ErrorKind::BadResponse,
                "the role change did not take effect",
            )),
        ),
    ];
    for (name, role, answers, calls, want) in cases {
        let (got, notes) = run(&answers, &calls, name, |c, n| {
            revoke(c, &role_grant(role), n)
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
fn the_lowest_role_is_left_unchanged() {
    let answers = [ok(&user("u1", Some("restricted_member")))];
    let (got, notes) = run(&answers, &[get_call(U1)], "lowest", |c, n| {
        revoke(c, &role_grant("restricted_member"), n)
    });
    let RevokeOutcome::Unchanged(why) = got.unwrap() else {
        panic!("not unchanged")
    };
    assert!(why.contains("restricted_member is the lowest"), "{why}");
    assert!(
        why.contains("to remove user u1 from the workspace, delete the account"),
        "{why}"
    );
    assert!(notes.has(LogLevel::Info, "unchanged"));
}

//! Unit tests of `provisioning::users`: the exact requests of create-account
//! and delete-resource, and their outcomes.

use serde_json::{json, Value};

use super::*;
use crate::baton::connector::types::{LogLevel, TraitData};
use crate::provisioning::test_support::{
    client, delete_call, get_call, scim_error, user, user_json, users_page, Call,
};
use crate::scim::fake::FakeTransport;

fn profile(pairs: &[(&str, ProfileValue)]) -> Vec<ProfileEntry> {
    pairs
        .iter()
        .map(|(k, v)| ProfileEntry {
            key: (*k).into(),
            value: v.clone(),
        })
        .collect()
}

fn text(s: &str) -> ProfileValue {
    ProfileValue::Text(s.into())
}

fn ann() -> Vec<ProfileEntry> {
    profile(&[
        ("email", text(" ann@x.test ")),
        ("first_name", text("Ann")),
        ("last_name", text("Lee")),
    ])
}

fn post_body() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "ann@x.test",
        "name": {"givenName": "Ann", "familyName": "Lee", "formatted": "Ann Lee"},
        "emails": [{"value": "ann@x.test", "primary": true, "type": "work"}],
        "active": true
    })
}

fn post() -> Call {
    ("POST", "/Users".into(), Some(post_body()))
}

const LOOKUP: &str = "/Users?filter=email%20eq%20%22ann%40x.test%22";

fn created_ann() -> String {
    let mut u = user_json("u1", Some("member"), true);
    u["userName"] = json!("ann@x.test");
    u.to_string()
}

#[test]
fn create_posts_a_core_user_and_maps_the_answer() {
    for status in [201, 200] {
        let fake = FakeTransport::new();
        fake.push(status, &created_ann());
        let mut notes = Notes::new();
        let outcome = create_account(&client(&fake), &ann(), &mut notes).unwrap();
        let CreateAccountOutcome::Created(record) = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(record.id.resource, "u1");
        assert_eq!(record.id.resource_type, "user");
        let [TraitData::User(t)] = &record.traits[..] else {
            panic!("{:?}", record.traits)
        };
        assert_eq!(t.login, "ann@x.test");
        assert_eq!(fake.calls(), [post()]);
        let sent = &fake.requests()[0];
        assert!(sent
            .headers
            .contains(&("content-type".into(), "application/json".into())));
        assert!(notes.has(LogLevel::Info, "created user u1 (ann@x.test)"));
    }
}

#[test]
fn a_previewed_create_reports_the_user_it_would_create() {
    let fake = FakeTransport::new();
    fake.push_previewed();
    let outcome = create_account(&client(&fake), &ann(), &mut Notes::new()).unwrap();
    let CreateAccountOutcome::Created(record) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(record.id.resource, crate::scim::PREVIEWED_USER_ID);
    let [TraitData::User(t)] = &record.traits[..] else {
        panic!("{:?}", record.traits)
    };
    assert_eq!(t.login, "ann@x.test");
    assert_eq!(fake.calls(), [post()], "the one write, no lookup");
}

#[test]
fn create_conflict_looks_the_user_up() {
    let found_body = users_page(1, &[]).replace(
        "\"Resources\":[]",
        &format!("\"Resources\":[{}]", created_ann()),
    );
    let cases: [(&str, u16, Option<&str>); 4] = [
        (found_body.as_str(), 200, Some("u1")),
        (r#"{"totalResults":0,"Resources":[]}"#, 200, None),
        // A server ignoring the filter: the other user is not taken for Ann.
        (&users_page(1, &[("u7", None, true)]), 200, None),
        // The lookup fails: the account still exists.
        (r#"{"detail":"bad filter"}"#, 400, None),
    ];
    for (lookup, status, want) in cases {
        let fake = FakeTransport::new();
        fake.push(409, &scim_error(409, "User already exists"));
        fake.push(status, lookup);
        let mut notes = Notes::new();
        let outcome = create_account(&client(&fake), &ann(), &mut notes).unwrap();
        let CreateAccountOutcome::AlreadyExists(existing) = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(
            existing.as_ref().map(|r| r.id.resource.as_str()),
            want,
            "{lookup}"
        );
        assert_eq!(fake.calls(), [post(), get_call(LOOKUP)]);
        assert!(notes.has(LogLevel::Info, "user ann@x.test already exists"));
        if want.is_none() {
            assert!(
                notes.has(LogLevel::Warn, "ann@x.test"),
                "{:?}",
                notes.lines()
            );
        }
    }
}

#[test]
fn the_lookup_filter_escapes_quotes() {
    let fake = FakeTransport::new();
    fake.push(409, "");
    fake.push(200, r#"{"totalResults":0,"Resources":[]}"#);
    let mut p = ann();
    p[0].value = text(r#"a"b\c&d+e@x.test"#);
    create_account(&client(&fake), &p, &mut Notes::new()).unwrap();
    // email eq "a\"b\\c&d+e@x.test", percent-encoded.
    assert_eq!(
        fake.paths()[1],
        "/Users?filter=email%20eq%20%22a%5C%22b%5C%5Cc%26d%2Be%40x.test%22"
    );
}

#[test]
fn bad_profiles_send_nothing() {
    let cases: Vec<(Vec<ProfileEntry>, &str)> = vec![
        (
            profile(&[("first_name", text("Ann")), ("last_name", text("Lee"))]),
            "the profile field `email` is required",
        ),
        (
            profile(&[("email", text("a@x.test")), ("last_name", text("Lee"))]),
            "the profile field `first_name` is required",
        ),
        (
            profile(&[
                ("email", text("a@x.test")),
                ("first_name", text("Ann")),
                ("last_name", text("  ")),
            ]),
            "`last_name` must be non-empty text, not empty",
        ),
        (
            profile(&[
                ("email", text("a@x.test")),
                ("first_name", ProfileValue::Number(1.0)),
                ("last_name", text("Lee")),
            ]),
            "`first_name` must be non-empty text, not a number",
        ),
        (
            profile(&[
                ("email", ProfileValue::Null),
                ("first_name", text("Ann")),
                ("last_name", text("Lee")),
            ]),
            "`email` must be non-empty text, not null",
        ),
        (
            profile(&[
                ("email", text("ann.x.test")),
                ("first_name", text("Ann")),
                ("last_name", text("Lee")),
            ]),
            "`email` is not an email address (it has no '@'): \"ann.x.test\"",
        ),
        (
            profile(&[
                ("email", text("@x.test")),
                ("first_name", text("Ann")),
                ("last_name", text("Lee")),
            ]),
            "is not an email address (a part around '@' is empty): \"@x.test\"",
        ),
        (
            profile(&[
                ("email", text("ann lee@x.test")),
                ("first_name", text("Ann")),
                ("last_name", text("Lee")),
            ]),
            "(it contains whitespace)",
        ),
    ];
    for (p, needle) in cases {
        let fake = FakeTransport::new();
        let e = create_account(&client(&fake), &p, &mut Notes::new()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidArgument, "{needle}");
        assert!(e.message.contains(needle), "{needle}: {}", e.message);
        assert!(fake.requests().is_empty(), "{needle}");
    }
}

#[test]
fn create_failures() {
    let cases: [(u16, &str, ErrorKind, &str); 3] = [
        (
            403,
            r#"{"detail":"forbidden"}"#,
            ErrorKind::PermissionDenied,
            "POST /Users failed with HTTP 403: forbidden",
        ),
        (
            201,
            "",
            ErrorKind::BadResponse,
            "POST /Users: expected a SCIM user, but the body is empty, not JSON; the account may \
             have been created",
        ),
        (
            201,
            r#"{"userName":"ann@x.test"}"#,
            ErrorKind::BadResponse,
            "POST /Users: the answer has no user id or userName",
        ),
    ];
    for (status, body, kind, needle) in cases {
        let fake = FakeTransport::new();
        fake.push(status, body);
        let e = create_account(&client(&fake), &ann(), &mut Notes::new()).unwrap_err();
        assert_eq!(e.kind, kind, "{body}");
        assert!(e.message.contains(needle), "{}", e.message);
        assert!(!e.message.contains("secret-token-123"));
        assert_eq!(fake.calls(), [post()]);
    }
}

const U1: &str = "/Users/u1";
const OWNERS_P1: &str = "/Users?startIndex=1&count=100";

fn not_found() -> (u16, String) {
    (404, scim_error(404, "User not found"))
}

#[test]
fn delete_sequences() {
    type Case = (
        &'static str,
        Vec<(u16, String)>,
        Result<bool, (ErrorKind, &'static str)>,
        Vec<Call>,
    );
    let ok = |s: &str| (200, s.to_string());
    let member = user("u1", Some("member"));
    let owner = user("u1", Some("owner"));
    let inactive = user_json("u1", Some("member"), false).to_string();
    let cases: Vec<Case> =
        vec![
        (
            "deleted, confirmed by a 404",
            vec![ok(&member), (204, String::new()), not_found()],
            Ok(true),
            vec![get_call(U1), delete_call(U1), get_call(U1)],
        ),
        (
            "deleted, confirmed by active:false",
            vec![
                ok(&member),
                (200, String::new()),
                ok(&user_json("u1", Some("member"), false).to_string()),
            ],
            Ok(true),
            vec![get_call(U1), delete_call(U1), get_call(U1)],
        ),
        (
            "already deleted",
            vec![not_found()],
            Ok(false),
            vec![get_call(U1)],
        ),
        (
            "inactive: deleted all the same, confirmed by a 404",
            vec![ok(&inactive), (204, String::new()), not_found()],
            Ok(true),
            vec![get_call(U1), delete_call(U1), get_call(U1)],
        ),
        (
            "inactive, and the DELETE answers 404",
            vec![ok(&inactive), not_found()],
            Ok(false),
            vec![get_call(U1), delete_call(U1)],
        ),
        (
            "inactive, still listed after an accepted DELETE",
            vec![ok(&inactive), (204, String::new()), ok(&inactive)],
            Ok(true),
            vec![get_call(U1), delete_call(U1), get_call(U1)],
        ),
        (
            "inactive, active after the DELETE",
            vec![ok(&inactive), (204, String::new()), ok(&member)],
            Err((ErrorKind::Internal, "user u1 still exists after DELETE")),
            vec![get_call(U1), delete_call(U1), get_call(U1)],
        ),
        (
            // Not an owner the guard counts: no listing is read.
            "an inactive owner",
            vec![
                ok(&user_json("u1", Some("owner"), false).to_string()),
                (204, String::new()),
                not_found(),
            ],
            Ok(true),
            vec![get_call(U1), delete_call(U1), get_call(U1)],
        ),
        (
            "gone by the time of the DELETE",
            vec![ok(&member), not_found()],
            Ok(false),
            vec![get_call(U1), delete_call(U1)],
        ),
        (
            "still there after the DELETE",
            vec![ok(&member), (204, String::new()), ok(&member)],
            Err((ErrorKind::Internal, "user u1 still exists after DELETE")),
            vec![get_call(U1), delete_call(U1), get_call(U1)],
        ),
        (
            "the last owner is refused",
            vec![
                ok(&owner),
                ok(&users_page(2, &[("u1", Some("owner"), true), ("u2", None, true)])),
            ],
            Err((
                ErrorKind::FailedPrecondition,
                "refusing to delete user u1: user u1 is the last remaining owner of the workspace",
            )),
            vec![get_call(U1), get_call(OWNERS_P1)],
        ),
        (
            "an owner with another owner is deleted",
            vec![
                ok(&owner),
                ok(&users_page(2, &[("u1", Some("owner"), true), ("u2", Some("owner"), true)])),
                (204, String::new()),
                not_found(),
            ],
            Ok(true),
            vec![get_call(U1), get_call(OWNERS_P1), delete_call(U1), get_call(U1)],
        ),
        (
            "a failing DELETE",
            vec![ok(&member), (403, r#"{"detail":"token owner"}"#.into())],
            Err((
                ErrorKind::PermissionDenied,
                "DELETE /Users/u1 failed with HTTP 403: token owner",
            )),
            vec![get_call(U1), delete_call(U1)],
        ),
    ];
    for (name, answers, want, calls) in cases {
        let fake = FakeTransport::new();
        for (status, body) in &answers {
            fake.push(*status, body);
        }
        let mut notes = Notes::new();
        let got = delete(&client(&fake), "u1", &mut notes);
        match (&got, &want) {
            (Ok(g), Ok(w)) => {
                assert_eq!(g, w, "{name}");
                assert!(
                    notes.lines().iter().any(|(l, _)| *l == LogLevel::Info),
                    "{name}: {:?}",
                    notes.lines()
                );
            }
            (Err(e), Err((kind, needle))) => {
                assert_eq!(e.kind, *kind, "{name}");
                assert!(e.message.contains(needle), "{name}: {}", e.message);
            }
            _ => panic!("{name}: got {got:?}, want {want:?}"),
        }
        assert_eq!(fake.calls(), calls, "{name}");
        assert_eq!(fake.unused(), 0, "{name}");
    }
}

#[test]
fn delete_says_what_it_did() {
    let inactive = user_json("u1", Some("member"), false).to_string();
    /// (name, answers, level of the line, text of the line)
    type Case = (&'static str, Vec<(u16, String)>, LogLevel, &'static str);
    let cases: [Case; 4] = [
        (
            "absent",
            vec![not_found()],
            LogLevel::Info,
            "user u1 is not in the Notion workspace; already deleted, nothing sent",
        ),
        (
            "inactive",
            vec![(200, inactive.clone()), (204, String::new()), not_found()],
            LogLevel::Info,
            "deleted user u1 from the Notion workspace (confirmed: now absent)",
        ),
        (
            "inactive, gone at the DELETE",
            vec![(200, inactive.clone()), not_found()],
            LogLevel::Info,
            "user u1 was already gone when DELETE was sent (404); already deleted",
        ),
        (
            "inactive, still listed",
            vec![
                (200, inactive.clone()),
                (204, String::new()),
                (200, inactive),
            ],
            LogLevel::Warn,
            "Notion accepted DELETE /Users/u1 but still lists the user as inactive",
        ),
    ];
    for (name, answers, level, needle) in cases {
        let fake = FakeTransport::new();
        for (status, body) in &answers {
            fake.push(*status, body);
        }
        let mut notes = Notes::new();
        delete(&client(&fake), "u1", &mut notes).unwrap();
        assert!(notes.has(level, needle), "{name}: {:?}", notes.lines());
        assert!(
            !notes.has(LogLevel::Info, "treats as removed"),
            "{name}: no shortcut for inactive users"
        );
    }
}

#[test]
fn delete_refuses_an_empty_id() {
    let fake = FakeTransport::new();
    let e = delete(&client(&fake), " ", &mut Notes::new()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    assert!(fake.requests().is_empty());
}

//! Unit tests of `users`: mapping, skipping, role grants, listing requests.

use super::*;
use crate::baton::connector::types::{ErrorKind, LogLevel};
use crate::scim::fake::{client, FakeTransport};
use crate::scim::model::from_raw_item;
use serde_json::json;
use serde_json::Value;

fn user(value: Value) -> ScimUser {
    from_raw_item(&value.to_string()).unwrap()
}

fn map(value: Value) -> (Option<MappedUser>, Notes) {
    let mut notes = Notes::new();
    (map_user(user(value), &mut notes), notes)
}

fn user_trait(mapped: &MappedUser) -> &UserTrait {
    match &mapped.resource.traits[..] {
        [TraitData::User(t)] => t,
        other => panic!("unexpected traits {other:?}"),
    }
}

#[test]
fn display_name_fallback_chain() {
    let cases = [
        (
            json!({"displayName": "D", "name": {"formatted": "F", "givenName": "G"}}),
            "D",
        ),
        (
            json!({"displayName": "  ", "name": {"formatted": "F"}}),
            "F",
        ),
        (
            json!({"name": {"formatted": "", "givenName": "Ann", "familyName": "Lee"}}),
            "Ann Lee",
        ),
        (json!({"name": {"givenName": "Ann"}}), "Ann"),
        (json!({"name": {"familyName": " Lee "}}), "Lee"),
        (json!({"name": {"givenName": ""}}), "ann@x.test"),
        (json!({"name": null}), "ann@x.test"),
        (json!({}), "ann@x.test"),
    ];
    for (mut value, want) in cases {
        value["id"] = json!("u1");
        value["userName"] = json!("ann@x.test");
        let (mapped, _) = map(value.clone());
        assert_eq!(mapped.unwrap().resource.display_name, want, "{value}");
    }
}

#[test]
fn users_without_id_or_user_name_are_skipped() {
    let cases = [
        (json!({"userName": "a@x.test"}), "without an id: a@x.test"),
        (json!({"id": "", "userName": "a@x.test"}), "without an id"),
        (json!({"id": "u1"}), "without a userName: u1"),
        (json!({"id": "u1", "userName": "  "}), "without a userName"),
        (json!({"id": 5, "userName": true}), "without a userName: 5"),
        (json!({}), "no id or userName either"),
    ];
    for (value, needle) in cases {
        let (mapped, notes) = map(value.clone());
        assert!(mapped.is_none(), "{value}");
        assert!(
            notes.has(LogLevel::Warn, needle),
            "{value}: {:?}",
            notes.lines()
        );
    }
}

#[test]
fn role_grants() {
    let ext = |role: Value| json!({"id": "u1", "userName": "a@x.test", NOTION_USER_EXTENSION: {"role": role}});
    type Note = Option<(LogLevel, &'static str)>;
    let cases: [(Value, Option<&str>, Note); 7] = [
        (ext(json!("owner")), Some("owner"), None),
        (
            ext(json!("Restricted_Member")),
            Some("restricted_member"),
            None,
        ),
        (
            ext(json!("guest")),
            None,
            Some((LogLevel::Warn, "unknown Notion workspace role \"guest\"")),
        ),
        (ext(json!("")), None, Some((LogLevel::Debug, "has no role"))),
        (
            ext(json!(null)),
            None,
            Some((LogLevel::Debug, "has no role")),
        ),
        (
            json!({"id": "u1", "userName": "a@x.test"}),
            None,
            Some((LogLevel::Debug, "has no role")),
        ),
        (
            json!({"id": "u1", "userName": "a@x.test", NOTION_USER_EXTENSION: "member"}),
            None,
            Some((LogLevel::Debug, "has no role")),
        ),
    ];
    for (value, want, note) in cases {
        let (mapped, notes) = map(value.clone());
        let mapped = mapped.expect("the user is still synced");
        let grant = mapped.role_grant.as_ref();
        assert_eq!(
            grant.map(|g| g.entitlement.resource.resource.as_str()),
            want,
            "{value}"
        );
        if let Some(g) = grant {
            assert_eq!(g.entitlement.resource.resource_type, "role");
            assert_eq!(g.entitlement.slug, "assigned");
            assert_eq!(
                g.principal,
                ResourceId {
                    resource_type: "user".into(),
                    resource: "u1".into()
                }
            );
        }
        if let Some((level, needle)) = note {
            assert!(notes.has(level, needle), "{value}: {:?}", notes.lines());
        }
    }
}

#[test]
fn active_maps_to_status() {
    let cases = [
        (json!(true), AccountStatus::Enabled),
        (json!(false), AccountStatus::Disabled),
        (json!("False"), AccountStatus::Disabled),
        (json!(null), AccountStatus::Enabled),
        (json!("maybe"), AccountStatus::Enabled),
    ];
    for (active, want) in cases {
        let (mapped, _) = map(json!({"id": "u", "userName": "a@x.test", "active": active}));
        assert_eq!(user_trait(&mapped.unwrap()).status, want, "{active}");
    }
}

#[test]
fn user_trait_and_profile() {
    let (mapped, _) = map(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "u1", "userName": "ann@x.test",
        "name": {"givenName": "Ann", "familyName": "Lee"},
        "emails": [{"value": "ann@x.test", "primary": true}, {"value": "ann@home.test"}, {"value": ""}],
        "meta": {"created": "1700000000000", "lastModified": "1700000000000"},
        "photos": [{"value": "https://x.test/p.png"}],
        NOTION_USER_EXTENSION: {"role": "member"}
    }));
    let mapped = mapped.unwrap();
    let t = user_trait(&mapped);
    assert_eq!(t.login, "ann@x.test");
    assert_eq!(t.given_name.as_deref(), Some("Ann"));
    assert_eq!(t.family_name.as_deref(), Some("Lee"));
    assert_eq!(
        t.emails,
        [
            Email {
                address: "ann@x.test".into(),
                is_primary: true
            },
            Email {
                address: "ann@home.test".into(),
                is_primary: false
            }
        ]
    );
    let keys: Vec<(&str, &ProfileValue)> = t
        .profile
        .iter()
        .map(|e| (e.key.as_str(), &e.value))
        .collect();
    let text = |s: &str| ProfileValue::Text(s.into());
    assert_eq!(
        keys,
        [
            ("first_name", &text("Ann")),
            ("last_name", &text("Lee")),
            ("email", &text("ann@x.test")),
            ("workspace_role", &text("member"))
        ]
    );
}

#[test]
fn there_is_always_one_primary_email() {
    let email = |a: &str, p: bool| Email {
        address: a.into(),
        is_primary: p,
    };
    let cases = [
        (
            json!([{"value": "b@x.test", "primary": true}, {"value": "a@x.test"}]),
            vec![email("b@x.test", true), email("a@x.test", false)],
        ),
        (
            json!([{"value": "b@x.test"}, {"value": "A@x.test"}]),
            vec![email("b@x.test", false), email("A@x.test", true)],
        ),
        (
            json!([{"value": "b@x.test", "primary": false}]),
            vec![email("a@x.test", true), email("b@x.test", false)],
        ),
        (json!([]), vec![email("a@x.test", true)]),
    ];
    for (emails, want) in cases {
        let (mapped, _) = map(json!({"id": "u1", "userName": "a@x.test", "emails": emails}));
        assert_eq!(
            user_trait(mapped.as_ref().unwrap()).emails,
            want,
            "{emails}"
        );
    }
}

#[test]
fn user_name_is_the_fallback_primary_email() {
    let (mapped, _) = map(json!({"id": "u1", "userName": "a@x.test", "emails": "nope"}));
    let t = user_trait(mapped.as_ref().unwrap()).clone();
    assert_eq!(
        t.emails,
        [Email {
            address: "a@x.test".into(),
            is_primary: true
        }]
    );
    assert_eq!(t.profile.len(), 1, "only email: {:?}", t.profile);
}

fn users_body(total: u64, range: std::ops::Range<u32>) -> String {
    let resources: Vec<Value> = range
        .map(|i| json!({"id": format!("u{i}"), "userName": format!("u{i}@x.test"), NOTION_USER_EXTENSION: {"role": "member"}}))
        .collect();
    json!({"totalResults": total, "Resources": resources, "startIndex": 1, "itemsPerPage": 100})
        .to_string()
}

#[test]
fn a_full_listing_makes_one_request_per_hundred_users() {
    let fake = FakeTransport::new();
    fake.push(200, &users_body(250, 0..100));
    fake.push(200, &users_body(250, 100..200));
    fake.push(200, &users_body(250, 200..250));
    let (client, mut listings, mut notes) = (client(&fake), Listings::default(), Notes::new());
    let (mut token, mut users, mut grants) = (String::new(), 0, 0);
    loop {
        let page = list_page(&client, &mut listings, &token, &mut notes).unwrap();
        users += page.resources.len();
        grants += page.grants.len();
        assert!(page.entitlements.is_empty());
        match page.next_page_token {
            Some(next) => token = next,
            None => break,
        }
    }
    assert_eq!((users, grants), (250, 250));
    assert_eq!(
        fake.paths(),
        [
            "/Users?startIndex=1&count=100",
            "/Users?startIndex=101&count=100",
            "/Users?startIndex=201&count=100"
        ]
    );
}

#[test]
fn a_bad_page_is_a_bad_response() {
    let fake = FakeTransport::new();
    fake.push(200, r#"{"Resources": 3}"#);
    let e = list_page(
        &client(&fake),
        &mut Listings::default(),
        "",
        &mut Notes::new(),
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadResponse);
    let e = list_page(
        &client(&fake),
        &mut Listings::default(),
        "v1.user",
        &mut Notes::new(),
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    assert_eq!(fake.paths().len(), 1, "a malformed token makes no request");
}

#[test]
fn non_object_items_are_skipped() {
    let fake = FakeTransport::new();
    let body =
        json!({"totalResults": 2, "Resources": ["u1", {"id": "u2", "userName": "b@x.test"}]});
    fake.push(200, &body.to_string());
    let mut notes = Notes::new();
    let page = list_page(&client(&fake), &mut Listings::default(), "", &mut notes).unwrap();
    let ids: Vec<_> = page
        .resources
        .iter()
        .map(|r| r.id.resource.as_str())
        .collect();
    assert_eq!(ids, ["u2"]);
    assert!(notes.has(
        LogLevel::Warn,
        "skipping a user entry that is not a JSON object"
    ));
}

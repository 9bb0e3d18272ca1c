//! Unit tests of `groups`: mapping, member grants, listing and single reads.

use super::*;
use crate::baton::connector::types::{ErrorKind, LogLevel};
use crate::scim::fake::{client, FakeTransport};
use crate::scim::model::from_raw_item;
use serde_json::json;
use serde_json::Value;

fn map(value: Value) -> (Option<MappedGroup>, Notes) {
    let mut notes = Notes::new();
    (
        map_group(from_raw_item(&value.to_string()).unwrap(), &mut notes),
        notes,
    )
}

fn members(group: &MappedGroup) -> Vec<&str> {
    group
        .grants
        .iter()
        .map(|g| g.principal.resource.as_str())
        .collect()
}

#[test]
fn group_with_members() {
    let (group, _) = map(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "g1", "displayName": "Engineering",
        "members": [
            {"value": "u1", "$ref": "https://x.test/Users/u1", "type": "User"},
            {"value": "u2"},
            {"value": "u1"}
        ],
        "meta": {"created": "1700000000000"}
    }));
    let group = group.unwrap();
    assert_eq!(group.resource.display_name, "Engineering");
    assert_eq!(
        group.resource.id,
        ResourceId {
            resource_type: "group".into(),
            resource: "g1".into()
        }
    );
    assert_eq!(group.entitlement.display_name, "Engineering Group member");
    assert_eq!(
        group.entitlement.description,
        "Member of Engineering Group in Notion"
    );
    assert_eq!(group.entitlement.purpose, EntitlementPurpose::Assignment);
    assert_eq!(group.entitlement.grantable_to, ["user"]);
    assert_eq!(members(&group), ["u1", "u2"]);
    for grant in &group.grants {
        assert_eq!(grant.entitlement, group.entitlement.id);
        assert_eq!(grant.principal.resource_type, "user");
    }
}

#[test]
fn odd_members_and_names() {
    let cases = [
        (json!({"id": "g", "displayName": "G"}), "G", vec![]),
        (
            json!({"id": "g", "displayName": " ", "members": []}),
            "g",
            vec![],
        ),
        (json!({"id": "g", "members": "nope"}), "g", vec![]),
        (
            json!({"id": "g", "members": [{"display": "x"}, {"value": ""}, 7, {"value": "u1"}]}),
            "g",
            vec!["u1"],
        ),
        (
            json!({"id": "g", "members": [{"value": "g2", "type": "Group"}, {"value": "u1", "type": "user"}]}),
            "g",
            vec!["u1"],
        ),
    ];
    for (value, name, want) in cases {
        let (group, _) = map(value.clone());
        let group = group.unwrap();
        assert_eq!(group.resource.display_name, name, "{value}");
        assert_eq!(members(&group), want, "{value}");
    }
}

#[test]
fn group_without_id_is_skipped() {
    let (group, notes) = map(json!({"displayName": "Orphans"}));
    assert!(group.is_none());
    assert!(notes.has(LogLevel::Warn, "without an id (displayName \"Orphans\")"));
}

#[test]
fn listing_carries_entitlements_and_grants() {
    let fake = FakeTransport::new();
    let body = json!({"totalResults": 2, "Resources": [
        {"id": "g1", "displayName": "A", "members": [{"value": "u1"}, {"value": "u2"}]},
        {"id": "g2", "displayName": "B"},
        {"displayName": "no id"}
    ]});
    fake.push(200, &body.to_string());
    let page = list_page(
        &client(&fake),
        &mut Listings::default(),
        "",
        &mut Notes::new(),
    )
    .unwrap();
    assert_eq!(page.resources.len(), 2);
    assert_eq!(page.entitlements.len(), 2);
    assert_eq!(page.grants.len(), 2);
    assert_eq!(page.next_page_token, None, "received 3 >= total 2");
    assert_eq!(fake.paths(), ["/Groups?startIndex=1&count=100"]);
}

#[test]
fn single_group_reads() {
    let fake = FakeTransport::new();
    let body = json!({"id": "g1", "displayName": "A", "members": [{"value": "u1"}]}).to_string();
    fake.push(200, &body);
    fake.push(200, &body);
    fake.push(404, r#"{"status":"404","detail":"Group not found"}"#);
    let client = client(&fake);
    let page = list_entitlements(&client, "g1", "", &mut Notes::new()).unwrap();
    assert_eq!(page.entitlements.len(), 1);
    assert_eq!(page.entitlements[0].display_name, "A Group member");
    let page = list_grants(&client, "g1", "", &mut Notes::new()).unwrap();
    assert_eq!(page.grants.len(), 1);
    assert!(page.resources.is_empty() && page.next_page_token.is_none());
    let e = list_grants(&client, "gone", "", &mut Notes::new()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(
        e.message.contains("GET /Groups/gone") && e.message.contains("Group not found"),
        "{}",
        e.message
    );
    assert_eq!(fake.paths(), ["/Groups/g1", "/Groups/g1", "/Groups/gone"]);
    // Refused before any request.
    let e = list_grants(&client, " ", "", &mut Notes::new()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    let e = list_grants(&client, "g1", "v1.group.1.2.1.-", &mut Notes::new()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    assert_eq!(fake.paths().len(), 3);
}

//! Unit tests of the store's SCIM semantics (no HTTP involved).

use super::*;
use crate::scim::{NOTION_USER_EXT, PATCH_OP};
use crate::{generate, Config};
use serde_json::json;

fn store(users: usize, groups: usize) -> Store {
    let cfg = Config {
        users,
        groups,
        ..Config::default()
    };
    Store::new(generate(&cfg), cfg.seed)
}

fn patch(ops: Value) -> Value {
    json!({ "schemas": [PATCH_OP], "Operations": ops })
}

fn uid(s: &Store, i: usize) -> String {
    s.users[i].id.to_string()
}

fn role_of(v: &Value) -> &Value {
    &v[NOTION_USER_EXT]["role"]
}

#[test]
fn list_envelope_and_pages() {
    let s = store(250, 5);
    let p = s.list_users(None, Page::new(Some(201), Some(1000)), Anomalies::NONE);
    assert_eq!(p["totalResults"], 250);
    assert_eq!(p["startIndex"], 201);
    assert_eq!(p["itemsPerPage"], 50);
    assert_eq!(p["Resources"][0]["id"], uid(&s, 200));
    let beyond = s.list_users(None, Page::new(Some(300), None), Anomalies::NONE);
    assert_eq!(beyond["totalResults"], 250);
    assert_eq!(beyond["Resources"].as_array().unwrap().len(), 0);
    let none = s.list_users(None, Page::new(None, Some(0)), Anomalies::NONE);
    assert_eq!(none["totalResults"], 250);
    assert_eq!(none["itemsPerPage"], 0);
    let g = s.list_groups(None, Page::new(Some(2), Some(2)), Anomalies::NONE);
    assert_eq!(g["totalResults"], 5);
    assert_eq!(g["itemsPerPage"], 2);
}

#[test]
fn filters_apply_before_paging() {
    let s = store(250, 5);
    let u = &s.users[7];
    let f = UserFilter::parse(&format!("email eq \"{}\"", u.user_name.to_uppercase())).unwrap();
    let r = s.list_users(Some(&f), Page::default(), Anomalies::NONE);
    assert_eq!(r["totalResults"], 1);
    assert_eq!(r["Resources"][0]["id"], u.id.to_string());
    let given = u.given_name.clone().unwrap();
    let f = UserFilter::GivenName(given.clone());
    let expected = s
        .users
        .iter()
        .filter(|x| x.given_name.as_deref() == Some(&given))
        .count();
    assert_eq!(
        s.list_users(Some(&f), Page::default(), Anomalies::NONE)["totalResults"],
        expected
    );
    let f = UserFilter::GivenName(given.to_lowercase());
    assert_eq!(
        s.list_users(Some(&f), Page::default(), Anomalies::NONE)["totalResults"],
        0
    );
    let f = GroupFilter::DisplayName("design".into());
    let r = s.list_groups(Some(&f), Page::default(), Anomalies::NONE);
    assert_eq!(r["Resources"][0]["displayName"], "Design");
}

#[test]
fn create_defaults_and_duplicates() {
    let mut s = store(10, 2);
    let v = s
        .create_user(
            &json!({"userName": "New.Person@Corp.com", "name": {"formatted": "New Person"}}),
        )
        .unwrap();
    assert_eq!(v["userName"], "new.person@corp.com");
    assert_eq!(role_of(&v), "member");
    assert_eq!(v["active"], true);
    assert_eq!(v["emails"][0]["value"], "new.person@corp.com");
    assert_eq!(s.get_user(v["id"].as_str().unwrap()).unwrap(), v);
    let dup = s
        .create_user(&json!({"userName": "NEW.PERSON@corp.com"}))
        .unwrap_err();
    assert_eq!((dup.status, dup.scim_type), (409, Some("uniqueness")));
    let existing = s.users[3].user_name.clone();
    assert_eq!(
        s.create_user(&json!({"userName": existing}))
            .unwrap_err()
            .status,
        409
    );
    let admin = s
        .create_user(&json!({"userName": "a@b.c", NOTION_USER_EXT: {"role": "membership_admin"}}))
        .unwrap();
    assert_eq!(role_of(&admin), "membership_admin");
    assert_eq!(s.users.len(), 12);
}

#[test]
fn patch_role_both_shapes_and_bad_values() {
    let mut s = store(10, 2);
    let id = uid(&s, 2);
    let v = s
        .patch_user(
            &id,
            &patch(json!([{"op": "Replace", "value": {NOTION_USER_EXT: {"role": "owner"}}}])),
        )
        .unwrap();
    assert_eq!(role_of(&v), "owner");
    let path = format!("{NOTION_USER_EXT}:role");
    let v = s
        .patch_user(
            &id,
            &patch(json!([{"op": "replace", "path": path, "value": "restricted_member"}])),
        )
        .unwrap();
    assert_eq!(role_of(&v), "restricted_member");
    assert_eq!(s.users[2].role, Some(Role::RestrictedMember));
    let bad = s
        .patch_user(
            &id,
            &patch(json!([{"op": "replace", "path": path, "value": "admin"}])),
        )
        .unwrap_err();
    assert_eq!(bad.status, 400);
    // The user lacking the extension can be given a role.
    let nine = uid(&s, 9);
    assert!(s.get_user(&nine).unwrap().get(NOTION_USER_EXT).is_none());
    let v = s
        .patch_user(
            &nine,
            &patch(json!([{"op": "add", "path": path, "value": "member"}])),
        )
        .unwrap();
    assert_eq!(role_of(&v), "member");
    assert!(v["schemas"]
        .as_array()
        .unwrap()
        .contains(&json!(NOTION_USER_EXT)));
}

#[test]
fn patch_profile_fields_and_atomicity() {
    let mut s = store(10, 2);
    let id = uid(&s, 1);
    let v = s
        .patch_user(
            &id,
            &patch(json!([
                {"op": "replace", "path": "name.givenName", "value": "Zed"},
                {"op": "replace", "value": {"displayName": "Zed Z", "name.familyName": "Zulu"}},
                {"op": "remove", "path": "name.formatted"}
            ])),
        )
        .unwrap();
    assert_eq!(v["name"], json!({"givenName": "Zed", "familyName": "Zulu"}));
    assert_eq!(v["displayName"], "Zed Z");
    let before = s.users[1].clone();
    for body in [
        patch(json!([{"op": "replace", "path": "displayName", "value": "X"}, {"op": "bogus"}])),
        patch(
            json!([{"op": "replace", "path": "displayName", "value": "X"}, {"op": "replace", "path": "nope", "value": 1}]),
        ),
        patch(
            json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "x@y.z"}]),
        ),
        json!({"Operations": "nope"}),
        json!({}),
    ] {
        assert_eq!(s.patch_user(&id, &body).unwrap_err().status, 400, "{body}");
    }
    assert_eq!(s.users[1], before);
    // Changing userName to another user's address fails like Notion: with a 500.
    let taken = s.users[2].user_name.clone();
    let e = s
        .patch_user(
            &id,
            &patch(json!([{"op": "replace", "path": "userName", "value": taken}])),
        )
        .unwrap_err();
    assert_eq!(e.status, 500);
    assert_eq!(s.get_user("nope").unwrap_err().status, 404);
}

#[test]
fn delete_and_deactivate_remove_memberships() {
    let mut s = store(250, 5);
    let victim = s.groups[0].members[0];
    let groups_with =
        |s: &Store, id: ScimId| s.groups.iter().filter(|g| g.members.contains(&id)).count();
    assert!(groups_with(&s, victim) >= 1);
    s.delete_user(&victim.to_string()).unwrap();
    assert_eq!(groups_with(&s, victim), 0);
    assert_eq!(s.get_user(&victim.to_string()).unwrap_err().status, 404);
    assert_eq!(s.delete_user(&victim.to_string()).unwrap_err().status, 404);
    assert_eq!(s.users.len(), 249);
    // Positions stay consistent after the shift.
    for (i, u) in s.users.iter().enumerate() {
        assert_eq!(s.user_pos[&u.id], i);
    }
    let other = s.groups[1].members[0];
    let v = s
        .patch_user(
            &other.to_string(),
            &patch(json!([{"op": "replace", "path": "active", "value": false}])),
        )
        .unwrap();
    assert_eq!(v["active"], false);
    assert_eq!(s.get_user(&other.to_string()).unwrap_err().status, 404);
    assert_eq!(groups_with(&s, other), 0);
    // The freed userName can be provisioned again.
    let name = v["userName"].as_str().unwrap().to_string();
    s.create_user(&json!({"userName": name})).unwrap();
}

#[test]
fn an_inactive_user_stays_listed_until_deleted() {
    let mut s = store(30, 3);
    let id = s.groups[0].members[0];
    let sid = id.to_string();
    let v = s.set_listed_active(&sid, false).unwrap();
    assert_eq!(v["active"], false);
    // Unlike SCIM's active:false, it stays listed, readable and in its groups.
    assert_eq!(s.get_user(&sid).unwrap()["active"], false);
    let listed = s.list_users(None, Page::default(), Anomalies::NONE);
    assert_eq!(listed["totalResults"], 30);
    assert!(listed["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["id"] == sid && u["active"] == false));
    assert!(s.groups[0].members.contains(&id));
    // DELETE removes it like any member; a second one is a 404.
    s.delete_user(&sid).unwrap();
    assert_eq!(s.get_user(&sid).unwrap_err().status, 404);
    assert_eq!(s.delete_user(&sid).unwrap_err().status, 404);
    assert!(!s.groups[0].members.contains(&id));
    assert_eq!(s.set_listed_active(&sid, true).unwrap_err().status, 404);
}

#[test]
fn group_membership_ops() {
    let mut s = store(20, 3);
    let gid = s.groups[2].id.to_string();
    assert!(s.groups[2].members.is_empty());
    let (a, b) = (uid(&s, 0), uid(&s, 1));
    let v = s
        .patch_group(
            &gid,
            &patch(json!([{"op": "Add", "path": "members", "value": [{"value": a}, {"value": b}, {"value": a}]}])),
        )
        .unwrap();
    assert_eq!(v["members"].as_array().unwrap().len(), 2);
    assert_eq!(v["members"][0]["value"], a);
    assert_eq!(v["members"][0]["type"], "User");
    assert!(v["members"][0]["$ref"].as_str().unwrap().ends_with(&a));
    let v = s
        .patch_group(
            &gid,
            &patch(json!([{"op": "remove", "path": "members", "value": [{"value": a}]}])),
        )
        .unwrap();
    assert_eq!(v["members"].as_array().unwrap().len(), 1);
    assert_eq!(v["members"][0]["value"], b);
    assert_eq!(v["members"][0]["display"], s.users[1].display());
    let unknown = "00000000-0000-4000-8000-000000000000";
    let e = s
        .patch_group(
            &gid,
            &patch(json!([{"op": "add", "path": "members", "value": [{"value": unknown}]}])),
        )
        .unwrap_err();
    assert_eq!(e.status, 400);
    let e = s
        .patch_group(
            &gid,
            &patch(json!([{"op": "remove", "path": format!("members[value eq \"{b}\"]")}])),
        )
        .unwrap_err();
    assert_eq!(e.scim_type, Some("invalidPath"));
    let v = s
        .patch_group(
            &gid,
            &patch(
                json!([{"op": "replace", "path": "displayName", "value": "Renamed"},
                           {"op": "replace", "path": "members", "value": [{"value": a}]}]),
            ),
        )
        .unwrap();
    assert_eq!(v["displayName"], "Renamed");
    assert_eq!(s.groups[2].members, vec![s.users[0].id]);
    let e = s
        .patch_group(
            &gid,
            &patch(json!([{"op": "replace", "value": {"id": gid, "displayName": "Design"}}])),
        )
        .unwrap_err();
    assert_eq!(e.status, 409);
}

#[test]
fn group_crud() {
    let mut s = store(20, 3);
    let a = uid(&s, 4);
    let v = s
        .create_group(&json!({"displayName": "Ops", "members": [{"value": a}]}))
        .unwrap();
    let gid = v["id"].as_str().unwrap().to_string();
    assert_eq!(v["members"][0]["display"], s.users[4].display());
    assert_eq!(
        s.create_group(&json!({"displayName": "ops"}))
            .unwrap_err()
            .status,
        409
    );
    assert_eq!(
        s.create_group(&json!({"members": []})).unwrap_err().status,
        400
    );
    let v = s
        .replace_group(&gid, &json!({"displayName": "Ops 2", "members": []}))
        .unwrap();
    assert_eq!(v["members"], json!([]));
    s.delete_group(&gid).unwrap();
    assert_eq!(s.get_group(&gid).unwrap_err().status, 404);
    assert_eq!(s.groups.len(), 3);
    let first = s.groups[0].id.to_string();
    s.delete_group(&first).unwrap();
    assert_eq!(
        s.get_group(&s.groups[0].id.to_string()).unwrap()["displayName"],
        "Design"
    );
}

#[test]
fn put_replaces_but_keeps_role_and_photos() {
    let mut s = store(10, 1);
    let id = uid(&s, 0);
    s.users[0]
        .extra
        .insert("photos".into(), json!([{"value": "https://img/1"}]));
    let v = s
        .replace_user(
            &id,
            &json!({"userName": "boss@corp.com", "photos": [{"value": "https://img/2"}], "title": "CEO"}),
        )
        .unwrap();
    assert_eq!(role_of(&v), "owner");
    assert_eq!(v["photos"][0]["value"], "https://img/1");
    assert_eq!(v["title"], "CEO");
    assert!(v.get("name").is_none());
    assert_eq!(v["emails"][0]["value"], "boss@corp.com");
    let v = s
        .replace_user(&id, &json!({"userName": "boss@corp.com", "active": false}))
        .unwrap();
    assert_eq!(v["active"], false);
    assert_eq!(s.get_user(&id).unwrap_err().status, 404);
}

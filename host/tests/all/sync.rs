//! Full syncs through the embedded component into a c1z, decoded and checked.

use std::collections::{BTreeMap, BTreeSet};

use baton_host::c1z::proto::{user_trait, GroupTrait, RoleTrait, UserTrait};
use baton_host::c1z::{C1zReader, EntitlementFilter, GrantFilter, ResourceFilter};
use baton_host::sync::SyncError;
use notion_scim_test_server::{Fault, FaultRule};
use serde_json::Value;

use super::{c1z_check, server, sync_into};

const ROLE_EXT: &str = "urn:ietf:params:scim:schemas:extension:notion:2.0:User";
const ROLES: [&str; 4] = ["owner", "membership_admin", "member", "restricted_member"];

fn text<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str().filter(|s| !s.is_empty())
}

/// The documented display-name chain: displayName, name.formatted, given + family, userName.
fn expected_display_name(user: &Value) -> String {
    if let Some(s) = text(user, &["displayName"]).or(text(user, &["name", "formatted"])) {
        return s.to_string();
    }
    let parts: Vec<&str> = [
        text(user, &["name", "givenName"]),
        text(user, &["name", "familyName"]),
    ]
    .into_iter()
    .flatten()
    .collect();
    if parts.is_empty() {
        text(user, &["userName"]).unwrap().to_string()
    } else {
        parts.join(" ")
    }
}

#[test]
fn full_sync_writes_every_resource_entitlement_and_grant() {
    let server = server(250, 5);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("sync.c1z");
    let report = sync_into(&server, &target).expect("sync succeeds");

    // One validation request plus ceil(250/100) + ceil(5/100) list requests.
    assert_eq!(
        server.request_count(),
        1 + 3 + 1,
        "requests: {:?}",
        server.requests()
    );

    let users = server.users();
    let groups = server.groups();
    assert_eq!(users.len(), 250);
    assert_eq!(groups.len(), 5);

    let reader = C1zReader::open(&target).expect("our file opens");
    let sync = reader.select_sync(None).unwrap();
    assert!(sync.is_finished());
    assert_eq!(sync.sync_type, "full");
    assert_eq!(sync.sync_id, report.summary.sync_id);
    let sid = sync.sync_id.as_str();

    let types: Vec<String> = reader.resource_types(sid).map(|t| t.unwrap().id).collect();
    assert_eq!(types, ["user", "group", "role"]);

    // Users, with their traits.
    let by_id: BTreeMap<String, &Value> = users
        .iter()
        .map(|u| (u["id"].as_str().unwrap().to_string(), u))
        .collect();
    let filter = ResourceFilter {
        resource_type: Some("user".into()),
        ..Default::default()
    };
    let mut seen = BTreeSet::new();
    for r in reader.resources(sid, &filter) {
        let r = r.unwrap();
        let id = r.id.clone().unwrap().resource;
        let user = by_id[&id];
        assert_eq!(r.display_name, expected_display_name(user), "user {id}");
        assert_eq!(r.annotations.len(), 1);
        let t: UserTrait = r.annotations[0].to_msg().unwrap();
        let user_name = user["userName"].as_str().unwrap();
        assert_eq!(t.login, user_name);
        assert!(
            t.emails.iter().any(|e| e.is_primary),
            "user {id} has a primary email"
        );
        let want = if user["active"].as_bool().unwrap_or(true) {
            user_trait::status::Status::Enabled
        } else {
            user_trait::status::Status::Disabled
        };
        assert_eq!(t.status.unwrap().status, want as i32, "status of {id}");
        let profile = t.profile.unwrap().fields;
        assert!(
            profile.contains_key("email"),
            "profile of {id}: {profile:?}"
        );
        seen.insert(id);
    }
    assert_eq!(seen.len(), 250);
    assert!(
        users.iter().any(|u| u["active"] == Value::Bool(false)),
        "the data has a disabled user"
    );

    // Groups and roles with their traits and entitlements.
    let filter = ResourceFilter {
        resource_type: Some("group".into()),
        ..Default::default()
    };
    let synced_groups: Vec<_> = reader.resources(sid, &filter).map(|r| r.unwrap()).collect();
    assert_eq!(synced_groups.len(), 5);
    for g in &synced_groups {
        let _: GroupTrait = g.annotations[0].to_msg().unwrap();
    }
    let filter = ResourceFilter {
        resource_type: Some("role".into()),
        ..Default::default()
    };
    let roles: BTreeSet<String> = reader
        .resources(sid, &filter)
        .map(|r| {
            let r = r.unwrap();
            let _: RoleTrait = r.annotations[0].to_msg().unwrap();
            r.id.unwrap().resource
        })
        .collect();
    assert_eq!(roles, ROLES.iter().map(|s| s.to_string()).collect());

    let entitlements: BTreeSet<String> = reader
        .entitlements(sid, &EntitlementFilter::default())
        .map(|e| e.unwrap().id)
        .collect();
    let mut want: BTreeSet<String> = ROLES.iter().map(|r| format!("role:{r}:assigned")).collect();
    for g in &groups {
        want.insert(format!("group:{}:member", g["id"].as_str().unwrap()));
    }
    assert_eq!(entitlements, want);

    // Grants: one role grant per user with a known role, one per group membership.
    let mut want = BTreeSet::new();
    for u in &users {
        if let Some(role) = u.get(ROLE_EXT).and_then(|e| e["role"].as_str()) {
            if ROLES.contains(&role) {
                want.insert(format!(
                    "role:{role}:assigned:user:{}",
                    u["id"].as_str().unwrap()
                ));
            }
        }
    }
    for g in &groups {
        for m in g["members"].as_array().into_iter().flatten() {
            want.insert(format!(
                "group:{}:member:user:{}",
                g["id"].as_str().unwrap(),
                m["value"].as_str().unwrap()
            ));
        }
    }
    let grants: BTreeSet<String> = reader
        .grants(sid, &GrantFilter::default())
        .map(|g| g.unwrap().id)
        .collect();
    assert_eq!(grants, want);
    for role in ROLES {
        let filter = GrantFilter {
            entitlement_id: Some(format!("role:{role}:assigned")),
            ..Default::default()
        };
        assert!(
            reader.grants(sid, &filter).count() > 0,
            "someone holds {role}"
        );
    }
    assert_eq!(
        report.summary.dangling_references, 0,
        "{:?}",
        report.summary.dangling_examples
    );

    // A second opinion on the format from the independent validator.
    let check = c1z_check(&target, false);
    assert_eq!(check["ok"], true, "{check}");
    assert_eq!(check["warnings"], serde_json::json!([]), "{check}");
    assert_eq!(check["baton_stats"]["user"], 250, "{check}");
    assert_eq!(check["baton_stats"]["grants"], want.len(), "{check}");
}

#[test]
fn a_server_that_dies_mid_sync_leaves_the_previous_sync_intact() {
    let server = server(250, 5);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("sync.c1z");
    let first = sync_into(&server, &target).expect("first sync succeeds");
    let before = std::fs::read(&target).unwrap();
    let leftovers = || -> Vec<String> {
        std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };

    // Validation succeeds; then the server is gone before the first page.
    let next = server.request_count() as u64 + 1;
    server.add_fault(FaultRule {
        fault: Fault::Drop,
        first_request: next + 1,
        count: None,
    });
    let err = sync_into(&server, &target).expect_err("the second sync fails");
    let message = format!("{err:#}");
    assert!(message.contains("list-resources"), "{message}");
    assert!(!matches!(err, SyncError::Stopped { .. }), "{message}");
    assert_eq!(
        std::fs::read(&target).unwrap(),
        before,
        "with nothing written, the previous c1z is unchanged"
    );
    assert_eq!(
        leftovers(),
        ["sync.c1z"],
        "no temporary files are left behind"
    );

    // Validation and the first page of users succeed; then the server is gone.
    server.clear_faults();
    let next = server.request_count() as u64 + 1;
    server.add_fault(FaultRule {
        fault: Fault::Drop,
        first_request: next + 2,
        count: None,
    });
    let err = sync_into(&server, &target).expect_err("the third sync fails");
    assert!(
        matches!(err, SyncError::Stopped { .. }),
        "the page written is saved: {err:#}"
    );
    let reader = C1zReader::open(&target).unwrap();
    let newest = reader.latest_finished_sync().unwrap().unwrap();
    assert_eq!(
        newest.sync_id, first.summary.sync_id,
        "the previous sync is still the newest finished one"
    );
    assert_eq!(reader.syncs().unwrap().len(), 2);
    assert_eq!(
        leftovers(),
        ["sync.c1z"],
        "no temporary files are left behind"
    );
}

/// A group member the user listing does not show (a guest, in Notion) is no
/// reason to fail a sync: the membership grant is dropped, counted and quoted,
/// and the rest is written complete.
#[test]
fn a_group_member_who_is_not_a_listed_user_is_dropped_not_fatal() {
    use notion_scim_test_server::{generate, Config, ScimId, TestServer};
    let config = Config {
        token: super::TOKEN.into(),
        users: 20,
        groups: 2,
        seed: 7,
    };
    let mut directory = generate(&config);
    let guest = ScimId(0x9e57);
    directory.groups[0].members.push(guest);
    let group = directory.groups[0].id;
    let server = TestServer::start_with_directory(config, directory).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("sync.c1z");
    let report = sync_into(&server, &target).expect("the sync succeeds");

    let dropped = &report.summary.dropped;
    assert_eq!(
        (dropped.resources, dropped.entitlements, dropped.grants),
        (0, 0, 1),
        "{dropped:?}"
    );
    let grant = format!("group:{group}:member:user:{guest}");
    assert_eq!(
        dropped.examples,
        [format!(
            "grant {grant}: principal user:{guest} is not in the sync"
        )]
    );
    let check = c1z_check(&target, true);
    assert_eq!(check["ok"], true, "{check}");
    let grants: BTreeSet<&str> = check["grants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap())
        .collect();
    assert!(!grants.contains(grant.as_str()));
    // Every other membership is there.
    let members = server.groups()[0]["members"].as_array().unwrap().len();
    let kept = grants
        .iter()
        .filter(|g| g.starts_with(&format!("group:{group}:member:")))
        .count();
    assert_eq!(kept + 1, members);
}

//! Writes a small sync with `C1zWriter`, then checks it with our `baton` binary and with the
//! project's independent validator `tests/tools/c1z_check.py` (Python 3 + `zstandard`).

use baton_host::c1z::proto::{self, entitlement::PurposeValue, resource_type::Trait, user_trait};
use baton_host::c1z::C1zWriter;
use std::path::Path;
use std::process::Command;

fn profile(pairs: &[(&str, &str)]) -> prost_types::Struct {
    prost_types::Struct {
        fields: pairs
            .iter()
            .map(|(k, v)| {
                let kind = prost_types::value::Kind::StringValue(v.to_string());
                (k.to_string(), prost_types::Value { kind: Some(kind) })
            })
            .collect(),
    }
}

/// A user type with two users, a role type with one role, its `assigned` entitlement and a
/// grant of it to one user.
fn write_sample(path: &Path) -> baton_host::c1z::SyncSummary {
    let mut w = C1zWriter::create(path).unwrap();
    w.put_resource_type(&proto::ResourceType {
        id: "user".into(),
        display_name: "User".into(),
        traits: vec![Trait::User as i32],
        annotations: vec![proto::to_any(&proto::SkipEntitlementsAndGrants {})],
        ..Default::default()
    })
    .unwrap();
    w.put_resource_type(&proto::ResourceType {
        id: "role".into(),
        display_name: "Role".into(),
        traits: vec![Trait::Role as i32],
        ..Default::default()
    })
    .unwrap();
    for (id, name) in [("u1", "Ada Lovelace"), ("u2", "Grace Hopper")] {
        let ut = proto::UserTrait {
            emails: vec![user_trait::Email {
                address: format!("{id}@example.com"),
                is_primary: true,
            }],
            status: Some(user_trait::Status {
                status: user_trait::status::Status::Enabled as i32,
                details: String::new(),
            }),
            profile: Some(profile(&[("name", name)])),
            account_type: user_trait::AccountType::Human as i32,
            login: format!("{id}@example.com"),
            ..Default::default()
        };
        w.put_resource(&proto::Resource {
            id: Some(proto::ResourceId::new("user", id)),
            display_name: name.into(),
            annotations: vec![proto::to_any(&ut)],
            ..Default::default()
        })
        .unwrap();
    }
    let role = proto::Resource {
        id: Some(proto::ResourceId::new("role", "owner")),
        display_name: "Owner".into(),
        annotations: vec![proto::to_any(&proto::RoleTrait {
            profile: Some(profile(&[("role", "owner")])),
            ..Default::default()
        })],
        ..Default::default()
    };
    w.put_resource(&role).unwrap();
    let ent = proto::Entitlement {
        id: "role:owner:assigned".into(),
        resource: Some(role.clone()),
        display_name: "assigned".into(),
        slug: "assigned".into(),
        purpose: PurposeValue::Assignment as i32,
        ..Default::default()
    };
    w.put_entitlement(&ent).unwrap();
    w.put_grant(&proto::Grant {
        id: "role:owner:assigned:user:u1".into(),
        entitlement: Some(proto::Entitlement {
            id: ent.id.clone(),
            resource: Some(role),
            ..Default::default()
        }),
        principal: Some(proto::Resource {
            id: Some(proto::ResourceId::new("user", "u1")),
            ..Default::default()
        }),
        ..Default::default()
    })
    .unwrap();
    w.finish().unwrap()
}

fn baton(file: &Path, args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_baton"))
        .arg("-f")
        .arg(file)
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn written_file_reads_back_with_baton() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sync.c1z");
    let summary = write_sample(&file);
    assert_eq!(
        summary.dangling_references, 0,
        "{:?}",
        summary.dangling_examples
    );
    assert_eq!(
        baton(&file, &["grants"]),
        "ID                          | Resource Type | Resource | Entitlement | Principal   \n\
         role:owner:assigned:user:u1 | Role          | Owner    | assigned    | Ada Lovelace\n\n"
    );
    assert_eq!(
        baton(&file, &["stats"]),
        "Type           | Count\n\
         entitlements   | 1    \n\
         grants         | 1    \n\
         resource_types | 2    \n\
         role           | 1    \n\
         user           | 2    \n\n"
    );
    let users: serde_json::Value =
        serde_json::from_str(&baton(&file, &["-o", "json", "resources", "-t", "user"])).unwrap();
    let trait_ = &users["resources"][1]["resource"]["annotations"][0];
    assert_eq!(
        trait_["@type"],
        "type.googleapis.com/c1.connector.v2.UserTrait"
    );
    assert_eq!(trait_["status"]["status"], "STATUS_ENABLED");
    assert_eq!(trait_["profile"]["name"], "Grace Hopper");
    assert!(baton(&file, &["syncs"]).contains(&summary.sync_id));
}

#[test]
fn written_file_passes_c1z_check_py() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sync.c1z");
    let summary = write_sample(&file);
    let report = super::c1z_check(&file, true);
    assert_eq!(report["view_sync_id"], summary.sync_id.as_str());
    assert_eq!(report["stats_sync_id"], summary.sync_id.as_str());
    assert_eq!(report["baton_stats"]["grants"], 1);
    assert_eq!(report["baton_stats"]["user"], 2);
    assert_eq!(report["zstd"]["checksum"], true);
    assert_eq!(
        report["resources"][0]["user_trait"]["status"],
        "STATUS_ENABLED"
    );
    assert_eq!(report["grants"][0]["principal_id"], "u1");
    assert_eq!(
        report["warnings"],
        serde_json::json!([]),
        "c1z_check.py warnings"
    );
    assert_eq!(report["ok"], true);
}

#[test]
fn missing_references_print_placeholders() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dangling.c1z");
    let mut w = C1zWriter::create(&file).unwrap();
    // As a file from another tool may be: a sync writes no such references.
    w.keep_dangling();
    let role = proto::Resource {
        id: Some(proto::ResourceId::new("role", "owner")),
        display_name: "Owner".into(),
        ..Default::default()
    };
    w.put_resource(&role).unwrap();
    w.put_grant(&proto::Grant {
        id: "role:owner:assigned:user:ghost".into(),
        entitlement: Some(proto::Entitlement {
            id: "role:owner:assigned".into(),
            resource: Some(role),
            ..Default::default()
        }),
        principal: Some(proto::Resource {
            id: Some(proto::ResourceId::new("user", "ghost")),
            ..Default::default()
        }),
        ..Default::default()
    })
    .unwrap();
    let summary = w.finish().unwrap();
    assert_eq!(
        summary.dangling_references, 3,
        "{:?}",
        summary.dangling_examples
    );
    let o = Command::new(env!("CARGO_BIN_EXE_baton"))
        .arg("-f")
        .arg(&file)
        .arg("grants")
        .output()
        .unwrap();
    assert!(o.status.success());
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.contains("| MISSING RESOURCE TYPE (role) | Owner    | MISSING ENTITLEMENT (role:owner:assigned) | MISSING RESOURCE (user:ghost)"), "{out}");
    let err = String::from_utf8(o.stderr).unwrap();
    assert_eq!(
        err.lines().count(),
        3,
        "one warning per missing object: {err}"
    );
    assert!(err.contains("warning: resource \"user:ghost\" is referenced but not in sync"));
}

//! `baton diff` on syncs written by our `C1zWriter`: two files, and the same two syncs
//! merged into one file (the writer writes one sync per file, so the test merges them the
//! way Go's file keeps its last syncs: more rows with another `sync_id`).

use baton_host::c1z::proto::{self, Entitlement, Grant, Resource, ResourceId};
use baton_host::c1z::{C1zReader, C1zWriter, MAGIC_V1};
use std::path::Path;
use std::process::{Command, Output};

fn user(id: &str, name: &str) -> Resource {
    Resource {
        id: Some(ResourceId::new("user", id)),
        display_name: name.into(),
        ..Default::default()
    }
}

fn role() -> Resource {
    Resource {
        id: Some(ResourceId::new("role", "owner")),
        display_name: "Owner".into(),
        ..Default::default()
    }
}

fn owner_grant(user_id: &str) -> Grant {
    Grant {
        id: format!("role:owner:assigned:user:{user_id}"),
        entitlement: Some(Entitlement {
            id: "role:owner:assigned".into(),
            resource: Some(role()),
            ..Default::default()
        }),
        principal: Some(Resource {
            id: Some(ResourceId::new("user", user_id)),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// One sync: resource types user and role, `users`, the owner role and its `assigned`
/// entitlement (slug `slug`), and a grant of it to each of `holders`.
fn write(path: &Path, users: &[(&str, &str)], slug: &str, holders: &[&str]) -> String {
    let mut w = C1zWriter::create(path).unwrap();
    for (id, name) in [("user", "User"), ("role", "Role")] {
        w.put_resource_type(&proto::ResourceType {
            id: id.into(),
            display_name: name.into(),
            ..Default::default()
        })
        .unwrap();
    }
    for (id, name) in users {
        w.put_resource(&user(id, name)).unwrap();
    }
    w.put_resource(&role()).unwrap();
    w.put_entitlement(&Entitlement {
        id: "role:owner:assigned".into(),
        resource: Some(role()),
        display_name: "assigned".into(),
        slug: slug.into(),
        ..Default::default()
    })
    .unwrap();
    for h in holders {
        w.put_grant(&owner_grant(h)).unwrap();
    }
    w.finish().unwrap().sync_id
}

/// old: u1 Ada, u2 Grace; u1 holds the role. new: u1 renamed, u2 gone, u3 added; u3 holds
/// the role; the entitlement's slug changed.
fn old_and_new(dir: &Path) -> (String, String) {
    let old = write(
        &dir.join("old.c1z"),
        &[("u1", "Ada Lovelace"), ("u2", "Grace Hopper")],
        "assigned",
        &["u1"],
    );
    let new = write(
        &dir.join("new.c1z"),
        &[("u1", "Ada King"), ("u3", "Alan Turing")],
        "member",
        &["u3"],
    );
    (old, new)
}

fn baton(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let o = baton(dir, args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success() && err.is_empty(), "{args:?}: {err}");
    String::from_utf8(o.stdout).unwrap()
}

/// `<id> (full, finished <time>) in <file>`, as the console header describes a sync.
fn described(dir: &Path, file: &str, sync_id: &str) -> String {
    let reader = C1zReader::open(&dir.join(file)).unwrap();
    let sync = reader.select_sync(Some(sync_id)).unwrap();
    let ended = sync.ended().unwrap().to_rfc3339(false);
    format!("{sync_id} (full, finished {ended}) in {file}")
}

/// The tables `diff` prints for `old_and_new` (after the two header lines).
const CHANGES: &str = "\
Resources created: 1
ID | Display Name | Resource Type | Parent Resource
u3 | Alan Turing  | User          | -              

Resources deleted: 1
ID | Display Name | Resource Type | Parent Resource
u2 | Grace Hopper | User          | -              

Resources modified: 1
ID | Display Name | Resource Type | Parent Resource
u1 | Ada King     | User          | -              

Entitlements created: none

Entitlements deleted: none

Entitlements modified: 1
ID                  | Display Name | Resource Type | Resource | Permission
role:owner:assigned | assigned     | Role          | Owner    | member    

Grants created: 1
ID                          | Resource Type | Resource | Entitlement | Principal  
role:owner:assigned:user:u3 | Role          | Owner    | assigned    | Alan Turing

Grants deleted: 1
ID                          | Resource Type | Resource | Entitlement | Principal   
role:owner:assigned:user:u1 | Role          | Owner    | assigned    | Ada Lovelace

Grants modified: none

";

#[test]
fn diff_of_two_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (old, new) = old_and_new(d);
    let got = ok(d, &["-f", "new.c1z", "diff", "--base-file", "old.c1z"]);
    let want = format!(
        "Base sync:    {}\nApplied sync: {}\n\n{CHANGES}",
        described(d, "old.c1z", &old),
        described(d, "new.c1z", &new)
    );
    assert_eq!(got, want);

    let json = ok(
        d,
        &[
            "-f",
            "new.c1z",
            "-o",
            "json",
            "diff",
            "--base-file",
            "old.c1z",
        ],
    );
    let u = |id: &str, name: &str| {
        let id = serde_json::json!({"resourceType": "user", "resource": id});
        serde_json::json!({"id": id, "displayName": name})
    };
    let role = serde_json::json!({"id": {"resourceType": "role", "resource": "owner"},
                                  "displayName": "Owner"});
    let grant = |id: &str| {
        serde_json::json!({
            "entitlement": {"resource": role, "id": "role:owner:assigned"},
            "principal": {"id": {"resourceType": "user", "resource": id}},
            "id": format!("role:owner:assigned:user:{id}"),
        })
    };
    let want = serde_json::json!({
        "resources": {
            "created": [u("u3", "Alan Turing")],
            "deleted": [u("u2", "Grace Hopper")],
            "modified": [u("u1", "Ada King")],
        },
        "entitlements": {
            "modified": [{"resource": role, "id": "role:owner:assigned",
                          "displayName": "assigned", "slug": "member"}],
        },
        "grants": {"created": [grant("u3")], "deleted": [grant("u1")]},
    });
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&json).unwrap(),
        want
    );
    assert!(!json.ends_with('\n'), "no newline after JSON, like Go");

    let same = ok(
        d,
        &[
            "-f",
            "old.c1z",
            "-o",
            "json",
            "diff",
            "--base-file",
            "old.c1z",
        ],
    );
    assert_eq!(same, r#"{"resources":{},"entitlements":{},"grants":{}}"#);
}

/// Copies every row of `old` into `new` (both c1z files), making a file with two syncs.
fn merge(old: &Path, new: &Path, out: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let unpack = |c1z: &Path, name: &str| {
        let bytes = std::fs::read(c1z).unwrap();
        assert_eq!(&bytes[..5], MAGIC_V1);
        let db = dir.path().join(name);
        std::fs::write(&db, zstd::decode_all(&bytes[5..]).unwrap()).unwrap();
        db
    };
    let (old_db, new_db) = (unpack(old, "old.db"), unpack(new, "new.db"));
    {
        let conn = rusqlite::Connection::open(&new_db).unwrap();
        conn.execute_batch("PRAGMA journal_mode = DELETE").unwrap();
        conn.execute("ATTACH ?1 AS old", [old_db.to_str().unwrap()])
            .unwrap();
        let tables: Vec<String> = conn
            .prepare(
                "SELECT name FROM old.sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%'",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for t in tables {
            let cols: Vec<String> = conn
                .prepare(&format!(
                    "SELECT name FROM pragma_table_info('{t}') WHERE name != 'id'"
                ))
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let cols = cols.join(", ");
            conn.execute_batch(&format!(
                "INSERT INTO main.{t} ({cols}) SELECT {cols} FROM old.{t}"
            ))
            .unwrap();
        }
    }
    let db = std::fs::read(&new_db).unwrap();
    let mut c1z = MAGIC_V1.to_vec();
    c1z.extend(zstd::encode_all(&db[..], 3).unwrap());
    std::fs::write(out, c1z).unwrap();
}

#[test]
fn diff_of_two_syncs_in_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (old, new) = old_and_new(d);
    merge(&d.join("old.c1z"), &d.join("new.c1z"), &d.join("both.c1z"));
    assert_eq!(ok(d, &["-f", "both.c1z", "syncs"]).lines().count(), 2 + 2);

    // Defaults: the newest finished full sync against the one before it, as Go's diff.
    let got = ok(d, &["-f", "both.c1z", "diff"]);
    let want = format!(
        "Base sync:    {}\nApplied sync: {}\n\n{CHANGES}",
        described(d, "both.c1z", &old),
        described(d, "both.c1z", &new)
    );
    assert_eq!(got, want);
    let ids = ["--base-sync-id", &old, "--applied-sync-id", &new];
    assert_eq!(
        ok(d, &[&["-f", "both.c1z", "diff"][..], &ids].concat()),
        want
    );

    // Swapped, created and deleted swap and the old versions become the modified ones.
    let back = ok(
        d,
        &[
            "-f",
            "both.c1z",
            "-o",
            "json",
            "diff",
            "--base-sync-id",
            &new,
            "--applied-sync-id",
            &old,
        ],
    );
    let back: serde_json::Value = serde_json::from_str(&back).unwrap();
    assert_eq!(back["resources"]["created"][0]["id"]["resource"], "u2");
    assert_eq!(back["resources"]["deleted"][0]["id"]["resource"], "u3");
    assert_eq!(
        back["resources"]["modified"][0]["displayName"],
        "Ada Lovelace"
    );
    assert_eq!(back["entitlements"]["modified"][0]["slug"], "assigned");
}

#[test]
fn diff_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    old_and_new(d);
    for (args, want) in [
        (
            &["-f", "old.c1z", "diff"][..],
            "error: cannot diff a single sync run: old.c1z holds no finished full sync older",
        ),
        (
            &["-f", "old.c1z", "diff", "--base-sync-id", "nope"][..],
            "error: --base-sync-id: sync \"nope\" is not in old.c1z",
        ),
        (
            &["-f", "old.c1z", "--sync-id", "x", "diff"][..],
            "error: `baton diff` takes no --sync-id",
        ),
    ] {
        let o = baton(d, args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8(o.stderr).unwrap();
        assert!(err.starts_with(want), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(o.stdout.is_empty());
    }
}

//! Unit tests of the writer, read back with the reader.

use crate::c1z::proto::ResourceId;
use crate::c1z::proto::{self, entitlement::PurposeValue, resource_type::Trait, user_trait};
use crate::c1z::{
    C1zError, C1zReader, C1zWriter, EntitlementFilter, GrantFilter, ResourceFilter, SyncCounts,
    SyncSummary,
};
use std::collections::BTreeMap;
use std::path::Path;

fn rt(id: &str, name: &str, traits: &[Trait]) -> proto::ResourceType {
    proto::ResourceType {
        id: id.into(),
        display_name: name.into(),
        traits: traits.iter().map(|t| *t as i32).collect(),
        ..Default::default()
    }
}

fn user(id: &str) -> proto::Resource {
    let ut = proto::UserTrait {
        emails: vec![user_trait::Email {
            address: format!("{id}@example.com"),
            is_primary: true,
        }],
        status: Some(user_trait::Status {
            status: user_trait::status::Status::Enabled as i32,
            details: String::new(),
        }),
        ..Default::default()
    };
    proto::Resource {
        id: Some(ResourceId::new("user", id)),
        display_name: format!("User {id}"),
        annotations: vec![proto::to_any(&ut)],
        ..Default::default()
    }
}

fn role(id: &str) -> proto::Resource {
    proto::Resource {
        id: Some(ResourceId::new("role", id)),
        parent_resource_id: Some(ResourceId::new("role", "root")),
        display_name: format!("Role {id}"),
        annotations: vec![proto::to_any(&proto::RoleTrait::default())],
        ..Default::default()
    }
}

fn ent(role: &proto::Resource, slug: &str) -> proto::Entitlement {
    proto::Entitlement {
        id: format!("{}:{slug}", role.id.as_ref().unwrap().key()),
        resource: Some(role.clone()),
        display_name: slug.into(),
        slug: slug.into(),
        purpose: PurposeValue::Assignment as i32,
        ..Default::default()
    }
}

fn grant(e: &proto::Entitlement, principal: &ResourceId, expandable: bool) -> proto::Grant {
    let mut annotations = Vec::new();
    if expandable {
        annotations.push(proto::to_any(&proto::GrantExpandable {
            entitlement_ids: vec![e.id.clone()],
            ..Default::default()
        }));
    }
    proto::Grant {
        id: format!("{}:{}", e.id, principal.key()),
        entitlement: Some(proto::Entitlement {
            id: e.id.clone(),
            resource: e.resource.clone(),
            ..Default::default()
        }),
        principal: Some(proto::Resource {
            id: Some(principal.clone()),
            ..Default::default()
        }),
        annotations,
        ..Default::default()
    }
}

/// Writes a small sync: 2 types, 2 users, 2 roles (one is the parent), 1 entitlement,
/// 2 grants (one expandable).
fn write_sample(path: &Path) -> SyncSummary {
    let mut w = C1zWriter::create(path).unwrap();
    assert!(w
        .put_resource_type(&rt("user", "User", &[Trait::User]))
        .unwrap());
    assert!(w
        .put_resource_type(&rt("role", "Role", &[Trait::Role]))
        .unwrap());
    assert!(!w.put_resource_type(&rt("user", "Dup", &[])).unwrap());
    for r in [user("u1"), user("u2"), role("admin")] {
        assert!(w.put_resource(&r).unwrap());
    }
    let mut root = role("root");
    root.parent_resource_id = None;
    assert!(w.put_resource(&root).unwrap());
    assert!(!w.put_resource(&user("u1")).unwrap());
    let e = ent(&role("admin"), "member");
    assert!(w.put_entitlement(&e).unwrap());
    assert!(w
        .put_grant(&grant(&e, &ResourceId::new("user", "u1"), false))
        .unwrap());
    assert!(w
        .put_grant(&grant(&e, &ResourceId::new("role", "root"), true))
        .unwrap());
    assert_eq!(
        w.get_resource(&ResourceId::new("user", "u2"))
            .unwrap()
            .unwrap()
            .display_name,
        "User u2"
    );
    assert!(w
        .get_resource(&ResourceId::new("user", "nobody"))
        .unwrap()
        .is_none());
    assert_eq!(w.get_entitlement(&e.id).unwrap().unwrap().slug, "member");
    w.finish().unwrap()
}

#[test]
fn after_an_external_import_starts_refused_puts_are_overlaps_not_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = C1zWriter::create(&dir.path().join("sync.c1z")).unwrap();
    w.put_resource_type(&rt("user", "User", &[Trait::User]))
        .unwrap();
    w.put_resource(&user("u1")).unwrap();
    assert!(!w.put_resource(&user("u1")).unwrap());
    w.start_external_import();
    assert!(!w.put_resource_type(&rt("user", "Other", &[])).unwrap());
    assert!(!w.put_resource(&user("u1")).unwrap());
    assert!(w.put_resource(&user("u2")).unwrap());
    let counts = w.counts();
    assert_eq!(
        (
            counts.resources,
            counts.duplicates,
            counts.external_overlaps
        ),
        (2, 1, 2)
    );
    assert_eq!(w.finish().unwrap().counts, counts);
}

#[test]
fn writer_output_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sync.c1z");
    let summary = write_sample(&path);
    assert_eq!(
        summary.counts,
        SyncCounts {
            resource_types: 2,
            resources: 4,
            entitlements: 1,
            grants: 2,
            duplicates: 2,
            external_overlaps: 0,
        }
    );
    assert_eq!(
        summary.dangling_references, 0,
        "{:?}",
        summary.dangling_examples
    );
    assert!(crate::c1z::ksuid::Ksuid::parse(&summary.sync_id).is_some());

    let r = C1zReader::open(&path).unwrap();
    let sync = r.select_sync(None).unwrap();
    assert_eq!(sync.sync_id, summary.sync_id);
    assert!(sync.is_finished() && sync.supports_diff && sync.sync_type == "full");
    assert!(sync.started().unwrap() <= sync.ended().unwrap());
    let id = sync.sync_id.as_str();

    let types: Vec<_> = r
        .resource_types(id)
        .map(|t| t.unwrap().display_name)
        .collect();
    assert_eq!(types, ["User", "Role"], "first of a duplicate id is kept");
    let users = ResourceFilter {
        resource_type: Some("user".into()),
        ..Default::default()
    };
    assert_eq!(r.resources(id, &users).count(), 2);
    let children = ResourceFilter {
        parent: Some(("role".into(), "root".into())),
        ..Default::default()
    };
    let kids: Vec<_> = r.resources(id, &children).map(|x| x.unwrap()).collect();
    assert_eq!(kids.len(), 1);
    assert_eq!(kids[0].display_name, "Role admin");
    let on_admin = EntitlementFilter {
        resource_type: Some("role".into()),
        resource_id: Some("admin".into()),
    };
    assert_eq!(r.entitlements(id, &on_admin).count(), 1);
    let by_ent = GrantFilter {
        entitlement_id: Some("role:admin:member".into()),
        ..Default::default()
    };
    assert_eq!(r.grants(id, &by_ent).count(), 2);
    let by_principal = GrantFilter {
        principal_type: Some("user".into()),
        principal_id: Some("u1".into()),
        ..Default::default()
    };
    let g: Vec<_> = r.grants(id, &by_principal).map(|g| g.unwrap()).collect();
    assert_eq!(g.len(), 1);
    assert_eq!(g[0].id, "role:admin:member:user:u1");
    assert_eq!(
        r.grants(
            id,
            &GrantFilter {
                resource_type: Some("user".into()),
                ..Default::default()
            }
        )
        .count(),
        0
    );

    assert_eq!(
        r.resource_type(id, "role").unwrap().unwrap().traits,
        [Trait::Role as i32]
    );
    assert!(r
        .resource(id, &ResourceId::new("role", "root"))
        .unwrap()
        .is_some());
    assert!(r.entitlement(id, "role:admin:member").unwrap().is_some());
    assert!(r.grant(id, "nope").unwrap().is_none());
    let stats = r.stats(&sync).unwrap();
    let want: BTreeMap<String, u64> = [
        ("entitlements", 1),
        ("grants", 2),
        ("resource_types", 2),
        ("role", 2),
        ("user", 2),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(stats, want);

    // GrantExpandable moved from the blob into the expansion column (section 3.6).
    let expandable = r.grant(id, "role:admin:member:role:root").unwrap().unwrap();
    assert!(expandable.annotations.is_empty());
    assert_eq!(r.grants_needing_expansion(id).unwrap(), 1);
    let (exp, parent_null): (Vec<u8>, bool) = r
        .conn()
        .query_row(
            "SELECT g.expansion, (SELECT parent_resource_id IS NULL FROM v1_resources \
             WHERE external_id = 'role:root') FROM v1_grants g WHERE g.needs_expansion = 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        <proto::GrantExpandable as prost::Message>::decode(exp.as_slice())
            .unwrap()
            .entitlement_ids,
        ["role:admin:member"]
    );
    assert!(parent_null, "no parent → NULL parent columns");
    // The partial indexes are kept during the inserts, not built at the end: both must
    // hold exactly the expandable grant.
    for (index, filter) in [
        ("idx_grants_sync_needs_expansion_v1", "needs_expansion = 1"),
        ("idx_grants_sync_expansion_v1", "expansion IS NOT NULL"),
    ] {
        let n: i64 = r
            .conn()
            .query_row(
                &format!(
                    "SELECT count(*) FROM v1_grants INDEXED BY {index} WHERE sync_id = ?1 AND {filter}"
                ),
                [id],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(n, 1, "{index}");
    }
}

#[test]
fn schema_matches_go_ddl() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.c1z");
    write_sample(&path);
    let r = C1zReader::open(&path).unwrap();
    let names: Vec<String> = r
        .conn()
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(names.len(), 15, "{names:?}");
    for ix in [
        "idx_resources_parent_resource_id_v1",
        "idx_grants_sync_needs_expansion_v1",
        "idx_session_store_sync_key_v1",
    ] {
        assert!(names.iter().any(|n| n == ix), "{ix}");
    }
    let decl = |table: &str, col: &str| -> String {
        r.conn()
            .query_row(
                "SELECT lower(type) || ':' || \"notnull\" || ':' || pk FROM pragma_table_info(?1) WHERE name = ?2",
                [table, col],
                |row| row.get(0),
            )
            .unwrap()
    };
    assert_eq!(decl("v1_sync_runs", "ended_at"), "datetime:0:0");
    assert_eq!(decl("v1_grants", "discovered_at"), "datetime:1:0");
    assert_eq!(decl("v1_grants", "id"), "integer:0:1");
    assert_eq!(decl("v1_resources", "parent_resource_id"), "text:0:0");
    assert_eq!(decl("v1_grants", "needs_expansion"), "integer:1:0");
    let free_pages: i64 = r
        .conn()
        .query_row("PRAGMA freelist_count", [], |row| row.get(0))
        .unwrap();
    assert_eq!(free_pages, 0);
}

#[test]
fn drop_without_finish_leaves_target_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keep.c1z");
    std::fs::write(&path, b"old").unwrap();
    {
        let mut w = C1zWriter::create(&path).unwrap();
        w.put_resource_type(&rt("user", "User", &[])).unwrap();
        assert!(
            std::fs::read_dir(dir.path()).unwrap().count() >= 2,
            "temp db exists"
        );
    }
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["keep.c1z"]);
    assert_eq!(std::fs::read(&path).unwrap(), b"old");
}

#[test]
fn finish_replaces_existing_file_and_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.c1z");
    let first = write_sample(&path);
    let second = write_sample(&path);
    assert_ne!(first.sync_id, second.sync_id);
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["out.c1z"]);
    let r = C1zReader::open(&path).unwrap();
    let syncs = r.syncs().unwrap();
    assert_eq!(syncs.len(), 1);
    assert_eq!(syncs[0].sync_id, second.sync_id);
    assert_eq!(second.file_bytes, std::fs::metadata(&path).unwrap().len());
}

#[test]
fn writer_rejects_broken_objects_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = C1zWriter::create(&dir.path().join("x.c1z")).unwrap();
    let err = |e: C1zError| e.to_string();
    assert!(err(w.put_resource_type(&rt("", "No id", &[])).unwrap_err()).contains("id is empty"));
    w.put_resource_type(&rt("user", "User", &[Trait::User]))
        .unwrap();
    let mut u = user("u1");
    u.annotations.clear();
    let msg = err(w.put_resource(&u).unwrap_err());
    assert!(
        msg.contains("\"user:u1\"") && msg.contains("UserTrait"),
        "{msg}"
    );
    u.annotations.push(proto::pack_any(
        &proto::ExternalLink::default(),
        "c1.connector.v2.GrantReplaced",
    ));
    assert!(err(w.put_resource(&u).unwrap_err()).contains("unknown to Baton"));
    let mut g = grant(
        &ent(&role("admin"), "m"),
        &ResourceId::new("user", "u1"),
        false,
    );
    g.principal = None;
    assert!(err(w.put_grant(&g).unwrap_err()).contains("principal is missing"));
    let mut e = ent(&role("admin"), "m");
    e.resource
        .as_mut()
        .unwrap()
        .id
        .as_mut()
        .unwrap()
        .resource
        .clear();
    assert!(err(w.put_entitlement(&e).unwrap_err()).contains("resource id: resource is empty"));
    assert_eq!(w.counts().resource_types, 1);
}

/// A role under a missing parent, and a grant on a missing entitlement to a missing user.
fn write_dangling(path: &Path, keep: bool) -> SyncSummary {
    let mut w = C1zWriter::create(path).unwrap();
    if keep {
        w.keep_dangling();
    }
    w.put_resource_type(&rt("role", "Role", &[])).unwrap();
    let admin = role("admin");
    w.put_resource(&admin).unwrap();
    let e = ent(&admin, "member");
    w.put_grant(&grant(&e, &ResourceId::new("user", "ghost"), false))
        .unwrap();
    w.finish().unwrap()
}

#[test]
fn objects_referencing_missing_ones_are_dropped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.c1z");
    let s = write_dangling(&path, false);
    assert_eq!(s.dangling_references, 0, "{:?}", s.dangling_examples);
    // role:admin (its parent role:root is missing), then the grant on its entitlement.
    let d = &s.dropped;
    assert_eq!((d.resources, d.entitlements, d.grants), (1, 0, 1), "{d:?}");
    assert_eq!(
        d.examples,
        [
            "resource role:admin: parent resource role:root is not in the sync",
            "grant role:admin:member:user:ghost: entitlement role:admin:member is not in the sync",
        ]
    );
    assert_eq!((s.counts.resources, s.counts.grants), (0, 0));
    let r = C1zReader::open(&path).unwrap();
    let sid = r.select_sync(None).unwrap().sync_id;
    assert_eq!(r.resources(&sid, &ResourceFilter::default()).count(), 0);
    assert_eq!(r.grants(&sid, &GrantFilter::default()).count(), 0);
}

#[test]
fn dangling_references_are_kept_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let s = write_dangling(&dir.path().join("d.c1z"), true);
    // parent role:root, grant entitlement, grant principal.
    assert_eq!(s.dangling_references, 3, "{:?}", s.dangling_examples);
    assert_eq!(s.dropped, crate::c1z::Dropped::default());
    assert!(s
        .dangling_examples
        .iter()
        .any(|x| x.contains("principal user:ghost")));
}

#[test]
fn a_size_limit_is_refused_by_sqlite_and_named() {
    // Small rows, and rows of 1 KiB: with those SQLite rolls the whole transaction back,
    // so the writer must know the size from before.
    for filler in [0, 1024] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("full.c1z");
        std::fs::write(&path, b"previous").unwrap();
        let mut w = C1zWriter::create(&path).unwrap();
        w.limit_size(256 << 10).unwrap();
        w.put_resource_type(&rt("user", "User", &[Trait::User]))
            .unwrap();
        let err = (0..100_000)
            .find_map(|i| {
                let mut u = user(&format!("u{i}"));
                u.description = "x".repeat(filler);
                w.put_resource(&u).err()
            })
            .expect("the limit stops the puts");
        assert!(
            matches!(err, C1zError::SizeLimit { bytes } if bytes == 256 << 10),
            "{filler}: {err:?}"
        );
        // Stopped near the limit, not before.
        let least = if filler == 0 { 500 } else { 100 };
        assert!(w.counts().resources > least, "{:?}", w.counts());
        drop(w);
        assert_eq!(std::fs::read(&path).unwrap(), b"previous");
    }
}

#[test]
fn a_full_disk_far_from_the_size_limit_is_not_called_the_limit() {
    let limit = super::SizeLimit {
        bytes: 1 << 30,
        pages: 1 << 18,
        page_size: 4096,
        seen_pages: 1000,
        rows_since: 10,
        bytes_since: 10_000,
    };
    let full = || {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL), None)
    };
    let err = super::size_limited(Some(limit), full(), |l| l.most_pages(100));
    assert!(matches!(err, C1zError::Sqlite(_)), "{err:?}");
    let near = super::SizeLimit {
        seen_pages: (1 << 18) - 10,
        ..limit
    };
    let err = super::size_limited(Some(near), full(), |l| l.most_pages(100));
    assert!(matches!(err, C1zError::SizeLimit { .. }), "{err:?}");
}

#[test]
fn a_size_limit_reached_by_the_indexes_is_named_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("full.c1z");
    // Fill a writer without a limit to learn the size before the indexes, then write
    // the same rows with a limit just above it.
    let fill = |w: &mut C1zWriter| {
        w.put_resource_type(&rt("user", "User", &[Trait::User]))
            .unwrap();
        for i in 0..3000 {
            w.put_resource(&user(&format!("u{i}"))).unwrap();
        }
    };
    let mut w = C1zWriter::create(&path).unwrap();
    fill(&mut w);
    let before_indexes: u64 = w
        .conn
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    drop(w);
    let mut w = C1zWriter::create(&path).unwrap();
    w.limit_size((before_indexes + 2) * 4096).unwrap();
    fill(&mut w);
    let err = w.finish().unwrap_err();
    assert!(matches!(err, C1zError::SizeLimit { .. }), "{err:?}");
    assert!(!path.exists());
}

/// Manual benchmark: `cargo test -p baton-host --release --lib bulk_write -- --ignored --nocapture`.
#[test]
#[ignore]
fn bulk_write_timing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bulk.c1z");
    let start = std::time::Instant::now();
    let mut w = C1zWriter::create(&path).unwrap();
    w.put_resource_type(&rt("user", "User", &[Trait::User]))
        .unwrap();
    w.put_resource_type(&rt("role", "Role", &[Trait::Role]))
        .unwrap();
    let mut admin = role("admin");
    admin.parent_resource_id = None;
    w.put_resource(&admin).unwrap();
    let e = ent(&admin, "member");
    w.put_entitlement(&e).unwrap();
    for i in 0..200_000 {
        let u = user(&format!("u{i}"));
        w.put_resource(&u).unwrap();
        w.put_grant(&grant(&e, u.id.as_ref().unwrap(), false))
            .unwrap();
    }
    let s = w.finish().unwrap();
    println!(
        "200k users + grants: {:?}, db {} bytes, file {} bytes",
        start.elapsed(),
        s.db_bytes,
        s.file_bytes
    );
    assert_eq!(s.dangling_references, 0);
}

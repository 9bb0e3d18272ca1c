//! Unit tests of the external-resource import: a small external c1z is imported into a
//! writer that already holds "the connector's" objects, then read back.

use super::*;
use crate::c1z::proto::{user_trait, ResourceType};
use crate::c1z::SyncSummary;

fn rt(id: &str, name: &str, t: Trait) -> ResourceType {
    ResourceType {
        id: id.into(),
        display_name: name.into(),
        traits: vec![t as i32],
        ..Default::default()
    }
}

fn resource(kind: &str, id: &str, name: &str) -> Resource {
    let annotation = match kind {
        "user" => proto::to_any(&proto::UserTrait {
            status: Some(user_trait::Status {
                status: user_trait::status::Status::Enabled as i32,
                details: String::new(),
            }),
            login: format!("{id}@example.com"),
            ..Default::default()
        }),
        "group" => proto::to_any(&proto::GroupTrait::default()),
        _ => proto::to_any(&proto::AppTrait::default()),
    };
    Resource {
        id: Some(ResourceId::new(kind, id)),
        display_name: name.into(),
        annotations: vec![annotation],
        ..Default::default()
    }
}

fn entitlement(on: &Resource, slug: &str) -> Entitlement {
    Entitlement::on(on, slug)
}

fn grant(e: &Entitlement, kind: &str, id: &str) -> Grant {
    Grant::of(e, ResourceId::new(kind, id))
}

/// Types user/group/app; users u1..u3; group g1 (member: u3); app a1 whose `access` is
/// granted to u1, u2 and g1, and whose `admin` is granted to `ghost`, a user not in the file.
fn write_external(path: &Path) {
    let mut w = C1zWriter::create(path).unwrap();
    // As another tool may have written it: with a grant to nobody.
    w.keep_dangling();
    w.put_resource_type(&rt("user", "External user", Trait::User))
        .unwrap();
    w.put_resource_type(&rt("group", "External group", Trait::Group))
        .unwrap();
    w.put_resource_type(&rt("app", "App", Trait::App)).unwrap();
    for u in ["u1", "u2", "u3"] {
        w.put_resource(&resource("user", u, &format!("External {u}")))
            .unwrap();
    }
    let g1 = resource("group", "g1", "G1");
    let a1 = resource("app", "a1", "A1");
    w.put_resource(&g1).unwrap();
    w.put_resource(&a1).unwrap();
    let member = entitlement(&g1, "member");
    let access = entitlement(&a1, "access");
    let admin = entitlement(&a1, "admin");
    for e in [&member, &access, &admin] {
        w.put_entitlement(e).unwrap();
    }
    w.put_grant(&grant(&member, "user", "u3")).unwrap();
    w.put_grant(&grant(&access, "user", "u1")).unwrap();
    w.put_grant(&grant(&access, "user", "u2")).unwrap();
    w.put_grant(&grant(&access, "group", "g1")).unwrap();
    w.put_grant(&grant(&admin, "user", "ghost")).unwrap();
    w.finish().unwrap();
}

/// A target sync that, like a connector, already holds the `user` type and user u1.
fn target(path: &Path) -> C1zWriter {
    let mut w = C1zWriter::create(path).unwrap();
    w.put_resource_type(&rt("user", "Own user", Trait::User))
        .unwrap();
    w.put_resource(&resource("user", "u1", "Own u1")).unwrap();
    w
}

fn import(filter: Option<&str>) -> (ImportCounts, SyncSummary, C1zReader) {
    let dir = tempfile::tempdir().unwrap();
    let (ext, out) = (dir.path().join("ext.c1z"), dir.path().join("out.c1z"));
    write_external(&ext);
    let mut w = target(&out);
    let counts = ExternalResources::new(&ext, filter.map(String::from))
        .import_into(&mut w)
        .unwrap();
    let summary = w.finish().unwrap();
    // The reader works on its own decompressed copy, so the folder may go.
    (counts, summary, C1zReader::open(&out).unwrap())
}

fn ids<T>(
    items: impl Iterator<Item = Result<T, C1zError>>,
    id: impl Fn(T) -> String,
) -> Vec<String> {
    items.map(|t| id(t.unwrap())).collect()
}

fn contents(r: &C1zReader) -> [Vec<String>; 4] {
    let sid = r.select_sync(None).unwrap().sync_id;
    [
        ids(r.resource_types(&sid), |t| t.id),
        ids(r.resources(&sid, &ResourceFilter::default()), |r| {
            r.id.unwrap().key()
        }),
        ids(r.entitlements(&sid, &EntitlementFilter::default()), |e| {
            e.id
        }),
        ids(r.grants(&sid, &GrantFilter::default()), |g| g.id),
    ]
}

fn own_objects_kept(r: &C1zReader) {
    let sid = r.select_sync(None).unwrap().sync_id;
    let user = r.resource_type(&sid, "user").unwrap().unwrap();
    assert_eq!(user.display_name, "Own user");
    let u1 = r.resource(&sid, &ResourceId::new("user", "u1")).unwrap();
    assert_eq!(u1.unwrap().display_name, "Own u1");
}

/// The target's `user` type and user u1 are in the external file too: the writer counts
/// them as overlaps, which must not look like the connector repeating itself.
fn overlaps_are_not_duplicates(summary: &SyncSummary) {
    assert_eq!(
        (summary.counts.duplicates, summary.counts.external_overlaps),
        (0, 2)
    );
}

#[test]
fn the_filter_carries_the_entitlement_its_grants_and_their_principals() {
    let (counts, summary, r) = import(Some("app:a1:access"));
    let want = ImportCounts {
        resource_types: 2,
        resources: 3,
        entitlements: 1,
        grants: 3,
        overlaps: 2,
        missing: 0,
    };
    assert_eq!(counts, want);
    overlaps_are_not_duplicates(&summary);
    assert_eq!(
        contents(&r),
        [
            vec!["user", "app", "group"],
            vec!["user:u1", "app:a1", "user:u2", "group:g1"],
            vec!["app:a1:access"],
            vec![
                "app:a1:access:user:u1",
                "app:a1:access:user:u2",
                "app:a1:access:group:g1"
            ],
        ]
        .map(|v| v.into_iter().map(String::from).collect::<Vec<_>>())
    );
    own_objects_kept(&r);
    assert_eq!(
        summary.dangling_references, 0,
        "{:?}",
        summary.dangling_examples
    );
}

#[test]
fn without_a_filter_users_and_groups_are_carried_with_their_entitlements_and_grants() {
    let (counts, summary, r) = import(None);
    let want = ImportCounts {
        resource_types: 1,
        resources: 3,
        entitlements: 1,
        grants: 1,
        overlaps: 2,
        missing: 0,
    };
    assert_eq!(counts, want);
    overlaps_are_not_duplicates(&summary);
    assert_eq!(
        contents(&r),
        [
            vec!["user", "group"],
            vec!["user:u1", "user:u2", "user:u3", "group:g1"],
            vec!["group:g1:member"],
            vec!["group:g1:member:user:u3"],
        ]
        .map(|v| v.into_iter().map(String::from).collect::<Vec<_>>())
    );
    own_objects_kept(&r);
    assert_eq!(
        summary.dangling_references, 0,
        "{:?}",
        summary.dangling_examples
    );
}

#[test]
fn principals_the_external_file_lacks_are_counted_not_invented() {
    let (counts, summary, r) = import(Some("app:a1:admin"));
    assert_eq!((counts.resources, counts.grants, counts.missing), (1, 1, 1));
    let [_, resources, _, grants] = contents(&r);
    assert_eq!(resources, ["user:u1", "app:a1"]);
    // Carried over, then dropped with the sync's other grants that reference nothing.
    assert!(grants.is_empty(), "{grants:?}");
    assert_eq!(summary.dropped.grants, 1, "{:?}", summary.dropped);
    assert_eq!(
        summary.dropped.examples,
        ["grant app:a1:admin:user:ghost: principal user:ghost is not in the sync"]
    );
    assert_eq!(summary.dangling_references, 0);
}

#[test]
fn bad_files_and_unknown_filters_are_errors_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let ext = dir.path().join("ext.c1z");
    let message = |filter: Option<&str>| {
        let mut w = C1zWriter::create(&dir.path().join("out.c1z")).unwrap();
        let e = ExternalResources::new(&ext, filter.map(String::from))
            .import_into(&mut w)
            .unwrap_err();
        assert!(matches!(e, SyncError::External { .. }), "{e:?}");
        e.to_string()
    };
    let missing = message(None);
    assert!(missing.contains(&ext.display().to_string()), "{missing}");
    std::fs::write(&ext, b"not a c1z at all").unwrap();
    let corrupt = message(None);
    assert!(corrupt.starts_with("external resource c1z "), "{corrupt}");
    write_external(&ext);
    let unknown = message(Some("app:a1:nope"));
    assert!(unknown.contains("\"app:a1:nope\""), "{unknown}");
    assert!(unknown.contains(&ext.display().to_string()), "{unknown}");
    // The unfinished writers were dropped: no target file was ever written.
    assert!(!dir.path().join("out.c1z").exists());
    assert_eq!(
        ExternalResources::new(&ext, Some(String::new())).entitlement_filter(),
        None
    );
}

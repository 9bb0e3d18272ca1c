//! `--external-resource-c1z`: resources of a second c1z carried into a real sync by the
//! `baton-notion` binary, read back and checked by the independent validator.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use baton_host::c1z::proto::{
    self, resource_type::Trait, user_trait, Entitlement, Grant, Resource, ResourceId, ResourceType,
};
use baton_host::c1z::{C1zReader, C1zWriter, EntitlementFilter, GrantFilter, ResourceFilter};
use baton_host::sync::external::ExternalResources;
use baton_host::sync::SyncRun;
use notion_scim_test_server::Anomaly;

use super::{c1z_check, notion, server, TOKEN};

fn resource(kind: &str, id: &str, name: &str) -> Resource {
    let annotation = match kind {
        "user" => proto::to_any(&proto::UserTrait {
            status: Some(user_trait::Status {
                status: user_trait::status::Status::Enabled as i32,
                details: String::new(),
            }),
            login: format!("{id}@partner.example"),
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

/// Another system's sync: users ext-u1..3 and `clash` (an id the Notion sync also has),
/// group ext-g1 (member: ext-u3), app a1 whose `access` is granted to ext-u1, ext-u2
/// and ext-g1.
fn write_external(path: &Path, clash: &str) {
    let mut w = C1zWriter::create(path).unwrap();
    for (id, t) in [
        ("user", Trait::User),
        ("group", Trait::Group),
        ("app", Trait::App),
    ] {
        let rt = ResourceType {
            id: id.into(),
            display_name: format!("Partner {id}"),
            traits: vec![t as i32],
            ..Default::default()
        };
        w.put_resource_type(&rt).unwrap();
    }
    for u in ["ext-u1", "ext-u2", "ext-u3", clash] {
        w.put_resource(&resource("user", u, &format!("Partner {u}")))
            .unwrap();
    }
    let g1 = resource("group", "ext-g1", "Partner group");
    let a1 = resource("app", "a1", "Partner app");
    w.put_resource(&g1).unwrap();
    w.put_resource(&a1).unwrap();
    let (member, access) = (entitlement(&g1, "member"), entitlement(&a1, "access"));
    w.put_entitlement(&member).unwrap();
    w.put_entitlement(&access).unwrap();
    w.put_grant(&grant(&member, "user", "ext-u3")).unwrap();
    for (kind, id) in [("user", "ext-u1"), ("user", "ext-u2"), ("group", "ext-g1")] {
        w.put_grant(&grant(&access, kind, id)).unwrap();
    }
    w.finish().unwrap();
}

fn baton_notion(base_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_baton-notion"))
        .args(["--base-url", base_url, "--log-format", "json"])
        .args(args)
        .env("BATON_SCIM_TOKEN", TOKEN)
        .env_remove("BATON_EXTERNAL_RESOURCE_C1Z")
        .env_remove("BATON_EXTERNAL_RESOURCE_ENTITLEMENT_ID_FILTER")
        .output()
        .expect("baton-notion runs")
}

/// Every id in out.c1z: resource types, resources (`type:id`), entitlements, grants.
fn contents(path: &Path) -> [BTreeSet<String>; 4] {
    let r = C1zReader::open(path).unwrap();
    let sid = r.select_sync(None).unwrap().sync_id;
    let set = |items: Vec<String>| items.into_iter().collect::<BTreeSet<_>>();
    [
        set(r.resource_types(&sid).map(|t| t.unwrap().id).collect()),
        set(r
            .resources(&sid, &ResourceFilter::default())
            .map(|x| x.unwrap().id.unwrap().key())
            .collect()),
        set(r
            .entitlements(&sid, &EntitlementFilter::default())
            .map(|e| e.unwrap().id)
            .collect()),
        set(r
            .grants(&sid, &GrantFilter::default())
            .map(|g| g.unwrap().id)
            .collect()),
    ]
}

fn has(set: &BTreeSet<String>, ids: &[&str]) -> bool {
    ids.iter().all(|id| set.contains(*id))
}

/// Runs one sync with `extra` flags and returns what out.c1z holds.
fn sync_with(extra: &[&str]) -> ([BTreeSet<String>; 4], String, String) {
    let server = server(20, 2);
    let clash = server.users()[0]["id"].as_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let (ext, out) = (dir.path().join("ext.c1z"), dir.path().join("out.c1z"));
    write_external(&ext, &clash);
    let mut args = vec!["-f", out.to_str().unwrap()];
    args.extend(["--external-resource-c1z", ext.to_str().unwrap()]);
    args.extend(extra);
    let run = baton_notion(&server.base_url(), &args);
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.contains("imported external resources"), "{stderr}");
    let check = c1z_check(&out, false);
    assert_eq!(check["ok"], true, "{check}");

    let got = contents(&out);
    // The Notion sync itself is all there, and its copy of the clashing user won.
    let users = server.users();
    assert!(users
        .iter()
        .all(|u| got[1].contains(&format!("user:{}", u["id"].as_str().unwrap()))));
    assert!(has(
        &got[2],
        &["role:owner:assigned", "role:member:assigned"]
    ));
    assert!(
        got[3].iter().any(|g| g.starts_with("role:")),
        "{:?}",
        got[3]
    );
    let r = C1zReader::open(&out).unwrap();
    let sid = r.select_sync(None).unwrap().sync_id;
    let kept = r
        .resource(&sid, &ResourceId::new("user", &clash))
        .unwrap()
        .unwrap();
    assert_ne!(kept.display_name, format!("Partner {clash}"));
    let user_type = r.resource_type(&sid, "user").unwrap().unwrap();
    assert_ne!(user_type.display_name, "Partner user");
    (got, stderr, clash)
}

#[test]
fn the_filter_carries_one_entitlement_its_grants_and_principals() {
    let (got, _, _) = sync_with(&["--external-resource-entitlement-id-filter", "app:a1:access"]);
    let [types, resources, entitlements, grants] = &got;
    assert!(has(types, &["user", "group", "role", "app"]), "{types:?}");
    assert!(has(
        resources,
        &["app:a1", "user:ext-u1", "user:ext-u2", "group:ext-g1"]
    ));
    assert!(
        !resources.contains("user:ext-u3"),
        "not a grantee of the filter"
    );
    assert!(entitlements.contains("app:a1:access"));
    assert!(!entitlements.contains("group:ext-g1:member"));
    let carried: Vec<&String> = grants.iter().filter(|g| g.starts_with("app:")).collect();
    assert_eq!(
        carried,
        [
            "app:a1:access:group:ext-g1",
            "app:a1:access:user:ext-u1",
            "app:a1:access:user:ext-u2"
        ]
    );
}

#[test]
fn without_a_filter_the_users_and_groups_are_carried() {
    let (got, _, clash) = sync_with(&[]);
    let [types, resources, entitlements, grants] = &got;
    assert!(!types.contains("app"), "{types:?}");
    assert!(has(
        resources,
        &["user:ext-u1", "user:ext-u2", "user:ext-u3", "group:ext-g1"]
    ));
    assert!(resources.contains(&format!("user:{clash}")));
    assert!(!resources.contains("app:a1"));
    assert!(entitlements.contains("group:ext-g1:member"));
    assert!(!entitlements.contains("app:a1:access"));
    assert!(grants.contains("group:ext-g1:member:user:ext-u3"));
    assert!(!grants.iter().any(|g| g.starts_with("app:")));
}

/// What [`write_external`] shares with a Notion sync when no filter is given: the `user`
/// and `group` resource types and the clashing user.
const OVERLAPS: u64 = 3;

/// The JSON log lines of a run (`--log-format json`).
fn log_lines(stderr: &str) -> Vec<serde_json::Value> {
    stderr
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON log lines"))
        .collect()
}

/// The first log line whose message contains `needle`.
fn line<'a>(lines: &'a [serde_json::Value], needle: &str) -> Option<&'a serde_json::Value> {
    lines
        .iter()
        .find(|l| l["message"].as_str().unwrap_or("").contains(needle))
}

#[test]
fn objects_the_sync_already_has_are_overlaps_at_info_not_a_paging_warning() {
    let (_, stderr, _) = sync_with(&[]);
    let lines = log_lines(&stderr);
    let finished = line(&lines, "sync finished").expect(&stderr);
    assert_eq!(finished["duplicates"], 0, "{stderr}");
    assert_eq!(finished["external_overlaps"], OVERLAPS, "{stderr}");
    let overlap = line(&lines, "were already in this sync").expect(&stderr);
    assert_eq!(overlap["level"], "INFO");
    assert_eq!(overlap["external_overlaps"], OVERLAPS);
    // Types are imported first, in the external file's order.
    assert_eq!(overlap["example"], "resource type user");
    assert!(
        overlap["message"].as_str().unwrap().starts_with(
            "3 objects of the external c1z were already in this sync; the synced copy was kept"
        ),
        "{overlap}"
    );
    assert!(line(&lines, "objects more than once").is_none(), "{stderr}");
    assert!(lines.iter().all(|l| l["level"] != "WARN"), "{stderr}");
}

#[test]
fn the_paging_warning_counts_the_connectors_repeats_only() {
    let server = server(120, 1);
    // The second page of users starts with the last user of the first: that user and its
    // role grant come twice.
    server.enable_anomaly(Anomaly::DuplicateAcrossPages);
    let clash = server.users()[0]["id"].as_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let (ext, out) = (dir.path().join("ext.c1z"), dir.path().join("out.c1z"));
    write_external(&ext, &clash);

    let run = baton_notion(
        &server.base_url(),
        &[
            "-f",
            out.to_str().unwrap(),
            "--external-resource-c1z",
            ext.to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(run.status.success(), "{stderr}");
    let lines = log_lines(&stderr);
    let finished = line(&lines, "sync finished").expect(&stderr);
    assert_eq!(finished["duplicates"], 2, "{stderr}");
    assert_eq!(finished["external_overlaps"], OVERLAPS, "{stderr}");
    let warning = line(&lines, "objects more than once").expect(&stderr);
    assert_eq!(warning["level"], "WARN");
    assert_eq!(warning["duplicates"], 2);

    // The library reports the same split.
    let (mut instance, metadata) = notion(&server.base_url(), TOKEN);
    instance.validate().unwrap();
    let report = SyncRun::new(&mut instance, &metadata, &out)
        .unwrap()
        .with_external(ExternalResources::new(&ext, None))
        .run()
        .unwrap();
    let repeats: u64 = report.per_type.iter().map(|(_, s)| s.duplicates).sum();
    assert_eq!(repeats, 2, "{:?}", report.per_type);
    let counts = report.summary.counts;
    assert_eq!((counts.duplicates, counts.external_overlaps), (2, OVERLAPS));
}

#[test]
fn bad_external_input_fails_and_leaves_the_previous_file_byte_identical() {
    let server = server(5, 1);
    let dir = tempfile::tempdir().unwrap();
    let (ext, out) = (dir.path().join("ext.c1z"), dir.path().join("out.c1z"));
    let (ext_s, out_s) = (ext.to_str().unwrap(), out.to_str().unwrap());
    let url = server.base_url();
    let first = baton_notion(&url, &["-f", out_s]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let before = std::fs::read(&out).unwrap();

    let fails = |args: &[&str], needles: &[&str]| {
        let run = baton_notion(&url, args);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(!run.status.success(), "{stderr}");
        for n in needles {
            assert!(stderr.contains(n), "`{n}` not in {stderr}");
        }
        assert_eq!(std::fs::read(&out).unwrap(), before, "out.c1z changed");
    };
    // The external file does not exist yet.
    fails(&["-f", out_s, "--external-resource-c1z", ext_s], &[ext_s]);
    write_external(&ext, "ext-u9");
    let filter = "app:a1:no-such-entitlement";
    fails(
        &[
            "-f",
            out_s,
            "--external-resource-c1z",
            ext_s,
            "--external-resource-entitlement-id-filter",
            filter,
        ],
        &[filter, ext_s],
    );
    // A filter alone is a usage error.
    fails(
        &[
            "-f",
            out_s,
            "--external-resource-entitlement-id-filter",
            filter,
        ],
        &["--external-resource-c1z"],
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(leftovers, ["ext.c1z", "out.c1z"], "no temp files are left");
}

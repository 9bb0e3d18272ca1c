//! Referential integrity: a grant on an entitlement that was never listed, a
//! grant to a principal that does not exist, and an entitlement on a resource
//! that was never listed are not written. The sync succeeds, drops them at its
//! end, counts them with examples and warns once; the file passes the
//! independent validator without `--allow-dangling`.

use std::process::Command;

use baton_host::sync::SyncRun;

use super::scene::{config, fixture_dir, hostile, policy};
use crate::{c1z_check, server};

/// What the `dangling` mode's page leaves once the references are settled.
const KEPT_GRANT: &str = "thing:a:member:thing:a";

#[test]
fn objects_referencing_what_is_not_in_the_sync_are_dropped_and_counted() {
    let server = server(1, 0);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("sync.c1z");
    let mut instance = hostile().instantiate(policy(&server)).unwrap();
    let metadata = instance.metadata().unwrap();
    let values = config(&[("mode", "dangling"), ("base-url", &server.base_url())]);
    instance.configure(&metadata, &values).unwrap();
    let report = SyncRun::new(&mut instance, &metadata, &target)
        .unwrap()
        .run()
        .expect("the sync succeeds");

    let summary = &report.summary;
    let dropped = &summary.dropped;
    assert_eq!(
        (dropped.resources, dropped.entitlements, dropped.grants),
        (0, 1, 3),
        "{dropped:?}"
    );
    let mut examples = dropped.examples.clone();
    examples.sort();
    assert_eq!(
        examples,
        [
            "entitlement thing:nowhere:member: resource thing:nowhere is not in the sync",
            "grant thing:a:member:thing:ghost: principal thing:ghost is not in the sync",
            "grant thing:a:never:thing:a: entitlement thing:a:never is not in the sync",
            "grant thing:nowhere:member:thing:a: entitlement thing:nowhere:member is not in the sync",
        ]
    );
    // The summary counts what the file holds.
    let counts = summary.counts;
    assert_eq!(
        (counts.resources, counts.entitlements, counts.grants),
        (1, 1, 1)
    );
    assert_eq!(summary.dangling_references, 0);

    // No --allow-dangling: every reference resolves.
    let check = c1z_check(&target, true);
    assert_eq!(check["ok"], true, "{check}");
    let grants: Vec<&str> = check["grants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap())
        .collect();
    assert_eq!(grants, [KEPT_GRANT]);
}

#[test]
fn the_cli_warns_once_with_the_counts_and_an_example() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sync.c1z");
    let out = Command::new(env!("CARGO_BIN_EXE_baton-notion"))
        .arg("--component")
        .arg(fixture_dir().join("baton_hostile_connector.wasm"))
        .args(["--mode", "dangling", "--base-url", "http://127.0.0.1:9"])
        .arg("-f")
        .arg(&file)
        .args(["--log-format", "json"])
        .output()
        .expect("baton-notion runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let warnings: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON log lines"))
        .filter(|l| l["level"] == "WARN")
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert_eq!(
        warnings[0]["message"],
        "dropped 1 entitlement and 3 grants referencing objects not in this sync, e.g. \
         entitlement thing:nowhere:member: resource thing:nowhere is not in the sync"
    );
    assert_eq!(warnings[0]["dropped_grants"], 3);
    assert_eq!(c1z_check(&file, false)["ok"], true);
}

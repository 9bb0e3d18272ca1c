//! Sync history in one file (issue 13 points 1 and 2): a sync into an existing c1z keeps
//! its newest finished full syncs up to the keep count, `baton diff -f` compares the two
//! newest, and a file that cannot be read is refused and left byte-identical.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use baton_host::c1z::{C1zReader, History};
use baton_host::sync::{SyncReport, SyncRun};
use notion_scim_test_server::TestServer;
use serde_json::Value;

use super::{c1z_check, notion, server, sync_into, TOKEN};

/// Two full syncs the Go SDK wrote into one file (a copy of
/// `shared/fixtures/go-c1z/two-syncs.c1z`).
const GO_TWO_SYNCS: &str = "two-syncs.c1z";
const GO_PEBBLE: &str = "pebble-v3.c1z";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/go-c1z")
        .join(name)
}

/// Syncs `server` into `target`, keeping its history as `history` says.
fn sync_keeping(server: &TestServer, target: &Path, history: History) -> SyncReport {
    let (mut instance, metadata) = notion(&server.base_url(), TOKEN);
    instance.validate().unwrap();
    SyncRun::with_history(&mut instance, &metadata, target, &history)
        .unwrap()
        .run()
        .unwrap()
}

fn sync_ids(file: &Path) -> Vec<String> {
    let reader = C1zReader::open(file).unwrap();
    reader
        .syncs()
        .unwrap()
        .into_iter()
        .map(|s| {
            assert!(s.is_finished() && s.sync_type == "full", "{s:?}");
            s.sync_id
        })
        .collect()
}

/// `baton-notion` against `server` with the c1z `file` and `args`.
fn notion_cli(server: &TestServer, file: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_baton-notion"))
        .args(["--base-url", &server.base_url(), "-f"])
        .arg(file)
        .args(["--log-format", "console", "--rate-limit", "0"])
        .args(args)
        .env("BATON_SCIM_TOKEN", TOKEN)
        .env_remove("BATON_PROVISIONING")
        .env_remove("BATON_KEEP_SYNC_COUNT")
        .env_remove("BATON_SKIP_CLEANUP")
        .env_remove("BATON_FRESH_HISTORY")
        .output()
        .unwrap()
}

/// A provisioning action that must succeed.
fn provision(server: &TestServer, file: &Path, args: &[&str]) {
    let out = notion_cli(server, file, &[&["-p"], args].concat());
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `baton diff -f file -o json`.
fn diff_json(file: &Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .arg("-f")
        .arg(file)
        .args(["diff", "-o", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The ids in `diff[kind][change]`: `type:id` for resources, the id otherwise.
fn ids(diff: &Value, kind: &str, change: &str) -> Vec<String> {
    diff[kind][change]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| match &o["id"] {
            Value::String(s) => s.clone(),
            id => format!(
                "{}:{}",
                id["resourceType"].as_str().unwrap(),
                id["resource"].as_str().unwrap()
            ),
        })
        .collect()
}

fn user_ids(server: &TestServer) -> Vec<String> {
    server
        .users()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn two_syncs_of_a_changing_workspace_diff_in_one_file() {
    let server = server(30, 3);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sync.c1z");
    sync_into(&server, &file).unwrap();
    assert_eq!(sync_ids(&file).len(), 1);
    let only_one = Command::new(env!("CARGO_BIN_EXE_baton"))
        .arg("-f")
        .arg(&file)
        .arg("diff")
        .output()
        .unwrap();
    assert!(!only_one.status.success(), "one sync cannot be diffed");

    // Change the workspace: a user added, one removed, a role changed, a membership added.
    let users = user_ids(&server);
    let group = server.groups()[0]["id"].as_str().unwrap().to_string();
    let members: Vec<String> = server.groups()[0]["members"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| m["value"].as_str().unwrap().to_string())
        .collect();
    let role_of = |id: &str| {
        server.users().into_iter().find(|u| u["id"] == id).unwrap()
            ["urn:ietf:params:scim:schemas:extension:notion:2.0:User"]["role"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let member = users
        .iter()
        .find(|u| role_of(u) == "member")
        .unwrap()
        .clone();
    let removed = users
        .iter()
        .rev()
        .find(|u| **u != member && role_of(u) == "member")
        .unwrap()
        .clone();
    let joiner = users
        .iter()
        .find(|u| !members.contains(u) && **u != removed)
        .unwrap()
        .clone();
    provision(
        &server,
        &file,
        &[
            "--create-account-email",
            "new.person@example.com",
            "--create-account-profile",
            r#"{"first_name":"New","last_name":"Person"}"#,
        ],
    );
    provision(
        &server,
        &file,
        &[
            "--delete-resource",
            &removed,
            "--delete-resource-type",
            "user",
        ],
    );
    let admin = "role:membership_admin:assigned";
    provision(
        &server,
        &file,
        &[
            "--grant-entitlement",
            admin,
            "--grant-principal",
            &member,
            "--grant-principal-type",
            "user",
        ],
    );
    let membership = format!("group:{group}:member");
    provision(
        &server,
        &file,
        &[
            "--grant-entitlement",
            &membership,
            "--grant-principal",
            &joiner,
            "--grant-principal-type",
            "user",
        ],
    );
    let added = user_ids(&server)
        .into_iter()
        .find(|u| !users.contains(u))
        .expect("the new user is listed");

    // The second sync, through the CLI, keeps the first beside it (keep count 2).
    let first = sync_ids(&file);
    let out = notion_cli(&server, &file, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let both = sync_ids(&file);
    assert_eq!(both.len(), 2, "{both:?}");
    assert_eq!(both[0], first[0], "the earlier sync is kept, listed first");
    c1z_check(&file, false);

    let diff = diff_json(&file);
    assert_eq!(
        ids(&diff, "resources", "created"),
        [format!("user:{added}")],
        "{diff:#}"
    );
    assert_eq!(
        ids(&diff, "resources", "deleted"),
        [format!("user:{removed}")],
        "{diff:#}"
    );
    let grants_created = ids(&diff, "grants", "created");
    for g in [
        format!("{admin}:user:{member}"),
        format!("{membership}:user:{joiner}"),
    ] {
        assert!(grants_created.contains(&g), "{g} created: {diff:#}");
    }
    let grants_deleted = ids(&diff, "grants", "deleted");
    assert!(
        grants_deleted.contains(&format!("role:member:assigned:user:{member}")),
        "the old role's grant is deleted: {diff:#}"
    );
    assert!(
        grants_deleted
            .iter()
            .any(|g| g.ends_with(&format!(":user:{removed}"))),
        "the removed user's grants are deleted: {diff:#}"
    );

    // A third sync drops the oldest: still two, the newest two.
    sync_into(&server, &file).unwrap();
    let third = sync_ids(&file);
    assert_eq!(third.len(), 2);
    assert_eq!(third[0], both[1], "the oldest was dropped");
    let unchanged = diff_json(&file);
    assert_eq!(
        unchanged,
        serde_json::json!({"resources": {}, "entitlements": {}, "grants": {}}),
        "nothing changed between the last two syncs"
    );
    c1z_check(&file, false);
}

#[test]
fn a_go_written_history_keeps_its_newer_sync_beside_ours() {
    let server = server(20, 2);
    let dir = tempfile::tempdir().unwrap();
    let go = fixture(GO_TWO_SYNCS);
    let go_ids = sync_ids(&go);
    assert_eq!(go_ids.len(), 2);
    let copy = |name: &str| {
        let p = dir.path().join(name);
        std::fs::copy(&go, &p).unwrap();
        p
    };

    // Keep count 2: the Go file's newer sync and ours; its oldest is dropped.
    let file = copy("keep2.c1z");
    let report = sync_into(&server, &file).unwrap();
    assert_eq!(report.summary.kept_syncs, [go_ids[1].clone()]);
    assert_eq!(report.summary.dropped_syncs, 1);
    assert_eq!(
        sync_ids(&file),
        [go_ids[1].clone(), report.summary.sync_id.clone()]
    );
    c1z_check(&file, false);
    // The Go sync's rows came over whole: its stats are what the fixture says.
    let (old, new) = (
        C1zReader::open(&go).unwrap(),
        C1zReader::open(&file).unwrap(),
    );
    let run = |r: &C1zReader| r.select_sync(Some(&go_ids[1])).unwrap();
    assert_eq!(
        old.stats(&run(&old)).unwrap(),
        new.stats(&run(&new)).unwrap()
    );
    // And the readers show ours, the newest.
    assert_eq!(
        new.select_sync(None).unwrap().sync_id,
        report.summary.sync_id
    );

    // Keep count 3: all three.
    let file = copy("keep3.c1z");
    let history = History {
        keep: Some(3),
        fresh: false,
    };
    let report = sync_keeping(&server, &file, history);
    let mut expected = go_ids.clone();
    expected.push(report.summary.sync_id.clone());
    assert_eq!(sync_ids(&file), expected);
    c1z_check(&file, false);

    // --skip-cleanup: nothing is dropped, however many.
    let file = copy("all.c1z");
    let out = notion_cli(&server, &file, &["--skip-cleanup"]);
    assert!(out.status.success());
    let out = notion_cli(
        &server,
        &file,
        &["--keep-sync-count", "1", "--skip-cleanup"],
    );
    assert!(out.status.success());
    assert_eq!(sync_ids(&file).len(), 4);
    c1z_check(&file, false);

    // Keep count 1 through the variable: ours alone.
    let file = copy("keep1.c1z");
    let out = Command::new(env!("CARGO_BIN_EXE_baton-notion"))
        .args(["--base-url", &server.base_url(), "-f"])
        .arg(&file)
        .env("BATON_SCIM_TOKEN", TOKEN)
        .env("BATON_KEEP_SYNC_COUNT", "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(sync_ids(&file).len(), 1);
}

#[test]
fn an_unreadable_file_is_refused_and_left_as_it_was() {
    let server = server(5, 1);
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.c1z");
    sync_into(&server, &good).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let corrupt = dir.path().join("corrupt.c1z");
    std::fs::write(&corrupt, &bytes[..bytes.len() / 2]).unwrap();
    let pebble = dir.path().join("pebble.c1z");
    std::fs::copy(fixture(GO_PEBBLE), &pebble).unwrap();
    let junk = dir.path().join("junk.c1z");
    std::fs::write(&junk, b"not a c1z at all").unwrap();
    let requests = server.request_count();
    for (file, why) in [
        (&corrupt, "corrupt or truncated"),
        (&pebble, "v3 (Pebble)"),
        (&junk, "not a c1z file"),
    ] {
        let before = std::fs::read(file).unwrap();
        let out = notion_cli(&server, file, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("ERROR")).collect();
        assert_eq!(errors.len(), 1, "{stderr}");
        for needle in [why, "cannot keep its sync history", "-f", "--fresh-history"] {
            assert!(errors[0].contains(needle), "{needle}: {stderr}");
        }
        assert_eq!(
            std::fs::read(file).unwrap(),
            before,
            "{} is byte-identical",
            file.display()
        );
        let temps: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(temps.is_empty(), "{temps:?}");
    }
    // Refused before anything but the validation request is sent.
    assert_eq!(
        server.request_count() - requests,
        3,
        "one validation per run"
    );

    // --fresh-history starts a new history in the file.
    let out = notion_cli(&server, &pebble, &["--fresh-history"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(sync_ids(&pebble).len(), 1);
    c1z_check(&pebble, false);
}

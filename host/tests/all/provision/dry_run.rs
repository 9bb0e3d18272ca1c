//! `--dry-run`: each operation previewed, then run for real, against the
//! test-server's request log. The preview sends no write, lists the writes
//! the real run then sends, and states the outcome the real run has.

use serde_json::Value;

use super::{Workspace, ROLE_EXT};

/// A write as (method, path, body).
type Write = (String, String, Option<Value>);

/// Runs an action with `--log-format json`; its JSON line, whether it
/// succeeded, and the requests it made that were not GETs.
fn json_run(ws: &Workspace, args: &[&str]) -> (Value, bool, Vec<Write>) {
    let (out, requests) = ws.run(&[&["-p", "--log-format", "json"], args].concat());
    let line: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: stdout is not one JSON object ({e}): {}; stderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let writes = requests
        .into_iter()
        .filter(|r| r.method != "GET")
        .map(|r| {
            let body = r.body.as_deref().map(|b| serde_json::from_str(b).unwrap());
            (r.method, r.path, body)
        })
        .collect();
    (line, out.status.success(), writes)
}

/// The `writes` of a JSON line as (method, path, body).
fn listed(line: &Value) -> Vec<Write> {
    line["writes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            let body = (!w["body"].is_null()).then(|| w["body"].clone());
            (
                w["method"].as_str().unwrap().into(),
                w["path"].as_str().unwrap().into(),
                body,
            )
        })
        .collect()
}

/// Previews `args`, then runs them for real: the preview wrote nothing,
/// listed exactly the real run's writes and stated its outcome.
fn preview_then_run(ws: &Workspace, args: &[&str]) -> Value {
    let dry_args = [&["--dry-run"], args].concat();
    let (dry, dry_ok, dry_sent) = json_run(ws, &dry_args);
    assert!(dry_ok, "{args:?}: {dry}");
    assert_eq!(dry["dry_run"], true);
    assert!(
        dry_sent.is_empty(),
        "{args:?}: the dry run wrote {dry_sent:?}"
    );
    let (real, real_ok, real_sent) = json_run(ws, args);
    assert!(real_ok, "{args:?}: {real}");
    assert_eq!(real["dry_run"], false);
    for key in [
        "operation",
        "outcome",
        "changed",
        "grants_added",
        "grants_removed",
    ] {
        assert_eq!(dry[key], real[key], "{args:?}: `{key}` differs");
    }
    assert_eq!(
        listed(&dry),
        real_sent,
        "{args:?}: the preview lists the real writes"
    );
    assert_eq!(
        listed(&real),
        real_sent,
        "{args:?}: the real run lists what it sent"
    );
    real
}

#[test]
fn a_role_grant_and_a_revoke_are_previewed_exactly() {
    let ws = Workspace::new();
    let uid = ws.user_with_role("member");
    let grant = [
        "--grant-entitlement",
        "role:owner:assigned",
        "--grant-principal",
        &uid,
        "--grant-principal-type",
        "user",
    ];
    let real = preview_then_run(&ws, &grant);
    assert_eq!(real["outcome"], "replaced");
    assert_eq!(ws.user(&uid).unwrap()[ROLE_EXT]["role"], "owner");

    let revoke_id = format!("role:owner:assigned:user:{uid}");
    // The c1z says member; sync so that it names the owner grant.
    super::sync_into(&ws.server, &ws.file).unwrap();
    let real = preview_then_run(&ws, &["--revoke-grant", &revoke_id]);
    assert_eq!(real["outcome"], "revoked");
    assert_eq!(
        real["grants_added"][0],
        format!("role:restricted_member:assigned:user:{uid}")
    );
    // Nothing left to change: both say so and neither writes.
    let (dry, ok, sent) = json_run(&ws, &["--dry-run", "--revoke-grant", &revoke_id]);
    assert!(ok && sent.is_empty());
    assert_eq!(
        (dry["outcome"].as_str(), dry["changed"].as_bool()),
        (Some("already-revoked"), Some(false))
    );
}

#[test]
fn a_console_dry_run_shows_the_writes_and_the_change() {
    let ws = Workspace::new();
    let uid = ws.user_with_role("member");
    let (out, requests) = ws.run(&[
        "-p",
        "--dry-run",
        "--log-format",
        "console",
        "--revoke-grant",
        &format!("role:member:assigned:user:{uid}"),
    ]);
    assert!(out.status.success());
    assert!(requests.iter().all(|r| r.method == "GET"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with(&format!("would send PATCH /scim/v2/Users/{uid}\n")),
        "{stdout}"
    );
    assert!(
        stdout.contains("\"role\": \"restricted_member\""),
        "pretty JSON body: {stdout}"
    );
    assert!(
        stdout.trim_end().ends_with(&format!(
            "would revoke role:member:assigned:user:{uid}, leaving {uid} as restricted_member"
        )),
        "{stdout}"
    );
}

#[test]
fn group_membership_and_account_creation_are_previewed_exactly() {
    let ws = Workspace::new();
    let uid = ws.user_with_role("member");
    let group = ws.server.groups()[0]["id"].as_str().unwrap().to_string();
    let entitlement = format!("group:{group}:member");
    let members = ws.members(&group);
    let args = [
        "--grant-entitlement",
        entitlement.as_str(),
        "--grant-principal",
        &uid,
        "--grant-principal-type",
        "user",
    ];
    if !members.contains(&uid) {
        let real = preview_then_run(&ws, &args);
        assert_eq!(real["outcome"], "granted");
    }
    let profile = r#"{"first_name":"Ann","last_name":"Lee"}"#;
    let create = [
        "--create-account-email",
        "ann.lee@dry-run.test",
        "--create-account-profile",
        profile,
    ];
    let (dry, ok, sent) = json_run(&ws, &[&["--dry-run"][..], &create].concat());
    assert!(ok && sent.is_empty(), "{dry}");
    let (real, ok, real_sent) = json_run(&ws, &create);
    assert!(ok, "{real}");
    assert_eq!(
        (dry["outcome"].clone(), real["outcome"].clone()),
        ("created".into(), "created".into())
    );
    assert_eq!(listed(&dry), real_sent);
    assert!(
        dry["message"]
            .as_str()
            .unwrap()
            .starts_with("would create user Ann Lee"),
        "{dry}"
    );
}

#[test]
fn guard_rails_refuse_a_dry_run_as_they_refuse_the_real_one() {
    let ws = Workspace::new();
    let owner = ws.user_with_role("owner");
    for args in [
        vec![
            "--revoke-grant".to_string(),
            format!("role:owner:assigned:user:{owner}"),
        ],
        vec![
            "--revoke-grant".to_string(),
            "role:owner:assigned:user:nobody".to_string(),
        ],
        vec![
            "--create-account-email".to_string(),
            "x@y.test".to_string(),
            "--create-account-profile".to_string(),
            "{}".to_string(),
        ],
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (real, real_ok, real_sent) = json_run(&ws, &args);
        let (dry, dry_ok, dry_sent) = json_run(&ws, &[&["--dry-run"][..], &args].concat());
        assert!(!real_ok && !dry_ok, "{args:?}: {real} / {dry}");
        assert!(real_sent.is_empty() && dry_sent.is_empty(), "{args:?}");
        assert_eq!(
            (real["outcome"].as_str(), dry["outcome"].as_str()),
            (Some("refused"), Some("refused"))
        );
        assert!(real["changed"].is_null());
        assert_eq!(real["error"], dry["error"], "{args:?}");
    }
}

#[test]
fn dry_run_without_an_action_is_refused() {
    let ws = Workspace::new();
    let (out, _) = ws.run(&["--dry-run"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--dry-run previews a provisioning action"),
        "{stderr}"
    );
}

#[test]
fn a_delete_is_previewed_with_the_groups_it_leaves() {
    let ws = Workspace::new();
    let groups = ws.server.groups();
    let (uid, n) = groups
        .iter()
        .flat_map(|g| g["members"].as_array().cloned().unwrap_or_default())
        .filter_map(|m| m["value"].as_str().map(String::from))
        .filter(|u| ws.user(u).is_some_and(|u| u[ROLE_EXT]["role"] != "owner"))
        .map(|u| {
            let n = groups
                .iter()
                .filter(|g| ws.members(g["id"].as_str().unwrap()).contains(&u))
                .count();
            (u, n)
        })
        .next()
        .expect("a non-owner group member");
    let args = [
        "--delete-resource",
        uid.as_str(),
        "--delete-resource-type",
        "user",
    ];
    let (dry, ok, sent) = json_run(&ws, &[&["--dry-run"][..], &args].concat());
    assert!(ok && sent.is_empty(), "{dry}");
    let plural = if n == 1 { "" } else { "s" };
    assert_eq!(
        dry["message"],
        format!("would delete user {uid} and remove {uid} from {n} group{plural}")
    );
    assert!(ws.user(&uid).is_some(), "the user is still there");
    let real = preview_then_run(&ws, &args);
    assert_eq!(real["outcome"], "deleted");
    assert!(ws.user(&uid).is_none());
}

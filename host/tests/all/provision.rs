//! Provisioning end to end: `baton-notion -p` against the test-server,
//! checking the outcome line, the exact requests sent, and idempotence.

use std::path::PathBuf;
use std::process::{Command, Output};

use baton_host::c1z::proto::{user_trait, UserTrait};
use baton_host::c1z::{C1zReader, GrantFilter, ResourceFilter};
use notion_scim_test_server::{RequestRecord, TestServer};
use serde_json::{json, Value};

use super::{server, sync_into, TOKEN};

const ROLE_EXT: &str = "urn:ietf:params:scim:schemas:extension:notion:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A synced workspace: the server and a c1z of it.
struct Workspace {
    server: TestServer,
    _dir: tempfile::TempDir,
    file: PathBuf,
}

impl Workspace {
    fn new() -> Workspace {
        let server = server(30, 3);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sync.c1z");
        sync_into(&server, &file).expect("initial sync");
        Workspace {
            server,
            _dir: dir,
            file,
        }
    }

    /// Runs `baton-notion` with the server's URL, the c1z and `args`;
    /// returns its output and the requests it made.
    fn run(&self, args: &[&str]) -> (Output, Vec<RequestRecord>) {
        let before = self.server.request_count();
        let out = Command::new(env!("CARGO_BIN_EXE_baton-notion"))
            .args([
                "--base-url",
                &self.server.base_url(),
                "-f",
                self.file.to_str().unwrap(),
            ])
            .args(args)
            .env("BATON_SCIM_TOKEN", TOKEN)
            .env_remove("BATON_PROVISIONING")
            .output()
            .unwrap();
        let requests = self.server.requests().into_iter().skip(before).collect();
        (out, requests)
    }

    /// Runs a provisioning action that must succeed; returns its outcome line.
    fn ok(&self, args: &[&str]) -> (String, Vec<RequestRecord>) {
        let (out, requests) = self.run(&[&["--log-format", "console"], args].concat());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?} failed: {stderr}");
        let stdout = String::from_utf8_lossy(&out.stdout).trim_end().to_string();
        assert_eq!(stdout.lines().count(), 1, "one outcome line: {stdout:?}");
        (stdout, requests)
    }

    /// Runs an action that must fail; returns stderr.
    fn fails(&self, args: &[&str]) -> String {
        let (out, _) = self.run(&[&["--log-format", "console"], args].concat());
        assert!(!out.status.success(), "{args:?} should fail");
        String::from_utf8_lossy(&out.stderr).to_string()
    }

    fn user(&self, id: &str) -> Option<Value> {
        self.server.users().into_iter().find(|u| u["id"] == id)
    }

    fn user_with_role(&self, role: &str) -> String {
        let users = self.server.users();
        let u = users
            .iter()
            .find(|u| u[ROLE_EXT]["role"] == role)
            .expect("a user with the role");
        u["id"].as_str().unwrap().to_string()
    }

    fn members(&self, group: &str) -> Vec<String> {
        let groups = self.server.groups();
        let g = groups.iter().find(|g| g["id"] == group).unwrap();
        g["members"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| m["value"].as_str().unwrap().to_string())
            .collect()
    }
}

/// The requests after validation, as (method, path, parsed body).
fn calls(requests: &[RequestRecord]) -> Vec<(String, String, Option<Value>)> {
    assert_eq!(requests[0].path, "/scim/v2/Users", "validation comes first");
    requests[1..]
        .iter()
        .map(|r| {
            let path = match &r.query {
                Some(q) => format!("{}?{q}", r.path),
                None => r.path.clone(),
            };
            let body = r
                .body
                .as_deref()
                .map(|b| serde_json::from_str(b).expect("a JSON body"));
            (r.method.clone(), path, body)
        })
        .collect()
}

fn role_patch(role: &str) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {ROLE_EXT: {"role": role}}}]})
}

#[test]
fn role_grant_replaces_the_previous_role_and_is_idempotent() {
    let ws = Workspace::new();
    let uid = ws.user_with_role("member");
    let args = [
        "-p",
        "--grant-entitlement",
        "role:membership_admin:assigned",
        "--grant-principal",
        &uid,
        "--grant-principal-type",
        "user",
    ];

    let (line, requests) = ws.ok(&args);
    assert_eq!(
        line,
        format!("granted role:membership_admin:assigned:user:{uid}; replaced grant role:member:assigned:user:{uid}")
    );
    let user_path = format!("/scim/v2/Users/{uid}");
    assert_eq!(
        calls(&requests),
        [
            ("GET".to_string(), user_path.clone(), None),
            (
                "PATCH".to_string(),
                user_path.clone(),
                Some(role_patch("membership_admin"))
            ),
        ]
    );
    assert_eq!(ws.user(&uid).unwrap()[ROLE_EXT]["role"], "membership_admin");

    let (line, requests) = ws.ok(&args);
    assert_eq!(
        line,
        format!("already granted role:membership_admin:assigned:user:{uid}")
    );
    assert_eq!(
        calls(&requests),
        [("GET".to_string(), user_path, None)],
        "no PATCH the second time"
    );
}

#[test]
fn role_revoke_downgrades_to_restricted_member_and_is_idempotent() {
    let ws = Workspace::new();
    let uid = ws.user_with_role("member");
    // Chosen before the revoke below adds another restricted member.
    let restricted = ws.user_with_role("restricted_member");
    let grant = format!("role:member:assigned:user:{uid}");
    let (line, requests) = ws.ok(&["-p", "--revoke-grant", &grant]);
    assert_eq!(line, format!("revoked {grant}"));
    let user_path = format!("/scim/v2/Users/{uid}");
    assert_eq!(
        calls(&requests),
        [
            ("GET".to_string(), user_path.clone(), None),
            (
                "PATCH".to_string(),
                user_path,
                Some(role_patch("restricted_member"))
            ),
        ]
    );
    assert_eq!(
        ws.user(&uid).unwrap()[ROLE_EXT]["role"],
        "restricted_member"
    );

    let (line, _) = ws.ok(&["-p", "--revoke-grant", &grant]);
    assert_eq!(line, format!("already revoked {grant}"));

    // restricted_member is the floor: revoking it changes nothing and says why.
    let grant = format!("role:restricted_member:assigned:user:{restricted}");
    let (line, requests) = ws.ok(&["-p", "--revoke-grant", &grant]);
    assert!(
        line.starts_with(&format!("not revoked {grant}: ")),
        "{line}"
    );
    assert!(line.contains("delete"), "says what to do instead: {line}");
    assert!(
        requests.iter().all(|r| r.method == "GET"),
        "nothing was changed"
    );
}

#[test]
fn group_membership_is_added_and_removed_without_replacing_the_list() {
    let ws = Workspace::new();
    let group = ws.server.groups()[0]["id"].as_str().unwrap().to_string();
    let before = ws.members(&group);
    let outsider = ws
        .server
        .users()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .find(|id| !before.contains(id))
        .unwrap();
    let entitlement = format!("group:{group}:member");
    let grant_args = [
        "-p",
        "--grant-entitlement",
        &entitlement,
        "--grant-principal",
        &outsider,
        "--grant-principal-type",
        "user",
    ];
    let group_path = format!("/scim/v2/Groups/{group}");

    let (line, requests) = ws.ok(&grant_args);
    assert_eq!(line, format!("granted {entitlement}:user:{outsider}"));
    let add = json!({"schemas": [PATCH_OP], "Operations": [{"op": "Add", "path": "members", "value": [{"value": outsider}]}]});
    assert_eq!(
        calls(&requests),
        [
            ("GET".to_string(), group_path.clone(), None),
            ("PATCH".to_string(), group_path.clone(), Some(add))
        ]
    );
    let mut want = before.clone();
    want.push(outsider.clone());
    want.sort();
    let mut now = ws.members(&group);
    now.sort();
    assert_eq!(now, want, "exactly one member was added");
    let (line, _) = ws.ok(&grant_args);
    assert_eq!(
        line,
        format!("already granted {entitlement}:user:{outsider}")
    );

    // Revoke resolves the grant from the c1z, so take one that was synced.
    let member = before[0].clone();
    let grant = format!("{entitlement}:user:{member}");
    let (line, requests) = ws.ok(&["-p", "--revoke-grant", &grant]);
    assert_eq!(line, format!("revoked {grant}"));
    let remove = json!({"schemas": [PATCH_OP], "Operations": [{"op": "Remove", "path": "members", "value": [{"value": member}]}]});
    assert_eq!(
        calls(&requests),
        [
            ("GET".to_string(), group_path.clone(), None),
            ("PATCH".to_string(), group_path, Some(remove))
        ]
    );
    assert!(!ws.members(&group).contains(&member));
    assert!(ws.members(&group).contains(&outsider), "other members stay");
    let (line, _) = ws.ok(&["-p", "--revoke-grant", &grant]);
    assert_eq!(line, format!("already revoked {grant}"));
}

#[test]
fn create_account_then_already_exists() {
    let ws = Workspace::new();
    let args = [
        "-p",
        "--create-account-email",
        "new.person@example.com",
        "--create-account-profile",
        r#"{"first_name":"New","last_name":"Person"}"#,
    ];
    let (line, requests) = ws.ok(&args);
    let created = ws
        .server
        .users()
        .into_iter()
        .find(|u| u["userName"] == "new.person@example.com")
        .expect("the user exists on the server");
    let id = created["id"].as_str().unwrap();
    assert_eq!(line, format!("created user {id} (New Person)"));
    let calls = calls(&requests);
    assert_eq!(calls.len(), 1, "{calls:?}");
    let (method, path, body) = &calls[0];
    assert_eq!((method.as_str(), path.as_str()), ("POST", "/scim/v2/Users"));
    let body = body.as_ref().unwrap();
    assert_eq!(body["userName"], "new.person@example.com");
    assert_eq!(body["name"]["givenName"], "New");
    assert_eq!(body["name"]["familyName"], "Person");
    assert_eq!(body["emails"][0]["value"], "new.person@example.com");
    assert_eq!(created[ROLE_EXT]["role"], "member", "Notion's default role");

    let (line, _) = ws.ok(&args);
    assert_eq!(line, format!("account already exists: {id}"));
}

#[test]
fn deleting_a_user_removes_them_from_their_groups_in_the_next_sync() {
    let ws = Workspace::new();
    let groups = ws.server.groups();
    let in_two = ws
        .server
        .users()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .find(|id| {
            groups
                .iter()
                .filter(|g| ws.members(g["id"].as_str().unwrap()).contains(id))
                .count()
                >= 2
        })
        .expect("a user in two groups");
    let (line, requests) = ws.ok(&[
        "-p",
        "--delete-resource",
        &in_two,
        "--delete-resource-type",
        "user",
    ]);
    assert_eq!(line, format!("deleted user {in_two}"));
    let methods: Vec<_> = calls(&requests)
        .into_iter()
        .map(|(m, p, _)| format!("{m} {p}"))
        .collect();
    let user_path = format!("/scim/v2/Users/{in_two}");
    assert_eq!(
        methods,
        [
            format!("GET {user_path}"),
            format!("DELETE {user_path}"),
            format!("GET {user_path}")
        ]
    );
    assert!(ws.user(&in_two).is_none());

    let (line, _) = ws.ok(&[
        "-p",
        "--delete-resource",
        &in_two,
        "--delete-resource-type",
        "user",
    ]);
    assert_eq!(line, format!("already deleted user {in_two}"));

    sync_into(&ws.server, &ws.file).expect("resync");
    let reader = baton_host::c1z::C1zReader::open(&ws.file).unwrap();
    let sid = reader.select_sync(None).unwrap().sync_id;
    let filter = baton_host::c1z::GrantFilter {
        principal_type: Some("user".into()),
        principal_id: Some(in_two.clone()),
        ..Default::default()
    };
    assert_eq!(
        reader.grants(&sid, &filter).count(),
        0,
        "no grant of the deleted user remains"
    );
}

/// The status the c1z at `file` gives user `id`, or `None` when the sync
/// does not list the user.
fn synced_status(file: &std::path::Path, id: &str) -> Option<user_trait::status::Status> {
    let reader = C1zReader::open(file).unwrap();
    let sid = reader.select_sync(None).unwrap().sync_id;
    let filter = ResourceFilter {
        resource_type: Some("user".into()),
        ..Default::default()
    };
    let found = reader
        .resources(&sid, &filter)
        .map(|r| r.unwrap())
        .find(|r| r.id.as_ref().is_some_and(|rid| rid.resource == id))?;
    let t: UserTrait = found.annotations[0].to_msg().unwrap();
    user_trait::status::Status::try_from(t.status.unwrap().status).ok()
}

/// Issue 14: an inactive user stays listed (as disabled) until a DELETE
/// removes it, so the delete is sent for it as for any user, and converges.
#[test]
fn deleting_an_inactive_user_sends_the_delete_and_the_next_sync_lacks_them() {
    let ws = Workspace::new();
    let groups = ws.server.groups();
    let uid = ws
        .server
        .users()
        .iter()
        .filter(|u| u[ROLE_EXT]["role"] == "member")
        .map(|u| u["id"].as_str().unwrap().to_string())
        .find(|id| {
            groups
                .iter()
                .any(|g| ws.members(g["id"].as_str().unwrap()).contains(id))
        })
        .expect("a member in a group");
    assert_eq!(
        synced_status(&ws.file, &uid),
        Some(user_trait::status::Status::Enabled)
    );
    ws.server.set_user_active(&uid, false).unwrap();
    sync_into(&ws.server, &ws.file).expect("sync with the user inactive");
    assert_eq!(
        synced_status(&ws.file, &uid),
        Some(user_trait::status::Status::Disabled),
        "the sync lists the inactive user as disabled"
    );

    let delete = [
        "-p",
        "--delete-resource",
        &uid,
        "--delete-resource-type",
        "user",
    ];
    let (line, requests) = ws.ok(&delete);
    assert_eq!(line, format!("deleted user {uid}"));
    let user_path = format!("/scim/v2/Users/{uid}");
    let get = ("GET".to_string(), user_path.clone(), None);
    assert_eq!(
        calls(&requests),
        [
            get.clone(),
            ("DELETE".to_string(), user_path.clone(), None),
            get.clone()
        ]
    );
    let statuses: Vec<u16> = requests[1..].iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 204, 404], "deleted, then confirmed gone");
    assert!(ws.user(&uid).is_none());

    sync_into(&ws.server, &ws.file).expect("sync after the delete");
    assert_eq!(
        synced_status(&ws.file, &uid),
        None,
        "the next sync lacks the user"
    );
    let reader = C1zReader::open(&ws.file).unwrap();
    let sid = reader.select_sync(None).unwrap().sync_id;
    let filter = GrantFilter {
        principal_type: Some("user".into()),
        principal_id: Some(uid.clone()),
        ..Default::default()
    };
    assert_eq!(
        reader.grants(&sid, &filter).count(),
        0,
        "nor any grant of it"
    );

    let (line, requests) = ws.ok(&delete);
    assert_eq!(line, format!("already deleted user {uid}"));
    assert_eq!(calls(&requests), [get], "one read, no write");
    let deletes = ws
        .server
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .count();
    assert_eq!(deletes, 1, "no second DELETE");
}

#[test]
fn the_last_owner_cannot_be_deleted_or_downgraded() {
    let ws = Workspace::new();
    let owners: Vec<_> = ws
        .server
        .users()
        .into_iter()
        .filter(|u| u[ROLE_EXT]["role"] == "owner")
        .collect();
    assert_eq!(owners.len(), 1, "this workspace has a single owner");
    let owner = owners[0]["id"].as_str().unwrap().to_string();

    let err = ws.fails(&[
        "-p",
        "--delete-resource",
        &owner,
        "--delete-resource-type",
        "user",
    ]);
    assert!(err.contains("last remaining owner"), "{err}");
    let err = ws.fails(&[
        "-p",
        "--revoke-grant",
        &format!("role:owner:assigned:user:{owner}"),
    ]);
    assert!(err.contains("last remaining owner"), "{err}");
    let args = [
        "-p",
        "--grant-entitlement",
        "role:member:assigned",
        "--grant-principal",
        &owner,
        "--grant-principal-type",
        "user",
    ];
    let err = ws.fails(&args);
    assert!(err.contains("last remaining owner"), "{err}");
    assert_eq!(
        ws.user(&owner).unwrap()[ROLE_EXT]["role"],
        "owner",
        "nothing changed"
    );
    assert!(
        ws.server.requests().iter().all(|r| r.method == "GET"),
        "no change was sent"
    );

    // With a second owner, the first may step down.
    let other = ws.user_with_role("member");
    let promote = [
        "-p",
        "--grant-entitlement",
        "role:owner:assigned",
        "--grant-principal",
        &other,
        "--grant-principal-type",
        "user",
    ];
    ws.ok(&promote);
    let (line, _) = ws.ok(&args);
    assert!(
        line.starts_with("granted role:member:assigned:user:"),
        "{line}"
    );
}

#[test]
fn bad_input_is_named_and_nothing_is_sent() {
    let ws = Workspace::new();
    let uid = ws.user_with_role("member");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "--grant-entitlement".into(),
                "role:nope:assigned".into(),
                "--grant-principal".into(),
                uid.clone(),
                "--grant-principal-type".into(),
                "user".into(),
            ],
            "role:nope:assigned",
        ),
        (
            vec![
                "--grant-entitlement".into(),
                "role:owner:assigned".into(),
                "--grant-principal".into(),
                "no-such-user".into(),
                "--grant-principal-type".into(),
                "user".into(),
            ],
            "no-such-user",
        ),
        (
            vec![
                "--revoke-grant".into(),
                "role:owner:assigned:user:ghost".into(),
            ],
            "role:owner:assigned:user:ghost",
        ),
        (
            vec!["--create-account-profile".into(), "{not json".into()],
            "{not json",
        ),
        (
            vec![
                "--create-account-email".into(),
                "x@example.com".into(),
                "--create-account-profile".into(),
                r#"{"first_name":"X"}"#.into(),
            ],
            "last_name",
        ),
        (
            vec![
                "--delete-resource".into(),
                "owner".into(),
                "--delete-resource-type".into(),
                "role".into(),
            ],
            "`role`",
        ),
    ];
    for (args, needle) in cases {
        let before = ws.server.request_count();
        let mut full = vec!["-p".to_string()];
        full.extend(args.iter().cloned());
        let full: Vec<&str> = full.iter().map(String::as_str).collect();
        let err = ws.fails(&full);
        assert!(err.contains(needle), "{args:?}: `{needle}` not in {err}");
        assert_eq!(
            ws.server.request_count(),
            before,
            "{args:?}: nothing was sent"
        );
    }
    // Without -p a provisioning flag is refused.
    let err = ws.fails(&[
        "--revoke-grant",
        &format!("role:member:assigned:user:{uid}"),
    ]);
    assert!(err.contains("--provisioning"), "{err}");
}

#[test]
fn json_log_format_prints_the_outcome_as_json() {
    let ws = Workspace::new();
    let uid = ws.user_with_role("member");
    let (out, _) = ws.run(&[
        "-p",
        "--log-format",
        "json",
        "--grant-entitlement",
        "role:member:assigned",
        "--grant-principal",
        &uid,
        "--grant-principal-type",
        "user",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let outcome: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    let grant_id = format!("role:member:assigned:user:{uid}");
    assert_eq!(
        outcome,
        json!({
            "operation": "grant",
            "dry_run": false,
            "changed": false,
            "outcome": "already-granted",
            "grants_added": [],
            "grants_removed": [],
            "writes": [],
            "requests": 2,
            "message": format!("already granted {grant_id}"),
        })
    );
}

mod dry_run;
mod lost_answer;

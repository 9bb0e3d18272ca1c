//! `baton principals` against Go's output for the same fixture, and `principals compare`.

use baton_host::c1z::proto::{self, user_trait, Entitlement, Grant, Resource, ResourceId};
use baton_host::c1z::C1zWriter;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/go-c1z")
}

fn baton_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn ok_in(dir: &Path, args: &[&str]) -> String {
    let o = baton_in(dir, args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success() && err.is_empty(), "{args:?}: {err}");
    String::from_utf8(o.stdout).unwrap()
}

/// Runs `baton -f small-expanded.c1z ARGS` in the fixtures folder.
fn ok(args: &[&str]) -> String {
    ok_in(
        &fixtures(),
        &[&["-f", "small-expanded.c1z"][..], args].concat(),
    )
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap()
}

#[test]
fn principals_start_like_go() {
    let got = ok(&["principals"]);
    let want =
        std::fs::read_to_string(fixtures().join("baton-cli-output/principals.console.head.txt"))
            .unwrap();
    let head: String = got
        .lines()
        .take(want.lines().count())
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(head, want);
    // The 1,000 users and the 20 groups that hold a grant (projects and roles only
    // receive them).
    assert_eq!(
        got.lines().count(),
        1000 + 20 + 2,
        "header + rows + blank line"
    );
}

#[test]
fn principals_json_is_a_resource_list() {
    let all = json(&ok(&["-o", "json", "principals"]));
    let list = all["resources"].as_array().unwrap();
    assert_eq!(list.len(), 1020);
    // Each element is Go's ResourceOutput, the same as `resources` prints for it.
    let users = json(&ok(&["-o", "json", "resources", "-t", "user"]));
    let u99 = users["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource"]["id"]["resource"] == "user-0000099")
        .unwrap();
    assert_eq!(&list[0], u99);
    assert_eq!(ok(&["-o", "json", "principals", "-e", "nothing"]), "{}");
}

/// Display names in column `col` of a console table.
fn column(table: &str, col: usize) -> Vec<String> {
    table
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(" | ").nth(col).unwrap().trim().to_string())
        .collect()
}

#[test]
fn principals_filters_are_the_grant_filters() {
    for filter in [
        &["-e", "project:project-0000099:access"][..],
        &["-t", "project", "-r", "project-0000099"],
        &["-t", "group"],
    ] {
        // The principals of `grants` with the same flags, each once, in grant order.
        let mut want: Vec<String> = Vec::new();
        for name in column(&ok(&[&["grants"][..], filter].concat()), 4) {
            if !want.contains(&name) {
                want.push(name);
            }
        }
        let got = column(&ok(&[&["principals"][..], filter].concat()), 1);
        assert!(!got.is_empty(), "{filter:?}");
        assert_eq!(got, want, "{filter:?}");
    }
    let o = baton_in(
        &fixtures(),
        &["principals", "-e", "x", "-r", "y", "-t", "z"],
    );
    assert_eq!(o.status.code(), Some(1), "-e and -r are mutually exclusive");
    let o = baton_in(&fixtures(), &["principals", "-r", "y"]);
    assert_eq!(o.status.code(), Some(1), "-r needs -t");
}

#[test]
fn compare_two_entitlements_in_one_file() {
    let got = ok(&[
        "principals",
        "compare",
        "-e",
        "project:project-0000099:access",
        "--compare-entitlement",
        "project:project-0000098:access",
    ]);
    assert_eq!(
        got,
        "Base:     project:project-0000099:access (71 principals)\n\
         Compared: project:project-0000098:access (70 principals)\n\n\
         Missing (principals of project:project-0000099:access with no match among those of \
         project:project-0000098:access): 2\n\
         ID            | Display Name  | Resource Type | Parent Resource\n\
         user-0000099  | User 0000099  | User          | -              \n\
         group-0000019 | Group 0000019 | Group         | -              \n\n\
         Extra (principals of project:project-0000098:access with no match among those of \
         project:project-0000099:access): 1\n\
         ID           | Display Name | Resource Type | Parent Resource\n\
         user-0000098 | User 0000098 | User          | -              \n\n"
    );
}

fn person(id: &str, name: &str, email: &str) -> Resource {
    let t = proto::UserTrait {
        emails: vec![user_trait::Email {
            address: email.into(),
            is_primary: true,
        }],
        ..Default::default()
    };
    Resource {
        id: Some(ResourceId::new("user", id)),
        display_name: name.into(),
        annotations: vec![proto::to_any(&t)],
        ..Default::default()
    }
}

/// A file where `holders` hold `app:<app>:member`.
fn tenant(path: &Path, app: &str, holders: &[Resource]) {
    let mut w = C1zWriter::create(path).unwrap();
    for (id, name) in [("user", "User"), ("group", "Group"), ("app", "App")] {
        w.put_resource_type(&proto::ResourceType {
            id: id.into(),
            display_name: name.into(),
            ..Default::default()
        })
        .unwrap();
    }
    let app_r = Resource {
        id: Some(ResourceId::new("app", app)),
        display_name: app.into(),
        ..Default::default()
    };
    w.put_resource(&app_r).unwrap();
    let ent = Entitlement {
        id: format!("app:{app}:member"),
        resource: Some(app_r),
        display_name: "member".into(),
        slug: "member".into(),
        ..Default::default()
    };
    w.put_entitlement(&ent).unwrap();
    for h in holders {
        w.put_resource(h).unwrap();
        let pid = h.id.clone().unwrap();
        w.put_grant(&Grant {
            id: format!("{}:{}", ent.id, pid.key()),
            entitlement: Some(ent.clone()),
            principal: Some(Resource {
                id: Some(pid),
                ..Default::default()
            }),
            ..Default::default()
        })
        .unwrap();
    }
    w.finish().unwrap();
}

#[test]
fn compare_across_files_matches_users_by_email() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    tenant(
        &d.join("a.c1z"),
        "wiki",
        &[
            person("u1", "Ada Lovelace", "ada@example.com"),
            person("u2", "Grace Hopper", "grace@example.com"),
        ],
    );
    let team = Resource {
        id: Some(ResourceId::new("group", "g1")),
        display_name: "Grace Hopper".into(),
        ..Default::default()
    };
    // Another tenant gives Ada another id (same email, other case) and has a group named
    // like Grace, which must not count as her.
    tenant(
        &d.join("b.c1z"),
        "docs",
        &[person("x9", "A. Lovelace", "ADA@example.com"), team],
    );
    let args = [
        "-f",
        "a.c1z",
        "-o",
        "json",
        "principals",
        "compare",
        "-e",
        "app:wiki:member",
        "--compare-file",
        "b.c1z",
        "--compare-entitlement",
        "app:docs:member",
    ];
    let out = json(&ok_in(d, &args));
    let ids = |key: &str| -> Vec<String> {
        out[key]
            .as_array()
            .map(|v| {
                v.iter()
                    .map(|r| {
                        r["resource"]["id"]["resource"]
                            .as_str()
                            .unwrap()
                            .to_string()
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(ids("base"), ["u1", "u2"]);
    assert_eq!(ids("compared"), ["x9", "g1"]);
    assert_eq!(ids("missing"), ["u2"]);
    assert_eq!(ids("extra"), ["g1"]);
    assert_eq!(out["extra"][0]["resourceType"]["id"], "group");

    let o = baton_in(
        d,
        &[
            "-f",
            "a.c1z",
            "principals",
            "compare",
            "-e",
            "app:nope:member",
            "--compare-entitlement",
            "x",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.starts_with("error: --entitlement: entitlement \"app:nope:member\" is not in sync"),
        "{err}"
    );
}

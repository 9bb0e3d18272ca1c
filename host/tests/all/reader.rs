//! Runs the built `baton` binary on Go-written fixtures and compares with what Baton's Go
//! CLI printed for them (tests/fixtures/go-c1z/baton-cli-output/).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/go-c1z")
}

fn golden(name: &str) -> String {
    std::fs::read_to_string(fixtures().join("baton-cli-output").join(name)).unwrap()
}

/// Runs `baton ARGS` in the fixtures folder.
fn baton(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(args)
        .current_dir(fixtures())
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// Runs a command that must succeed without warnings and returns its stdout.
fn ok(args: &[&str]) -> String {
    let o = baton(args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    assert_eq!(stderr(&o), "", "{args:?}");
    stdout(&o)
}

fn head(s: &str, n: usize) -> String {
    s.lines().take(n).map(|l| format!("{l}\n")).collect()
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap()
}

#[test]
fn console_tables_match_go_exactly() {
    let f = ["-f", "small-expanded.c1z"];
    for (args, want) in [
        (
            &["resources", "-t", "group"][..],
            "resources-group.console.txt",
        ),
        (&["resource-types"][..], "resource-types.console.txt"),
        (&["stats"][..], "stats.console.txt"),
        (&["syncs"][..], "syncs.console.txt"),
    ] {
        let got = ok(&[&f[..], args].concat());
        assert_eq!(got, golden(want), "baton {args:?} vs {want}");
    }
}

#[test]
fn long_listings_start_like_go() {
    let ents = ok(&["-f", "small-expanded.c1z", "entitlements"]);
    let want = golden("entitlements.console.head.txt");
    assert_eq!(head(&ents, want.lines().count()), want);
    assert_eq!(ents.lines().count(), 342 + 2, "header + rows + blank line");

    let grants = ok(&[
        "-f",
        "small-expanded.c1z",
        "grants",
        "-e",
        "project:project-0000099:access",
    ]);
    let want = golden("grants-one-entitlement.console.head.txt");
    assert_eq!(head(&grants, want.lines().count()), want);
    assert_eq!(grants.lines().count(), 71 + 2);
}

#[test]
fn json_matches_go_semantically() {
    let f = ["-f", "small-expanded.c1z", "-o", "json"];
    for (args, want) in [
        (&["resources", "-t", "group"][..], "resources-group.json"),
        (&["resource-types"][..], "resource-types.json"),
        (&["syncs"][..], "syncs.json"),
        (
            &["grants", "-e", "project:project-0000099:access"][..],
            "grants-one-entitlement.json",
        ),
    ] {
        let got = ok(&[&f[..], args].concat());
        assert_eq!(
            json(&got),
            json(&golden(want)),
            "baton -o json {args:?} vs {want}"
        );
    }
    assert_eq!(
        ok(&[&f[..], &["resources", "-t", "nothing"]].concat()),
        "{}"
    );
    let stats = json(&ok(&[&f[..], &["stats"]].concat()));
    assert_eq!(stats["counts"]["grants"], 14981);
}

#[test]
fn filters() {
    let f = ["-f", "small-expanded.c1z"];
    let by_type = ok(&[&f[..], &["grants", "-t", "role"]].concat());
    assert!(by_type
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .all(|l| l.contains("| Role ")));
    let one = ok(&[
        &f[..],
        &["grants", "-t", "project", "-r", "project-0000099"],
    ]
    .concat());
    assert!(one.lines().count() > 2);
    assert!(one
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .all(|l| l.contains("Project 0000099")));
    let ents = ok(&[
        &f[..],
        &["entitlements", "-t", "group", "-r", "group-0000001"],
    ]
    .concat());
    assert_eq!(ents.lines().count(), 2 + 2, "{ents}");
    let o = baton(&[&f[..], &["grants", "-e", "x", "-r", "y", "-t", "z"]].concat());
    assert_eq!(o.status.code(), Some(1), "-e and -r are mutually exclusive");
}

#[test]
fn unfinished_syncs_are_listed_with_a_warning() {
    let o = baton(&["-f", "small-unexpanded.c1z", "resources"]);
    assert!(o.status.success());
    let err = stderr(&o);
    assert!(
        err.starts_with("warning: ") && err.contains("unfinished"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
    let want = golden("resources-unfinished.head.txt").replace("exit 0\n", "");
    let out = stdout(&o);
    assert_eq!(head(&out, want.lines().count()), want);
    assert_eq!(out.lines().count(), 1221 + 2);

    let o = baton(&["-f", "sync-in-progress.c1z", "resources"]);
    assert!(o.status.success() && stderr(&o).contains("unfinished"));
    assert_eq!(stdout(&o).lines().count(), 79 + 2);
    let o = baton(&["-f", "sync-in-progress.c1z", "grants"]);
    assert_eq!(
        stdout(&o),
        "ID | Resource Type | Resource | Entitlement | Principal\n\n"
    );
}

#[test]
fn stats_needs_a_finished_sync() {
    let o = baton(&["-f", "small-unexpanded.c1z", "stats"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.starts_with("error: no finished sync in small-unexpanded.c1z"),
        "{err}"
    );
    assert!(
        err.contains("--sync-id 36zfOAoWMxQdISbixanQCRBiX7E"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
    assert_eq!(stdout(&o), "");

    let o = baton(&[
        "-f",
        "small-unexpanded.c1z",
        "--sync-id",
        "36zfOAoWMxQdISbixanQCRBiX7E",
        "stats",
    ]);
    assert!(o.status.success() && stderr(&o).contains("unfinished"));
    assert!(
        stdout(&o).contains("grants         | 2909 "),
        "{}",
        stdout(&o)
    );
}

#[test]
fn clear_errors_exit_1() {
    for (args, want) in [
        (
            &["-f", "pebble-v3.c1z", "resources"][..],
            "newer v3 (Pebble) c1z format",
        ),
        (
            &["-f", "nope.c1z", "resources"][..],
            "error: --file: file does not exist: nope.c1z",
        ),
        (
            &["-f", "small-expanded.c1z", "--sync-id", "x", "grants"][..],
            "sync \"x\" is not in",
        ),
        (
            &["-f", "reader-not-a-c1z.txt", "syncs"][..],
            "not a c1z file",
        ),
    ] {
        let o = baton(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let err = stderr(&o);
        assert!(
            err.starts_with("error: ") && err.contains(want),
            "{args:?}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
        assert_eq!(stdout(&o), "");
    }
}

#[test]
fn help_and_version() {
    let help = ok(&["--help"]);
    for cmd in [
        "resources",
        "resource-types",
        "entitlements",
        "grants",
        "principals",
        "stats",
        "syncs",
        "diff",
    ] {
        assert!(help.contains(&format!("\n  {cmd} ")), "{help}");
    }
    assert!(help.contains("--output-format") && help.contains("sync.c1z"));
    assert!(ok(&["-v"]).contains(env!("CARGO_PKG_VERSION")));
}

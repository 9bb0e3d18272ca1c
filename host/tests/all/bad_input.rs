//! Every flag of `baton-notion` and `baton` with a wrong value, from each
//! source the binary reads it from (command line, `BATON_*` variable,
//! `.baton.yaml`): the run exits non-zero with a line on stderr that names
//! the flag, and no cause is printed twice.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use super::{server, sync_into, TOKEN};

/// A wrong value for one `baton-notion` flag.
struct Case {
    /// The flag's long name.
    flag: &'static str,
    /// The wrong value.
    bad: &'static str,
    /// Other flags the case needs, always on the command line.
    with: &'static [&'static str],
    /// The flag reads `BATON_<FLAG>`.
    env: bool,
    /// A boolean flag: on the command line as `--flag=value`.
    boolean: bool,
}

const fn case(flag: &'static str, bad: &'static str) -> Case {
    Case {
        flag,
        bad,
        with: &[],
        env: true,
        boolean: false,
    }
}

const fn boolean(flag: &'static str) -> Case {
    Case {
        boolean: true,
        ..case(flag, "maybe")
    }
}

/// A provisioning flag: no environment variable, needs `-p` and its partners.
const fn action(flag: &'static str, bad: &'static str, with: &'static [&'static str]) -> Case {
    Case {
        with,
        env: false,
        ..case(flag, bad)
    }
}

const GRANT: &[&str] = &[
    "-p",
    "--grant-principal",
    "u1",
    "--grant-principal-type",
    "user",
];
const PROFILE: &[&str] = &[
    "-p",
    "--create-account-profile",
    r#"{"first_name":"Ann","last_name":"Lee"}"#,
];

fn notion_cases() -> Vec<Case> {
    vec![
        case("file", "/nonexistent/dir/x.c1z"),
        case("log-level", "loud"),
        case("log-level", "LOUD"),
        case("log-format", "xml"),
        case("component", "/nonexistent/c.wasm"),
        case("http-timeout-seconds", "0"),
        case("call-timeout-seconds", "0"),
        case("call-timeout-seconds", "soon"),
        case("run-timeout-seconds", "0"),
        case("run-timeout-seconds", "1.5"),
        case("max-attempts", "0"),
        case("rate-limit", "fast"),
        case("rate-limit-burst", "0"),
        case("external-resource-c1z", "/nonexistent/e.c1z"),
        Case {
            with: &["--external-resource-c1z", "s.c1z"],
            ..case("external-resource-entitlement-id-filter", "nope")
        },
        boolean("provisioning"),
        action("grant-entitlement", "nope", GRANT),
        action(
            "grant-principal",
            "nope",
            &[
                "-p",
                "--grant-entitlement",
                "role:owner:assigned",
                "--grant-principal-type",
                "user",
            ],
        ),
        action(
            "grant-principal-type",
            "nope",
            &[
                "-p",
                "--grant-entitlement",
                "role:owner:assigned",
                "--grant-principal",
                "u1",
            ],
        ),
        action("revoke-grant", "nope", &["-p"]),
        action("create-account-login", "not-an-email", PROFILE),
        action("create-account-email", "not-an-email", PROFILE),
        action("create-account-profile", "[]", &["-p"]),
        action(
            "delete-resource",
            "",
            &["-p", "--delete-resource-type", "user"],
        ),
        action(
            "delete-resource-type",
            "nope",
            &["-p", "--delete-resource", "u1"],
        ),
        Case {
            with: &["--client-secret", "s"],
            ..case("client-id", "x")
        },
        Case {
            with: &["--client-id", "x"],
            ..case("client-secret", "s")
        },
        Case {
            boolean: true,
            ..case("ticketing", "true")
        },
        boolean("ticketing"),
        boolean("skip-full-sync"),
        case("otel-collector-endpoint", "ftp://collector"),
        boolean("otel-collector-endpoint-tls-insecure"),
        boolean("otel-tracing-disabled"),
        boolean("pass-secrets-to-component"),
        boolean("dry-run"),
        case("max-pages-per-listing", "0"),
        case("max-objects", "many"),
        case("max-database-size", "20GB"),
        case("max-database-size", "1KiB"),
        case("keep-sync-count", "0"),
        case("keep-sync-count", "two"),
        boolean("skip-cleanup"),
        boolean("fresh-history"),
        boolean("fresh-sync"),
        case("scim-token", ""),
        case("base-url", "ftp://example.com"),
    ]
}

/// `health-check` and `completion` read only their command line (and two variables).
const SUBCOMMAND_CASES: &[(&[&str], &str, Option<&str>)] = &[
    (&["health-check", "--endpoint", "bogus"], "--endpoint", None),
    (&["health-check", "--timeout", "x"], "--timeout", None),
    (
        &["health-check", "--health-check-port", "99999"],
        "--health-check-port",
        Some("BATON_HEALTH_CHECK_PORT"),
    ),
    (
        &["health-check", "--health-check-bind-address", ""],
        "--health-check-bind-address",
        Some("BATON_HEALTH_CHECK_BIND_ADDRESS"),
    ),
    (&["completion", "bogus"], "shell", None),
];

/// `baton-notion` in `dir`, with no inherited `BATON_*` variable.
fn notion(dir: &Path) -> Command {
    clean(Command::new(env!("CARGO_BIN_EXE_baton-notion")), dir)
}

fn clean(mut c: Command, dir: &Path) -> Command {
    c.current_dir(dir);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("BATON_") {
            c.env_remove(key);
        }
    }
    c
}

fn env_name(flag: &str) -> String {
    format!("BATON_{}", flag.to_uppercase().replace('-', "_"))
}

/// The message of each stderr line: JSON log lines give their `message`.
fn messages(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| match serde_json::from_str::<serde_json::Value>(l) {
            Ok(v) => v["message"].as_str().unwrap_or(l).to_string(),
            Err(_) => l.to_string(),
        })
        .collect()
}

/// Fails when a `: `-separated part of a line (a cause) comes twice.
fn assert_no_repeated_cause(what: &str, line: &str) {
    let mut seen = BTreeSet::new();
    for part in line.split(": ").map(str::trim).filter(|p| p.len() > 3) {
        assert!(seen.insert(part), "{what}: `{part}` is repeated in: {line}");
    }
}

/// Runs `c` and checks that it failed with a line naming `needle`.
fn assert_refused(what: &str, c: &mut Command, needle: &str) {
    let out = c.output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{what}: exit 0; stderr: {stderr}");
    let lines = messages(&stderr);
    assert!(
        lines.iter().any(|l| l.contains(needle)),
        "{what}: no line names {needle}: {stderr}"
    );
    for line in &lines {
        assert_no_repeated_cause(what, line);
    }
}

#[test]
fn every_baton_notion_flag_refuses_a_wrong_value_from_each_source() {
    let server = server(5, 1);
    let dir = tempfile::tempdir().unwrap();
    sync_into(&server, &dir.path().join("s.c1z")).expect("a synced file to resolve ids in");
    let base = [
        ("file", "s.c1z".to_string()),
        ("scim-token", TOKEN.to_string()),
        ("base-url", server.base_url()),
    ];
    let cases = notion_cases();
    for case in &cases {
        let needle = format!("--{}", case.flag);
        let base_args = || {
            base.iter()
                .filter(|(flag, _)| *flag != case.flag)
                .flat_map(|(flag, value)| [format!("--{flag}"), value.clone()])
                .chain(case.with.iter().map(|s| s.to_string()))
                .collect::<Vec<_>>()
        };
        let argv = if case.boolean {
            vec![format!("--{}={}", case.flag, case.bad)]
        } else {
            vec![needle.clone(), case.bad.to_string()]
        };
        let what = format!("{needle} {:?} on the command line", case.bad);
        assert_refused(
            &what,
            notion(dir.path()).args(base_args()).args(&argv),
            &needle,
        );
        // An empty variable counts as unset, which is no wrong value.
        if case.env && !case.bad.is_empty() {
            let var = env_name(case.flag);
            let what = format!("{var}={:?}", case.bad);
            let mut c = notion(dir.path());
            c.args(base_args()).env(&var, case.bad);
            assert_refused(&what, &mut c, &needle);
        }
        let config = dir.path().join(".baton.yaml");
        std::fs::write(&config, format!("{}: '{}'\n", case.flag, case.bad)).unwrap();
        let what = format!("`{}: {:?}` in .baton.yaml", case.flag, case.bad);
        assert_refused(&what, notion(dir.path()).args(base_args()), &needle);
        std::fs::remove_file(&config).unwrap();
    }

    // Every flag `--help` lists (and the hidden --base-url) has a case.
    let help = notion(dir.path()).arg("--help").output().unwrap();
    let listed = long_flags(&String::from_utf8_lossy(&help.stdout));
    let covered: BTreeSet<String> = cases.iter().map(|c| c.flag.to_string()).collect();
    for flag in &listed {
        assert!(
            covered.contains(flag) || flag == "help" || flag == "version",
            "--{flag} has no wrong-value case"
        );
    }
    assert!(covered.contains("base-url"));
}

#[test]
fn subcommand_flags_refuse_wrong_values() {
    let dir = tempfile::tempdir().unwrap();
    for (args, needle, env) in SUBCOMMAND_CASES {
        let what = format!("{args:?}");
        assert_refused(&what, notion(dir.path()).args(*args), needle);
        if let (Some(var), Some(value)) = (env, args.last().filter(|v| !v.is_empty())) {
            let what = format!("{var}={value}");
            assert_refused(
                &what,
                notion(dir.path()).arg("health-check").env(var, value),
                needle,
            );
        }
    }
    let help = notion(dir.path())
        .args(["health-check", "--help"])
        .output()
        .unwrap();
    for flag in long_flags(&String::from_utf8_lossy(&help.stdout)) {
        assert!(
            flag == "help"
                || SUBCOMMAND_CASES
                    .iter()
                    .any(|(_, needle, _)| *needle == format!("--{flag}")),
            "health-check --{flag} has no wrong-value case"
        );
    }
}

/// `baton` reads only its command line, as Baton's Go `baton` does.
#[test]
fn every_baton_flag_refuses_a_wrong_value() {
    let server = server(5, 1);
    let dir = tempfile::tempdir().unwrap();
    sync_into(&server, &dir.path().join("s.c1z")).unwrap();
    std::fs::write(dir.path().join("junk.c1z"), "not a c1z").unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["-f", "missing.c1z", "resources"], "--file"),
        (&["-f", "junk.c1z", "resources"], "--file"),
        (
            &["-f", "s.c1z", "-o", "xml", "resources"],
            "--output-format",
        ),
        (&["-f", "s.c1z", "--sync-id", "nope", "grants"], "--sync-id"),
        (
            &["-f", "s.c1z", "resources", "--sync-id", "nope"],
            "--sync-id",
        ),
        (&["-f", "s.c1z", "stats", "--sync-id", "nope"], "--sync-id"),
        (
            &["-f", "s.c1z", "diff", "--base-sync-id", "nope"],
            "--base-sync-id",
        ),
        (
            &["-f", "s.c1z", "diff", "--applied-sync-id", "nope"],
            "--applied-sync-id",
        ),
        (
            &["-f", "s.c1z", "diff", "--base-file", "missing.c1z"],
            "--base-file",
        ),
        (
            &[
                "-f",
                "s.c1z",
                "principals",
                "compare",
                "-e",
                "nope",
                "--compare-entitlement",
                "role:owner:assigned",
            ],
            "--entitlement",
        ),
        (
            &[
                "-f",
                "s.c1z",
                "principals",
                "compare",
                "-e",
                "role:owner:assigned",
                "--compare-entitlement",
                "nope",
            ],
            "--compare-entitlement",
        ),
        (
            &[
                "-f",
                "s.c1z",
                "principals",
                "compare",
                "-e",
                "role:owner:assigned",
                "--compare-entitlement",
                "role:member:assigned",
                "--compare-file",
                "missing.c1z",
            ],
            "--compare-file",
        ),
        (
            &["-f", "s.c1z", "entitlements", "-r", "x"],
            "--resource-type",
        ),
    ];
    let baton = || clean(Command::new(env!("CARGO_BIN_EXE_baton")), dir.path());
    for (args, needle) in cases {
        assert_refused(&format!("baton {args:?}"), baton().args(*args), needle);
    }
    // Filters are not wrong when they match nothing: Go's baton prints an
    // empty table, and so do we.
    for args in [
        &["-f", "s.c1z", "resources", "-t", "nope"][..],
        &["-f", "s.c1z", "grants", "-e", "nope"],
        &["-f", "s.c1z", "grants", "-t", "nope", "-r", "nope"],
        &["-f", "s.c1z", "entitlements", "-t", "nope", "-r", "nope"],
        &["-f", "s.c1z", "principals", "-e", "nope"],
    ] {
        let out = baton().args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).lines().count(),
            2,
            "{args:?}"
        );
    }
}

/// The `--long` flags a help text lists.
fn long_flags(help: &str) -> BTreeSet<String> {
    help.split(|c: char| c.is_whitespace() || c == ',')
        .filter_map(|w| w.strip_prefix("--"))
        .map(|w| {
            w.trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
                .to_string()
        })
        .filter(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
        .collect()
}

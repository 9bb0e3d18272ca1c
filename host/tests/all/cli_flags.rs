//! `baton-notion`'s Baton-compatible surface: subcommands, flags, environment
//! variables, the config file and flag constraints.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use super::{server, TOKEN};

/// `baton-notion` with a clean Baton environment (no inherited BATON_*).
fn cmd(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_baton-notion"));
    c.current_dir(dir);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("BATON_") {
            c.env_remove(key);
        }
    }
    c
}

fn run(c: &mut Command) -> (Output, String, String) {
    let out = c.output().expect("baton-notion runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    (out, stdout, stderr)
}

fn snapshot(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name)
}

/// Compares with a committed snapshot; `BATON_UPDATE_SNAPSHOTS=1` rewrites it.
fn assert_snapshot(name: &str, actual: &str) {
    let path = snapshot(name);
    if std::env::var_os("BATON_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(actual, expected, "differs from {}", path.display());
}

#[test]
fn capabilities_and_config_match_their_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["capabilities", "config"] {
        let (out, stdout, stderr) = run(cmd(dir.path()).arg(sub));
        assert!(out.status.success(), "{sub}: {stderr}");
        let parsed: Value = serde_json::from_str(&stdout).expect("protojson");
        assert_snapshot(&format!("{sub}.json"), &stdout);
        if sub == "capabilities" {
            assert_eq!(
                parsed["@type"],
                "type.googleapis.com/c1.connector.v2.ConnectorCapabilities"
            );
        } else {
            let names: Vec<_> = parsed["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["name"].clone())
                .collect();
            assert!(names.contains(&Value::from("scim-token")));
            assert!(
                !names.contains(&Value::from("base-url")),
                "CLI-only fields are left out"
            );
        }
    }
}

#[test]
fn help_matches_its_snapshot_and_lists_baton_flags() {
    let dir = tempfile::tempdir().unwrap();
    let (out, stdout, _) = run(cmd(dir.path()).arg("--help"));
    assert!(out.status.success());
    assert_snapshot("baton-notion-help.txt", &stdout);
    for flag in [
        "--client-id",
        "--client-secret",
        "--external-resource-c1z",
        "--external-resource-entitlement-id-filter",
        "--file",
        "--log-format",
        "--log-level",
        "--otel-collector-endpoint",
        "--provisioning",
        "--scim-token",
        "--skip-full-sync",
        "--ticketing",
        "--version",
    ] {
        assert!(stdout.contains(flag), "--help lists {flag}");
    }
    assert!(!stdout.contains("--base-url"), "hidden flags stay hidden");
}

#[test]
fn version_names_host_component_and_contract() {
    let dir = tempfile::tempdir().unwrap();
    let (out, stdout, _) = run(cmd(dir.path()).arg("-v"));
    assert!(out.status.success());
    assert!(stdout.contains("component baton-notion"), "{stdout}");
    assert!(
        stdout.contains("contract baton:connector@0.2.0"),
        "{stdout}"
    );
}

#[test]
fn completion_scripts_are_generated_for_each_shell() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let (out, stdout, stderr) = run(cmd(dir.path()).args(["completion", shell]));
        assert!(out.status.success(), "{shell}: {stderr}");
        assert!(
            stdout.contains("scim-token"),
            "{shell} completion knows the connector flags"
        );
    }
    let (out, _, stderr) = run(cmd(dir.path()).args(["completion", "tcsh"]));
    assert!(!out.status.success());
    assert!(stderr.contains("tcsh"), "{stderr}");
}

#[test]
fn environment_and_config_file_supply_values_with_flag_precedence() {
    let server = server(12, 2);
    let dir = tempfile::tempdir().unwrap();
    // The token and base URL come from the config file, the file name from the environment.
    let config = dir.path().join("conf.yaml");
    std::fs::write(
        &config,
        format!(
            "scim-token: {TOKEN}\nbase-url: \"{}\"\nfile: from-config.c1z\nlog-format: json\n",
            server.base_url()
        ),
    )
    .unwrap();
    let (out, _, stderr) = run(cmd(dir.path())
        .env("BATON_CONFIG_PATH", &config)
        .env("BATON_FILE", "from-env.c1z"));
    assert!(out.status.success(), "{stderr}");
    assert!(
        dir.path().join("from-env.c1z").is_file(),
        "the environment beats the config file"
    );
    assert!(!dir.path().join("from-config.c1z").exists());
    assert!(!stderr.contains(TOKEN));

    let (out, _, stderr) = run(cmd(dir.path())
        .env("BATON_CONFIG_PATH", &config)
        .env("BATON_FILE", "from-env.c1z")
        .args(["-f", "from-flag.c1z"]));
    assert!(out.status.success(), "{stderr}");
    assert!(
        dir.path().join("from-flag.c1z").is_file(),
        "the flag beats the environment"
    );

    // ./.baton.yaml is read by default.
    std::fs::write(
        dir.path().join(".baton.yaml"),
        std::fs::read_to_string(&config).unwrap(),
    )
    .unwrap();
    let (out, _, stderr) = run(&mut cmd(dir.path()));
    assert!(out.status.success(), "{stderr}");
    assert!(dir.path().join("from-config.c1z").is_file());
}

#[test]
fn a_bad_config_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("conf.yaml");
    std::fs::write(&config, "scim-tokn: x\n").unwrap();
    let (out, _, stderr) = run(cmd(dir.path()).env("BATON_CONFIG_PATH", &config));
    assert!(!out.status.success());
    assert!(stderr.contains("`scim-tokn` is not a flag"), "{stderr}");
    let (out, _, stderr) =
        run(cmd(dir.path()).env("BATON_CONFIG_PATH", dir.path().join("conf.json")));
    assert!(!out.status.success());
    assert!(stderr.contains(".yaml or .yml"), "{stderr}");
}

#[test]
fn flag_constraints_are_enforced_with_clear_messages() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["--client-id", "x"], "--client-secret"),
        (
            &["--client-id", "x", "--client-secret", "y"],
            "service mode",
        ),
        (&["--ticketing"], "Notion has no ticketing"),
        (
            &["-p", "--grant-entitlement", "role:owner:assigned"],
            "--grant-principal",
        ),
        (
            &[
                "-p",
                "--revoke-grant",
                "g",
                "--delete-resource",
                "d",
                "--delete-resource-type",
                "user",
            ],
            "cannot be used with",
        ),
        (&["--delete-resource", "d"], "--delete-resource-type"),
        (
            &["--external-resource-entitlement-id-filter", "e"],
            "--external-resource-c1z",
        ),
        (&["--log-format", "yaml"], "yaml"),
        (&["--http-timeout-seconds", "0"], "0"),
    ];
    for (args, needle) in cases {
        let (out, _, stderr) = run(cmd(dir.path())
            .env("BATON_SCIM_TOKEN", TOKEN)
            .env("BATON_LOG_FORMAT", "console")
            .args(*args));
        assert!(!out.status.success(), "{args:?} must fail");
        assert!(
            stderr.contains(needle),
            "{args:?}: `{needle}` not in {stderr}"
        );
        assert_eq!(
            stderr.trim().lines().count(),
            1,
            "{args:?}: one line: {stderr}"
        );
        assert!(!stderr.contains(TOKEN));
    }
}

#[test]
fn skip_full_sync_only_validates() {
    let server = server(5, 1);
    let dir = tempfile::tempdir().unwrap();
    let (out, _, stderr) = run(cmd(dir.path()).env("BATON_SCIM_TOKEN", TOKEN).args([
        "--base-url",
        &server.base_url(),
        "--skip-full-sync",
        "--log-format",
        "json",
    ]));
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("no sync was run"), "{stderr}");
    assert_eq!(server.request_count(), 1, "only the validation request");
    assert!(!dir.path().join("sync.c1z").exists());
}

//! The `baton-notion` and `baton` binaries, run as a user would.

use std::path::Path;
use std::process::{Command, Output};

use super::{server, TOKEN};

fn baton_notion(args: &[&str], token: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_baton-notion"));
    cmd.args(args)
        .env_remove("BATON_SCIM_TOKEN")
        .env_remove("BATON_BASE_URL");
    if let Some(token) = token {
        cmd.env("BATON_SCIM_TOKEN", token);
    }
    cmd.output().expect("baton-notion runs")
}

/// A sync of the server at `base_url` into `file`, with JSON logs.
fn sync_to(base_url: &str, file: &Path, token: &str) -> Output {
    let file = file.to_str().unwrap();
    let args = ["--base-url", base_url, "-f", file, "--log-format", "json"];
    baton_notion(&args, Some(token))
}

fn stderr_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// A failed run prints exactly one line, without a panic or the token.
fn assert_one_clear_error(out: &Output, needle: &str, secret: &str) {
    assert!(!out.status.success(), "exit status {:?}", out.status);
    let lines = stderr_lines(out);
    assert_eq!(lines.len(), 1, "one line on stderr, got {lines:#?}");
    assert!(
        lines[0].contains(needle),
        "`{needle}` not in {:?}",
        lines[0]
    );
    assert!(!lines[0].contains("panicked"), "{:?}", lines[0]);
    assert!(
        !secret.is_empty() && !lines[0].contains(secret),
        "the token leaked: {:?}",
        lines[0]
    );
}

#[test]
fn sync_then_list_with_baton() {
    let server = server(30, 2);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.c1z");
    let file = file.to_str().unwrap();
    let out = sync_to(&server.base_url(), Path::new(file), TOKEN);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains(TOKEN), "the token leaked into the logs");
    assert!(stderr.contains("sync finished"), "{stderr}");

    let listing = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["resources", "-f", file])
        .output()
        .unwrap();
    assert!(
        listing.status.success(),
        "{}",
        String::from_utf8_lossy(&listing.stderr)
    );
    let stdout = String::from_utf8_lossy(&listing.stdout);
    assert!(stdout.starts_with("ID "), "{stdout}");
    let first_user = &server.users()[0];
    assert!(
        stdout.contains(first_user["id"].as_str().unwrap()),
        "{stdout}"
    );
    assert!(
        stdout.contains("Owner"),
        "the role resources are listed: {stdout}"
    );
    // Header, 30 users, 2 groups, 4 roles (Baton's table ends with a blank line).
    let rows = stdout.lines().filter(|l| !l.trim().is_empty()).count();
    assert_eq!(rows, 1 + 30 + 2 + 4, "{stdout}");
    assert!(!std::fs::read(file)
        .unwrap()
        .windows(TOKEN.len())
        .any(|w| w == TOKEN.as_bytes()));
}

#[test]
fn a_sync_that_saw_duplicates_says_so_in_its_summary() {
    let server = server(120, 1);
    // The second page of users starts with the last user of the first.
    server.enable_anomaly(notion_scim_test_server::Anomaly::DuplicateAcrossPages);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.c1z");
    let out = sync_to(&server.base_url(), &file, TOKEN);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON log lines"))
        .collect();
    let line = |message: &str| {
        lines
            .iter()
            .find(|l| l["message"].as_str().unwrap_or("").contains(message))
            .unwrap_or_else(|| panic!("no `{message}` line in {stderr}"))
    };
    // One user and its role grant came twice.
    assert_eq!(line("sync finished")["duplicates"], 2);
    assert_eq!(line("sync finished")["resources"], 120 + 1 + 4);
    let warning = line("objects more than once");
    assert_eq!(warning["level"], "WARN");
    assert_eq!(warning["duplicates"], 2);
}

#[test]
fn a_missing_token_is_one_clear_line() {
    let out = baton_notion(&["--base-url", "http://127.0.0.1:9/scim/v2"], None);
    assert_one_clear_error(&out, "--scim-token", "unused-secret");
}

#[test]
fn a_rejected_token_is_one_clear_line_without_the_token() {
    let server = server(3, 1);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.c1z");
    let wrong = "wrong-secret-value-123";
    let out = sync_to(&server.base_url(), &file, wrong);
    assert_one_clear_error(&out, "rejected", wrong);
    assert!(!file.exists(), "no c1z is written when validation fails");
}

#[test]
fn a_malformed_or_insecure_url_is_refused_before_any_request() {
    let out = baton_notion(&["--base-url", "not a url"], Some(TOKEN));
    assert_one_clear_error(&out, "--base-url", TOKEN);
    let out = baton_notion(&["--base-url", "http://example.com/scim/v2"], Some(TOKEN));
    assert_one_clear_error(&out, "plain http", TOKEN);
}

#[test]
fn an_unreachable_server_is_one_clear_line() {
    // Bind and drop a listener to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/scim/v2");
    // One attempt: with retries each one adds a warning line before the error.
    let args = [
        "--base-url",
        &url,
        "--log-format",
        "json",
        "--max-attempts",
        "1",
    ];
    let out = baton_notion(&args, Some(TOKEN));
    assert_one_clear_error(&out, "validate", TOKEN);
}

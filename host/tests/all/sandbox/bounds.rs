//! Bounds on what a run may produce: pages per listing, objects per sync and
//! the size of the database being written. A component that pages forever
//! is stopped within seconds at the defaults scaled down, with the limit
//! named, and the previous c1z untouched.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use baton_host::runtime::{Limit, RunPolicy};
use baton_host::sync::SyncError;

use super::scene::{fixture_dir, hostile, policy, Scene};

/// Runs `mode` under the scene's policy with `bounds` applied, checks that it
/// stopped at `limit` within a few seconds with `message`, and returns the error.
fn assert_stopped(
    mode: &str,
    bounds: impl FnOnce(RunPolicy) -> RunPolicy,
    limit: Limit,
    message: &str,
) -> SyncError {
    let scene = Scene::new();
    // Compiled before the clock starts: the first test to load it pays for that.
    hostile();
    let started = Instant::now();
    let err = scene.attack(mode, bounds(policy(&scene.server)), "");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert_eq!(err.to_string(), message);
    match &err {
        SyncError::Limit { limit: got, .. } => assert_eq!(got, &limit),
        other => panic!("not a limit error: {other:?}"),
    }
    scene.assert_survived();
    err
}

#[test]
fn a_listing_that_never_ends_is_stopped_at_the_page_limit() {
    let err = assert_stopped(
        "endless-tokens",
        // The default of 100,000, scaled down a hundredfold.
        |p| RunPolicy {
            max_pages_per_listing: 1000,
            ..p
        },
        Limit::PagesPerListing { pages: 1000 },
        "the connector listed more than 1000 pages of resource type thing \
         (--max-pages-per-listing)",
    );
    assert!(
        matches!(&err, SyncError::Limit { listing: Some(l), .. } if l == "resource type thing"),
        "{err:?}"
    );
}

#[test]
fn a_component_that_returns_objects_forever_is_stopped_at_the_object_limit() {
    assert_stopped(
        "endless-things",
        // The default of 50 million, scaled down.
        |p| RunPolicy {
            max_objects: 500,
            ..p
        },
        Limit::Objects { objects: 500 },
        "the connector returned more than 500 objects in this sync (--max-objects)",
    );
}

#[test]
fn a_database_that_would_outgrow_its_limit_is_stopped_by_sqlite() {
    assert_stopped(
        "endless-things",
        // The default of 20 GiB, scaled down to the least the CLI accepts.
        |p| RunPolicy {
            max_database_bytes: 1 << 20,
            ..p
        },
        Limit::DatabaseSize { bytes: 1 << 20 },
        "the c1z being written reached its database size limit of 1 MiB \
         (--max-database-size)",
    );
}

/// Runs `baton-notion` with the hostile component in `mode` into `file`.
fn hostile_cli(mode: &str, file: &Path, flags: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_baton-notion"))
        .arg("--component")
        .arg(fixture_dir().join("baton_hostile_connector.wasm"))
        .args(["--mode", mode, "--base-url", "http://127.0.0.1:9"])
        .arg("-f")
        .arg(file)
        .args(["--log-level", "error"])
        .args(flags)
        .env_remove("BATON_MAX_PAGES_PER_LISTING")
        .output()
        .expect("baton-notion runs")
}

#[test]
fn the_cli_names_the_limit_and_its_flag_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sync.c1z");
    std::fs::write(&file, b"the previous sync").unwrap();
    let out = hostile_cli(
        "endless-tokens",
        &file,
        // The placeholder is no c1z: --fresh-history lets the sync start (and stop at the
        // limit) instead of refusing to replace a file whose history it cannot keep.
        &[
            "--max-pages-per-listing",
            "1000",
            "--log-format",
            "console",
            "--fresh-history",
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].ends_with(&format!(
            "sync failed; {} was not changed: the connector listed more than 1000 pages of \
             resource type thing (--max-pages-per-listing)",
            file.display()
        )),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"the previous sync");
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "a temp file was left behind: {names:?}");
}

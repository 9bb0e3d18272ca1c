//! Shared plumbing of the property tests (`prop_*`), which stand in for
//! cargo-fuzz: cargo-fuzz needs a nightly toolchain, this project builds on
//! stable only, and proptest runs inside `cargo test`.
//!
//! Every target first runs its committed seed corpus (`tests/corpus/...`)
//! as fixed cases, then `PROPTEST_CASES` generated ones (a small default so
//! that `cargo test` stays fast; see the README for a long run).

use std::fmt::Debug;
use std::path::PathBuf;

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, TestRunner};

/// Generated cases per target: `PROPTEST_CASES`, else `default`.
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// Runs `check` on `cases(default)` values of `strategy`; a failure panics
/// with the shrunk input.
pub fn run<S: Strategy>(default: u32, strategy: S, check: impl Fn(S::Value))
where
    S::Value: Debug,
{
    let config = Config {
        cases: cases(default),
        // Failures are reported with their input; no regression files are written.
        failure_persistence: None,
        ..Config::default()
    };
    let result = TestRunner::new(config).run(&strategy, |value| {
        check(value);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// The files of `tests/corpus/<dir>`, sorted by name, with their bytes.
pub fn corpus(dir: &str) -> Vec<(String, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(dir);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no seed", root.display());
    files
}

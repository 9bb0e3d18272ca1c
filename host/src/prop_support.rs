//! Running the host's property tests (`prop_*`) on stable Rust.

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, TestRunner};

/// Runs `check` on `PROPTEST_CASES` (else `default`) values of `strategy`;
/// a failure panics with the shrunk input. No regression files are written:
/// failing inputs go into the committed corpora by hand.
pub(crate) fn run<S: Strategy>(default: u32, strategy: S, check: impl Fn(&S::Value))
where
    S::Value: std::fmt::Debug,
{
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok());
    let config = Config {
        cases: cases.unwrap_or(default),
        failure_persistence: None,
        ..Config::default()
    };
    let result = TestRunner::new(config).run(&strategy, |v| {
        check(&v);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

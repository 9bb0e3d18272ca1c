//! The wall-clock limits hold to the real clock: a spinning guest is stopped
//! within 2% of its call or run limit, also while other threads keep every
//! core busy (epoch ticks then come late, so counting them is not enough).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use baton_host::runtime::{Limit, RunPolicy, RuntimeError};

use super::scene::{config, hostile, hostile_cli};

/// The limit under test: long enough for 2% (40 ms) to be several ticks.
const LIMIT: Duration = Duration::from_secs(2);

/// Allowed lateness on top of 2% of the limit: one epoch tick (10 ms) plus
/// the scheduler's delay in waking the ticker thread and the guest thread on
/// a machine whose cores are all busy.
const SCHEDULING: Duration = Duration::from_millis(30);

/// Threads that keep every core busy until dropped.
struct Load {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Load {
    /// Two busy threads per core, so that the ticker and the guest thread
    /// compete for every core.
    fn start() -> Load {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..2 * cores)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        n = std::hint::black_box(n.wrapping_add(1));
                    }
                })
            })
            .collect();
        Load { stop, threads }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// Instantiates the hostile component in `spin` mode under `policy` and runs
/// `list-resources`; the error and the time from just before instantiation
/// (when the run clock starts) and from just before the call.
fn spin(policy: RunPolicy) -> (RuntimeError, Duration, Duration) {
    let component = hostile();
    let run_started = Instant::now();
    let mut instance = component.instantiate(policy).expect("instantiates");
    let metadata = instance.metadata().expect("metadata");
    instance
        .configure(&metadata, &config(&[("mode", "spin")]))
        .expect("configure");
    let call_started = Instant::now();
    let err = instance
        .list_resources("thing", None, "")
        .expect_err("the spin ends only at a limit");
    (err, run_started.elapsed(), call_started.elapsed())
}

/// Asserts that `took` is at least `LIMIT` and at most 2% plus [`SCHEDULING`] more.
fn assert_on_time(took: Duration, what: &str) {
    let latest = LIMIT + LIMIT / 50 + SCHEDULING;
    eprintln!("{what}: stopped after {took:?} (limit {LIMIT:?}, latest {latest:?})");
    assert!(took >= LIMIT, "{what}: stopped early, after {took:?}");
    assert!(
        took <= latest,
        "{what}: stopped after {took:?}, later than {latest:?}"
    );
}

fn assert_call_limit(err: &RuntimeError) {
    assert!(
        matches!(err, RuntimeError::Limit { call: "list-resources", limit: Limit::CallTime { limit } } if *limit == LIMIT),
        "{err:?}"
    );
}

fn assert_run_limit(err: &RuntimeError) {
    assert!(
        matches!(err, RuntimeError::Limit { call: "list-resources", limit: Limit::RunTime { limit } } if *limit == LIMIT),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "the connector exceeded its time limit of 2 s per run in `list-resources`"
    );
}

fn call_policy() -> RunPolicy {
    RunPolicy {
        call_timeout: LIMIT,
        run_timeout: Duration::from_secs(600),
        ..Default::default()
    }
}

fn run_policy() -> RunPolicy {
    RunPolicy {
        call_timeout: Duration::from_secs(600),
        run_timeout: LIMIT,
        ..Default::default()
    }
}

#[test]
fn a_spinning_guest_is_stopped_within_2_percent_of_the_call_limit() {
    let (err, _, took) = spin(call_policy());
    assert_call_limit(&err);
    assert_on_time(took, "call limit");
}

#[test]
fn a_spinning_guest_is_stopped_within_2_percent_of_the_call_limit_on_a_loaded_machine() {
    hostile();
    let load = Load::start();
    let (err, _, took) = spin(call_policy());
    drop(load);
    assert_call_limit(&err);
    assert_on_time(took, "call limit, loaded");
}

#[test]
fn a_spinning_guest_is_stopped_within_2_percent_of_the_run_limit() {
    let (err, took, _) = spin(run_policy());
    assert_run_limit(&err);
    assert_on_time(took, "run limit");
}

#[test]
fn a_spinning_guest_is_stopped_within_2_percent_of_the_run_limit_on_a_loaded_machine() {
    hostile();
    let load = Load::start();
    let (err, took, _) = spin(run_policy());
    drop(load);
    assert_run_limit(&err);
    assert_on_time(took, "run limit, loaded");
}

/// `--call-timeout-seconds` and `BATON_RUN_TIMEOUT_SECONDS` set the limits of
/// a CLI run; the error line names the limit that stopped the spin.
#[test]
fn the_cli_sets_both_limits_from_flags_and_environment() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            hostile_cli(dir.path())
                .args(["--mode", "spin", "--call-timeout-seconds", "1"])
                .output(),
            "its time limit of 1 s per call",
        ),
        (
            hostile_cli(dir.path())
                .args(["--mode", "spin"])
                .env("BATON_RUN_TIMEOUT_SECONDS", "1")
                .output(),
            "its time limit of 1 s per run",
        ),
        (
            hostile_cli(dir.path())
                .args(["--mode", "spin", "--call-timeout-seconds", "1"])
                .args(["--run-timeout-seconds", "600"])
                .output(),
            "its time limit of 1 s per call",
        ),
    ];
    for (out, limit) in cases {
        let out = out.unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        let error = format!(
            "sync failed; sync.c1z was not changed: the connector exceeded {limit} \
             in `list-resources`"
        );
        assert!(
            stderr.lines().any(|l| l.ends_with(&error)),
            "{error}\nnot in:\n{stderr}"
        );
    }
}

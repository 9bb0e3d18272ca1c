//! A crashing guest is reported on one line, by export and cause; the wasm
//! backtrace goes to the log at debug level.

use std::io::Write;
use std::sync::{Arc, Mutex};

use baton_host::runtime::{RuntimeError, TrapCause};

use super::scene::{hostile_cli, policy, runtime, Scene};

/// A log sink that the test reads back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

/// Runs `f` with a debug-level log on this thread (the sync calls the guest
/// on the calling thread); returns its result and what was logged.
fn with_debug_log<T>(f: impl FnOnce() -> T) -> (T, String) {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(captured.clone())
        .finish();
    let out = tracing::subscriber::with_default(subscriber, f);
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    (out, log)
}

/// Runs the `mode` attack with a debug log; the trap's cause, its one-line
/// message, and the log.
fn crash(scene: &Scene, mode: &str) -> (TrapCause, String, String) {
    let (err, log) = with_debug_log(|| scene.attack(mode, policy(&scene.server), ""));
    let err = runtime(err);
    let message = err.to_string();
    let RuntimeError::Trap { call, cause } = err else {
        panic!("not a trap: {err:?}");
    };
    assert_eq!(call, "list-resources");
    assert!(!message.contains('\n'), "not one line: {message}");
    (cause, message, log)
}

/// The log has the wasm backtrace, down to the hostile component's `list`.
fn assert_backtrace_logged(log: &str) {
    assert!(log.contains("DEBUG"), "{log}");
    assert!(log.contains("wasm backtrace"), "{log}");
    assert!(
        log.contains("baton_hostile_connector::modes::list"),
        "{log}"
    );
}

#[test]
fn a_panic_is_reported_on_one_line_with_its_message() {
    let scene = Scene::new();
    let (cause, message, log) = crash(&scene, "panic");
    let TrapCause::Panic {
        location: Some(location),
        message: panic,
    } = &cause
    else {
        panic!("not a panic with a location: {cause:?}");
    };
    assert_eq!(panic, "hostile connector panicked on page 2");
    assert!(
        location.starts_with("test-components/hostile/src/modes.rs:"),
        "{location}"
    );
    assert_eq!(
        message,
        format!(
            "the connector crashed in `list-resources`: panicked at {location}: \
             hostile connector panicked on page 2"
        )
    );
    assert_backtrace_logged(&log);
    // What the guest printed is in the log too, with the note Rust adds.
    assert!(log.contains("RUST_BACKTRACE"), "{log}");
    scene.assert_survived();
}

#[test]
fn a_stack_overflow_is_reported_on_one_line() {
    let scene = Scene::new();
    let (cause, message, log) = crash(&scene, "stack-overflow");
    assert_eq!(cause, TrapCause::StackOverflow);
    assert_eq!(
        message,
        "the connector crashed in `list-resources`: stack overflow"
    );
    assert!(
        log.contains("baton_hostile_connector::modes::recurse"),
        "{log}"
    );
    scene.assert_survived();
}

/// What a user of the CLI sees: one error line naming the export and the
/// cause, and the backtrace only with `--log-level debug`.
#[test]
fn the_cli_prints_a_crash_on_one_line_and_the_backtrace_only_at_debug_level() {
    let dir = tempfile::tempdir().unwrap();
    let out = hostile_cli(dir.path())
        .args(["--mode", "stack-overflow"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("ERROR")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].ends_with(
            "sync failed; sync.c1z was not changed: \
             the connector crashed in `list-resources`: stack overflow"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("backtrace"), "{stderr}");
    assert!(!stderr.contains(".wasm!"), "{stderr}");

    let out = hostile_cli(dir.path())
        .args(["--mode", "stack-overflow", "--log-level", "debug"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("DEBUG"), "{stderr}");
    assert!(
        stderr.contains("wasm backtrace of `list-resources`:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("baton_hostile_connector.wasm!baton_hostile_connector::modes::recurse"),
        "{stderr}"
    );
}

#[test]
fn a_component_that_floods_its_stderr_keeps_working_and_its_panic_is_named() {
    use super::scene::{config, hostile, policy, Scene};
    let scene = Scene::new();
    let base_url = scene.server.base_url();
    // Time enough for a debug build to print 4,096 lines.
    let policy = || baton_host::runtime::RunPolicy {
        call_timeout: std::time::Duration::from_secs(30),
        ..policy(&scene.server)
    };
    let mut instance = hostile().instantiate(policy()).unwrap();
    let metadata = instance.metadata().unwrap();
    instance
        .configure(
            &metadata,
            &config(&[("mode", "chatty"), ("base-url", &base_url)]),
        )
        .unwrap();
    let page = instance
        .list_resources("thing", None, "")
        .expect("256 KiB of stderr is no crash");
    assert_eq!(page.resources.len(), 1);

    let mut instance = hostile().instantiate(policy()).unwrap();
    instance
        .configure(
            &metadata,
            &config(&[("mode", "chatty-panic"), ("base-url", &base_url)]),
        )
        .unwrap();
    let err = instance.list_resources("thing", None, "").unwrap_err();
    assert!(
        err.to_string()
            .contains("chatty connector gave up after the noise"),
        "{err}"
    );
}

//! A crashing guest is reported on one line, by export and cause; the wasm
//! backtrace goes to the log at debug level.

use std::io::Write;
use std::sync::{Arc, Mutex};

use baton_host::runtime::{RuntimeError, TrapCause};
use baton_host::sync::SyncError;

use super::scene::{policy, runtime, Scene};

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

/// Without a debug log, nothing of the backtrace is printed anywhere: the
/// error is all there is.
#[test]
fn a_crash_outside_a_debug_log_leaves_only_the_error() {
    let scene = Scene::new();
    let err = scene.attack("stack-overflow", policy(&scene.server), "");
    assert!(matches!(
        &err,
        SyncError::Runtime(RuntimeError::Trap {
            cause: TrapCause::StackOverflow,
            ..
        })
    ));
    assert_eq!(
        format!("{:#}", anyhow::Error::new(err)),
        "the connector crashed in `list-resources`: stack overflow"
    );
}

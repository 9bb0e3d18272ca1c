//! Errors of loading and calling a component. Traps (the guest broke) are
//! kept apart from connector errors (the guest reported a failure).

use std::fmt;

use wasmtime::{Trap, WasmBacktrace};

use super::limits::{Breach, Limit, LimitTrap, Time};
use super::state::HostState;
use crate::bindings::types::{self as wit, ErrorKind};
use crate::redact::Redactor;

/// A failure reported by the connector itself, with secrets redacted.
#[derive(Debug, Clone)]
pub struct ConnectorError {
    /// The classification the connector gave.
    pub kind: ErrorKind,
    /// The connector's message.
    pub message: String,
    /// How long the upstream asked us to wait, if it said.
    pub retry_after_ms: Option<u64>,
}

impl ConnectorError {
    pub(crate) fn from_wit(e: wit::ConnectorError, redactor: &Redactor) -> ConnectorError {
        ConnectorError {
            kind: e.kind,
            message: redactor.redact(&e.message),
            retry_after_ms: e.retry_after_ms,
        }
    }
}

impl fmt::Display for ConnectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            ErrorKind::InvalidArgument => "invalid argument",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::PermissionDenied => "permission denied",
            ErrorKind::NotFound => "not found",
            ErrorKind::AlreadyExists => "already exists",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::DeadlineExceeded => "deadline exceeded",
            ErrorKind::BadResponse => "bad response",
            ErrorKind::FailedPrecondition => "failed precondition",
            ErrorKind::Internal => "internal error",
        };
        write!(f, "{kind}: {}", self.message)?;
        // Said when the host gave up although the server named a time: the
        // wait was longer than the host allows or than the call had left.
        if let Some(ms) = self.retry_after_ms {
            let wait = Time(std::time::Duration::from_millis(ms));
            write!(f, " (the server asked to retry after {wait})")?;
        }
        Ok(())
    }
}

/// What made a guest crash, as far as the host can tell: the cause part of
/// [`RuntimeError::Trap`], one line without the wasm backtrace.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrapCause {
    /// The guest panicked. A Rust guest prints the panic to its stderr,
    /// which the host captures, and then aborts with `unreachable`.
    Panic {
        /// Where, as the guest printed it (`src/lib.rs:10:5`), if it did.
        location: Option<String>,
        /// The panic message, on one line, secrets redacted.
        message: String,
    },
    /// The guest's call stack ran out (unbounded recursion, for instance).
    StackOverflow,
    /// The guest read or wrote outside its linear memory.
    MemoryOutOfBounds,
    /// The guest executed `unreachable` without printing a panic first: an
    /// abort, or a broken guest.
    Unreachable,
    /// Another trap, or an error of a host function that ended the call,
    /// as wasmtime describes it.
    Other(String),
}

/// The longest panic message kept in a [`TrapCause`], in characters: the
/// error is one line, and a guest decides what it panics with.
const PANIC_MESSAGE_CHARS: usize = 500;

impl TrapCause {
    /// Classifies `e` by the trap wasmtime raised (not by its text). A panic
    /// is told by the last `panicked at` the guest wrote to `stderr`
    /// (already redacted) before its `unreachable`.
    fn of(e: &wasmtime::Error, stderr: &str, redactor: &Redactor) -> TrapCause {
        match e.downcast_ref::<Trap>() {
            Some(Trap::UnreachableCodeReached) => {
                TrapCause::panic_in(stderr).unwrap_or(TrapCause::Unreachable)
            }
            Some(Trap::StackOverflow) => TrapCause::StackOverflow,
            Some(Trap::MemoryOutOfBounds) => TrapCause::MemoryOutOfBounds,
            Some(trap) => {
                let text = trap.to_string();
                let text = text.strip_prefix("wasm trap: ").unwrap_or(&text);
                TrapCause::Other(text.to_string())
            }
            None => TrapCause::Other(redactor.redact(&without_backtrace(e))),
        }
    }

    /// The last panic in what a Rust guest printed: `thread '…' panicked at
    /// <location>:` on one line, the message on the next ones, then maybe
    /// `note: run with RUST_BACKTRACE=1 …`.
    fn panic_in(stderr: &str) -> Option<TrapCause> {
        const MARK: &str = " panicked at ";
        // The last line that std's panic hook starts (a message may say "panicked at" too).
        let (start, at) = line_starts(stderr)
            .filter(|&i| stderr[i..].starts_with("thread '"))
            .filter_map(|i| {
                let line = stderr[i..].lines().next().unwrap_or("");
                line.find(MARK).map(|at| (i, at))
            })
            .last()?;
        let rest = &stderr[start + at + MARK.len()..];
        let rest = match rest.find("\nnote: run with `RUST_BACKTRACE") {
            Some(end) => &rest[..end],
            None => rest,
        };
        let (location, message) = match rest.split_once('\n') {
            Some((first, message)) if first.ends_with(':') => {
                (Some(one_line(&first[..first.len() - 1], 200)), message)
            }
            _ => (None, rest),
        };
        Some(TrapCause::Panic {
            location,
            message: one_line(message, PANIC_MESSAGE_CHARS),
        })
    }
}

impl fmt::Display for TrapCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrapCause::Panic {
                location: Some(location),
                message,
            } => write!(f, "panicked at {location}: {message}"),
            TrapCause::Panic {
                location: None,
                message,
            } => write!(f, "panicked: {message}"),
            TrapCause::StackOverflow => f.write_str("stack overflow"),
            TrapCause::MemoryOutOfBounds => f.write_str("out-of-bounds memory access"),
            TrapCause::Unreachable => f.write_str("wasm `unreachable` instruction executed"),
            TrapCause::Other(text) => f.write_str(text),
        }
    }
}

/// Where each line of `text` starts.
fn line_starts(text: &str) -> impl Iterator<Item = usize> + '_ {
    std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1))
}

/// `text` on one line: lines joined by a space, other control characters
/// (a guest may print terminal escapes) shown as spaces, at most `max`
/// characters.
fn one_line(text: &str, max: usize) -> String {
    let joined = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let mut out: String = joined
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect();
    if joined.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// An error's message chain (`{:#}`) without the wasm backtrace that
/// wasmtime adds as context when a host function's error ends a call.
fn without_backtrace(e: &wasmtime::Error) -> String {
    let backtrace = e.downcast_ref::<WasmBacktrace>().map(|bt| bt.to_string());
    let parts: Vec<String> = e
        .chain()
        .map(|cause| cause.to_string())
        .filter(|text| Some(text) != backtrace.as_ref())
        .collect();
    one_line(&parts.join(": "), 1000)
}

/// Why the host could not load or run a component.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The wasmtime engine or linker could not be set up.
    #[error("cannot set up the WebAssembly runtime: {0}")]
    Engine(String),
    /// The bytes are not a valid component.
    #[error("cannot compile the connector component: {0}")]
    Compile(String),
    /// The component needs imports this host does not provide.
    #[error("the connector component cannot be linked: {0}")]
    Link(String),
    /// The component does not export `baton:connector/connector`.
    #[error("the component is not a Baton connector: it exports no baton:connector/connector interface (exports: {exports})")]
    NotAConnector {
        /// What it exports instead.
        exports: String,
    },
    /// The component targets another version of the contract.
    #[error("the component implements baton:connector@{component}, but this host implements baton:connector@{host}")]
    ContractVersion {
        /// The component's contract version.
        component: String,
        /// This host's contract version.
        host: String,
    },
    /// The guest broke a sandbox limit of its [`RunPolicy`](super::RunPolicy)
    /// and was stopped (or its call failed because of it).
    #[error("the connector exceeded {limit} in `{call}`")]
    Limit {
        /// The export being called.
        call: &'static str,
        /// The limit it broke.
        limit: Limit,
    },
    /// The guest sent a request to an origin outside the egress allow-list;
    /// the host refused it and the call failed.
    #[error(
        "the connector tried to reach {origin} in `{call}`, which is not on the egress allow-list"
    )]
    Egress {
        /// The export being called.
        call: &'static str,
        /// The refused origin, `scheme://host:port`.
        origin: String,
    },
    /// The run was cancelled ([`Canceller::cancel`](super::Canceller::cancel))
    /// during this call or before it.
    #[error("the run was cancelled in `{call}`")]
    Cancelled {
        /// The export being called.
        call: &'static str,
    },
    /// The configuration cannot be used as the metadata declares it (a
    /// credential bound to a field that is no origin, a value that cannot
    /// be a header). The message never holds a secret value.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// The guest sent a write (any method but GET, HEAD, OPTIONS and its
    /// declared read-only POSTs) in a call where the host allows only reads:
    /// anything but the provisioning calls. The request was not sent.
    #[error(
        "the connector tried {method} {path} in `{call}`, where the host allows no writes \
         (syncs and validation are read-only)"
    )]
    Write {
        /// The export being called.
        call: &'static str,
        /// The HTTP method.
        method: String,
        /// The request path, without its query.
        path: String,
    },
    /// The guest trapped: it panicked, overflowed its stack, accessed memory
    /// out of bounds, or broke the ABI. The message is one line; the wasm
    /// backtrace and the guest's stderr go to the log at debug level.
    #[error("the connector crashed in `{call}`: {cause}")]
    Trap {
        /// The export being called.
        call: &'static str,
        /// What made it crash.
        cause: TrapCause,
    },
    /// The connector returned an error.
    #[error("{call} failed: {error}")]
    Connector {
        /// The export being called.
        call: &'static str,
        /// The connector's error.
        error: ConnectorError,
    },
    /// An error of a labelled run ([`RunPolicy::label`](super::RunPolicy::label)): what
    /// went wrong, named by the run's label (`tenant-42: validate failed: ...`).
    /// [`RuntimeError::unlabelled`] gives the error inside.
    #[error("{label}: {error}")]
    Labelled {
        /// The run's label.
        label: String,
        /// What went wrong.
        error: Box<RuntimeError>,
    },
}

impl RuntimeError {
    /// The error without the run's label, when it has one.
    pub fn unlabelled(&self) -> &RuntimeError {
        match self {
            RuntimeError::Labelled { error, .. } => error.unlabelled(),
            other => other,
        }
    }

    /// The error without the run's label, owned.
    pub fn into_unlabelled(self) -> RuntimeError {
        match self {
            RuntimeError::Labelled { error, .. } => error.into_unlabelled(),
            other => other,
        }
    }

    /// Names the run by `label`, if it has one.
    pub(crate) fn labelled(self, label: Option<&str>) -> RuntimeError {
        match (label, self) {
            (_, e @ RuntimeError::Labelled { .. }) | (None, e) => e,
            (Some(label), e) => RuntimeError::Labelled {
                label: label.to_string(),
                error: Box::new(e),
            },
        }
    }

    pub(crate) fn engine(e: wasmtime::Error) -> RuntimeError {
        RuntimeError::Engine(format!("{e:#}"))
    }

    pub(crate) fn compile(e: wasmtime::Error) -> RuntimeError {
        RuntimeError::Compile(format!("{e:#}"))
    }

    pub(crate) fn link(e: wasmtime::Error) -> RuntimeError {
        RuntimeError::Link(format!("{e:#}"))
    }

    /// The error for a breach recorded while `call` ran.
    pub(crate) fn breach(call: &'static str, breach: Breach) -> RuntimeError {
        match breach {
            Breach::Limit(limit) => RuntimeError::Limit { call, limit },
            Breach::Egress { origin } => RuntimeError::Egress { call, origin },
            Breach::Write { method, path } => RuntimeError::Write { call, method, path },
        }
    }

    /// Explains a failed call: by the limit that stopped it (`bound` is the
    /// time limit the call ran under), else by a breach recorded during the
    /// call, else as a crash with what the guest printed.
    pub(crate) fn trap(
        call: &'static str,
        e: wasmtime::Error,
        state: &HostState,
        bound: Option<Limit>,
    ) -> RuntimeError {
        // Frames are for whoever debugs the connector, not for the one-line
        // error; logged for every failed call, a limit's too (where it spun).
        if let Some(backtrace) = e.downcast_ref::<WasmBacktrace>() {
            let text = state.redactor.redact(&backtrace.to_string());
            // Its first line is wasmtime's "error while executing at wasm backtrace:".
            let frames = text
                .split_once('\n')
                .map_or(text.as_str(), |(_, rest)| rest);
            tracing::debug!("wasm backtrace of `{call}`:\n{frames}");
        }
        // What stopped the guest first, then what it may have tripped over
        // before it crashed (a refused origin, an oversized response).
        let breach = state.tripwire.take();
        if e.downcast_ref::<super::cancel::CancelTrap>().is_some() {
            return RuntimeError::Cancelled { call };
        }
        if let Some(LimitTrap(limit)) = e.downcast_ref::<LimitTrap>() {
            let limit = limit.clone();
            return RuntimeError::Limit { call, limit };
        }
        if let (Some(&Trap::Interrupt), Some(limit)) = (e.downcast_ref::<Trap>(), bound) {
            return RuntimeError::Limit { call, limit };
        }
        if let Some(breach) = breach {
            return RuntimeError::breach(call, breach);
        }
        let stderr = state.stderr_text();
        if !stderr.is_empty() {
            tracing::debug!("the connector's stderr before it crashed in `{call}`:\n{stderr}");
        }
        let cause = TrapCause::of(&e, &stderr, &state.redactor);
        RuntimeError::Trap { call, cause }
    }

    /// The connector's error, when the connector reported one.
    pub fn connector_error(&self) -> Option<&ConnectorError> {
        match self {
            RuntimeError::Connector { error, .. } => Some(error),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the export `run` of a core module; the error it ends with.
    fn trap_of(wat: &str) -> wasmtime::Error {
        let engine = wasmtime::Engine::default();
        let module = wasmtime::Module::new(&engine, wat).unwrap();
        let mut store = wasmtime::Store::new(&engine, ());
        let mut linker = wasmtime::Linker::new(&engine);
        linker
            .func_wrap("host", "fail", || -> wasmtime::Result<()> {
                Err(wasmtime::format_err!("the host gave up"))
            })
            .unwrap();
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let run = instance
            .get_typed_func::<(), ()>(&mut store, "run")
            .unwrap();
        run.call(&mut store, ()).unwrap_err()
    }

    fn cause(wat: &str, stderr: &str) -> TrapCause {
        let e = trap_of(wat);
        assert!(e.downcast_ref::<WasmBacktrace>().is_some(), "{e:?}");
        TrapCause::of(&e, stderr, &Redactor::default())
    }

    const PANIC: &str = "thread '<unnamed>' (1) panicked at src/lib.rs:3:5:\n\
                         first line\n  second line\n\
                         note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace";

    #[test]
    fn traps_are_told_by_kind_without_the_backtrace() {
        let unreachable = r#"(module (func (export "run") unreachable))"#;
        assert_eq!(cause(unreachable, ""), TrapCause::Unreachable);
        assert_eq!(
            cause(unreachable, PANIC),
            TrapCause::Panic {
                location: Some("src/lib.rs:3:5".into()),
                message: "first line second line".into(),
            }
        );
        let recurse = r#"(module (func $f (export "run") call $f))"#;
        // A panic printed before is no cause of a stack overflow.
        assert_eq!(cause(recurse, PANIC), TrapCause::StackOverflow);
        let oob = r#"(module (memory 1) (func (export "run")
            (drop (i32.load (i32.const 0x7fffffff)))))"#;
        assert_eq!(cause(oob, ""), TrapCause::MemoryOutOfBounds);
        let divide = r#"(module (func (export "run")
            (drop (i32.div_u (i32.const 1) (i32.const 0)))))"#;
        assert_eq!(
            cause(divide, ""),
            TrapCause::Other("integer divide by zero".into())
        );
        let host = r#"(module (import "host" "fail" (func $fail))
            (func (export "run") call $fail))"#;
        assert_eq!(cause(host, ""), TrapCause::Other("the host gave up".into()));
    }

    #[test]
    fn the_last_panic_is_the_cause_on_one_line() {
        let stderr = format!("thread 'a' panicked at old.rs:1:1:\nan older panic\n{PANIC}");
        assert_eq!(
            TrapCause::panic_in(&stderr).unwrap().to_string(),
            "panicked at src/lib.rs:3:5: first line second line"
        );
        assert_eq!(TrapCause::panic_in("no panic here"), None);
        // Only std's line counts, not a message that says the same.
        assert_eq!(
            TrapCause::panic_in("thread 'a' panicked at a.rs:1:1:\nit panicked at noon")
                .unwrap()
                .to_string(),
            "panicked at a.rs:1:1: it panicked at noon"
        );
        // A location-less panic (an older std's format) keeps its text.
        assert_eq!(
            TrapCause::panic_in("thread 'main' panicked at 'boom', x.rs:1:2")
                .unwrap()
                .to_string(),
            "panicked: 'boom', x.rs:1:2"
        );
    }

    #[test]
    fn a_panic_message_is_kept_short_and_free_of_control_characters() {
        let long = format!(
            "thread 'a' panicked at a.rs:1:1:\n\u{1b}[31m{}",
            "x".repeat(2000)
        );
        let TrapCause::Panic { message, .. } = TrapCause::panic_in(&long).unwrap() else {
            panic!("not a panic");
        };
        assert_eq!(message.chars().count(), PANIC_MESSAGE_CHARS + 1);
        assert!(message.starts_with(" [31mxxx"), "{message}");
        assert!(message.ends_with("x…"), "{message}");
        assert!(!message.chars().any(char::is_control));
    }

    #[test]
    fn the_error_names_export_and_cause_only() {
        let err = RuntimeError::Trap {
            call: "list-resources",
            cause: TrapCause::StackOverflow,
        };
        assert_eq!(
            err.to_string(),
            "the connector crashed in `list-resources`: stack overflow"
        );
        let err = RuntimeError::Trap {
            call: "configure",
            cause: TrapCause::MemoryOutOfBounds,
        };
        assert_eq!(
            err.to_string(),
            "the connector crashed in `configure`: out-of-bounds memory access"
        );
    }
}

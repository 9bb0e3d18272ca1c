//! Errors of loading and calling a component. Traps (the guest broke) are
//! kept apart from connector errors (the guest reported a failure).

use std::fmt;

use wasmtime::Trap;

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
    /// The guest trapped (panicked, or broke the ABI).
    #[error("the connector crashed in `{call}`: {reason}")]
    Trap {
        /// The export being called.
        call: &'static str,
        /// The trap and what the guest printed before it.
        reason: String,
    },
    /// The connector returned an error.
    #[error("{call} failed: {error}")]
    Connector {
        /// The export being called.
        call: &'static str,
        /// The connector's error.
        error: ConnectorError,
    },
}

impl RuntimeError {
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
        // What stopped the guest first, then what it may have tripped over
        // before it crashed (a refused origin, an oversized response).
        let breach = state.tripwire.take();
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
        let mut reason = state.redactor.redact(&format!("{e:#}"));
        let stderr = state.stderr_text();
        if !stderr.is_empty() {
            reason.push_str("; guest stderr: ");
            reason.push_str(&stderr);
        }
        RuntimeError::Trap { call, reason }
    }

    /// The connector's error, when the connector reported one.
    pub fn connector_error(&self) -> Option<&ConnectorError> {
        match self {
            RuntimeError::Connector { error, .. } => Some(error),
            _ => None,
        }
    }
}

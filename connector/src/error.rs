//! Constructors for the contract's `connector-error`.
//!
//! Every failure the guest reports goes through these helpers so that the
//! error kind is chosen in one obvious place and messages stay short. No helper
//! ever receives a secret: callers pass descriptions, never header values.

use crate::baton::connector::types::{ConnectorError, ErrorKind};

/// Builds an error of any kind without a retry hint.
pub fn error(kind: ErrorKind, message: impl Into<String>) -> ConnectorError {
    ConnectorError {
        kind,
        message: message.into(),
        retry_after_ms: None,
    }
}

/// The caller's input (config, id, page token) is malformed.
pub fn invalid_argument(message: impl Into<String>) -> ConnectorError {
    error(ErrorKind::InvalidArgument, message)
}

/// A call that needs a state the connector is not in (e.g. not configured).
pub fn failed_precondition(message: impl Into<String>) -> ConnectorError {
    error(ErrorKind::FailedPrecondition, message)
}

/// The object does not exist (upstream, or among static resources).
pub fn not_found(message: impl Into<String>) -> ConnectorError {
    error(ErrorKind::NotFound, message)
}

/// The upstream answered with something the connector cannot use.
pub fn bad_response(message: impl Into<String>) -> ConnectorError {
    error(ErrorKind::BadResponse, message)
}

/// Anything else.
pub fn internal(message: impl Into<String>) -> ConnectorError {
    error(ErrorKind::Internal, message)
}

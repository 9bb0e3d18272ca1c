//! Why a trace could not be exported.

use std::time::Duration;

/// Why a trace could not be exported. The sync is never affected.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The endpoint is not a usable collector URL.
    #[error("invalid collector endpoint: {0}")]
    Endpoint(String),
    /// No TCP connection to the collector.
    #[error("cannot connect to {address}: {source}")]
    Connect {
        /// `host:port`.
        address: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The TLS handshake failed (untrusted certificate, plaintext server…).
    #[error("TLS handshake with {address} failed: {source}")]
    Tls {
        /// `host:port`.
        address: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The HTTP exchange failed.
    #[error("HTTP exchange with the collector failed: {0}")]
    Http(#[from] hyper::Error),
    /// The collector answered with an error status.
    #[error("the collector answered HTTP {status}{}", detail(.message))]
    Status {
        /// The HTTP status code.
        status: u16,
        /// The collector's explanation, if any.
        message: String,
    },
    /// The collector accepted the request but dropped some spans.
    #[error("the collector rejected {spans} span(s){}", detail(.message))]
    Rejected {
        /// Spans dropped.
        spans: i64,
        /// The collector's explanation, if any.
        message: String,
    },
    /// The whole export took too long.
    #[error("the collector did not answer within {0:?}")]
    Timeout(Duration),
    /// The exporter itself could not run.
    #[error("cannot run the exporter: {0}")]
    Internal(String),
}

fn detail(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

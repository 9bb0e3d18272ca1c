//! [`RunPolicy`]: what one run of a connector may do and how much it may use.
//!
//! Every limit has a default that a Notion sync of a large workspace stays
//! far below, so only hostile or broken components reach them. A guest that
//! breaks one is stopped and the call fails with
//! [`RuntimeError::Limit`](super::RuntimeError::Limit), which names the limit.

use std::time::Duration;

use super::egress::EgressPolicy;

/// Per-run settings: where the guest may connect and how much it may use.
///
/// Build one with struct-update syntax so that new limits keep their defaults:
///
/// ```
/// use std::time::Duration;
/// use baton_host::runtime::RunPolicy;
///
/// let policy = RunPolicy {
///     memory_limit: 128 << 20,
///     call_timeout: Duration::from_secs(10),
///     ..Default::default()
/// };
/// assert_eq!(policy.max_concurrent_requests, 4);
/// ```
#[derive(Debug, Clone)]
pub struct RunPolicy {
    /// Origins the guest may send HTTP requests to. Anything else is refused
    /// before a connection is made, and the guest is told which origin was refused.
    pub egress: EgressPolicy,
    /// Upper bound for one outgoing request (connect, first byte, and between
    /// body chunks). Default 60 s.
    pub request_timeout: Duration,
    /// Bytes of linear memory the guest may have, all its memories together,
    /// initial sizes included. Growing past it traps at once. Default 256 MiB.
    pub memory_limit: u64,
    /// Elements the guest's tables may hold, all tables together. Default 100 000.
    pub table_elements_limit: u64,
    /// Wall-clock time one export call (including instantiation) may take.
    ///
    /// It counts time spent in guest code and time the guest waits on the
    /// host (`wasi:io/poll`, for an HTTP response or a timer) alike. Guest
    /// code is stopped by epoch interruption within one tick (10 ms) of the
    /// deadline; a wait in `wasi:io/poll` is cut off at the deadline; a
    /// blocking stream read or write is bounded by `request_timeout` and the
    /// guest is stopped as soon as it returns. Default 5 min.
    pub call_timeout: Duration,
    /// Wall-clock time from instantiation after which no call may run: a call
    /// in progress is stopped as `call_timeout` would stop it, and later calls
    /// fail before they start. Bounds a whole sync. Default 1 h.
    pub run_timeout: Duration,
    /// Bytes of one HTTP response body that the host streams into the guest.
    /// A longer body ends in an error for the guest when the limit is passed
    /// (or at once, if `Content-Length` already says so). Default 64 MiB.
    pub response_body_limit: u64,
    /// Outgoing requests in flight at once: from sending until the response
    /// body is read to its end or dropped. A further request waits up to
    /// `request_timeout` for a free slot, then fails. Default 4.
    pub max_concurrent_requests: usize,
}

impl Default for RunPolicy {
    fn default() -> Self {
        RunPolicy {
            egress: EgressPolicy::default(),
            request_timeout: Duration::from_secs(60),
            memory_limit: 256 << 20,
            table_elements_limit: 100_000,
            call_timeout: Duration::from_secs(5 * 60),
            run_timeout: Duration::from_secs(60 * 60),
            response_body_limit: 64 << 20,
            max_concurrent_requests: 4,
        }
    }
}

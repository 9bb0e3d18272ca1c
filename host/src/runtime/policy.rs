//! [`RunPolicy`]: what one run of a connector may do and how much it may use,
//! and how the host retries and paces its requests.
//!
//! Every limit has a default that a Notion sync of a large workspace stays
//! far below, so only hostile or broken components reach them. A guest that
//! breaks one is stopped and the call fails with
//! [`RuntimeError::Limit`](super::RuntimeError::Limit), which names the limit.

use std::time::Duration;

use super::egress::EgressPolicy;
use super::ratelimit::RateLimiter;

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
    /// code is stopped by epoch interruption, which compares the real clock
    /// with the deadline every tick (10 ms): within a tick plus scheduling
    /// delay of it, however late the ticks come on a loaded machine. A wait
    /// in `wasi:io/poll` is cut off at the deadline; a blocking stream read
    /// or write is bounded by `request_timeout` and the guest is stopped as
    /// soon as it returns. Default 5 min (`baton-notion
    /// --call-timeout-seconds`).
    pub call_timeout: Duration,
    /// Wall-clock time from the instance's first call that may send a request (not
    /// instantiation, `metadata` or `configure`, so a prepared and queued instance does
    /// not spend it) after which no call may run: a call
    /// in progress is stopped as `call_timeout` would stop it, and later calls
    /// fail before they start. Bounds a whole sync. Default 1 h
    /// (`baton-notion --run-timeout-seconds`).
    pub run_timeout: Duration,
    /// Bytes of one HTTP response body that the host streams into the guest.
    /// A longer body ends in an error for the guest when the limit is passed
    /// (or at once, if `Content-Length` already says so). Default 64 MiB.
    pub response_body_limit: u64,
    /// Outgoing requests in flight at once: from sending until the response
    /// body is read to its end or dropped. A further request waits up to
    /// `request_timeout` for a free slot, then fails. Default 4.
    pub max_concurrent_requests: usize,
    /// Attempts per request, the first included, for requests that are safe
    /// to repeat: GET, HEAD, OPTIONS and body-less PUT after a 429, 502, 503,
    /// 504, 529, a refused, reset or early-closed connection or a timeout;
    /// DELETE only after a 429 or when no connection was made. POST, PATCH
    /// and requests with a body are sent once. Each attempt gets the full
    /// `request_timeout`. When the attempts run out the guest gets the last
    /// answer as it came. 1 turns retries off. Default 5.
    pub max_attempts: u32,
    /// The longest wait between two attempts. `Retry-After` (seconds or an
    /// HTTP date) is honoured up to this; a server asking for longer gets no
    /// retry and the guest its answer. Without `Retry-After` the wait is an
    /// exponential backoff from 0.5 s with jitter, at most 30 s. No wait may
    /// end after the call's deadline (`call_timeout`, `run_timeout`).
    /// Default 120 s.
    pub max_retry_wait: Duration,
    /// Paces every attempt, retries included, through this token bucket.
    /// `None` sends as fast as the guest asks. Default `None`: the right pace
    /// depends on the upstream and on who else spends its budget, so the
    /// embedder chooses (the `baton-notion` CLI uses
    /// [`RateLimiter::DEFAULT_PER_SECOND`] with a burst of
    /// [`RateLimiter::DEFAULT_BURST`]). Clones of a limiter share one bucket:
    /// runs against the same workspace may share one.
    pub rate_limit: Option<RateLimiter>,
    /// Gives the component the real value of secret config fields that have
    /// no credential binding. Off by default: the component then gets a
    /// placeholder, and bound credentials are sent by the host itself
    /// whatever this says. Turning it on logs a warning per field.
    pub pass_secrets_to_component: bool,
    /// Previews provisioning: the reads of a provisioning call are sent,
    /// its writes are not. Each write is recorded
    /// ([`ConnectorInstance::writes`](super::ConnectorInstance::writes)) and
    /// answered `204` with `baton-dry-run: previewed`, so the connector
    /// returns the outcome it would have had. Default off.
    pub dry_run: bool,
    /// Pages one listing may take: `list-resources` of a resource type, or
    /// `list-entitlements` or `list-grants` of one resource. A listing that
    /// still hands back a next-page token after this many pages is stopped
    /// with [`SyncError::Limit`](crate::sync::SyncError::Limit), before the
    /// next page is asked for. Bounds a component that pages forever. A
    /// 100,000-user Notion workspace lists 1,000 pages of users. Default 100,000.
    pub max_pages_per_listing: u64,
    /// Objects (resources, entitlements and grants, repeats included) the
    /// connector may return in one sync. The page that would pass it is not
    /// written and the sync stops. A 100,000-user Notion workspace returns
    /// about 304,000. Default 50 million.
    pub max_objects: u64,
    /// Bytes the SQLite database of the c1z being written may grow to, its
    /// lookup indexes included (SQLite's `max_page_count`, so SQLite itself
    /// refuses to grow past it). The c1z file, compressed, is several times
    /// smaller. A 100,000-user Notion workspace needs 212 MiB. Default 20 GiB.
    pub max_database_bytes: u64,
    /// A name for the run, such as a tenant id. Every line logged for the run is in a
    /// `run` span with this `label`: the component's own lines, the host's retry and
    /// "giving up" warnings (logged from the HTTP client's threads) and the sync's
    /// summary lines. `None`: no span. Default `None`.
    pub label: Option<String>,
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
            max_attempts: 5,
            max_retry_wait: Duration::from_secs(120),
            rate_limit: None,
            pass_secrets_to_component: false,
            dry_run: false,
            max_pages_per_listing: 100_000,
            max_objects: 50_000_000,
            max_database_bytes: 20 << 30,
            label: None,
        }
    }
}

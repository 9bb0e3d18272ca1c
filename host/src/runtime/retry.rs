//! Retries of outgoing requests: which requests, which failures, how long to wait.
//!
//! The host owns retries so that every connector gets the same behaviour and
//! one place sees (and paces) every request. A request is retried only when
//! repeating it cannot change the upstream twice:
//!
//! - GET, HEAD, OPTIONS and PUT without a body are retried on any transient
//!   failure: 429, 502, 503, 504, 529, a refused, reset or early-closed
//!   connection, or a timeout;
//! - DELETE only when the failure proves the server did not act on it (a 429,
//!   or no connection at all). After an ambiguous failure a retried DELETE
//!   would answer 404 and the connector would report "already absent" for a
//!   deletion that it made itself; the connector can check instead;
//! - POST, PATCH and every request with a body are sent once: their body is
//!   streamed from the guest and not kept, and whether a repeat is safe
//!   (did the timed-out POST create the user?) needs the connector's knowledge.
//!
//! A `Retry-After` header is honoured (seconds or an HTTP date) up to
//! [`Retries::max_wait`]; without one the wait is a capped exponential backoff
//! with jitter. No wait may end past the deadline of the call in progress.
//! When the attempts run out, or the server asks for a longer wait than the
//! host allows, the guest gets the last response (or transport error) as it
//! came, so its error names the request and the status.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use http::{HeaderMap, Method, Request, Response, Uri, Version};
use http_body::Body;
use wasmtime_wasi_http::{Error as HttpError, WasiBody};

use super::limits::Time;
use super::retry_after;

/// The first backoff wait (before jitter); each later one doubles.
pub(crate) const BASE_BACKOFF: Duration = Duration::from_millis(500);
/// The longest backoff wait when the server gives no `Retry-After`.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// How a request may be repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Repeat {
    /// After any transient failure.
    Always,
    /// Only after a failure that proves the server did not act.
    IfUnprocessed,
    /// Never.
    Never,
}

impl Repeat {
    /// The rule for a request (see the module docs).
    pub(crate) fn of<B: Body>(request: &Request<B>) -> Repeat {
        if !request.body().is_end_stream() {
            return Repeat::Never;
        }
        match *request.method() {
            Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT => Repeat::Always,
            Method::DELETE => Repeat::IfUnprocessed,
            _ => Repeat::Never,
        }
    }
}

/// A failed attempt that waiting may heal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The server answered 429, 502, 503, 504 or 529.
    Status {
        /// The status code.
        code: u16,
        /// What `Retry-After` asked for, when it was readable.
        retry_after: Option<Duration>,
    },
    /// No answer came.
    Transport {
        /// The request cannot have reached the server (no connection was made).
        unprocessed: bool,
    },
}

impl Failure {
    /// A transient status; `retry_after` is the raw header.
    pub(crate) fn of_status(code: u16, retry_after: Option<&[u8]>) -> Option<Failure> {
        matches!(code, 429 | 502 | 503 | 504 | 529).then(|| Failure::Status {
            code,
            retry_after: retry_after.and_then(|v| retry_after::parse(v, SystemTime::now())),
        })
    }

    /// A transient transport error. The host's own refusals (egress, limits,
    /// concurrency) are `InternalError`s and are never retried.
    pub(crate) fn of_error(error: &HttpError) -> Option<Failure> {
        use HttpError as E;
        let unprocessed = match error {
            E::Connect(_)
            | E::ConnectionRefused
            | E::ConnectionTimeout
            | E::DnsTimeout
            | E::DestinationUnavailable => true,
            E::ConnectionTerminated
            | E::ConnectionReadTimeout
            | E::ConnectionWriteTimeout
            | E::ConnectionLimitReached
            | E::HttpResponseIncomplete
            | E::HttpResponseTimeout => false,
            // A malformed answer or a misuse will not heal; resets, early
            // closes and timeouts inside hyper will.
            E::Hyper(e) if !e.is_parse() && !e.is_user() => false,
            _ => return None,
        };
        Some(Failure::Transport { unprocessed })
    }

    fn unprocessed(&self) -> bool {
        match self {
            Failure::Status { code, .. } => *code == 429,
            Failure::Transport { unprocessed } => *unprocessed,
        }
    }
}

/// Why a failed attempt is final.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GiveUp {
    /// The request may not be repeated after this failure.
    NotRepeatable,
    /// It was the last attempt allowed.
    Exhausted,
    /// The server asked for a longer wait than the host allows.
    TooLong {
        /// What it asked for.
        asked: Duration,
    },
    /// The wait would end after the call's deadline.
    PastDeadline {
        /// The wait.
        wait: Duration,
        /// Time left in the call.
        left: Duration,
    },
}

/// The retry settings of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Retries {
    /// Attempts per request, the first included (0 counts as 1).
    pub(crate) max_attempts: u32,
    /// The longest single wait between two attempts.
    pub(crate) max_wait: Duration,
}

impl Retries {
    /// The wait before the attempt after attempt number `attempt` (1-based),
    /// or why there is none. `left` is the time left in the call; `random`
    /// spreads the wait.
    pub(crate) fn wait(
        &self,
        repeat: Repeat,
        attempt: u32,
        failure: &Failure,
        left: Option<Duration>,
        random: u64,
    ) -> Result<Duration, GiveUp> {
        match repeat {
            Repeat::Never => return Err(GiveUp::NotRepeatable),
            Repeat::IfUnprocessed if !failure.unprocessed() => return Err(GiveUp::NotRepeatable),
            _ => {}
        }
        if attempt >= self.max_attempts.max(1) {
            return Err(GiveUp::Exhausted);
        }
        let wait = match failure {
            Failure::Status {
                retry_after: Some(asked),
                ..
            } if !asked.is_zero() => {
                if *asked > self.max_wait {
                    return Err(GiveUp::TooLong { asked: *asked });
                }
                // A little later than asked, so that clients told the same
                // time do not all come back at once.
                let spread = (*asked / 10).min(Duration::from_secs(1));
                (*asked + jitter(spread, random)).min(self.max_wait)
            }
            _ => backoff(attempt, random).min(self.max_wait),
        };
        match left {
            Some(left) if wait >= left => Err(GiveUp::PastDeadline { wait, left }),
            _ => Ok(wait),
        }
    }
}

/// The backoff after attempt number `attempt` (1-based): a ceiling of
/// [`BASE_BACKOFF`] doubled per attempt up to [`MAX_BACKOFF`], and a wait
/// drawn between half the ceiling and the ceiling ("equal jitter": never
/// shorter than half, yet spread out).
pub(crate) fn backoff(attempt: u32, random: u64) -> Duration {
    let doublings = attempt.saturating_sub(1).min(16);
    let ceiling = BASE_BACKOFF.saturating_mul(1 << doublings).min(MAX_BACKOFF);
    ceiling / 2 + jitter(ceiling / 2, random)
}

/// A duration from zero to `span`, both included, picked by `random`.
fn jitter(span: Duration, random: u64) -> Duration {
    let nanos = u64::try_from(span.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(random % nanos.saturating_add(1))
}

fn random() -> u64 {
    // A failed entropy source only costs the spread, not the retry.
    getrandom::u64().unwrap_or_else(|_| {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| u64::from(d.subsec_nanos()))
    })
}

/// Sends one attempt of a request; the egress hooks implement it.
pub(crate) trait SendOnce: Sync {
    /// What travels with a response besides itself (the connection's I/O
    /// future and the concurrency slot).
    type Extra: Send;

    /// Paces, takes a slot and sends `request` once.
    fn send(
        &self,
        request: Request<WasiBody>,
    ) -> impl Future<Output = Result<(Response<WasiBody>, Self::Extra), HttpError>> + Send;
}

/// What is needed to send a body-less request again.
struct Template {
    method: Method,
    uri: Uri,
    version: Version,
    headers: HeaderMap,
}

impl Template {
    fn of(request: &Request<WasiBody>) -> Template {
        Template {
            method: request.method().clone(),
            uri: request.uri().clone(),
            version: request.version(),
            headers: request.headers().clone(),
        }
    }

    fn build(&self) -> Request<WasiBody> {
        use http_body_util::BodyExt;
        let empty = http_body_util::Empty::new().map_err(|e: std::convert::Infallible| match e {});
        let mut request = Request::new(empty.boxed_unsync());
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.version_mut() = self.version;
        *request.headers_mut() = self.headers.clone();
        request
    }
}

/// Sends `request` through `sender`, retrying as [`Retries`] allows, with no
/// wait ending after `deadline`. Returns the first success or final failure.
pub(crate) async fn send<S: SendOnce>(
    retries: Retries,
    request: Request<WasiBody>,
    deadline: Option<Instant>,
    sender: &S,
    retried: &AtomicU64,
) -> Result<(Response<WasiBody>, S::Extra), HttpError> {
    let repeat = Repeat::of(&request);
    // Kept for every request (a header map is cheap); only repeatable ones use it.
    let template = Template::of(&request);
    let (method, path) = (request.method().clone(), request.uri().path().to_string());
    let mut first = Some(request);
    let mut attempt = 1;
    loop {
        let request = first.take().unwrap_or_else(|| template.build());
        let outcome = sender.send(request).await;
        let failure = match &outcome {
            Ok((response, _)) => {
                let retry_after = response.headers().get(http::header::RETRY_AFTER);
                Failure::of_status(
                    response.status().as_u16(),
                    retry_after.map(|v| v.as_bytes()),
                )
            }
            Err(e) => Failure::of_error(e),
        };
        let Some(failure) = failure else {
            return outcome;
        };
        // Never a header or the query: only the method and the path are logged.
        let what = match &outcome {
            Ok((response, _)) => format!("HTTP {}", response.status().as_u16()),
            Err(e) => e.to_string(),
        };
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        match retries.wait(repeat, attempt, &failure, left, random()) {
            Ok(wait) => {
                tracing::warn!(
                    %method,
                    path,
                    failure = what,
                    attempt,
                    max_attempts = retries.max_attempts,
                    wait_ms = wait.as_millis() as u64,
                    "retrying a request after a transient failure"
                );
                drop(outcome);
                retried.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            Err(give_up) => {
                let why = match give_up {
                    GiveUp::NotRepeatable => return outcome,
                    // Retries are off: nothing to explain beyond the guest's error.
                    GiveUp::Exhausted if attempt == 1 => return outcome,
                    GiveUp::Exhausted => format!("no attempts left ({attempt} made)"),
                    GiveUp::TooLong { asked } => format!(
                        "the server asked to wait {}, longer than the {} the host waits at most",
                        Time(asked),
                        Time(retries.max_wait)
                    ),
                    GiveUp::PastDeadline { wait, left } => format!(
                        "waiting {} would pass the call's time limit ({} left)",
                        Time(wait),
                        Time(left)
                    ),
                };
                tracing::warn!(%method, path, failure = what, attempt, "giving up a request: {why}");
                return outcome;
            }
        }
    }
}

#[cfg(test)]
#[path = "retry_tests.rs"]
mod tests;

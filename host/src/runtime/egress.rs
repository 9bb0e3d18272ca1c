//! Where a guest may send HTTP requests, and how long each may take.
//!
//! Every outgoing request passes through [`EgressHooks::send_request`]
//! before a connection is made; requests to other origins are refused with
//! an error that names the origin. The hooks also bound each request in
//! time, cap the response body the guest may read and the number of
//! requests in flight at once, pace requests through the run's rate limiter
//! and retry those that failed transiently and are safe to repeat (`retry.rs`).

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use super::body::{too_large, LimitedBody};
use super::deadline::CallClock;
use super::limits::{Breach, Limit, Time, Tripwire};
use super::ratelimit::RateLimiter;
use super::retry::{self, Retries, SendOnce};
use super::secrets::BoundCredential;
use super::writes::{self, WriteRecord};
use super::RunPolicy;

/// A scheme, host and port that requests may go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// `http` or `https`.
    pub scheme: String,
    /// Lower-case host name or IP literal.
    pub host: String,
    /// Explicit or default port.
    pub port: u16,
}

impl Origin {
    /// The origin of an absolute `http(s)` URL. Plain `http` is accepted only
    /// for loopback hosts, so a token never crosses a network unencrypted.
    pub fn of_url(raw: &str) -> Result<Origin, String> {
        let url = url::Url::parse(raw).map_err(|e| format!("`{raw}` is not a valid URL: {e}"))?;
        let scheme = url.scheme().to_string();
        if scheme != "https" && scheme != "http" {
            return Err(format!(
                "`{raw}` must use https (or http to a loopback host)"
            ));
        }
        let host = match url.host() {
            Some(h) => h.to_string().to_ascii_lowercase(),
            None => return Err(format!("`{raw}` has no host")),
        };
        let port = url.port_or_known_default().unwrap_or(443);
        let origin = Origin { scheme, host, port };
        if origin.scheme == "http" && !origin.is_loopback() {
            return Err(format!(
                "`{raw}` uses plain http to a non-loopback host; use https"
            ));
        }
        Ok(origin)
    }

    fn is_loopback(&self) -> bool {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .map(|ip| ip.is_loopback())
                .unwrap_or(false)
    }

    pub(crate) fn matches(&self, uri: &http::Uri) -> bool {
        let scheme = uri.scheme_str().unwrap_or("");
        let host = uri.host().unwrap_or("").to_ascii_lowercase();
        let default_port = if scheme == "https" { 443 } else { 80 };
        let port = uri.port_u16().unwrap_or(default_port);
        scheme == self.scheme && host == self.host && port == self.port
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// The origins a guest may reach. Empty means no network at all.
#[derive(Debug, Clone, Default)]
pub struct EgressPolicy {
    /// Allowed origins.
    pub allowed: Vec<Origin>,
}

impl EgressPolicy {
    /// Whether a request URI may be sent.
    pub fn allows(&self, uri: &http::Uri) -> bool {
        self.allowed.iter().any(|o| o.matches(uri))
    }
}

/// The wasi-http hooks of one store: the allow-list, the request timeout,
/// retries, the rate limiter, the response body limit and the cap on
/// requests in flight.
pub(crate) struct EgressHooks {
    policy: EgressPolicy,
    timeout: Duration,
    body_limit: u64,
    max_concurrent: usize,
    slots: Arc<Semaphore>,
    sent: Arc<AtomicU64>,
    retried: Arc<AtomicU64>,
    retries: Retries,
    limiter: Option<RateLimiter>,
    clock: CallClock,
    tripwire: Tripwire,
    /// Credentials the host adds to requests (`secrets.rs`).
    credentials: Vec<BoundCredential>,
    /// Paths of POSTs the connector declared read-only.
    read_only_posts: Vec<String>,
    /// Whether the current call may write; only provisioning calls may.
    writes_allowed: bool,
    /// Answer writes without sending them ([`RunPolicy::dry_run`]).
    dry_run: bool,
    /// The writes sent, or previewed, so far.
    writes: Arc<Mutex<Vec<WriteRecord>>>,
    /// Slots for requests in flight across all runs of the runtime, if bounded.
    shared_slots: Option<Arc<Semaphore>>,
    /// The run's span: the HTTP work runs on tokio's threads, outside the call.
    span: tracing::Span,
}

impl EgressHooks {
    pub(crate) fn new(
        policy: &RunPolicy,
        tripwire: Tripwire,
        clock: CallClock,
        shared_slots: Option<Arc<Semaphore>>,
        span: tracing::Span,
    ) -> EgressHooks {
        EgressHooks {
            policy: policy.egress.clone(),
            timeout: policy.request_timeout,
            body_limit: policy.response_body_limit,
            max_concurrent: policy.max_concurrent_requests,
            slots: Arc::new(Semaphore::new(policy.max_concurrent_requests)),
            sent: Arc::new(AtomicU64::new(0)),
            retried: Arc::new(AtomicU64::new(0)),
            retries: Retries {
                max_attempts: policy.max_attempts,
                max_wait: policy.max_retry_wait,
            },
            limiter: policy.rate_limit.clone(),
            clock,
            tripwire,
            credentials: Vec::new(),
            read_only_posts: Vec::new(),
            writes_allowed: false,
            dry_run: policy.dry_run,
            writes: Arc::default(),
            shared_slots,
            span,
        }
    }

    /// Sets what `configure` learnt: the credentials to add and the POST
    /// paths the connector declares read-only.
    pub(crate) fn configure(
        &mut self,
        credentials: Vec<BoundCredential>,
        read_only_posts: Vec<String>,
    ) {
        self.credentials = credentials;
        self.read_only_posts = read_only_posts;
    }

    /// The writes sent (or in a dry run previewed) so far, in order.
    pub(crate) fn writes(&self) -> Vec<WriteRecord> {
        self.writes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Allows or refuses writes for the call about to start.
    pub(crate) fn allow_writes(&mut self, allowed: bool) {
        self.writes_allowed = allowed;
    }

    /// Whether a request only reads: GET, HEAD, OPTIONS, or a POST to a
    /// path the connector declared read-only.
    fn reads_only(&self, method: &http::Method, path: &str) -> bool {
        use http::Method;
        *method == Method::GET
            || *method == Method::HEAD
            || *method == Method::OPTIONS
            || (*method == Method::POST && self.read_only_posts.iter().any(|p| p == path))
    }

    /// Requests sent on the wire, each retry counted.
    pub(crate) fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// The counters behind [`sent`](Self::sent) and [`retried`](Self::retried).
    pub(crate) fn counters(&self) -> (Arc<AtomicU64>, Arc<AtomicU64>) {
        (self.sent.clone(), self.retried.clone())
    }

    /// Retries made: attempts after the first of a request.
    pub(crate) fn retried(&self) -> u64 {
        self.retried.load(Ordering::Relaxed)
    }
}

/// `scheme://host:port` of a request URI, default port filled in, as
/// [`Origin`] prints it.
fn origin_of(uri: &http::Uri) -> String {
    let scheme = uri.scheme_str().unwrap_or("?");
    let host = uri.host().unwrap_or("?").to_ascii_lowercase();
    let default_port = if scheme == "https" { 443 } else { 80 };
    format!(
        "{scheme}://{host}:{}",
        uri.port_u16().unwrap_or(default_port)
    )
}

type IoFuture = Box<dyn Future<Output = Result<(), HttpError>> + Send>;
type SendFuture =
    Box<dyn Future<Output = Result<(http::Response<WasiBody>, IoFuture), HttpError>> + Send>;

impl WasiHttpHooks for EgressHooks {
    fn send_request(
        &mut self,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: IoFuture,
    ) -> SendFuture {
        drop(fut);
        let uri = request.uri().clone();
        if !self.policy.allows(&uri) {
            let origin = origin_of(&uri);
            tracing::warn!(
                origin,
                "refused a request to an origin outside the allow-list"
            );
            // wasi:http's `http-request-denied` carries no text; this code
            // lets the guest (and whoever reads its error) see which origin.
            let text = format!("egress to {origin} is not allowed by the host");
            self.tripwire.trip(Breach::Egress { origin });
            return Box::new(async move { Err(HttpError::InternalError(Some(text))) });
        }
        if !self.writes_allowed && !self.reads_only(request.method(), uri.path()) {
            let method = request.method().to_string();
            let path = uri.path().to_string();
            tracing::warn!(method, path, "refused a write where only reads are allowed");
            let text = format!("the host allows no {method} here: this call may only read");
            self.tripwire.trip(Breach::Write { method, path });
            return Box::new(async move { Err(HttpError::InternalError(Some(text))) });
        }
        for credential in &self.credentials {
            credential.apply(&uri, request.headers_mut());
        }
        let write_log =
            (!self.reads_only(request.method(), uri.path())).then(|| self.writes.clone());
        let preview = self.dry_run;
        tracing::debug!(method = %request.method(), path = uri.path(), "request");
        // The guest may ask for shorter timeouts, never longer ones: epoch
        // interruption cannot stop a host-side wait, so each request is bounded here.
        let cap = self.timeout;
        let pick = |asked: Option<Duration>| Some(asked.map_or(cap, |d| d.min(cap)));
        let options = options.unwrap_or_default();
        let attempt = Attempt {
            options: RequestOptions {
                connect_timeout: pick(options.connect_timeout),
                first_byte_timeout: pick(options.first_byte_timeout),
                between_bytes_timeout: pick(options.between_bytes_timeout),
            },
            cap,
            slots: self.slots.clone(),
            shared_slots: self.shared_slots.clone(),
            max_concurrent: self.max_concurrent,
            limiter: self.limiter.clone(),
            // Read now, while the guest's call is in progress.
            deadline: self.clock.deadline(),
            sent: self.sent.clone(),
            tripwire: self.tripwire.clone(),
        };
        let retries = self.retries;
        let retried = self.retried.clone();
        let body_limit = self.body_limit;
        let tripwire = self.tripwire.clone();
        let span = self.span.clone();
        let work = async move {
            use http_body_util::BodyExt;
            let request = match write_log {
                Some(log) => {
                    let request = writes::record(request, &log).await?;
                    if preview {
                        tracing::debug!(method = %request.method(), "previewed a write (dry run)");
                        let done: IoFuture = Box::new(async { Ok(()) });
                        return Ok((writes::previewed(), done));
                    }
                    request
                }
                None => request,
            };
            let attempts = retry::send(retries, request, attempt.deadline, &attempt, &retried);
            // The guest stops waiting at the call's deadline (`shadow.rs`); the
            // host stops a little later, so that the guest's error is the time
            // limit and no attempt starts after the call is over.
            let (response, (io, slot)) = match attempt.deadline {
                Some(deadline) => tokio::time::timeout_at((deadline + GRACE).into(), attempts)
                    .await
                    .map_err(|_| HttpError::HttpResponseTimeout)??,
                None => attempts.await?,
            };
            // A declared length past the limit fails before any byte is read.
            let declared = response
                .headers()
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            if declared.is_some_and(|n| n > body_limit) {
                tracing::warn!(declared, body_limit, "refused an oversized response");
                return Err(too_large(body_limit, &tripwire));
            }
            let response = response.map(|body| {
                LimitedBody::new(body, body_limit, Some(Box::new(slot)), tripwire).boxed_unsync()
            });
            Ok((response, io))
        };
        Box::new(tracing::Instrument::instrument(work, span))
    }
}

/// The slots a request holds until its response body ends or is dropped: the run's own,
/// and the runtime's when requests in flight are bounded across runs.
pub(crate) struct Slots {
    _run: OwnedSemaphorePermit,
    _shared: Option<OwnedSemaphorePermit>,
}

/// How long after a call's deadline the host gives up on its requests.
const GRACE: Duration = Duration::from_millis(100);

/// Everything one attempt of one request needs; see [`SendOnce`].
struct Attempt {
    options: RequestOptions,
    cap: Duration,
    slots: Arc<Semaphore>,
    shared_slots: Option<Arc<Semaphore>>,
    max_concurrent: usize,
    limiter: Option<RateLimiter>,
    deadline: Option<Instant>,
    sent: Arc<AtomicU64>,
    tripwire: Tripwire,
}

impl Attempt {
    /// Waits for the rate limiter, unless the wait would pass the call's deadline.
    async fn pace(&self) -> Result<(), HttpError> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        match limiter.reserve(Instant::now(), self.deadline) {
            Ok(wait) if wait.is_zero() => Ok(()),
            Ok(wait) => {
                tracing::trace!(wait_ms = wait.as_millis() as u64, "pacing a request");
                tokio::time::sleep(wait).await;
                Ok(())
            }
            Err(wait) => {
                let text = format!(
                    "the host's rate limit of {} requests per second would delay this request by {}, past the call's time limit",
                    limiter.per_second(),
                    Time(wait)
                );
                tracing::warn!("{text}");
                Err(HttpError::InternalError(Some(text)))
            }
        }
    }
}

impl SendOnce for Attempt {
    type Extra = (IoFuture, Slots);

    async fn send(
        &self,
        request: http::Request<WasiBody>,
    ) -> Result<(http::Response<WasiBody>, Self::Extra), HttpError> {
        use http_body_util::BodyExt;
        // Paced before taking a slot, so that a request waiting for its
        // turn does not keep another from being sent.
        self.pace().await?;
        // A slot is held from here until the response body ends or is
        // dropped; waiting for one counts against the request timeout.
        let slot = match tokio::time::timeout(self.cap, self.slots.clone().acquire_owned()).await {
            Ok(Ok(slot)) => slot,
            _ => {
                let max_concurrent = self.max_concurrent;
                let limit = Limit::ConcurrentRequests {
                    requests: max_concurrent,
                };
                tracing::warn!("a request waited too long for a free slot: {limit}");
                self.tripwire.trip(Breach::Limit(limit));
                return Err(HttpError::InternalError(Some(format!(
                    "the host allows at most {max_concurrent} concurrent requests"
                ))));
            }
        };
        // Then a process-wide slot: a request waits for it as long as the call may wait.
        let shared = match &self.shared_slots {
            Some(shared) => {
                let acquire = shared.clone().acquire_owned();
                let permit = match self.deadline {
                    Some(deadline) => tokio::time::timeout_at(deadline.into(), acquire)
                        .await
                        .map_err(|_| HttpError::HttpResponseTimeout)?,
                    None => acquire.await,
                };
                Some(permit.map_err(|_| HttpError::InternalError(None))?)
            }
            None => None,
        };
        self.sent.fetch_add(1, Ordering::Relaxed);
        let sending = wasmtime_wasi_http::default_send_request(request, Some(self.options));
        let (response, io) = tokio::time::timeout(self.cap, sending)
            .await
            .map_err(|_| HttpError::HttpResponseTimeout)??;
        let response = response.map(|body| body.boxed_unsync());
        Ok((
            response,
            (
                Box::new(io) as IoFuture,
                Slots {
                    _run: slot,
                    _shared: shared,
                },
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_rules() {
        let o = Origin::of_url("https://api.notion.com/scim/v2").unwrap();
        assert_eq!(o.to_string(), "https://api.notion.com:443");
        assert!(Origin::of_url("http://127.0.0.1:8765/scim/v2").is_ok());
        assert!(Origin::of_url("http://localhost:1/x").is_ok());
        assert!(Origin::of_url("http://[::1]:1/x").is_ok());
        let err = Origin::of_url("http://example.com/scim").unwrap_err();
        assert!(err.contains("plain http"), "{err}");
        assert!(Origin::of_url("ftp://x/").unwrap_err().contains("https"));
        assert!(Origin::of_url("not a url")
            .unwrap_err()
            .contains("not a valid URL"));
    }

    #[test]
    fn policy_matches_scheme_host_and_port() {
        let policy = EgressPolicy {
            allowed: vec![Origin::of_url("http://127.0.0.1:8765/").unwrap()],
        };
        assert!(policy.allows(&"http://127.0.0.1:8765/scim/v2/Users".parse().unwrap()));
        assert!(!policy.allows(&"http://127.0.0.1:8766/scim/v2/Users".parse().unwrap()));
        assert!(!policy.allows(&"https://127.0.0.1:8765/".parse().unwrap()));
        assert!(!policy.allows(&"http://10.0.0.1:8765/".parse().unwrap()));
    }

    fn get(uri: &str) -> http::Request<WasiBody> {
        use http_body_util::BodyExt;
        let empty = http_body_util::Empty::new().map_err(|e: std::convert::Infallible| match e {});
        http::Request::get(uri).body(empty.boxed_unsync()).unwrap()
    }

    async fn send(hooks: &mut EgressHooks, uri: &str) -> Result<(), HttpError> {
        let fut = hooks.send_request(get(uri), None, Box::new(async { Ok(()) }));
        std::pin::Pin::from(fut).await.map(|_| ())
    }

    #[tokio::test]
    async fn a_refused_request_tells_the_guest_which_origin() {
        let wire = Tripwire::default();
        let mut hooks = EgressHooks::new(
            &RunPolicy::default(),
            wire.clone(),
            CallClock::default(),
            None,
            tracing::Span::none(),
        );
        let err = send(&mut hooks, "http://10.255.255.1/x").await.unwrap_err();
        let HttpError::InternalError(Some(text)) = err else {
            panic!("{err:?}");
        };
        assert_eq!(
            text,
            "egress to http://10.255.255.1:80 is not allowed by the host"
        );
        let origin = "http://10.255.255.1:80".to_string();
        assert_eq!(wire.take(), Some(Breach::Egress { origin }));
        assert_eq!(hooks.sent(), 0);
    }

    #[tokio::test]
    async fn a_request_without_a_free_slot_fails_naming_the_limit() {
        let wire = Tripwire::default();
        let policy = RunPolicy {
            egress: EgressPolicy {
                allowed: vec![Origin::of_url("http://127.0.0.1:9/").unwrap()],
            },
            request_timeout: Duration::from_millis(50),
            max_concurrent_requests: 1,
            ..Default::default()
        };
        let mut hooks = EgressHooks::new(
            &policy,
            wire.clone(),
            CallClock::default(),
            None,
            tracing::Span::none(),
        );
        let _held = hooks.slots.clone().try_acquire_owned().unwrap();
        let err = send(&mut hooks, "http://127.0.0.1:9/x").await.unwrap_err();
        let HttpError::InternalError(Some(text)) = err else {
            panic!("{err:?}");
        };
        assert_eq!(text, "the host allows at most 1 concurrent requests");
        let limit = Limit::ConcurrentRequests { requests: 1 };
        assert_eq!(wire.take(), Some(Breach::Limit(limit)));
    }
}

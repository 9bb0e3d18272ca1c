//! Shared server state: the directory, the fault rules, the rate limit, the
//! pagination anomalies, the request log and the shutdown signal.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::watch;

use crate::anomaly::{Anomalies, Anomaly};
use crate::faults::{self, ActiveRule, Fault, FaultPlan, FaultRule, ScheduledFault};
use crate::generator::{generate, Directory};
use crate::ratelimit::{RateLimit, TokenBucket};
use crate::schedule::Schedule;
use crate::scim::ScimError;
use crate::store::Store;
use crate::Config;

/// One request as seen by the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRecord {
    /// 1-based request number (the numbering fault rules use).
    pub number: u64,
    /// HTTP method, e.g. `"GET"`.
    pub method: String,
    /// Path without the query, e.g. `"/scim/v2/Users"`.
    pub path: String,
    /// Raw (still percent-encoded) query string, if any.
    pub query: Option<String>,
    /// Status sent; `0` if no response was sent (connection dropped, or still running).
    pub status: u16,
    /// The request body as text, when there was one (tests assert what a client sent).
    pub body: Option<String>,
}

#[derive(Default)]
struct RequestLog {
    count: u64,
    keep_records: bool,
    records: Vec<RequestRecord>,
}

struct Inner {
    token: String,
    store: RwLock<Store>,
    faults: Mutex<Vec<ActiveRule>>,
    limiter: Mutex<Option<TokenBucket>>,
    /// Read on every list request, hence lock-free.
    anomalies: AtomicU8,
    log: Mutex<RequestLog>,
    shutdown: watch::Sender<bool>,
}

/// The state one server instance serves; cheap to clone (shared).
#[derive(Clone)]
pub struct ServerState {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ServerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is deliberately not printed.
        f.debug_struct("ServerState")
            .field("requests", &self.request_count())
            .finish_non_exhaustive()
    }
}

/// Locks ignoring poison: a panicking test thread must not take the server down.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl ServerState {
    /// Generates the directory for `config` and wraps it in fresh state.
    pub fn new(config: &Config) -> ServerState {
        ServerState::with_directory(config, generate(config))
    }

    /// Serves `dir` instead of generated data (`config.users/groups` are ignored;
    /// `config.seed` still seeds ids of created resources).
    pub fn with_directory(config: &Config, dir: Directory) -> ServerState {
        let (shutdown, _) = watch::channel(false);
        ServerState {
            inner: Arc::new(Inner {
                token: config.token.clone(),
                store: RwLock::new(Store::new(dir, config.seed)),
                faults: Mutex::new(Vec::new()),
                limiter: Mutex::new(None),
                anomalies: AtomicU8::new(0),
                log: Mutex::new(RequestLog {
                    keep_records: true,
                    ..RequestLog::default()
                }),
                shutdown,
            }),
        }
    }

    pub(crate) fn token(&self) -> &str {
        &self.inner.token
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Store> {
        self.inner.store.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, Store> {
        self.inner.store.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Current users as served, in list order.
    pub fn users(&self) -> Vec<Value> {
        self.read().users_json()
    }

    /// Current groups as served, in list order.
    pub fn groups(&self) -> Vec<Value> {
        self.read().groups_json()
    }

    /// A typed copy of the current directory.
    pub fn directory(&self) -> Directory {
        self.read().snapshot()
    }

    /// Sets a listed user's `active` flag without a request, so that a test
    /// can have a member listed as inactive (see [`TestServer::set_user_active`]).
    ///
    /// [`TestServer::set_user_active`]: crate::TestServer::set_user_active
    pub fn set_user_active(&self, id: &str, active: bool) -> Result<Value, ScimError> {
        self.write().set_listed_active(id, active)
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        lock(&self.inner.log).records.clone()
    }

    /// Number of requests received so far (also counted when records are not kept).
    pub fn request_count(&self) -> usize {
        lock(&self.inner.log).count as usize
    }

    /// Turns keeping per-request records on or off (the count is always kept). A
    /// long-running binary turns them off so memory stays flat.
    pub fn set_keep_request_records(&self, keep: bool) {
        lock(&self.inner.log).keep_records = keep;
    }

    /// Adds a fault rule keyed on global request numbers.
    pub fn add_fault(&self, rule: FaultRule) {
        lock(&self.inner.faults).push(ActiveRule::numbered(rule));
    }

    /// Adds a scheduled fault; its ordinals count matching requests from now on.
    pub fn inject(&self, fault: ScheduledFault) {
        lock(&self.inner.faults).push(ActiveRule::scheduled(fault));
    }

    /// Applies `fault` to the next `count` requests.
    pub fn fail_next(&self, fault: Fault, count: u64) {
        self.inject(ScheduledFault::new(fault, Schedule::first(count)));
    }

    /// Removes every fault rule of either kind (not the rate limit or anomalies).
    pub fn clear_faults(&self) {
        lock(&self.inner.faults).clear();
    }

    /// Turns the token bucket on (starting full) or off (`None`).
    pub fn set_rate_limit(&self, limit: Option<RateLimit>) {
        *lock(&self.inner.limiter) = limit.map(|l| TokenBucket::new(l, Instant::now()));
    }

    /// Switches a pagination anomaly on.
    pub fn enable_anomaly(&self, anomaly: Anomaly) {
        self.update_anomalies(|set| set.with(anomaly));
    }

    /// Switches a pagination anomaly off.
    pub fn disable_anomaly(&self, anomaly: Anomaly) {
        self.update_anomalies(|set| set.without(anomaly));
    }

    /// Switches every pagination anomaly off.
    pub fn clear_anomalies(&self) {
        self.update_anomalies(|_| Anomalies::NONE);
    }

    /// The pagination anomalies currently on.
    pub fn anomalies(&self) -> Vec<Anomaly> {
        self.anomaly_set().to_vec()
    }

    fn update_anomalies(&self, f: impl Fn(Anomalies) -> Anomalies) {
        let _ = self
            .inner
            .anomalies
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |bits| {
                Some(f(Anomalies(bits)).0)
            });
    }

    pub(crate) fn anomaly_set(&self) -> Anomalies {
        Anomalies(self.inner.anomalies.load(Ordering::SeqCst))
    }

    /// Numbers and records an incoming request, returning its number and either its
    /// fault plan or, when the token bucket is empty, how long until it refills.
    pub(crate) fn begin_request(
        &self,
        method: &str,
        path: &str,
        query: Option<&str>,
        body: Option<String>,
    ) -> (u64, Result<FaultPlan, Duration>) {
        let number = {
            let mut log = lock(&self.inner.log);
            log.count += 1;
            let number = log.count;
            if log.keep_records {
                log.records.push(RequestRecord {
                    number,
                    method: method.to_string(),
                    path: path.to_string(),
                    query: query.map(str::to_string),
                    status: 0,
                    body,
                });
            }
            number
        };
        if let Some(bucket) = lock(&self.inner.limiter).as_mut() {
            if let Err(wait) = bucket.take(Instant::now()) {
                return (number, Err(wait));
            }
        }
        let plan = faults::plan(&mut lock(&self.inner.faults), number, method, path);
        (number, Ok(plan))
    }

    /// Records the status sent for request `number` (0 = none).
    pub(crate) fn finish_request(&self, number: u64, status: u16) {
        let mut log = lock(&self.inner.log);
        // Records are pushed in number order, but may be missing if keeping was
        // switched on mid-run, hence the search from the end.
        if let Some(r) = log.records.iter_mut().rev().find(|r| r.number == number) {
            r.status = status;
        }
    }

    /// Signals in-flight delayed or hanging requests that the server is stopping.
    pub(crate) fn begin_shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }

    /// Resolves once shutdown has begun.
    pub(crate) async fn shutting_down(&self) {
        let mut rx = self.inner.shutdown.subscribe();
        // An error means the sender is gone, which also means we are stopping.
        let _ = rx.wait_for(|stopping| *stopping).await;
    }
}

//! Shared server state: the directory, the fault rules, the request log and the
//! shutdown signal.

use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde_json::Value;
use tokio::sync::watch;

use crate::faults::{self, FaultPlan, FaultRule};
use crate::generator::{generate, Directory};
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
    faults: Mutex<Vec<FaultRule>>,
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

    /// Adds a fault rule.
    pub fn add_fault(&self, rule: FaultRule) {
        lock(&self.inner.faults).push(rule);
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        lock(&self.inner.faults).clear();
    }

    /// Numbers and records an incoming request, returning its number and fault plan.
    pub(crate) fn begin_request(
        &self,
        method: &str,
        path: &str,
        query: Option<&str>,
        body: Option<String>,
    ) -> (u64, FaultPlan) {
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
        let plan = faults::plan(&lock(&self.inner.faults), number);
        (number, plan)
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

//! Serving: the async entry points and the blocking [`TestServer`] harness.

use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::anomaly::Anomaly;
use crate::conn::{ConnMeta, KillableListener};
use crate::faults::{Fault, FaultRule, ScheduledFault};
use crate::generator::Directory;
use crate::ratelimit::RateLimit;
use crate::routes::{self, BASE_PATH};
use crate::scim::ScimError;
use crate::state::{RequestRecord, ServerState};
use crate::Config;

/// Serves `state` on `listener` forever.
pub async fn serve(listener: TcpListener, state: ServerState) -> io::Result<()> {
    serve_with_shutdown(listener, state, std::future::pending()).await
}

/// Serves `state` on `listener` until `signal` resolves, then finishes in-flight
/// requests (delayed or hanging ones are cut short) and returns.
pub async fn serve_with_shutdown<F>(
    listener: TcpListener,
    state: ServerState,
    signal: F,
) -> io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let app = routes::router(state.clone());
    axum::serve(
        KillableListener(listener),
        app.into_make_service_with_connect_info::<ConnMeta>(),
    )
    .with_graceful_shutdown(async move {
        signal.await;
        state.begin_shutdown();
    })
    .await
}

/// How long shutdown waits for lingering connections before abandoning them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A server running on a background thread with its own two-worker tokio runtime,
/// for synchronous tests. Stops and joins on [`TestServer::shutdown`] or drop.
pub struct TestServer {
    addr: SocketAddr,
    state: ServerState,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl TestServer {
    /// Starts a server with generated data on an ephemeral port of 127.0.0.1.
    pub fn start(config: Config) -> io::Result<TestServer> {
        TestServer::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), config)
    }

    /// Starts a server with generated data on `addr` (port 0 picks a free port).
    pub fn start_on(addr: SocketAddr, config: Config) -> io::Result<TestServer> {
        TestServer::start_with_state(addr, ServerState::new(&config))
    }

    /// Starts a server on an ephemeral port serving `dir` instead of generated data.
    pub fn start_with_directory(config: Config, dir: Directory) -> io::Result<TestServer> {
        TestServer::start_with_state(
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            ServerState::with_directory(&config, dir),
        )
    }

    /// Starts serving an existing state on `addr`.
    pub fn start_with_state(addr: SocketAddr, state: ServerState) -> io::Result<TestServer> {
        // Bind before spawning so bind errors reach the caller and the port is
        // accepting connections as soon as this returns.
        let std_listener = std::net::TcpListener::bind(addr)?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("scim-test-server")
            .enable_all()
            .build()?;
        let listener = {
            let _guard = rt.enter();
            TcpListener::from_std(std_listener)?
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let served = state.clone();
        let thread = std::thread::Builder::new()
            .name(format!("scim-test-server-{}", addr.port()))
            .spawn(move || {
                rt.block_on(async move {
                    let server = serve_with_shutdown(listener, served.clone(), async {
                        let _ = stopped.await;
                    });
                    let deadline = async {
                        served.shutting_down().await;
                        tokio::time::sleep(SHUTDOWN_GRACE).await;
                    };
                    tokio::select! {
                        res = server => {
                            if let Err(e) = res {
                                tracing::warn!("test server stopped with error: {e}");
                            }
                        }
                        _ = deadline => tracing::warn!("test server shutdown timed out"),
                    }
                });
                rt.shutdown_timeout(Duration::from_millis(200));
            })?;
        Ok(TestServer {
            addr,
            state,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API base URL, e.g. `http://127.0.0.1:41234/scim/v2`.
    pub fn base_url(&self) -> String {
        format!("http://{}{BASE_PATH}", self.addr)
    }

    /// The shared state (for anything not mirrored below).
    pub fn state(&self) -> &ServerState {
        &self.state
    }

    /// Current users as served, in list order.
    pub fn users(&self) -> Vec<Value> {
        self.state.users()
    }

    /// Current groups as served, in list order.
    pub fn groups(&self) -> Vec<Value> {
        self.state.groups()
    }

    /// A typed copy of the current directory.
    pub fn directory(&self) -> Directory {
        self.state.directory()
    }

    /// Marks user `id` inactive (`false`) or active again, in place and
    /// without a request: the user stays listed with `active: false`, in its
    /// groups, as some members are in a real listing (and the generator's
    /// `i % 100 == 42` users are here). Notion documents no SCIM request that
    /// does this: `active: false` in a PATCH or PUT removes the member, as
    /// DELETE does, and so does this server. A DELETE of an inactive user
    /// removes it like any member. Returns the user as now served, or the
    /// 404 error a GET would get.
    pub fn set_user_active(&self, id: &str, active: bool) -> Result<Value, ScimError> {
        self.state.set_user_active(id, active)
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.state.requests()
    }

    /// Number of requests received so far.
    pub fn request_count(&self) -> usize {
        self.state.request_count()
    }

    /// Adds a fault rule keyed on global request numbers.
    pub fn add_fault(&self, rule: FaultRule) {
        self.state.add_fault(rule);
    }

    /// Adds a scheduled fault, e.g. `ScheduledFault::new(Fault::Status(503),
    /// Schedule::every_nth(7)).only_path("/Users")`; its schedule counts the
    /// requests in its scope from now on.
    pub fn inject(&self, fault: ScheduledFault) {
        self.state.inject(fault);
    }

    /// Applies `fault` to the next `count` requests (counting from now).
    pub fn fail_next(&self, fault: Fault, count: u64) {
        self.state.fail_next(fault, count);
    }

    /// Removes every fault rule of either kind (not the rate limit or anomalies).
    pub fn clear_faults(&self) {
        self.state.clear_faults();
    }

    /// Turns the token-bucket rate limit on (starting full) or off (`None`).
    pub fn set_rate_limit(&self, limit: Option<RateLimit>) {
        self.state.set_rate_limit(limit);
    }

    /// Switches a pagination anomaly on.
    pub fn enable_anomaly(&self, anomaly: Anomaly) {
        self.state.enable_anomaly(anomaly);
    }

    /// Switches a pagination anomaly off.
    pub fn disable_anomaly(&self, anomaly: Anomaly) {
        self.state.disable_anomaly(anomaly);
    }

    /// Switches every pagination anomaly off.
    pub fn clear_anomalies(&self) {
        self.state.clear_anomalies();
    }

    /// The pagination anomalies currently on.
    pub fn anomalies(&self) -> Vec<Anomaly> {
        self.state.anomalies()
    }

    /// Stops serving and joins the server thread.
    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

//! Loading and calling connector components.
//!
//! One [`Runtime`] (a wasmtime engine plus a linker) serves a whole process.
//! A [`ConnectorComponent`] is a compiled component, instantiated once per
//! run into a [`ConnectorInstance`], which owns its own `Store`: nothing is
//! shared between runs.
//!
//! The sandbox: the guest gets no filesystem, environment, sockets or
//! arguments; its only way out is `wasi:http` through the egress hooks. Each
//! store enforces the limits of its [`RunPolicy`]: memory and tables through
//! a resource limiter, time through epoch interruption driven by one ticker
//! thread per runtime (plus a deadline-aware `wasi:io/poll`), response size
//! and requests in flight in the egress hooks. A broken limit fails the
//! call with [`RuntimeError::Limit`]; the store is then done with, the
//! process is not affected.
//!
//! The egress hooks also own retries, backoff and rate limiting of the
//! guest's requests (`retry.rs`, `ratelimit.rs`): connectors do not retry.
//!
//! Calls into the guest are async: a guest waiting on HTTP, a timer or the rate limiter
//! holds no thread, so many runs share a few. Each call has a blocking twin (`validate`
//! beside `validate_async`) that runs it on wasmtime-wasi's tokio runtime, for the CLI and
//! for embedders without one; the blocking forms must not be called from an async task.

mod body;
mod budget;
mod cache;
mod cancel;
mod deadline;
mod egress;
mod error;
mod guest_stderr;
mod limits;
mod policy;
mod ratelimit;
mod repeated;
mod retry;
mod retry_after;
mod secrets;
mod shadow;
mod state;
#[cfg(test)]
mod tests;
mod writes;

pub use budget::RuntimeOptions;
pub use cache::ComponentCache;
pub use cancel::Canceller;
pub use egress::{EgressPolicy, Origin};
pub use error::{ConnectorError, RuntimeError, TrapCause};
pub use limits::Limit;
pub use policy::RunPolicy;
pub use ratelimit::RateLimiter;
pub use repeated::RepeatedWarning;
pub use secrets::SECRET_PLACEHOLDER;
pub use writes::{WriteRecord, DRY_RUN_HEADER};

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};

use crate::bindings::exports::baton::connector::connector::Guest;
use crate::bindings::types::{
    ConfigValue, ConnectorError as WitError, ConnectorMetadata, CreateAccountOutcome,
    EntitlementRef, Grant, GrantOutcome, Page, ProfileEntry, ResourceId, RevokeOutcome,
};
use crate::bindings::{
    BatonConnector, BatonConnectorPre, CONNECTOR_EXPORT_PREFIX, CONTRACT_VERSION,
};
use budget::Budget;
use deadline::Ticker;
use limits::Breach;
use state::HostState;

/// Pool slots per component instance ([`RuntimeOptions::pooling_instances`]): a Rust
/// `wasm32-wasip2` connector has one memory and a handful of core instances and tables;
/// the margin is for other toolchains.
const CORE_INSTANCES_PER_COMPONENT: u32 = 16;
const MEMORIES_PER_COMPONENT: u32 = 2;
const TABLES_PER_COMPONENT: u32 = 4;

/// The bytes of the Notion connector component built with this host.
pub const NOTION_COMPONENT: &[u8] = include_bytes!(env!("BATON_NOTION_COMPONENT_PATH"));

/// A wasmtime engine and linker configured for Baton connectors.
///
/// Clones share the engine, the linker and the epoch ticker thread, which
/// stops when the last runtime, component and instance made from it are dropped.
#[derive(Clone)]
pub struct Runtime {
    engine: Engine,
    linker: Linker<HostState>,
    ticker: Arc<Ticker>,
    cache: Option<ComponentCache>,
    /// The process-wide budgets of [`RuntimeOptions`], shared by every instance.
    budget: Arc<Budget>,
}

impl Runtime {
    /// Builds the engine (with epoch interruption) and links the host's
    /// imports: WASI p2 (without filesystem, network or environment, and with
    /// a `wasi:io/poll` that honours the call deadline), `wasi:http` and the
    /// host logger. Starts the epoch ticker thread.
    pub fn new() -> Result<Runtime, RuntimeError> {
        Runtime::with_options(&RuntimeOptions::default())
    }

    /// Like [`new`](Self::new), with the budgets and the engine's memory layout a
    /// platform chooses ([`RuntimeOptions`]).
    pub fn with_options(options: &RuntimeOptions) -> Result<Runtime, RuntimeError> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        if let Some(bytes) = options.memory_reservation {
            config.memory_reservation(bytes);
        }
        if let Some(instances) = options.pooling_instances {
            let mut pool = PoolingAllocationConfig::default();
            // A connector component holds a few core instances, memories and tables.
            pool.total_component_instances(instances)
                .total_core_instances(instances.saturating_mul(CORE_INSTANCES_PER_COMPONENT))
                .total_memories(instances.saturating_mul(MEMORIES_PER_COMPONENT))
                .total_tables(instances.saturating_mul(TABLES_PER_COMPONENT));
            if let Some(bytes) = options.memory_reservation {
                // A pooled memory lives in its reserved slot and cannot move to grow.
                pool.max_memory_size(usize::try_from(bytes).unwrap_or(usize::MAX));
            }
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        let engine = Engine::new(&config).map_err(RuntimeError::engine)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(RuntimeError::engine)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
            .map_err(RuntimeError::engine)?;
        BatonConnector::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
            .map_err(RuntimeError::engine)?;
        shadow::shadow_wasi_io(&mut linker).map_err(RuntimeError::engine)?;
        let ticker = Ticker::start(&engine)
            .map_err(|e| RuntimeError::Engine(format!("cannot start the epoch ticker: {e}")))?;
        Ok(Runtime {
            engine,
            linker,
            ticker: Arc::new(ticker),
            cache: None,
            budget: Arc::new(Budget::new(options)),
        })
    }

    /// Keeps compiled components in `cache`, so that later loads of the same
    /// component skip compilation.
    pub fn with_cache(mut self, cache: ComponentCache) -> Runtime {
        self.cache = Some(cache);
        self
    }

    /// Compiles a component (or takes it from the cache) and checks that it
    /// implements this host's contract version.
    pub fn load(&self, bytes: &[u8]) -> Result<ConnectorComponent, RuntimeError> {
        let component = match &self.cache {
            Some(cache) => cache.load(&self.engine, bytes),
            None => Component::new(&self.engine, bytes),
        }
        .map_err(RuntimeError::compile)?;
        check_contract_version(&self.engine, &component)?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(RuntimeError::link)?;
        let pre = BatonConnectorPre::new(pre).map_err(RuntimeError::link)?;
        Ok(ConnectorComponent {
            engine: self.engine.clone(),
            pre,
            ticker: self.ticker.clone(),
            budget: self.budget.clone(),
        })
    }
}

fn check_contract_version(engine: &Engine, component: &Component) -> Result<(), RuntimeError> {
    let ty = component.component_type();
    let exported: Vec<String> = ty
        .exports(engine)
        .map(|(name, _)| name.to_string())
        .collect();
    let found = exported
        .iter()
        .find_map(|name| name.strip_prefix(CONNECTOR_EXPORT_PREFIX));
    match found {
        Some(version) if version == CONTRACT_VERSION => Ok(()),
        Some(version) => Err(RuntimeError::ContractVersion {
            component: version.to_string(),
            host: CONTRACT_VERSION.to_string(),
        }),
        None => Err(RuntimeError::NotAConnector {
            exports: exported.join(", "),
        }),
    }
}

/// A compiled connector component, ready to be instantiated per run.
#[derive(Clone)]
pub struct ConnectorComponent {
    engine: Engine,
    pre: BatonConnectorPre<HostState>,
    ticker: Arc<Ticker>,
    budget: Arc<Budget>,
}

impl ConnectorComponent {
    /// Creates a fresh instance in its own store, sandboxed by `policy`.
    /// Instantiation is bounded like a call; the run clock
    /// ([`RunPolicy::run_timeout`]) starts at the instance's first call that may
    /// send a request, so an instance prepared ahead and queued spends none of it
    /// waiting. Blocking: use [`instantiate_async`](Self::instantiate_async) from a task.
    pub fn instantiate(&self, policy: RunPolicy) -> Result<ConnectorInstance, RuntimeError> {
        block_on(self.instantiate_async(policy))
    }

    /// [`instantiate`](Self::instantiate) for async callers.
    pub async fn instantiate_async(
        &self,
        policy: RunPolicy,
    ) -> Result<ConnectorInstance, RuntimeError> {
        let pass_secrets = policy.pass_secrets_to_component;
        let kept = policy.clone();
        let mut store = Store::new(&self.engine, HostState::new(policy, &self.budget));
        store.limiter(|state| &mut state.limiter);
        store.epoch_deadline_callback(deadline::on_tick);
        let pre = &self.pre;
        let bindings = guarded(&mut store, "instantiate", async |store| {
            pre.instantiate_async(store).await
        })
        .await?;
        Ok(ConnectorInstance {
            store,
            bindings,
            pass_secrets,
            policy: kept,
            config_identity: BTreeMap::new(),
            _ticker: self.ticker.clone(),
        })
    }
}

/// Hands memory the process freed back to the system, where glibc's allocator would keep
/// it for later use: a platform calls it after a burst of syncs, so that its RSS falls
/// back instead of staying at the burst's peak. Costs a walk over the heap (a few ms);
/// does nothing on other allocators.
pub fn release_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap memory to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Runs an async call to its end on this thread, for the blocking API. It uses the
/// runtime wasi:http already runs on; it must not be called from an async task.
pub(crate) fn block_on<F: std::future::Future>(f: F) -> F::Output {
    wasmtime_wasi::runtime::in_tokio(f)
}

/// Runs one call into the guest under the store's limits: sets the epoch
/// deadline, and explains a failure by the limit it broke when there was one.
async fn guarded<T>(
    store: &mut Store<HostState>,
    call: &'static str,
    f: impl AsyncFnOnce(&mut Store<HostState>) -> wasmtime::Result<T>,
) -> Result<T, RuntimeError> {
    if store.data().canceller.is_cancelled() {
        return Err(RuntimeError::Cancelled { call });
    }
    // Calls that send nothing need no turn and do not start the run.
    let starts_run = !matches!(call, "instantiate" | "metadata" | "configure");
    if starts_run && !store.data().admitted() {
        // Before the run clock starts: a run that waits for its turn spends none of it.
        let (budget, canceller) = {
            let state = store.data();
            (state.budget.clone(), state.canceller.clone())
        };
        let ticket = budget
            .enter_run(&canceller)
            .await
            .map_err(|()| RuntimeError::Cancelled { call })?;
        store.data_mut().admit(ticket);
    }
    let span = store.data().span.clone();
    store
        .data_mut()
        .deadlines
        .begin_call(starts_run)
        .map_err(|limit| RuntimeError::Limit { call, limit })?;
    // Left over from an earlier call that succeeded despite it.
    store.data().tripwire.take();
    // The epoch callback checks the clock at every tick from the next one on.
    store.set_epoch_deadline(1);
    let result = tracing::Instrument::instrument(f(store), span).await;
    let bound = store.data_mut().deadlines.end_call();
    result.map_err(|e| RuntimeError::trap(call, e, store.data(), bound))
}

/// A live connector: one store, one instance, used by one run at a time.
pub struct ConnectorInstance {
    store: Store<HostState>,
    bindings: BatonConnector,
    /// [`RunPolicy::pass_secrets_to_component`].
    pass_secrets: bool,
    /// The policy it runs under, for the limits that the sync engine enforces.
    policy: RunPolicy,
    /// Set by [`configure`](Self::configure); see [`config_identity`](Self::config_identity).
    config_identity: BTreeMap<String, String>,
    /// Keeps the epoch advancing while this instance lives.
    _ticker: Arc<Ticker>,
}

impl ConnectorInstance {
    /// The counters of requests sent and retried, shared with a sync's progress view.
    pub(crate) fn request_counters(&self) -> (Arc<AtomicU64>, Arc<AtomicU64>) {
        self.store.data().hooks.counters()
    }

    /// The run's span ([`RunPolicy::label`]; disabled without a label). The sync engine
    /// enters it, so that its own lines carry the label too.
    pub fn span(&self) -> tracing::Span {
        self.store.data().span.clone()
    }

    /// The configuration this instance was given, by field name, with each secret value
    /// replaced by a fingerprint of it (`fingerprint:` and 16 hex digits). A sync records
    /// it in its checkpoint, so that a later run resumes only a sync of the same setup.
    /// Empty before [`configure`](Self::configure).
    pub fn config_identity(&self) -> &BTreeMap<String, String> {
        &self.config_identity
    }

    /// The policy this instance was made with. The sync engine reads its
    /// bounds on what a run may produce ([`RunPolicy::max_pages_per_listing`],
    /// [`RunPolicy::max_objects`], [`RunPolicy::max_database_bytes`]) here.
    pub fn policy(&self) -> &RunPolicy {
        &self.policy
    }

    /// The connector's static description.
    pub fn metadata(&mut self) -> Result<ConnectorMetadata, RuntimeError> {
        block_on(self.metadata_async())
    }

    /// [`metadata`](Self::metadata) for async callers.
    pub async fn metadata_async(&mut self) -> Result<ConnectorMetadata, RuntimeError> {
        let guest = self.bindings.baton_connector_connector();
        let result = guarded(&mut self.store, "metadata", async |s| {
            guest.call_metadata(s).await
        })
        .await;
        result.map_err(|e| e.labelled(self.policy.label.as_deref()))
    }

    /// Passes the configuration, without its secrets: the guest gets
    /// [`SECRET_PLACEHOLDER`] for each secret field, and the host adds the
    /// fields bound to an origin to the requests it sends there. Only
    /// [`RunPolicy::pass_secrets_to_component`] passes unbound secrets in;
    /// their values are then redacted from what the guest logs or returns.
    /// `metadata` is this instance's own ([`Self::metadata`]).
    pub fn configure(
        &mut self,
        metadata: &ConnectorMetadata,
        values: &[ConfigValue],
    ) -> Result<(), RuntimeError> {
        block_on(self.configure_async(metadata, values))
    }

    /// [`configure`](Self::configure) for async callers.
    pub async fn configure_async(
        &mut self,
        metadata: &ConnectorMetadata,
        values: &[ConfigValue],
    ) -> Result<(), RuntimeError> {
        let values_given = values;
        let plan = secrets::plan(metadata, values, self.pass_secrets)
            .map_err(|e| RuntimeError::InvalidConfig(e).labelled(self.policy.label.as_deref()))?;
        if !metadata.read_only_posts.is_empty() {
            tracing::info!(
                paths = %metadata.read_only_posts.join(", "),
                "the connector declares these POST paths read-only; they are allowed where \
                 writes are not"
            );
        }
        let state = self.store.data_mut();
        for secret in &plan.passed_in {
            state.redactor.add(secret);
        }
        state
            .hooks
            .configure(plan.credentials, metadata.read_only_posts.clone());
        let values = plan.guest_values;
        self.call("configure", async |c, s| c.call_configure(s, &values).await)
            .await?;
        self.config_identity = secrets::config_identity(metadata, values_given);
        Ok(())
    }

    /// Asks the connector to check its configuration against the upstream.
    pub fn validate(&mut self) -> Result<(), RuntimeError> {
        block_on(self.validate_async())
    }

    /// [`validate`](Self::validate) for async callers.
    pub async fn validate_async(&mut self) -> Result<(), RuntimeError> {
        self.call("validate", async |c, s| c.call_validate(s).await)
            .await
    }

    /// One page of resources of a type.
    pub fn list_resources(
        &mut self,
        resource_type: &str,
        parent: Option<&ResourceId>,
        page_token: &str,
    ) -> Result<Page, RuntimeError> {
        block_on(self.list_resources_async(resource_type, parent, page_token))
    }

    /// [`list_resources`](Self::list_resources) for async callers.
    pub async fn list_resources_async(
        &mut self,
        resource_type: &str,
        parent: Option<&ResourceId>,
        page_token: &str,
    ) -> Result<Page, RuntimeError> {
        self.call("list-resources", async |c, s| {
            c.call_list_resources(s, resource_type, parent, page_token)
                .await
        })
        .await
    }

    /// One page of entitlements of a resource.
    pub fn list_entitlements(
        &mut self,
        resource: &ResourceId,
        page_token: &str,
    ) -> Result<Page, RuntimeError> {
        block_on(self.list_entitlements_async(resource, page_token))
    }

    /// [`list_entitlements`](Self::list_entitlements) for async callers.
    pub async fn list_entitlements_async(
        &mut self,
        resource: &ResourceId,
        page_token: &str,
    ) -> Result<Page, RuntimeError> {
        self.call("list-entitlements", async |c, s| {
            c.call_list_entitlements(s, resource, page_token).await
        })
        .await
    }

    /// One page of grants on a resource.
    pub fn list_grants(
        &mut self,
        resource: &ResourceId,
        page_token: &str,
    ) -> Result<Page, RuntimeError> {
        block_on(self.list_grants_async(resource, page_token))
    }

    /// [`list_grants`](Self::list_grants) for async callers.
    pub async fn list_grants_async(
        &mut self,
        resource: &ResourceId,
        page_token: &str,
    ) -> Result<Page, RuntimeError> {
        self.call("list-grants", async |c, s| {
            c.call_list_grants(s, resource, page_token).await
        })
        .await
    }

    /// Grants an entitlement to a principal.
    pub fn grant_entitlement(
        &mut self,
        principal: &ResourceId,
        entitlement: &EntitlementRef,
    ) -> Result<GrantOutcome, RuntimeError> {
        block_on(self.call("grant-entitlement", async |c, s| {
            c.call_grant_entitlement(s, principal, entitlement).await
        }))
    }

    /// Revokes a grant.
    pub fn revoke_grant(&mut self, grant: &Grant) -> Result<RevokeOutcome, RuntimeError> {
        block_on(self.call("revoke-grant", async |c, s| {
            c.call_revoke_grant(s, grant).await
        }))
    }

    /// Creates an account from a profile.
    pub fn create_account(
        &mut self,
        profile: &[ProfileEntry],
    ) -> Result<CreateAccountOutcome, RuntimeError> {
        block_on(self.call("create-account", async |c, s| {
            c.call_create_account(s, profile).await
        }))
    }

    /// Deletes a resource; `false` when it was already gone.
    pub fn delete_resource(&mut self, id: &ResourceId) -> Result<bool, RuntimeError> {
        block_on(self.call("delete-resource", async |c, s| {
            c.call_delete_resource(s, id).await
        }))
    }

    /// Calls an export that returns `result<T, connector-error>`, keeping
    /// traps apart from connector errors and redacting secrets from both.
    /// A connector error after a breach (a refused origin, an oversized
    /// response) is reported as the breach: that is the cause, whatever
    /// the guest made of it.
    async fn call<T>(
        &mut self,
        name: &'static str,
        f: impl AsyncFnOnce(&Guest, &mut Store<HostState>) -> wasmtime::Result<Result<T, WitError>>,
    ) -> Result<T, RuntimeError> {
        let guest = self.bindings.baton_connector_connector();
        // Writes belong to provisioning; everything else only reads.
        let writes = matches!(
            name,
            "grant-entitlement" | "revoke-grant" | "create-account" | "delete-resource"
        );
        self.store.data_mut().hooks.allow_writes(writes);
        let label = self.policy.label.clone();
        let result = guarded(&mut self.store, name, async |s| f(guest, s).await)
            .await
            .map_err(|e| e.labelled(label.as_deref()))?;
        // A refused origin or write fails the call even when the guest
        // carried on: the embedder must hear of the attempt.
        if result.is_ok() {
            if let Some(breach @ (Breach::Egress { .. } | Breach::Write { .. })) =
                self.store.data().tripwire.take()
            {
                return Err(RuntimeError::breach(name, breach).labelled(label.as_deref()));
            }
        }
        result.map_err(|e| {
            let state = self.store.data();
            let error = match state.tripwire.take() {
                Some(breach) => RuntimeError::breach(name, breach),
                None => RuntimeError::Connector {
                    call: name,
                    error: ConnectorError::from_wit(e, &state.redactor),
                },
            };
            error.labelled(label.as_deref())
        })
    }

    /// The writes provisioning calls sent so far (in a dry run: would have
    /// sent), in order, with query values redacted.
    pub fn writes(&self) -> Vec<WriteRecord> {
        self.store.data().hooks.writes()
    }

    /// The warnings the connector reported as repeating, one summary per
    /// kind, in the order each kind first came.
    pub fn repeated_warnings(&self) -> Vec<RepeatedWarning> {
        self.store.data().repeated.summaries()
    }

    /// A handle that cancels this instance's run from any thread.
    pub fn canceller(&self) -> Canceller {
        self.store.data().canceller.clone()
    }

    /// HTTP requests sent on the wire for the guest so far, retries included.
    pub fn requests_sent(&self) -> u64 {
        self.store.data().hooks.sent()
    }

    /// Of [`requests_sent`](Self::requests_sent), the retries the host made
    /// after transient failures.
    pub fn requests_retried(&self) -> u64 {
        self.store.data().hooks.retried()
    }
}

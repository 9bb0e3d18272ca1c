//! The per-store state: WASI contexts, the egress hooks, the limits and the host logger.

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use std::sync::Arc;

use super::budget::{Budget, RunTicket};
use super::cancel::Canceller;
use super::deadline::Deadlines;
use super::egress::EgressHooks;
use super::guest_stderr::TailPipe;
use super::limits::{GuestLimiter, Tripwire};
use super::repeated::RepeatedWarnings;
use super::RunPolicy;
use crate::bindings::baton::connector::host;
use crate::bindings::types::LogLevel;
use crate::redact::Redactor;

/// Bytes of guest stderr kept for error reports (panic messages land there,
/// last); older output is dropped, never refused.
const STDERR_CAPTURE: usize = 16 * 1024;

/// Everything one store owns.
pub(crate) struct HostState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    pub(crate) hooks: EgressHooks,
    pub(crate) redactor: Redactor,
    pub(crate) stderr: TailPipe,
    pub(crate) limiter: GuestLimiter,
    pub(crate) deadlines: Deadlines,
    /// What stopped the current call, recorded where the limit is enforced.
    pub(crate) tripwire: Tripwire,
    /// [`RunPolicy::dry_run`].
    dry_run: bool,
    /// Cancels the run from outside (`cancel.rs`).
    pub(crate) canceller: Canceller,
    /// Warnings the connector reported as repeating (`host.warn-repeated`).
    pub(crate) repeated: RepeatedWarnings,
    /// The runtime's process-wide budgets.
    pub(crate) budget: Arc<Budget>,
    /// Set at the first call: `Some(None)` when runs are not bounded.
    ticket: Option<Option<RunTicket>>,
    /// Entered around every call, and around the HTTP work done for it, so that every
    /// line logged for the run carries its [`RunPolicy::label`].
    pub(crate) span: tracing::Span,
}

impl HostState {
    /// Whether the run has entered the runtime's runs in progress.
    pub(crate) fn admitted(&self) -> bool {
        self.ticket.is_some()
    }

    /// Records that the run entered, holding its place until the instance is dropped.
    pub(crate) fn admit(&mut self, ticket: Option<RunTicket>) {
        self.ticket = Some(ticket);
    }

    pub(crate) fn new(policy: RunPolicy, budget: &Arc<Budget>) -> HostState {
        let span = match &policy.label {
            // At ERROR level, so that any filter that lets a line of the run through
            // keeps its span too.
            Some(label) => tracing::error_span!("run", label = %label),
            None => tracing::Span::none(),
        };
        let stderr = TailPipe::new(STDERR_CAPTURE);
        // No preopens, no environment, no arguments, no sockets: the guest's
        // only way out is wasi:http through the egress hooks.
        let wasi = WasiCtx::builder()
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let tripwire = Tripwire::default();
        let dry_run = policy.dry_run;
        let deadlines = Deadlines::new(policy.call_timeout, policy.run_timeout);
        HostState {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            limiter: GuestLimiter::new(
                policy.memory_limit,
                policy.table_elements_limit,
                tripwire.clone(),
            ),
            hooks: EgressHooks::new(
                &policy,
                tripwire.clone(),
                deadlines.clock(),
                budget.requests.clone(),
                span.clone(),
            ),
            deadlines,
            tripwire,
            redactor: Redactor::default(),
            stderr,
            dry_run,
            repeated: RepeatedWarnings::default(),
            canceller: Canceller::new(),
            budget: budget.clone(),
            ticket: None,
            span,
        }
    }

    /// What the replaced `wasi:io` functions need (`shadow.rs`), borrowed at once.
    pub(crate) fn poll_parts(&mut self) -> (&mut ResourceTable, &Deadlines, &Tripwire, &Canceller) {
        (
            &mut self.table,
            &self.deadlines,
            &self.tripwire,
            &self.canceller,
        )
    }

    /// What the guest wrote to stderr, redacted; used to explain traps.
    pub(crate) fn stderr_text(&self) -> String {
        let bytes = self.stderr.contents();
        self.redactor.redact(String::from_utf8_lossy(&bytes).trim())
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

impl host::Host for HostState {
    fn log(&mut self, level: LogLevel, message: String) {
        let mut message = self.redactor.redact(&message);
        // The connector reports what it did; in a dry run it did not.
        if self.dry_run {
            message.insert_str(0, "dry run, not sent: ");
        }
        match level {
            LogLevel::Trace => tracing::trace!(target: "connector", "{message}"),
            LogLevel::Debug => tracing::debug!(target: "connector", "{message}"),
            LogLevel::Info => tracing::info!(target: "connector", "{message}"),
            LogLevel::Warn => tracing::warn!(target: "connector", "{message}"),
            LogLevel::Error => tracing::error!(target: "connector", "{message}"),
        }
    }

    fn warn_repeated(&mut self, kind: String, detail: String, subject: String, message: String) {
        let (kind, detail) = (self.redactor.redact(&kind), self.redactor.redact(&detail));
        let (subject, message) = (
            self.redactor.redact(&subject),
            self.redactor.redact(&message),
        );
        if self.repeated.count(&kind, &detail, &subject) {
            tracing::warn!(
                target: "connector",
                "{message} (further ones are counted in the summary at the end)"
            );
        } else {
            tracing::debug!(target: "connector", "{message}");
        }
    }
}

impl crate::bindings::baton::connector::types::Host for HostState {}

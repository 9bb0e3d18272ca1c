//! The OpenTelemetry flags of Baton's connectors, and the glue that traces a sync with them.
//!
//! Kept here rather than in the CLI so `baton-notion` only flattens [`OtelArgs`], feeds
//! the [`SyncTrace`] from [`OtelArgs::start`] its pages and ends it after the sync.

use std::path::Path;

use super::{Collector, TraceRecorder};
use crate::bindings::types::{ConfigValue, ConnectorMetadata};
use crate::sync::{PageEvent, SyncError, SyncReport};

/// Baton's `--otel-*` flags (only traces are exported; Baton's log export is not offered).
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "OpenTelemetry")]
pub struct OtelArgs {
    /// OpenTelemetry collector to send a trace of the sync to, over OTLP/HTTP (protobuf):
    /// http://host:4318, https://host:port, or host:port (https)
    #[arg(long, env = "BATON_OTEL_COLLECTOR_ENDPOINT", value_name = "URL",
          value_parser = endpoint)]
    pub otel_collector_endpoint: Option<String>,

    /// Reach a host:port collector endpoint over plaintext HTTP instead of https
    #[arg(long, env = "BATON_OTEL_COLLECTOR_ENDPOINT_TLS_INSECURE")]
    pub otel_collector_endpoint_tls_insecure: bool,

    /// Send no traces, even with --otel-collector-endpoint
    #[arg(long, env = "BATON_OTEL_TRACING_DISABLED")]
    pub otel_tracing_disabled: bool,
}

/// Checks the endpoint while the command line is parsed, so a typo fails before the sync.
fn endpoint(value: &str) -> Result<String, String> {
    Collector::parse(value, false)
        .map(|_| value.to_string())
        .map_err(|e| e.to_string())
}

impl OtelArgs {
    /// The collector to export to, unless tracing is off.
    pub fn collector(&self) -> Option<Collector> {
        if self.otel_tracing_disabled {
            return None;
        }
        let endpoint = self.otel_collector_endpoint.as_deref()?;
        match Collector::parse(endpoint, self.otel_collector_endpoint_tls_insecure) {
            Ok(collector) => Some(collector),
            Err(e) => {
                // Unreachable: clap already checked the endpoint.
                tracing::warn!(error = %e, "not exporting a trace of the sync");
                None
            }
        }
    }

    /// Starts tracing a sync of `metadata`'s connector into `file`: records pages only when
    /// a collector is configured. The values of secret config fields are redacted.
    pub fn start(
        &self,
        metadata: &ConnectorMetadata,
        config: &[ConfigValue],
        file: &Path,
    ) -> SyncTrace {
        let Some(collector) = self.collector() else {
            return SyncTrace(None);
        };
        if collector.port() == 4317 {
            tracing::warn!(
                collector = %collector.url(),
                "port 4317 is OTLP/gRPC; this host exports over OTLP/HTTP only (usually \
                 port 4318), trying anyway"
            );
        }
        let mut recorder = TraceRecorder::new(&metadata.name, &metadata.version, file);
        for field in metadata.config_fields.iter().filter(|f| f.secret) {
            for value in config.iter().filter(|v| v.name == field.name) {
                recorder.add_secret(&value.value);
            }
        }
        SyncTrace(Some((recorder, collector)))
    }
}

/// The trace of one CLI sync: feed it every page, then [`end`](Self::end) it.
pub struct SyncTrace(Option<(TraceRecorder, Collector)>);

impl SyncTrace {
    /// Records a page (for `SyncRun::with_observer`); does nothing when tracing is off.
    pub fn observe(&mut self, event: &PageEvent<'_>) {
        if let Some((recorder, _)) = &mut self.0 {
            recorder.observe(event);
        }
    }

    /// Ends the trace with the sync's outcome and exports it. Export problems are logged
    /// as warnings: the sync's result stands whatever happens here.
    pub fn end(self, outcome: Result<&SyncReport, &SyncError>) {
        let Some((recorder, collector)) = self.0 else {
            return;
        };
        let message = outcome.err().map(error_chain);
        let trace = recorder.finish(match outcome {
            Ok(report) => Ok(report),
            Err(_) => Err(message.as_deref().unwrap_or_default()),
        });
        match trace.export_to(&collector) {
            Ok(()) => tracing::info!(
                collector = %collector.url(),
                trace_id = %trace.trace_id(),
                spans = trace.spans().len(),
                "exported the sync's trace"
            ),
            Err(e) => tracing::warn!(
                collector = %collector.url(),
                error = %e,
                hint = collector.hint(),
                "could not export the sync's trace; the sync itself is not affected"
            ),
        }
    }
}

/// The error and its causes on one line, as the CLI prints them.
fn error_chain(e: &SyncError) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let line = cause.to_string();
        // Transparent variants repeat their cause's text.
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}

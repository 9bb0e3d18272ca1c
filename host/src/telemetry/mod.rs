//! OpenTelemetry traces of a sync, exported over OTLP/HTTP with protobuf encoding.
//!
//! A [`TraceRecorder`] is fed the sync engine's [`PageEvent`]s and builds one trace: a root
//! span `sync` and one child span per page call (`list-resources user`…). [`Trace::export`]
//! POSTs it to `<endpoint>/v1/traces` once the sync is over, so tracing costs the sync
//! one small span in memory per page and an unreachable collector cannot slow it down. Only OTLP/HTTP is
//! spoken (no gRPC): it needs no HTTP/2 or protobuf service code, and every OpenTelemetry
//! collector accepts it (usually on port 4318).
//!
//! Attribute values that contain a registered secret are redacted before export.

mod cli;
mod error;
mod export;
pub mod otlp;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use prost::Message;

pub use cli::{OtelArgs, SyncTrace};
pub use error::TelemetryError;
pub use export::Collector;

use crate::redact::Redactor;
use crate::sync::{Listing, PageEvent, SyncReport, TypeStats};
use otlp::{span::SpanKind, status::StatusCode, KeyValue, Span, Status};

/// Page spans kept per trace. A connector that lists entitlements per resource makes one
/// page call per resource; past this many the trace would be too large for collectors
/// (and for anyone reading it), so further pages are only counted on the root span.
pub const MAX_PAGE_SPANS: usize = 10_000;

/// Spans per export request, to stay well under collectors' request-size limits.
const SPANS_PER_REQUEST: usize = 1_000;

/// Builds the trace of one sync from its page events.
pub struct TraceRecorder {
    trace_id: [u8; 16],
    root_id: [u8; 8],
    /// Wall-clock start, in Unix nanoseconds; later times add the monotonic elapsed time,
    /// so spans stay ordered even if the system clock jumps during the sync.
    start_unix: u64,
    start: Instant,
    connector: String,
    connector_version: String,
    file: String,
    redactor: Redactor,
    spans: Vec<Span>,
    dropped_spans: u64,
    /// Pages seen per (resource type, listing), for each span's `baton.page`.
    page_numbers: HashMap<(String, &'static str), u64>,
    /// Latest totals per resource type, in the order the types were first seen.
    totals: Vec<(String, TypeStats)>,
}

impl TraceRecorder {
    /// Starts the trace of a sync by `connector` (its metadata name and version) into `file`.
    pub fn new(connector: &str, connector_version: &str, file: &Path) -> TraceRecorder {
        TraceRecorder {
            trace_id: random_id(),
            root_id: random_id(),
            start_unix: unix_nanos(SystemTime::now()),
            start: Instant::now(),
            connector: connector.to_string(),
            connector_version: connector_version.to_string(),
            file: file.display().to_string(),
            redactor: Redactor::default(),
            spans: Vec::new(),
            dropped_spans: 0,
            page_numbers: HashMap::new(),
            totals: Vec::new(),
        }
    }

    /// Registers a secret (a config value marked secret) to redact from every attribute.
    pub fn add_secret(&mut self, secret: &str) {
        self.redactor.add(secret);
    }

    /// The trace id, as the 32 lowercase hex digits tracing UIs search by.
    pub fn trace_id(&self) -> String {
        hex(&self.trace_id)
    }

    /// Records one page as a child span from its connector call to the end of its write (now).
    pub fn observe(&mut self, event: &PageEvent<'_>) {
        let end = self.now();
        // Never before the root span: trace viewers draw such children oddly.
        let start = end
            .saturating_sub(nanos(event.called_at.elapsed()))
            .max(self.start_unix);
        let listing = listing_name(event.listing);
        let page = self
            .page_numbers
            .entry((event.resource_type.to_string(), listing))
            .or_default();
        *page += 1;
        let page = *page;
        match self
            .totals
            .iter_mut()
            .find(|(t, _)| t == event.resource_type)
        {
            Some((_, totals)) => *totals = event.totals.clone(),
            None => self
                .totals
                .push((event.resource_type.to_string(), event.totals.clone())),
        }
        if self.spans.len() >= MAX_PAGE_SPANS {
            self.dropped_spans += 1;
            return;
        }
        let resource_type = self.redactor.redact(event.resource_type);
        let attributes = vec![
            KeyValue::string("baton.resource_type", resource_type.as_str()),
            KeyValue::string("baton.listing", listing),
            KeyValue::int("baton.page", page),
            KeyValue::int("baton.items", event.items),
            KeyValue::int("baton.resources", event.totals.resources),
            KeyValue::int("baton.entitlements", event.totals.entitlements),
            KeyValue::int("baton.grants", event.totals.grants),
            KeyValue::int("baton.duplicates", event.totals.duplicates),
            KeyValue::double("baton.call_ms", millis(event.call)),
            KeyValue::double("baton.write_ms", millis(event.write)),
        ];
        self.spans.push(Span {
            trace_id: self.trace_id.to_vec(),
            span_id: random_id::<8>().to_vec(),
            parent_span_id: self.root_id.to_vec(),
            flags: SAMPLED,
            name: format!("list-{listing} {resource_type}"),
            kind: SpanKind::Internal as i32,
            start_time_unix_nano: start,
            end_time_unix_nano: end,
            attributes,
            ..Default::default()
        });
    }

    /// Ends the root span with the sync's outcome: its report, or its error message.
    pub fn finish(self, outcome: Result<&SyncReport, &str>) -> Trace {
        let end = match outcome {
            Ok(report) => {
                let pages = report.per_type.iter().map(|(_, s)| s.pages).sum();
                let c = &report.summary.counts;
                let totals = TypeStats {
                    pages,
                    resources: c.resources,
                    entitlements: c.entitlements,
                    grants: c.grants,
                    duplicates: c.duplicates,
                    total_estimate: None,
                };
                End::Ok {
                    sync_id: &report.summary.sync_id,
                    types: report.per_type.len(),
                    totals,
                }
            }
            Err(message) => End::Error(message),
        };
        self.finish_with(end)
    }

    fn finish_with(self, end: End<'_>) -> Trace {
        let mut attributes = vec![
            KeyValue::string("baton.connector", self.redactor.redact(&self.connector)),
            KeyValue::string("baton.file", self.redactor.redact(&self.file)),
        ];
        let (totals, types, status) = match end {
            End::Ok {
                sync_id,
                types,
                totals,
            } => {
                attributes.push(KeyValue::string("baton.sync_id", sync_id));
                attributes.push(KeyValue::string("baton.outcome", "ok"));
                (totals, types, Status::ok())
            }
            End::Error(message) => {
                let message = self.redactor.redact(message);
                attributes.push(KeyValue::string("baton.outcome", "error"));
                attributes.push(KeyValue::string("baton.error", message.as_str()));
                let mut totals = TypeStats::default();
                for (_, t) in &self.totals {
                    totals.pages += t.pages;
                    totals.resources += t.resources;
                    totals.entitlements += t.entitlements;
                    totals.grants += t.grants;
                    totals.duplicates += t.duplicates;
                }
                (totals, self.totals.len(), Status::error(message))
            }
        };
        attributes.extend([
            KeyValue::int("baton.resource_types", types),
            KeyValue::int("baton.pages", totals.pages),
            KeyValue::int("baton.resources", totals.resources),
            KeyValue::int("baton.entitlements", totals.entitlements),
            KeyValue::int("baton.grants", totals.grants),
            KeyValue::int("baton.duplicates", totals.duplicates),
            KeyValue::int("baton.dropped_page_spans", self.dropped_spans),
        ]);
        let root = Span {
            trace_id: self.trace_id.to_vec(),
            span_id: self.root_id.to_vec(),
            flags: SAMPLED,
            name: "sync".into(),
            kind: SpanKind::Internal as i32,
            start_time_unix_nano: self.start_unix,
            end_time_unix_nano: self.now(),
            attributes,
            status: Some(status),
            ..Default::default()
        };
        let mut spans = Vec::with_capacity(self.spans.len() + 1);
        spans.push(root);
        spans.extend(self.spans);
        let resource = otlp::Resource {
            attributes: vec![
                KeyValue::string("service.name", self.redactor.redact(&self.connector)),
                KeyValue::string("service.version", self.connector_version),
            ],
            dropped_attributes_count: 0,
        };
        Trace {
            trace_id: self.trace_id,
            resource,
            spans,
        }
    }

    fn now(&self) -> u64 {
        self.start_unix.saturating_add(nanos(self.start.elapsed()))
    }
}

/// How the sync ended, as the root span reports it.
enum End<'a> {
    Ok {
        sync_id: &'a str,
        types: usize,
        totals: TypeStats,
    },
    Error(&'a str),
}

/// A finished trace, ready to export.
#[derive(Debug, Clone)]
pub struct Trace {
    trace_id: [u8; 16],
    resource: otlp::Resource,
    /// The root span first, then the page spans in order.
    spans: Vec<Span>,
}

impl Trace {
    /// The trace id in hex.
    pub fn trace_id(&self) -> String {
        hex(&self.trace_id)
    }

    /// All spans, the root first.
    pub fn spans(&self) -> &[Span] {
        &self.spans
    }

    /// The export requests, each protobuf-encoded, `per_request` spans at most in each.
    pub fn encode(&self, per_request: usize) -> Vec<Vec<u8>> {
        self.spans
            .chunks(per_request.max(1))
            .map(|spans| {
                otlp::ExportTraceServiceRequest {
                    resource_spans: vec![otlp::ResourceSpans {
                        resource: Some(self.resource.clone()),
                        scope_spans: vec![otlp::ScopeSpans {
                            scope: Some(otlp::InstrumentationScope {
                                name: env!("CARGO_PKG_NAME").into(),
                                version: env!("CARGO_PKG_VERSION").into(),
                            }),
                            spans: spans.to_vec(),
                            schema_url: String::new(),
                        }],
                        schema_url: String::new(),
                    }],
                }
                .encode_to_vec()
            })
            .collect()
    }

    /// Sends the trace to the collector at `endpoint` (see [`Collector::parse`]; a bare
    /// `host:port` means https).
    pub fn export(&self, endpoint: &str) -> Result<(), TelemetryError> {
        self.export_to(&Collector::parse(endpoint, false)?)
    }

    /// Sends the trace to `collector`, in requests of at most 1000 spans, within 10 s.
    pub fn export_to(&self, collector: &Collector) -> Result<(), TelemetryError> {
        export::send(collector, self.encode(SPANS_PER_REQUEST))
    }
}

impl Status {
    fn ok() -> Status {
        Status {
            message: String::new(),
            code: StatusCode::Ok as i32,
        }
    }

    fn error(message: String) -> Status {
        Status {
            message,
            code: StatusCode::Error as i32,
        }
    }
}

/// W3C trace flag "sampled": this trace was recorded on purpose.
const SAMPLED: u32 = 0x01;

fn listing_name(listing: Listing) -> &'static str {
    match listing {
        Listing::Resources => "resources",
        Listing::Entitlements => "entitlements",
        Listing::Grants => "grants",
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(nanos).unwrap_or(0)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random, non-zero id (OTLP treats all-zero ids as invalid).
fn random_id<const N: usize>() -> [u8; N] {
    let mut id = [0u8; N];
    if getrandom::fill(&mut id).is_err() {
        // No OS randomness is very unlikely; std's randomly keyed hasher plus the clock
        // still gives ids that do not collide between runs.
        use std::hash::{BuildHasher, Hasher};
        for chunk in id.chunks_mut(8) {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(unix_nanos(SystemTime::now()));
            let bytes = h.finish().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
    if id.iter().all(|b| *b == 0) {
        id[N - 1] = 1;
    }
    id
}

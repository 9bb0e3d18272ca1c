//! Hand-written prost messages for the OTLP trace export (OTLP/HTTP, protobuf encoding).
//!
//! Only the fields this host writes or reads are declared; the tag numbers are those of
//! opentelemetry-proto's `collector/trace/v1/trace_service.proto`, `trace/v1/trace.proto`,
//! `common/v1/common.proto` and `resource/v1/resource.proto`. Writing them by hand avoids
//! `protoc` at build time and the whole OpenTelemetry SDK for one request per sync.
//! Undeclared fields (events, links, array values…) are skipped when decoding.

/// `ExportTraceServiceRequest`: the body POSTed to `/v1/traces`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExportTraceServiceRequest {
    /// Spans grouped by the resource (process) that produced them.
    #[prost(message, repeated, tag = "1")]
    pub resource_spans: Vec<ResourceSpans>,
}

/// `ExportTraceServiceResponse`: what a collector answers on success.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExportTraceServiceResponse {
    /// Set when the collector accepted only part of the spans.
    #[prost(message, optional, tag = "1")]
    pub partial_success: Option<ExportTracePartialSuccess>,
}

/// `ExportTracePartialSuccess`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExportTracePartialSuccess {
    /// Spans the collector dropped.
    #[prost(int64, tag = "1")]
    pub rejected_spans: i64,
    /// Why.
    #[prost(string, tag = "2")]
    pub error_message: String,
}

/// `google.rpc.Status`: the body of an OTLP/HTTP error answer in protobuf encoding.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcStatus {
    /// gRPC status code.
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// Developer-facing message.
    #[prost(string, tag = "2")]
    pub message: String,
}

/// `ResourceSpans`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ResourceSpans {
    /// The process that produced the spans (`service.name`…).
    #[prost(message, optional, tag = "1")]
    pub resource: Option<Resource>,
    /// Spans grouped by instrumentation scope.
    #[prost(message, repeated, tag = "2")]
    pub scope_spans: Vec<ScopeSpans>,
    /// Semantic-conventions schema of the resource attributes.
    #[prost(string, tag = "3")]
    pub schema_url: String,
}

/// `Resource`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Resource {
    /// Attributes of the process.
    #[prost(message, repeated, tag = "1")]
    pub attributes: Vec<KeyValue>,
    /// Attributes dropped for limits.
    #[prost(uint32, tag = "2")]
    pub dropped_attributes_count: u32,
}

/// `ScopeSpans`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ScopeSpans {
    /// The instrumentation that produced the spans.
    #[prost(message, optional, tag = "1")]
    pub scope: Option<InstrumentationScope>,
    /// The spans.
    #[prost(message, repeated, tag = "2")]
    pub spans: Vec<Span>,
    /// Semantic-conventions schema of the span attributes.
    #[prost(string, tag = "3")]
    pub schema_url: String,
}

/// `InstrumentationScope`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct InstrumentationScope {
    /// Name of the instrumentation (here the host crate).
    #[prost(string, tag = "1")]
    pub name: String,
    /// Its version.
    #[prost(string, tag = "2")]
    pub version: String,
}

/// `Span`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Span {
    /// 16 bytes, shared by every span of the trace.
    #[prost(bytes = "vec", tag = "1")]
    pub trace_id: Vec<u8>,
    /// 8 bytes, unique within the trace.
    #[prost(bytes = "vec", tag = "2")]
    pub span_id: Vec<u8>,
    /// W3C `tracestate`.
    #[prost(string, tag = "3")]
    pub trace_state: String,
    /// The parent's `span_id`; empty for the root span.
    #[prost(bytes = "vec", tag = "4")]
    pub parent_span_id: Vec<u8>,
    /// Bits 0-7: W3C trace flags.
    #[prost(fixed32, tag = "16")]
    pub flags: u32,
    /// Operation name.
    #[prost(string, tag = "5")]
    pub name: String,
    /// A [`span::SpanKind`].
    #[prost(enumeration = "span::SpanKind", tag = "6")]
    pub kind: i32,
    /// Start, in nanoseconds since the Unix epoch.
    #[prost(fixed64, tag = "7")]
    pub start_time_unix_nano: u64,
    /// End, in nanoseconds since the Unix epoch.
    #[prost(fixed64, tag = "8")]
    pub end_time_unix_nano: u64,
    /// Attributes.
    #[prost(message, repeated, tag = "9")]
    pub attributes: Vec<KeyValue>,
    /// Attributes dropped for limits.
    #[prost(uint32, tag = "10")]
    pub dropped_attributes_count: u32,
    /// Outcome.
    #[prost(message, optional, tag = "15")]
    pub status: Option<Status>,
}

impl Span {
    /// The value of attribute `key`, if set.
    pub fn attribute(&self, key: &str) -> Option<&any_value::Value> {
        self.attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref())
            .and_then(|v| v.value.as_ref())
    }
}

/// Nested types of [`Span`].
pub mod span {
    /// `Span.SpanKind`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum SpanKind {
        /// Unspecified.
        Unspecified = 0,
        /// An in-process operation.
        Internal = 1,
        /// Handles a remote request.
        Server = 2,
        /// Makes a remote request.
        Client = 3,
        /// Sends a message.
        Producer = 4,
        /// Receives a message.
        Consumer = 5,
    }
}

/// `Status` (tag 1 is reserved in the proto).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Status {
    /// Description of an error.
    #[prost(string, tag = "2")]
    pub message: String,
    /// A [`status::StatusCode`].
    #[prost(enumeration = "status::StatusCode", tag = "3")]
    pub code: i32,
}

/// Nested types of [`Status`].
pub mod status {
    /// `Status.StatusCode`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum StatusCode {
        /// Not set.
        Unset = 0,
        /// The operation succeeded.
        Ok = 1,
        /// The operation failed.
        Error = 2,
    }
}

/// `KeyValue`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct KeyValue {
    /// Attribute name.
    #[prost(string, tag = "1")]
    pub key: String,
    /// Attribute value.
    #[prost(message, optional, tag = "2")]
    pub value: Option<AnyValue>,
}

impl KeyValue {
    /// A string attribute.
    pub fn string(key: &str, value: impl Into<String>) -> KeyValue {
        KeyValue::of(key, any_value::Value::StringValue(value.into()))
    }

    /// An integer attribute; counts beyond `i64::MAX` saturate.
    pub fn int(key: &str, value: impl TryInto<i64>) -> KeyValue {
        let value = value.try_into().unwrap_or(i64::MAX);
        KeyValue::of(key, any_value::Value::IntValue(value))
    }

    /// A floating-point attribute.
    pub fn double(key: &str, value: f64) -> KeyValue {
        KeyValue::of(key, any_value::Value::DoubleValue(value))
    }

    fn of(key: &str, value: any_value::Value) -> KeyValue {
        KeyValue {
            key: key.to_string(),
            value: Some(AnyValue { value: Some(value) }),
        }
    }
}

/// `AnyValue` (array and key-value-list values are not declared: never written).
#[derive(Clone, PartialEq, prost::Message)]
pub struct AnyValue {
    /// The value.
    #[prost(oneof = "any_value::Value", tags = "1, 2, 3, 4, 7")]
    pub value: Option<any_value::Value>,
}

/// Nested types of [`AnyValue`].
pub mod any_value {
    /// `AnyValue.value`.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Value {
        /// A string.
        #[prost(string, tag = "1")]
        StringValue(String),
        /// A boolean.
        #[prost(bool, tag = "2")]
        BoolValue(bool),
        /// A signed integer.
        #[prost(int64, tag = "3")]
        IntValue(i64),
        /// A double.
        #[prost(double, tag = "4")]
        DoubleValue(f64),
        /// Raw bytes.
        #[prost(bytes = "vec", tag = "7")]
        BytesValue(Vec<u8>),
    }

    impl Value {
        /// The string, if this is one.
        pub fn as_str(&self) -> Option<&str> {
            match self {
                Value::StringValue(s) => Some(s),
                _ => None,
            }
        }

        /// The integer, if this is one.
        pub fn as_int(&self) -> Option<i64> {
            match self {
                Value::IntValue(i) => Some(*i),
                _ => None,
            }
        }
    }
}

//! The writes of provisioning calls: each is recorded (method, path, body)
//! so the operator sees exactly what changed upstream, and in a dry run
//! ([`RunPolicy::dry_run`](super::RunPolicy::dry_run)) it is answered by
//! the host and never sent.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full, Limited};
use serde::Serialize;
use wasmtime_wasi_http::{Error as HttpError, WasiBody};

/// The header that tells a connector its write was previewed (see the WIT).
pub const DRY_RUN_HEADER: &str = "baton-dry-run";

/// Bytes of a write's body the host reads to record it; writes of a
/// connector are small JSON documents.
const BODY_LIMIT: usize = 1 << 20;

/// One write a provisioning call sent, or in a dry run would have sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WriteRecord {
    /// The HTTP method.
    pub method: String,
    /// The path, with each query value replaced by `REDACTED`: a query may
    /// carry a secret, and a write is identified by its path.
    pub path: String,
    /// The body: its JSON when it parses, else its text; `None` when empty.
    pub body: Option<serde_json::Value>,
}

impl WriteRecord {
    fn new(method: &http::Method, uri: &http::Uri, body: &[u8]) -> WriteRecord {
        let mut path = uri.path().to_string();
        if let Some(query) = uri.query() {
            let keys: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) => format!("{key}=REDACTED"),
                    None => pair.to_string(),
                })
                .collect();
            path = format!("{path}?{}", keys.join("&"));
        }
        let body = match body {
            [] => None,
            bytes => Some(serde_json::from_slice(bytes).unwrap_or_else(|_| {
                serde_json::Value::String(String::from_utf8_lossy(bytes).into_owned())
            })),
        };
        WriteRecord {
            method: method.to_string(),
            path,
            body,
        }
    }
}

/// Reads a write's body, records the write and gives the request back
/// with the body it had.
pub(crate) async fn record(
    request: http::Request<WasiBody>,
    log: &std::sync::Mutex<Vec<WriteRecord>>,
) -> Result<http::Request<WasiBody>, HttpError> {
    let (parts, body) = request.into_parts();
    let bytes = Limited::new(body, BODY_LIMIT)
        .collect()
        .await
        .map_err(|e| {
            HttpError::InternalError(Some(format!(
                "the host reads at most {BODY_LIMIT} bytes of a write's body: {e}"
            )))
        })?
        .to_bytes();
    log.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(WriteRecord::new(&parts.method, &parts.uri, &bytes));
    let body = Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync();
    Ok(http::Request::from_parts(parts, body))
}

/// What a previewed write is answered with: `204`, no body, and the
/// [`DRY_RUN_HEADER`].
pub(crate) fn previewed() -> http::Response<WasiBody> {
    let body = Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut response = http::Response::new(body);
    *response.status_mut() = http::StatusCode::NO_CONTENT;
    response
        .headers_mut()
        .insert(DRY_RUN_HEADER, http::HeaderValue::from_static("previewed"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_redacted_and_json_bodies_kept() {
        let uri: http::Uri = "https://x.test/scim/v2/Users/u1?token=abc&flag"
            .parse()
            .unwrap();
        let record = WriteRecord::new(&http::Method::PATCH, &uri, br#"{"a":1}"#);
        assert_eq!(record.path, "/scim/v2/Users/u1?token=REDACTED&flag");
        assert_eq!(record.body, Some(serde_json::json!({"a": 1})));
        let record = WriteRecord::new(&http::Method::DELETE, &uri, b"");
        assert_eq!(record.body, None);
    }
}

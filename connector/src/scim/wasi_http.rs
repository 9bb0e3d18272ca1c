//! The [`Transport`] over `wasi:http/outgoing-handler`.
//!
//! One call sends one request (writing its body, if any, in chunks of at most
//! 4096 bytes) and blocks until the whole answer body has arrived;
//! there is no retry, redirect following or caching here. The one exception
//! to "one call, one request" is [`Transport::prefetch`]: the next page of a
//! listing is sent before the current one is mapped and handed back, and the
//! call that asks for it takes its answer instead of sending it again. Transport failures
//! (`error-code`) become `unavailable` or `deadline-exceeded` so that the host
//! retries them, except the few that cannot heal by waiting.

use std::cell::RefCell;

use wasi::http::outgoing_handler;
use wasi::http::types::{
    ErrorCode, Fields, FutureIncomingResponse, IncomingBody, IncomingResponse, Method,
    OutgoingBody, OutgoingRequest, Scheme,
};
use wasi::io::streams::{Error as StreamFailure, StreamError};

use super::{HttpMethod, HttpRequest, HttpResponse, Transport};
use crate::baton::connector::types::{ConnectorError, ErrorKind};
use crate::config::UrlScheme;
use crate::error::{bad_response, error, internal};

/// Largest body read into memory; a bigger one is refused, not truncated.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
/// Bytes asked for per read.
const READ_CHUNK: u64 = 64 * 1024;
/// Most bytes `blocking-write-and-flush` accepts per call.
const WRITE_CHUNK: usize = 4096;

/// Sends requests through the host's `wasi:http` implementation.
pub struct WasiHttp;

thread_local! {
    /// The request sent ahead by [`Transport::prefetch`], and its answer to come.
    /// One at most: a newer prefetch drops (and so cancels) an older one.
    static PREFETCHED: RefCell<Option<(HttpRequest, FutureIncomingResponse)>> =
        const { RefCell::new(None) };
}

impl Transport for WasiHttp {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, ConnectorError> {
        let ahead = PREFETCHED.with(|slot| {
            let mut slot = slot.borrow_mut();
            match slot.take() {
                Some((sent, future)) if sent == *request => Some(future),
                other => {
                    *slot = other;
                    None
                }
            }
        });
        if let Some(future) = ahead {
            match wait(future) {
                Ok(response) => return read_response(response),
                // It was sent under the previous call's time limit; this call
                // has its own, so it sends once more rather than fail early.
                Err(e) if e.kind == ErrorKind::DeadlineExceeded => {}
                Err(e) => return Err(e),
            }
        }
        let outgoing = build(request)?;
        // The body handle must be taken before the request is handed over.
        let body = match &request.body {
            Some(_) => Some(
                outgoing
                    .body()
                    .map_err(|()| internal("wasi:http request body was already taken"))?,
            ),
            None => None,
        };
        let future = outgoing_handler::handle(outgoing, None).map_err(|c| transport_error(&c))?;
        if let (Some(body), Some(bytes)) = (body, &request.body) {
            write_body(body, bytes)?;
        }
        read_response(wait(future)?)
    }

    fn prefetch(&self, request: &HttpRequest) {
        if request.method != HttpMethod::Get || request.body.is_some() {
            return;
        }
        // A request that cannot even be started is left to the later `send`,
        // which fails the same way and reports it.
        let Ok(outgoing) = build(request) else {
            return;
        };
        if let Ok(future) = outgoing_handler::handle(outgoing, None) {
            PREFETCHED.with(|slot| *slot.borrow_mut() = Some((request.clone(), future)));
        }
    }
}

/// Blocks until the response head has arrived.
fn wait(future: FutureIncomingResponse) -> Result<IncomingResponse, ConnectorError> {
    loop {
        // The pollable is a child of the future: drop it before the future.
        let pollable = future.subscribe();
        pollable.block();
        drop(pollable);
        match future.get() {
            Some(Ok(Ok(response))) => return Ok(response),
            Some(Ok(Err(code))) => return Err(transport_error(&code)),
            Some(Err(())) => return Err(internal("wasi:http response was already taken")),
            None => continue,
        }
    }
}

/// Writes the whole request body, then finishes it (no trailers).
fn write_body(body: OutgoingBody, bytes: &[u8]) -> Result<(), ConnectorError> {
    let stream = body
        .write()
        .map_err(|()| internal("wasi:http request body stream was already taken"))?;
    for chunk in bytes.chunks(WRITE_CHUNK) {
        stream
            .blocking_write_and_flush(chunk)
            .map_err(|e| stream_error("sending the request body", e))?;
    }
    // The stream is a child of the body: drop it before finishing the body.
    drop(stream);
    OutgoingBody::finish(body, None).map_err(|c| transport_error(&c))
}

/// Describes a failed stream operation.
fn stream_error(doing: &str, e: StreamError) -> ConnectorError {
    match e {
        StreamError::Closed => error(
            ErrorKind::Unavailable,
            format!("{doing} failed: the stream was closed"),
        ),
        StreamError::LastOperationFailed(e) => failed_operation(doing, &e),
    }
}

/// Classifies the error of a failed stream operation.
fn failed_operation(doing: &str, e: &StreamFailure) -> ConnectorError {
    match wasi::http::types::http_error_code(e) {
        Some(code) => transport_error(&code),
        None => error(
            ErrorKind::Unavailable,
            format!("{doing} failed: {}", e.to_debug_string()),
        ),
    }
}

/// Builds the `outgoing-request`, headers included.
fn build(request: &HttpRequest) -> Result<OutgoingRequest, ConnectorError> {
    let mut entries: Vec<(String, Vec<u8>)> = request
        .headers
        .iter()
        .map(|(name, value)| (name.clone(), value.clone().into_bytes()))
        .collect();
    // A declared length lets the body go out unchunked; wasi:http checks that
    // exactly this many bytes are written.
    if let Some(body) = &request.body {
        entries.push(("content-length".into(), body.len().to_string().into_bytes()));
    }
    // Never echo the header values: one of them is the token.
    let headers = Fields::from_list(&entries)
        .map_err(|e| internal(format!("wasi:http refused the request headers ({e:?})")))?;
    let outgoing = OutgoingRequest::new(headers);
    let scheme = match request.base.scheme {
        UrlScheme::Http => Scheme::Http,
        UrlScheme::Https => Scheme::Https,
    };
    let path = format!("{}{}", request.base.path, request.path_and_query);
    let refused = |what: &str| {
        error(
            ErrorKind::InvalidArgument,
            format!("wasi:http refused the {what}"),
        )
    };
    let method = match request.method {
        HttpMethod::Get => Method::Get,
        HttpMethod::Post => Method::Post,
        HttpMethod::Patch => Method::Patch,
        HttpMethod::Delete => Method::Delete,
    };
    outgoing
        .set_method(&method)
        .map_err(|()| refused("method"))?;
    outgoing
        .set_scheme(Some(&scheme))
        .map_err(|()| refused("URL scheme"))?;
    outgoing
        .set_authority(Some(&request.base.authority))
        .map_err(|()| refused("base URL host"))?;
    outgoing
        .set_path_with_query(Some(&path))
        .map_err(|()| refused("request path"))?;
    Ok(outgoing)
}

/// Reads status, `Retry-After` and the complete body.
fn read_response(response: IncomingResponse) -> Result<HttpResponse, ConnectorError> {
    let status = response.status();
    let headers = response.headers();
    let header = |name: &str| {
        headers
            .get(name)
            .into_iter()
            .next()
            .map(|v| String::from_utf8_lossy(&v).into_owned())
    };
    let retry_after = header("retry-after");
    let content_type = header("content-type");
    let previewed = header("baton-dry-run").is_some_and(|v| v == "previewed");
    drop(headers);
    let incoming = response
        .consume()
        .map_err(|()| internal("wasi:http response body was already taken"))?;
    let body = read_body(&incoming);
    // The trailers are of no interest; finishing releases the body.
    drop(IncomingBody::finish(incoming));
    Ok(HttpResponse {
        status,
        retry_after,
        content_type,
        body: body?,
        previewed,
    })
}

/// Reads an incoming body until its stream closes.
fn read_body(incoming: &IncomingBody) -> Result<Vec<u8>, ConnectorError> {
    let stream = incoming
        .stream()
        .map_err(|()| internal("wasi:http response stream was already taken"))?;
    let mut body = Vec::new();
    loop {
        match stream.blocking_read(READ_CHUNK) {
            Ok(chunk) => append_limited(&mut body, &chunk, MAX_BODY_BYTES)?,
            Err(StreamError::Closed) => return Ok(body),
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(failed_operation("reading the response body", &e))
            }
        }
    }
}

/// Appends `chunk` unless the body would outgrow `max` bytes: a too-large
/// body is refused as a whole, never cut to size and parsed.
fn append_limited(body: &mut Vec<u8>, chunk: &[u8], max: usize) -> Result<(), ConnectorError> {
    if body.len().saturating_add(chunk.len()) > max {
        return Err(bad_response(format!(
            "the response body is larger than {max} bytes"
        )));
    }
    body.extend_from_slice(chunk);
    Ok(())
}

/// Classifies a `wasi:http` error code and describes it.
pub fn transport_error(code: &ErrorCode) -> ConnectorError {
    use ErrorCode as C;
    let (kind, text) = match code {
        C::DnsTimeout => (
            ErrorKind::DeadlineExceeded,
            "DNS lookup timed out".to_string(),
        ),
        C::ConnectionTimeout => (ErrorKind::DeadlineExceeded, "connecting timed out".into()),
        C::ConnectionReadTimeout | C::HttpResponseTimeout => (
            ErrorKind::DeadlineExceeded,
            "the server did not answer in time".into(),
        ),
        C::ConnectionWriteTimeout => (ErrorKind::DeadlineExceeded, "sending timed out".into()),
        C::DnsError(p) => (
            ErrorKind::Unavailable,
            format!(
                "DNS lookup failed (rcode {:?}, info code {:?})",
                p.rcode, p.info_code
            ),
        ),
        C::DestinationNotFound => (ErrorKind::Unavailable, "the host name was not found".into()),
        C::DestinationUnavailable => (ErrorKind::Unavailable, "the server is unreachable".into()),
        C::ConnectionRefused => (ErrorKind::Unavailable, "connection refused".into()),
        C::ConnectionTerminated => (ErrorKind::Unavailable, "connection closed early".into()),
        C::ConnectionLimitReached => (ErrorKind::Unavailable, "connection limit reached".into()),
        C::TlsProtocolError => (ErrorKind::Unavailable, "TLS protocol error".into()),
        C::TlsCertificateError => (ErrorKind::Unavailable, "TLS certificate error".into()),
        C::TlsAlertReceived(p) => (
            ErrorKind::Unavailable,
            format!("TLS alert {:?} {:?}", p.alert_id, p.alert_message),
        ),
        C::HttpResponseIncomplete => (ErrorKind::Unavailable, "the response was cut short".into()),
        C::InternalError(text) => (
            ErrorKind::Unavailable,
            format!(
                "wasi:http internal error: {}",
                text.as_deref().unwrap_or("no detail")
            ),
        ),
        // These do not heal by waiting, so they must not be retried forever.
        C::HttpRequestDenied => (
            ErrorKind::PermissionDenied,
            "the host's egress policy denied the request".into(),
        ),
        C::DestinationIpProhibited => (
            ErrorKind::PermissionDenied,
            "the host refused the destination address".into(),
        ),
        C::HttpRequestUriInvalid | C::HttpRequestMethodInvalid | C::HttpRequestUriTooLong => (
            ErrorKind::InvalidArgument,
            format!("the request was invalid ({code:?}); check the base URL"),
        ),
        other => (
            ErrorKind::Unavailable,
            format!("HTTP transport error: {other:?}"),
        ),
    };
    error(kind, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_over_the_limit_are_refused() {
        let mut body = Vec::new();
        append_limited(&mut body, b"abcd", 6).unwrap();
        append_limited(&mut body, b"ef", 6).unwrap();
        let e = append_limited(&mut body, b"g", 6).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadResponse);
        assert_eq!(e.message, "the response body is larger than 6 bytes");
        assert_eq!(body, b"abcdef");
    }

    #[test]
    fn transport_errors_are_classified() {
        let cases = [
            (
                ErrorCode::ConnectionRefused,
                ErrorKind::Unavailable,
                "refused",
            ),
            (
                ErrorCode::ConnectionReadTimeout,
                ErrorKind::DeadlineExceeded,
                "in time",
            ),
            (ErrorCode::DnsTimeout, ErrorKind::DeadlineExceeded, "DNS"),
            (
                ErrorCode::HttpRequestDenied,
                ErrorKind::PermissionDenied,
                "egress",
            ),
            (
                ErrorCode::HttpRequestUriInvalid,
                ErrorKind::InvalidArgument,
                "base URL",
            ),
            (
                ErrorCode::InternalError(Some("boom".into())),
                ErrorKind::Unavailable,
                "boom",
            ),
            (
                ErrorCode::HttpProtocolError,
                ErrorKind::Unavailable,
                "HttpProtocolError",
            ),
        ];
        for (code, kind, needle) in cases {
            let e = transport_error(&code);
            assert_eq!(e.kind, kind, "{code:?}");
            assert!(e.message.contains(needle), "{code:?}: {}", e.message);
        }
    }
}

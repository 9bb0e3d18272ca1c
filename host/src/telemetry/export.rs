//! The OTLP/HTTP client: POSTs protobuf export requests to a collector's `/v1/traces`.
//!
//! Built on hyper's low-level HTTP/1.1 client connection, tokio-rustls and webpki-roots
//! because wasmtime-wasi-http already puts all three in the binary: the exporter adds no
//! crate to the build, where a separate blocking client (ureq…) would bring its own TLS and
//! HTTP stacks. One connection carries all requests of a trace.

use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HOST, USER_AGENT};
use hyper_util::rt::TokioIo;
use prost::Message;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::rustls;

use super::otlp::{ExportTraceServiceResponse, RpcStatus};
use super::TelemetryError;

/// Upper bound for one export: connect, TLS, every request and answer.
pub const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Collector answers are tiny; a larger one is not read past this.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Where traces go: a collector's OTLP/HTTP traces URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collector {
    tls: bool,
    /// Host for TCP and TLS (no brackets around IPv6 addresses).
    host: String,
    port: u16,
    /// `host:port` as the `Host` header wants it.
    authority: String,
    path_and_query: String,
    /// The endpoint had no scheme, so https was assumed (or http if insecure).
    bare: bool,
}

impl Collector {
    /// Parses `--otel-collector-endpoint`: `http://host:port[/prefix]`,
    /// `https://host:port[/prefix]`, or a bare `host:port` as Baton's gRPC exporter takes,
    /// which is reached over https unless `tls_insecure` is set (as Go's `WithInsecure`).
    /// `/v1/traces` is appended unless the path already ends with it.
    pub fn parse(endpoint: &str, tls_insecure: bool) -> Result<Collector, TelemetryError> {
        let endpoint = endpoint.trim();
        let bad = |why: &str| Err(TelemetryError::Endpoint(why.to_string()));
        if endpoint.is_empty() {
            return bad("it is empty");
        }
        let bare = !endpoint.contains("://");
        let url = if bare {
            let scheme = if tls_insecure { "http" } else { "https" };
            url::Url::parse(&format!("{scheme}://{endpoint}"))
        } else {
            url::Url::parse(endpoint)
        };
        // The endpoint itself is not echoed: it could carry credentials.
        let Ok(url) = url else {
            return bad("expected http://host:port, https://host:port or host:port");
        };
        let tls = match url.scheme() {
            "http" => false,
            "https" => true,
            _ => return bad("the scheme must be http or https (OTLP/HTTP)"),
        };
        if !url.username().is_empty() || url.password().is_some() {
            return bad("credentials in the URL are not supported");
        }
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.to_string(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => return bad("it has no host"),
        };
        let Some(port) = url.port_or_known_default() else {
            return bad("it has no port");
        };
        let mut path = url.path().trim_end_matches('/').to_string();
        if !path.ends_with("/v1/traces") {
            path.push_str("/v1/traces");
        }
        let path_and_query = match url.query() {
            Some(q) => format!("{path}?{q}"),
            None => path,
        };
        Ok(Collector {
            tls,
            authority: format!("{}:{port}", url.host_str().unwrap_or(&host)),
            host,
            port,
            path_and_query,
            bare,
        })
    }

    /// The traces URL, without its query (which could carry a key), for logs.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        let path = self.path_and_query.split('?').next().unwrap_or_default();
        format!("{scheme}://{}{path}", self.authority)
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A hint for an endpoint whose scheme was assumed, to add to connection errors.
    pub fn hint(&self) -> Option<&'static str> {
        match (self.bare, self.tls) {
            (true, true) => Some(
                "a host:port endpoint is reached over https; for a plaintext collector \
                 pass http://host:port or --otel-collector-endpoint-tls-insecure",
            ),
            _ => None,
        }
    }
}

/// POSTs `bodies` in order over one connection, within [`EXPORT_TIMEOUT`].
pub(super) fn send(collector: &Collector, bodies: Vec<Vec<u8>>) -> Result<(), TelemetryError> {
    // A private thread with its own current-thread runtime: `block_on` would panic if the
    // caller were already inside a Tokio runtime, and the CLI is synchronous anyway.
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| TelemetryError::Internal(e.to_string()))?;
                runtime.block_on(async {
                    tokio::time::timeout(EXPORT_TIMEOUT, post_all(collector, bodies))
                        .await
                        .map_err(|_| TelemetryError::Timeout(EXPORT_TIMEOUT))?
                })
            })
            .join()
            .unwrap_or_else(|_| Err(TelemetryError::Internal("the exporter panicked".into())))
    })
}

async fn post_all(collector: &Collector, bodies: Vec<Vec<u8>>) -> Result<(), TelemetryError> {
    let address = format!("{}:{}", collector.host, collector.port);
    let tcp = tokio::net::TcpStream::connect((collector.host.as_str(), collector.port))
        .await
        .map_err(|source| TelemetryError::Connect {
            address: address.clone(),
            source,
        })?;
    // Small requests, one at a time: don't let Nagle delay them.
    let _ = tcp.set_nodelay(true);
    if !collector.tls {
        return post_over(tcp, collector, bodies).await;
    }
    let name = rustls::pki_types::ServerName::try_from(collector.host.clone())
        .map_err(|e| TelemetryError::Endpoint(e.to_string()))?;
    let stream = tls_connector()?
        .connect(name, tcp)
        .await
        .map_err(|source| TelemetryError::Tls { address, source })?;
    post_over(stream, collector, bodies).await
}

/// Trusts the Mozilla roots bundled in webpki-roots, as the connector's own https does.
fn tls_connector() -> Result<tokio_rustls::TlsConnector, TelemetryError> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    // An explicit provider: the process-wide default is ambiguous if some other crate
    // ever enables a second rustls backend.
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TelemetryError::Internal(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsConnector::from(std::sync::Arc::new(
        config,
    )))
}

async fn post_over<S>(
    stream: S,
    collector: &Collector,
    bodies: Vec<Vec<u8>>,
) -> Result<(), TelemetryError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    // The connection future does the socket I/O; it ends once `sender` is dropped.
    let driver = tokio::spawn(connection);
    let user_agent = concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION"));
    for body in bodies {
        sender.ready().await?;
        let request = http::Request::post(collector.path_and_query.as_str())
            .header(HOST, collector.authority.as_str())
            .header(CONTENT_TYPE, "application/x-protobuf")
            .header(USER_AGENT, user_agent)
            .body(Full::<Bytes>::from(body))
            .map_err(|e| TelemetryError::Endpoint(e.to_string()))?;
        let answer = sender.send_request(request).await?;
        let status = answer.status();
        let protobuf = answer
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("protobuf"));
        // A body too large or cut short only loses the collector's explanation.
        let body = Limited::new(answer.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        if !status.is_success() {
            return Err(TelemetryError::Status {
                status: status.as_u16(),
                message: error_message(&body, protobuf),
            });
        }
        if protobuf {
            if let Ok(answer) = ExportTraceServiceResponse::decode(body) {
                if let Some(partial) = answer.partial_success {
                    if partial.rejected_spans > 0 {
                        return Err(TelemetryError::Rejected {
                            spans: partial.rejected_spans,
                            message: partial.error_message,
                        });
                    }
                }
            }
        }
    }
    drop(sender);
    let _ = driver.await;
    Ok(())
}

/// The collector's explanation: a `google.rpc.Status` in protobuf, else the text itself.
pub(super) fn error_message(body: &[u8], protobuf: bool) -> String {
    let text = match RpcStatus::decode(body) {
        Ok(status) if protobuf => status.message,
        _ => String::from_utf8_lossy(body).into_owned(),
    };
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

//! Where a guest may send HTTP requests, and how long each may take.
//!
//! Every outgoing request passes through [`EgressHooks::send_request`]
//! before a connection is made; requests to other origins are refused.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use super::RunPolicy;

/// A scheme, host and port that requests may go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// `http` or `https`.
    pub scheme: String,
    /// Lower-case host name or IP literal.
    pub host: String,
    /// Explicit or default port.
    pub port: u16,
}

impl Origin {
    /// The origin of an absolute `http(s)` URL. Plain `http` is accepted only
    /// for loopback hosts, so a token never crosses a network unencrypted.
    pub fn of_url(raw: &str) -> Result<Origin, String> {
        let url = url::Url::parse(raw).map_err(|e| format!("`{raw}` is not a valid URL: {e}"))?;
        let scheme = url.scheme().to_string();
        if scheme != "https" && scheme != "http" {
            return Err(format!(
                "`{raw}` must use https (or http to a loopback host)"
            ));
        }
        let host = match url.host() {
            Some(h) => h.to_string().to_ascii_lowercase(),
            None => return Err(format!("`{raw}` has no host")),
        };
        let port = url.port_or_known_default().unwrap_or(443);
        let origin = Origin { scheme, host, port };
        if origin.scheme == "http" && !origin.is_loopback() {
            return Err(format!(
                "`{raw}` uses plain http to a non-loopback host; use https"
            ));
        }
        Ok(origin)
    }

    fn is_loopback(&self) -> bool {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .map(|ip| ip.is_loopback())
                .unwrap_or(false)
    }

    fn matches(&self, uri: &http::Uri) -> bool {
        let scheme = uri.scheme_str().unwrap_or("");
        let host = uri.host().unwrap_or("").to_ascii_lowercase();
        let default_port = if scheme == "https" { 443 } else { 80 };
        let port = uri.port_u16().unwrap_or(default_port);
        scheme == self.scheme && host == self.host && port == self.port
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// The origins a guest may reach. Empty means no network at all.
#[derive(Debug, Clone, Default)]
pub struct EgressPolicy {
    /// Allowed origins.
    pub allowed: Vec<Origin>,
}

impl EgressPolicy {
    /// Whether a request URI may be sent.
    pub fn allows(&self, uri: &http::Uri) -> bool {
        self.allowed.iter().any(|o| o.matches(uri))
    }
}

/// The wasi-http hooks of one store.
pub(crate) struct EgressHooks {
    policy: EgressPolicy,
    timeout: Duration,
    sent: Arc<AtomicU64>,
}

impl EgressHooks {
    pub(crate) fn new(policy: RunPolicy) -> EgressHooks {
        EgressHooks {
            policy: policy.egress,
            timeout: policy.request_timeout,
            sent: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Requests that passed the policy and were sent.
    pub(crate) fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
}

type IoFuture = Box<dyn Future<Output = Result<(), HttpError>> + Send>;
type SendFuture =
    Box<dyn Future<Output = Result<(http::Response<WasiBody>, IoFuture), HttpError>> + Send>;

impl WasiHttpHooks for EgressHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: IoFuture,
    ) -> SendFuture {
        drop(fut);
        let uri = request.uri().clone();
        if !self.policy.allows(&uri) {
            let origin = format!(
                "{}://{}",
                uri.scheme_str().unwrap_or("?"),
                uri.authority().map(|a| a.as_str()).unwrap_or("?")
            );
            tracing::warn!(
                origin,
                "refused a request to an origin outside the allow-list"
            );
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        tracing::debug!(method = %request.method(), path = uri.path(), "request");
        self.sent.fetch_add(1, Ordering::Relaxed);
        // The guest may ask for shorter timeouts, never longer ones: epoch
        // interruption cannot stop a host-side wait, so each request is bounded here.
        let cap = self.timeout;
        let pick = |asked: Option<Duration>| Some(asked.map_or(cap, |d| d.min(cap)));
        let options = options.unwrap_or_default();
        let options = RequestOptions {
            connect_timeout: pick(options.connect_timeout),
            first_byte_timeout: pick(options.first_byte_timeout),
            between_bytes_timeout: pick(options.between_bytes_timeout),
        };
        Box::new(async move {
            use http_body_util::BodyExt;
            let sending = wasmtime_wasi_http::default_send_request(request, Some(options));
            let (response, io) = tokio::time::timeout(cap, sending)
                .await
                .map_err(|_| HttpError::HttpResponseTimeout)??;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as IoFuture,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_rules() {
        let o = Origin::of_url("https://api.notion.com/scim/v2").unwrap();
        assert_eq!(o.to_string(), "https://api.notion.com:443");
        assert!(Origin::of_url("http://127.0.0.1:8765/scim/v2").is_ok());
        assert!(Origin::of_url("http://localhost:1/x").is_ok());
        assert!(Origin::of_url("http://[::1]:1/x").is_ok());
        let err = Origin::of_url("http://example.com/scim").unwrap_err();
        assert!(err.contains("plain http"), "{err}");
        assert!(Origin::of_url("ftp://x/").unwrap_err().contains("https"));
        assert!(Origin::of_url("not a url")
            .unwrap_err()
            .contains("not a valid URL"));
    }

    #[test]
    fn policy_matches_scheme_host_and_port() {
        let policy = EgressPolicy {
            allowed: vec![Origin::of_url("http://127.0.0.1:8765/").unwrap()],
        };
        assert!(policy.allows(&"http://127.0.0.1:8765/scim/v2/Users".parse().unwrap()));
        assert!(!policy.allows(&"http://127.0.0.1:8766/scim/v2/Users".parse().unwrap()));
        assert!(!policy.allows(&"https://127.0.0.1:8765/".parse().unwrap()));
        assert!(!policy.allows(&"http://10.0.0.1:8765/".parse().unwrap()));
    }
}

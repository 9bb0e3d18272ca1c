//! The Notion SCIM client.
//!
//! [`ScimClient`] knows the endpoints, headers and paging parameters; every
//! method makes exactly one request and never retries (the host owns retries
//! and rate limiting). The bytes travel through a [`Transport`]: in the
//! component that is [`wasi_http::WasiHttp`], in unit tests a fake that
//! records requests, so the request sequence itself is testable natively.

pub mod model;
pub mod status;
pub mod wasi_http;

use crate::baton::connector::types::{ConnectorError, ErrorKind};
use crate::config::{BaseUrl, Config};
use crate::error::bad_response;

use model::{from_item, ListResponse, ScimGroup};

/// Items asked for per page; Notion's maximum.
pub const PAGE_SIZE: u32 = 100;

/// One outgoing GET request, already complete with headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    /// Where to send it.
    pub base: BaseUrl,
    /// Path below the base URL, with the query (e.g. `/Users?startIndex=1&count=1`).
    pub path_and_query: String,
    /// Header names (lower case) and values, including the bearer token.
    pub headers: Vec<(String, String)>,
}

impl HttpRequest {
    /// `GET <path>` as named in messages and logs; never includes headers.
    pub fn label(&self) -> String {
        format!("GET {}", self.path_and_query)
    }
}

/// What came back, whatever the status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpResponse {
    /// HTTP status code.
    pub status: u16,
    /// The `Retry-After` header, if any.
    pub retry_after: Option<String>,
    /// The complete body.
    pub body: Vec<u8>,
}

/// Sends one request. Errors are transport failures (no HTTP answer); their
/// message describes the failure without naming the request.
pub trait Transport {
    /// Sends `request` and reads the whole answer.
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, ConnectorError>;
}

impl<T: Transport + ?Sized> Transport for &T {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, ConnectorError> {
        (**self).send(request)
    }
}

/// A SCIM client bound to one base URL and token.
pub struct ScimClient<T> {
    transport: T,
    base: BaseUrl,
    token: String,
}

impl<T: Transport> ScimClient<T> {
    /// A client for the configured endpoint.
    pub fn new(transport: T, config: &Config) -> Self {
        Self {
            transport,
            base: config.base_url.clone(),
            token: config.token.clone(),
        }
    }

    /// Checks the token with `GET /Users?startIndex=1&count=1`.
    ///
    /// `/ServiceProviderConfig` would not do: Notion answers it without
    /// authentication.
    pub fn validate(&self) -> Result<(), ConnectorError> {
        self.list_users(1, 1).map(drop).map_err(|mut e| {
            if matches!(
                e.kind,
                ErrorKind::Unauthenticated | ErrorKind::PermissionDenied
            ) {
                e.message = format!("the SCIM token was rejected: {}", e.message);
            }
            e
        })
    }

    /// `GET /Users?startIndex=<start>&count=<count>`.
    pub fn list_users(&self, start_index: u64, count: u32) -> Result<ListResponse, ConnectorError> {
        self.list(&format!("/Users?startIndex={start_index}&count={count}"))
    }

    /// `GET /Groups?startIndex=<start>&count=<count>`.
    pub fn list_groups(
        &self,
        start_index: u64,
        count: u32,
    ) -> Result<ListResponse, ConnectorError> {
        self.list(&format!("/Groups?startIndex={start_index}&count={count}"))
    }

    /// `GET /Groups/<id>`, members included.
    pub fn get_group(&self, id: &str) -> Result<ScimGroup, ConnectorError> {
        let request = self.request(format!("/Groups/{}", encode_segment(id)));
        let body = self.get(&request)?;
        serde_json::from_slice(&body)
            .ok()
            .and_then(from_item::<ScimGroup>)
            .ok_or_else(|| {
                bad_response(format!("{}: the body is not a SCIM group", request.label()))
            })
    }

    fn list(&self, path_and_query: &str) -> Result<ListResponse, ConnectorError> {
        let request = self.request(path_and_query.to_string());
        let body = self.get(&request)?;
        ListResponse::parse(&body)
            .map_err(|why| bad_response(format!("{}: {why}", request.label())))
    }

    fn request(&self, path_and_query: String) -> HttpRequest {
        HttpRequest {
            base: self.base.clone(),
            path_and_query,
            headers: vec![
                ("authorization".into(), format!("Bearer {}", self.token)),
                ("accept".into(), "application/scim+json".into()),
                (
                    "user-agent".into(),
                    concat!("baton-notion/", env!("CARGO_PKG_VERSION")).into(),
                ),
            ],
        }
    }

    /// Sends a GET and returns the body of a 2xx answer; anything else
    /// becomes a typed error naming the request.
    fn get(&self, request: &HttpRequest) -> Result<Vec<u8>, ConnectorError> {
        let response = self.transport.send(request).map_err(|mut e| {
            e.message = format!("{}: {}", request.label(), e.message);
            e
        })?;
        if (200..300).contains(&response.status) {
            return Ok(response.body);
        }
        Err(status::status_error(
            &request.label(),
            response.status,
            response.retry_after.as_deref(),
            &response.body,
            &self.token,
            now_unix_secs(),
        ))
    }
}

/// Wall-clock seconds, for `Retry-After` dates; `None` if the clock is odd.
fn now_unix_secs() -> Option<u64> {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs())
}

/// Percent-encodes an id for use as one path segment, so that an id from the
/// host can never add path segments or a query.
pub fn encode_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        // `.` is encoded too, so that `..` cannot climb out of the collection.
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
pub mod fake;

#[cfg(test)]
mod tests {
    use super::fake::FakeTransport;
    use super::*;
    use crate::config::{UrlScheme, DEFAULT_BASE_URL};

    fn config() -> Config {
        Config {
            token: "tok".into(),
            base_url: crate::config::parse_base_url("http://127.0.0.1:8765/scim/v2/").unwrap(),
        }
    }

    #[test]
    fn requests_carry_auth_and_paging() {
        let fake = FakeTransport::new();
        fake.push(200, r#"{"totalResults":0,"Resources":[]}"#);
        let client = ScimClient::new(&fake, &config());
        client.list_users(101, PAGE_SIZE).unwrap();
        let sent = fake.requests();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].base.scheme, UrlScheme::Http);
        assert_eq!(sent[0].base.authority, "127.0.0.1:8765");
        assert_eq!(sent[0].base.path, "/scim/v2");
        assert_eq!(sent[0].path_and_query, "/Users?startIndex=101&count=100");
        let header = |n: &str| {
            sent[0]
                .headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(header("authorization").as_deref(), Some("Bearer tok"));
        assert_eq!(header("accept").as_deref(), Some("application/scim+json"));
        assert_ne!(DEFAULT_BASE_URL, "");
    }

    #[test]
    fn failures_name_the_request_but_not_the_token() {
        let fake = FakeTransport::new();
        fake.push(404, r#"{"detail":"no such group"}"#);
        fake.push(200, "not json");
        fake.push(200, "[]");
        fake.push_err(ErrorKind::Unavailable, "connection refused");
        let client = ScimClient::new(&fake, &config());
        let e = client.get_group("a/b?c").unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound);
        assert_eq!(
            e.message,
            "GET /Groups/a%2Fb%3Fc failed with HTTP 404: no such group"
        );
        let e = client.list_groups(1, 100).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadResponse);
        assert!(e
            .message
            .starts_with("GET /Groups?startIndex=1&count=100: the body is not JSON"));
        let e = client.get_group("g").unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadResponse);
        let e = client.list_users(1, 1).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unavailable);
        assert_eq!(
            e.message,
            "GET /Users?startIndex=1&count=1: connection refused"
        );
        for e in fake.requests() {
            assert!(!e.label().contains("tok"));
        }
    }

    #[test]
    fn validate_makes_one_small_request() {
        let fake = FakeTransport::new();
        fake.push(200, r#"{"totalResults":120,"Resources":[{"id":"u"}]}"#);
        fake.push(401, r#"{"detail":"Unauthorized"}"#);
        fake.push(403, "");
        fake.push(200, "<html>login</html>");
        let client = ScimClient::new(&fake, &config());
        assert_eq!(client.validate(), Ok(()));
        for kind in [ErrorKind::Unauthenticated, ErrorKind::PermissionDenied] {
            let e = client.validate().unwrap_err();
            assert_eq!(e.kind, kind);
            assert!(
                e.message.starts_with(
                    "the SCIM token was rejected: GET /Users?startIndex=1&count=1 failed"
                ),
                "{}",
                e.message
            );
        }
        assert_eq!(client.validate().unwrap_err().kind, ErrorKind::BadResponse);
        assert_eq!(fake.paths(), vec!["/Users?startIndex=1&count=1"; 4]);
    }

    #[test]
    fn segments_are_encoded() {
        assert_eq!(encode_segment("0000-aa_bc~"), "0000-aa_bc~");
        assert_eq!(encode_segment("../x y"), "%2E%2E%2Fx%20y");
        assert_eq!(encode_segment("é"), "%C3%A9");
    }
}

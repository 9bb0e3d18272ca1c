//! The Notion SCIM client.
//!
//! [`ScimClient`] knows the endpoints, headers, paging parameters and request
//! bodies; every method makes exactly one request and never retries (the host
//! owns retries and rate limiting) and never caches (a read after a write must
//! see the write). The bytes travel through a [`Transport`]: in the component
//! that is [`wasi_http::WasiHttp`], in unit tests a fake that records
//! requests, so the request sequence itself is testable natively.

pub mod model;
pub mod status;
pub mod wasi_http;

use serde_json::{json, Value};

use crate::baton::connector::types::{ConnectorError, ErrorKind};
use crate::config::{BaseUrl, Config};
use crate::error::bad_response;

use model::{from_item, ListResponse, ScimGroup, ScimUser, NOTION_USER_EXTENSION};

/// Items asked for per page; Notion's maximum.
pub const PAGE_SIZE: u32 = 100;

/// Schema of a core SCIM user, sent when creating one.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Schema of an RFC 7644 PATCH request body.
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// Op name of the role change. RFC 7644 says op names are case-insensitive;
/// this is the casing ConductorOne's connector sends.
pub const ROLE_CHANGE_OP: &str = "replace";
/// Op name adding group members, in the casing proven against Notion.
pub const MEMBER_ADD_OP: &str = "Add";
/// Op name removing group members, in the casing proven against Notion.
pub const MEMBER_REMOVE_OP: &str = "Remove";

/// The HTTP methods the client uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpMethod {
    /// Reads.
    Get,
    /// Creates a user.
    Post,
    /// Changes a role or group members.
    Patch,
    /// Removes a user.
    Delete,
}

impl HttpMethod {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }
}

/// One outgoing request, already complete with headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    /// What to do.
    pub method: HttpMethod,
    /// Where to send it.
    pub base: BaseUrl,
    /// Path below the base URL, with the query (e.g. `/Users?startIndex=1&count=1`).
    pub path_and_query: String,
    /// Header names (lower case) and values, including the bearer token.
    pub headers: Vec<(String, String)>,
    /// The JSON body, if the request has one.
    pub body: Option<Vec<u8>>,
}

impl HttpRequest {
    /// `<METHOD> <path>` as named in messages and logs; never includes
    /// headers or the body.
    pub fn label(&self) -> String {
        format!("{} {}", self.method.as_str(), self.path_and_query)
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
    /// Sends `request` (with its body, if any) and reads the whole answer.
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, ConnectorError>;
}

impl<T: Transport + ?Sized> Transport for &T {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, ConnectorError> {
        (**self).send(request)
    }
}

/// The profile of a user to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewUser {
    /// Email address, also the `userName`.
    pub email: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
}

/// A change of group membership.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberChange {
    /// Adds the user to the group.
    Add,
    /// Removes the user from the group.
    Remove,
}

impl MemberChange {
    /// The PATCH op name sent for this change.
    pub fn op(self) -> &'static str {
        match self {
            Self::Add => MEMBER_ADD_OP,
            Self::Remove => MEMBER_REMOVE_OP,
        }
    }
}

/// Turns a `not-found` error into `None`, for callers to which absence is an
/// answer rather than a failure.
pub fn found<T>(result: Result<T, ConnectorError>) -> Result<Option<T>, ConnectorError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
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

    /// `GET /Users/<id>`, read fresh every time.
    pub fn get_user(&self, id: &str) -> Result<ScimUser, ConnectorError> {
        let request = self.request(HttpMethod::Get, user_path(id), None);
        let response = self.call(&request)?;
        parse_object(&request, &response.body, "a SCIM user")
    }

    /// `GET /Users?filter=email eq "<email>"`: the user with this email, if
    /// any. Items that do not carry the email (a server ignoring the filter)
    /// are not taken for it.
    pub fn find_user_by_email(&self, email: &str) -> Result<Option<ScimUser>, ConnectorError> {
        // A filter value is a JSON string: quotes and backslashes are escaped.
        let filter = format!("email eq {}", Value::String(email.to_string()));
        let request = self.request(
            HttpMethod::Get,
            format!("/Users?filter={}", encode_query_value(&filter)),
            None,
        );
        let response = self.call(&request)?;
        let list = ListResponse::parse(&response.body)
            .map_err(|why| bad_response(format!("{}: {why}", request.label())))?;
        let same = |value: &Option<String>| {
            value
                .as_deref()
                .is_some_and(|v| v.trim().eq_ignore_ascii_case(email))
        };
        Ok(list
            .resources
            .into_iter()
            .filter_map(from_item::<ScimUser>)
            .find(|u| same(&u.user_name) || u.emails.iter().any(|e| same(&e.value))))
    }

    /// `POST /Users` with a core-schema user and no role (Notion then makes
    /// the user a `member`). A 409 comes back as an `already-exists` error.
    pub fn create_user(&self, user: &NewUser) -> Result<ScimUser, ConnectorError> {
        let body = json!({
            "schemas": [USER_SCHEMA],
            "userName": user.email,
            "name": {
                "givenName": user.first_name,
                "familyName": user.last_name,
                "formatted": format!("{} {}", user.first_name, user.last_name),
            },
            "emails": [{"value": user.email, "primary": true, "type": "work"}],
            "active": true,
        });
        let request = self.request(HttpMethod::Post, "/Users".into(), Some(&body));
        let response = self.call(&request)?;
        parse_object(&request, &response.body, "a SCIM user").map_err(|mut e| {
            e.message.push_str("; the account may have been created");
            e
        })
    }

    /// `PATCH /Users/<id>` setting the workspace role (value-as-object form,
    /// no `path`). Returns the user when the answer has a body (200), `None`
    /// when it has none (204).
    pub fn patch_user_role(
        &self,
        id: &str,
        role: &str,
    ) -> Result<Option<ScimUser>, ConnectorError> {
        let body = json!({
            "schemas": [PATCH_OP_SCHEMA],
            "Operations": [{
                "op": ROLE_CHANGE_OP,
                "value": {NOTION_USER_EXTENSION: {"role": role}},
            }],
        });
        let request = self.request(HttpMethod::Patch, user_path(id), Some(&body));
        let response = self.call(&request)?;
        if is_blank(&response.body) {
            return Ok(None);
        }
        parse_object(&request, &response.body, "a SCIM user").map(Some)
    }

    /// `DELETE /Users/<id>`: removes the user from the workspace.
    pub fn delete_user(&self, id: &str) -> Result<(), ConnectorError> {
        let request = self.request(HttpMethod::Delete, user_path(id), None);
        self.call(&request).map(drop)
    }

    /// `GET /Groups/<id>`, members included.
    pub fn get_group(&self, id: &str) -> Result<ScimGroup, ConnectorError> {
        let request = self.request(HttpMethod::Get, group_path(id), None);
        let response = self.call(&request)?;
        parse_object(&request, &response.body, "a SCIM group")
    }

    /// `PATCH /Groups/<id>` adding or removing one member with an Entra-style
    /// value list; the member list is never replaced as a whole.
    ///
    /// Returns the member ids the answer lists, or `None` when it lists none:
    /// no body (204) or a group without a `members` attribute.
    pub fn patch_group_members(
        &self,
        id: &str,
        change: MemberChange,
        user_id: &str,
    ) -> Result<Option<Vec<String>>, ConnectorError> {
        let body = json!({
            "schemas": [PATCH_OP_SCHEMA],
            "Operations": [{
                "op": change.op(),
                "path": "members",
                "value": [{"value": user_id}],
            }],
        });
        let request = self.request(HttpMethod::Patch, group_path(id), Some(&body));
        let response = self.call(&request)?;
        if is_blank(&response.body) {
            return Ok(None);
        }
        let value: Value = parse_object(&request, &response.body, "a SCIM group")?;
        if value.get("members").is_none_or(Value::is_null) {
            return Ok(None);
        }
        let group: ScimGroup = from_item(value).ok_or_else(|| {
            bad_response(format!("{}: the body is not a SCIM group", request.label()))
        })?;
        Ok(Some(
            group
                .members
                .into_iter()
                .filter_map(|m| m.value.map(|v| v.trim().to_string()))
                .collect(),
        ))
    }

    fn list(&self, path_and_query: &str) -> Result<ListResponse, ConnectorError> {
        let request = self.request(HttpMethod::Get, path_and_query.to_string(), None);
        let response = self.call(&request)?;
        ListResponse::parse(&response.body)
            .map_err(|why| bad_response(format!("{}: {why}", request.label())))
    }

    fn request(
        &self,
        method: HttpMethod,
        path_and_query: String,
        body: Option<&Value>,
    ) -> HttpRequest {
        let mut headers = vec![
            ("authorization".into(), format!("Bearer {}", self.token)),
            ("accept".into(), "application/scim+json".into()),
            (
                "user-agent".into(),
                concat!("baton-notion/", env!("CARGO_PKG_VERSION")).into(),
            ),
        ];
        if body.is_some() {
            headers.push(("content-type".into(), "application/json".into()));
        }
        HttpRequest {
            method,
            base: self.base.clone(),
            path_and_query,
            headers,
            body: body.map(|b| b.to_string().into_bytes()),
        }
    }

    /// Sends a request and returns a 2xx answer; anything else becomes a
    /// typed error naming the request.
    fn call(&self, request: &HttpRequest) -> Result<HttpResponse, ConnectorError> {
        let response = self.transport.send(request).map_err(|mut e| {
            e.message = format!("{}: {}", request.label(), e.message);
            e
        })?;
        if (200..300).contains(&response.status) {
            return Ok(response);
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

fn user_path(id: &str) -> String {
    format!("/Users/{}", encode_segment(id))
}

fn group_path(id: &str) -> String {
    format!("/Groups/{}", encode_segment(id))
}

/// True for an empty (or whitespace-only) body.
fn is_blank(body: &[u8]) -> bool {
    body.iter().all(u8::is_ascii_whitespace)
}

/// Parses a body that must be one JSON object of shape `T`.
fn parse_object<T: serde::de::DeserializeOwned>(
    request: &HttpRequest,
    body: &[u8],
    what: &str,
) -> Result<T, ConnectorError> {
    serde_json::from_slice(body)
        .ok()
        .and_then(from_item::<T>)
        .ok_or_else(|| bad_response(format!("{}: the body is not {what}", request.label())))
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

/// Percent-encodes a query parameter value (everything but RFC 3986
/// unreserved characters), so that `&`, `#`, `+` or spaces stay in the value.
pub fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
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
    fn writes_carry_a_json_body_and_reads_none() {
        let fake = FakeTransport::new();
        fake.push(204, "");
        fake.push(204, "");
        fake.push(404, r#"{"detail":"gone"}"#);
        let client = ScimClient::new(&fake, &config());
        assert!(client.patch_user_role("u/1", "member").unwrap().is_none());
        client.delete_user("u1").unwrap();
        let e = client.get_user("u1").unwrap_err();
        assert_eq!(e.message, "GET /Users/u1 failed with HTTP 404: gone");
        assert_eq!(
            found(client.get_user("u1")).unwrap_err().kind,
            ErrorKind::Internal
        );
        let sent = fake.requests();
        let labels: Vec<_> = sent.iter().map(HttpRequest::label).collect();
        assert_eq!(
            labels,
            [
                "PATCH /Users/u%2F1",
                "DELETE /Users/u1",
                "GET /Users/u1",
                "GET /Users/u1"
            ]
        );
        let content_type = |r: &HttpRequest| {
            r.headers
                .iter()
                .find(|(k, _)| k == "content-type")
                .map(|(_, v)| v.clone())
        };
        assert_eq!(content_type(&sent[0]).as_deref(), Some("application/json"));
        assert!(sent[0].body.is_some());
        for r in &sent[1..] {
            assert_eq!((content_type(r), &r.body), (None, &None), "{}", r.label());
        }
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode_query_value("a.b-c_d~9"), "a.b-c_d~9");
        assert_eq!(
            encode_query_value("email eq \"a+b&c#@x\""),
            "email%20eq%20%22a%2Bb%26c%23%40x%22"
        );
    }

    #[test]
    fn segments_are_encoded() {
        assert_eq!(encode_segment("0000-aa_bc~"), "0000-aa_bc~");
        assert_eq!(encode_segment("../x y"), "%2E%2E%2Fx%20y");
        assert_eq!(encode_segment("é"), "%C3%A9");
    }
}

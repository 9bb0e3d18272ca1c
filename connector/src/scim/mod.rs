//! The Notion SCIM client.
//!
//! [`ScimClient`] knows the endpoints, headers, paging parameters and request
//! bodies; every method makes exactly one request and never retries (the host
//! owns retries and rate limiting) and never caches (a read after a write must
//! see the write). The bytes travel through a [`Transport`]: in the component
//! that is [`wasi_http::WasiHttp`], in unit tests a fake that records
//! requests, so the request sequence itself is testable natively.
//!
//! Answers are read leniently: a body that parses as JSON is used whatever its
//! `Content-Type` says (Notion and proxies in front of it mix
//! `application/scim+json`, `application/json` and worse), and a body that
//! does not parse is a `bad-response` error that names the request, says why
//! (an HTML page, cut-short JSON, ...) and quotes the content type, never the
//! token. Write methods return a [`Failure`], which says whether a failed
//! write may have taken effect anyway.

pub mod failure;
pub mod model;
pub mod status;
pub mod wasi_http;

use serde_json::{json, Value};

use crate::baton::connector::types::{ConnectorError, ErrorKind};
use crate::config::{BaseUrl, Config};
use crate::error::bad_response;

pub use failure::Failure;
use model::{from_item, from_raw_item, ListResponse, ScimGroup, ScimUser, NOTION_USER_EXTENSION};

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
    /// The `Content-Type` header, if any; only quoted in error messages.
    pub content_type: Option<String>,
    /// The complete body.
    pub body: Vec<u8>,
    /// The host previewed the write instead of sending it (dry run: `204`
    /// with `baton-dry-run: previewed`); see the WIT's `connector` interface.
    pub previewed: bool,
}

/// Sends one request. Errors are transport failures (no HTTP answer); their
/// message describes the failure without naming the request.
pub trait Transport {
    /// Sends `request` (with its body, if any) and reads the whole answer.
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, ConnectorError>;

    /// Sends a GET that a later [`send`](Self::send) of the same request will
    /// want, so that the server works on it meanwhile. A transport that cannot
    /// send ahead ignores it; the later `send` then sends as usual.
    fn prefetch(&self, _request: &HttpRequest) {}
}

impl<T: Transport + ?Sized> Transport for &T {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, ConnectorError> {
        (**self).send(request)
    }

    fn prefetch(&self, request: &HttpRequest) {
        (**self).prefetch(request)
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

/// [`found`] for writes: a `not-found` failure becomes `None`.
pub fn found_write<T>(result: Result<T, Failure>) -> Result<Option<T>, Failure> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(f) if f.error.kind == ErrorKind::NotFound => Ok(None),
        Err(f) => Err(f),
    }
}

/// The id a previewed (dry-run) create reports: the real one is Notion's to give.
pub const PREVIEWED_USER_ID: &str = "new-user-id-assigned-by-notion";

/// A SCIM client bound to one base URL. `token` is what `configure` got
/// for it, the host's placeholder under a host that holds secrets; it is
/// only kept to scrub it from echoed error bodies.
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
        self.list(&users_page(start_index, count))
    }

    /// Sends [`list_users`](Self::list_users) ahead of the call that will read it.
    pub fn prefetch_users(&self, start_index: u64, count: u32) {
        self.prefetch(&users_page(start_index, count));
    }

    /// `GET /Groups?startIndex=<start>&count=<count>`.
    pub fn list_groups(
        &self,
        start_index: u64,
        count: u32,
    ) -> Result<ListResponse, ConnectorError> {
        self.list(&groups_page(start_index, count))
    }

    /// Sends [`list_groups`](Self::list_groups) ahead of the call that will read it.
    pub fn prefetch_groups(&self, start_index: u64, count: u32) {
        self.prefetch(&groups_page(start_index, count));
    }

    /// `GET /Users/<id>`, read fresh every time.
    pub fn get_user(&self, id: &str) -> Result<ScimUser, ConnectorError> {
        let request = self.request(HttpMethod::Get, user_path(id), None);
        let response = self.call(&request)?;
        parse_object(&request, &response, "a SCIM user")
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
        let list = parse_list(&request, response)?;
        let same = |value: &Option<String>| {
            value
                .as_deref()
                .is_some_and(|v| v.trim().eq_ignore_ascii_case(email))
        };
        let found = list
            .items()
            .filter_map(from_raw_item::<ScimUser>)
            .find(|u| same(&u.user_name) || u.emails.iter().any(|e| same(&e.value)));
        Ok(found)
    }

    /// `POST /Users` with a core-schema user and no role (Notion then makes
    /// the user a `member`). A 409 comes back as an `already-exists` error.
    pub fn create_user(&self, user: &NewUser) -> Result<ScimUser, Failure> {
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
        let response = self.attempt(&request)?;
        if response.previewed {
            // Nothing was created: the would-be user is what was sent.
            let mut would_be = body;
            would_be["id"] = json!(PREVIEWED_USER_ID);
            return from_item(would_be)
                .ok_or_else(|| Failure::known(bad_response("the previewed user does not map")));
        }
        parse_object(&request, &response, "a SCIM user").map_err(|mut e| {
            e.message.push_str("; the account may have been created");
            Failure::known(e)
        })
    }

    /// `PATCH /Users/<id>` setting the workspace role (value-as-object form,
    /// no `path`). Returns the user when the answer has a body (200), `None`
    /// when it has none (204).
    pub fn patch_user_role(&self, id: &str, role: &str) -> Result<Option<ScimUser>, Failure> {
        let body = json!({
            "schemas": [PATCH_OP_SCHEMA],
            "Operations": [{
                "op": ROLE_CHANGE_OP,
                "value": {NOTION_USER_EXTENSION: {"role": role}},
            }],
        });
        let request = self.request(HttpMethod::Patch, user_path(id), Some(&body));
        let response = self.attempt(&request)?;
        if is_blank(&response.body) {
            return Ok(None);
        }
        parse_object(&request, &response, "a SCIM user")
            .map(Some)
            .map_err(Failure::known)
    }

    /// `DELETE /Users/<id>`: removes the user from the workspace. `true`
    /// when the host previewed it (dry run): nothing was deleted.
    pub fn delete_user(&self, id: &str) -> Result<bool, Failure> {
        let request = self.request(HttpMethod::Delete, user_path(id), None);
        self.attempt(&request).map(|response| response.previewed)
    }

    /// `GET /Groups/<id>`, members included.
    pub fn get_group(&self, id: &str) -> Result<ScimGroup, ConnectorError> {
        let request = self.request(HttpMethod::Get, group_path(id), None);
        let response = self.call(&request)?;
        parse_object(&request, &response, "a SCIM group")
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
    ) -> Result<Option<Vec<String>>, Failure> {
        let body = json!({
            "schemas": [PATCH_OP_SCHEMA],
            "Operations": [{
                "op": change.op(),
                "path": "members",
                "value": [{"value": user_id}],
            }],
        });
        let request = self.request(HttpMethod::Patch, group_path(id), Some(&body));
        let response = self.attempt(&request)?;
        if is_blank(&response.body) {
            return Ok(None);
        }
        let value: Value =
            parse_object(&request, &response, "a SCIM group").map_err(Failure::known)?;
        if value.get("members").is_none_or(Value::is_null) {
            return Ok(None);
        }
        let group: ScimGroup = from_item(value).ok_or_else(|| {
            Failure::known(bad_response(format!(
                "{}: the body is not a SCIM group",
                request.label()
            )))
        })?;
        Ok(Some(
            group
                .members
                .into_iter()
                .filter_map(|m| m.value.map(|v| v.trim().to_string()))
                .collect(),
        ))
    }

    fn prefetch(&self, path_and_query: &str) {
        let request = self.request(HttpMethod::Get, path_and_query.to_string(), None);
        self.transport.prefetch(&request);
    }

    fn list(&self, path_and_query: &str) -> Result<ListResponse, ConnectorError> {
        let request = self.request(HttpMethod::Get, path_and_query.to_string(), None);
        let response = self.call(&request)?;
        parse_list(&request, response)
    }

    fn request(
        &self,
        method: HttpMethod,
        path_and_query: String,
        body: Option<&Value>,
    ) -> HttpRequest {
        // No Authorization header: the host holds the token and adds it to
        // requests to the base URL's origin (the field's credential binding).
        let mut headers = vec![
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
        self.attempt(request).map_err(ConnectorError::from)
    }

    /// [`Self::call`] for writes: the failure also says whether the server
    /// may have acted on the request.
    fn attempt(&self, request: &HttpRequest) -> Result<HttpResponse, Failure> {
        let response = self.transport.send(request).map_err(|mut e| {
            e.message = format!("{}: {}", request.label(), e.message);
            Failure::transport(e)
        })?;
        if (200..300).contains(&response.status) {
            return Ok(response);
        }
        let error = status::status_error(
            &request.label(),
            response.status,
            response.retry_after.as_deref(),
            &response.body,
            &self.token,
            now_unix_secs(),
        );
        Err(Failure::status(error, response.status))
    }
}

fn users_page(start_index: u64, count: u32) -> String {
    format!("/Users?startIndex={start_index}&count={count}")
}

fn groups_page(start_index: u64, count: u32) -> String {
    format!("/Groups?startIndex={start_index}&count={count}")
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
    response: &HttpResponse,
    what: &str,
) -> Result<T, ConnectorError> {
    let value: Value = serde_json::from_slice(&response.body).map_err(|e| {
        let why = model::not_json(&response.body, &e);
        unusable(request, response, &format!("expected {what}, but {why}"))
    })?;
    from_item::<T>(value)
        .ok_or_else(|| unusable(request, response, &format!("the body is not {what}")))
}

/// Parses a `ListResponse` body.
fn parse_list(
    request: &HttpRequest,
    mut response: HttpResponse,
) -> Result<ListResponse, ConnectorError> {
    // The page keeps the body: moved, not copied.
    let body = std::mem::take(&mut response.body);
    ListResponse::parse(body).map_err(|why| unusable(request, &response, &why))
}

/// The `bad-response` error for a 2xx answer whose body cannot be used:
/// the request, why, and the content type when it is not JSON's.
fn unusable(request: &HttpRequest, response: &HttpResponse, why: &str) -> ConnectorError {
    let content_type = response
        .content_type
        .as_deref()
        .filter(|t| !t.to_ascii_lowercase().contains("json"))
        .map(|t| format!(" (content-type {})", status::snippet(t, "")))
        .unwrap_or_default();
    bad_response(format!("{}: {why}{content_type}", request.label()))
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
mod malformed_tests;
#[cfg(test)]
mod props;

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;

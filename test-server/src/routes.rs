//! HTTP routing: the request gate (numbering, fault injection, auth) and the handlers.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::Value;

use crate::conn::ConnMeta;
use crate::faults::{Fault, FaultPlan};
use crate::filter::{GroupFilter, UserFilter};
use crate::input::{invalid_value, json_object};
use crate::paging::Page;
use crate::scim::{self, scim_response, ScimError};
use crate::state::ServerState;

/// Mount point of the API, as on Notion.
pub const BASE_PATH: &str = "/scim/v2";

/// Large enough for a PUT of a group with 100,000 members.
const BODY_LIMIT: usize = 64 * 1024 * 1024;

pub(crate) fn router(state: ServerState) -> Router {
    Router::new()
        .route(
            "/scim/v2/ServiceProviderConfig",
            get(|| async { ok(scim::service_provider_config()) }),
        )
        .route(
            "/scim/v2/ResourceTypes",
            get(|| async { ok(scim::resource_types()) }),
        )
        .route("/scim/v2/ResourceTypes/{name}", get(resource_type))
        .route("/scim/v2/Users", get(list_users).post(create_user))
        .route(
            "/scim/v2/Users/{id}",
            get(get_user)
                .put(replace_user)
                .patch(patch_user)
                .delete(delete_user),
        )
        .route("/scim/v2/Groups", get(list_groups).post(create_group))
        .route(
            "/scim/v2/Groups/{id}",
            get(get_group)
                .put(replace_group)
                .patch(patch_group)
                .delete(delete_group),
        )
        .fallback(|| async { ScimError::new(404, "no such endpoint") })
        .method_not_allowed_fallback(|| async { ScimError::new(405, "method not allowed") })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(state.clone(), gate))
        .with_state(state)
}

/// Runs before every request: numbers and logs it, applies faults, checks the token.
async fn gate(State(state): State<ServerState>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    // Buffer the body so the log can show what the client sent; handlers
    // read it again from the rebuilt request.
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return ScimError::new(413, "request body too large or unreadable").into_response()
        }
    };
    let text = (!bytes.is_empty()).then(|| String::from_utf8_lossy(&bytes).into_owned());
    let req = Request::from_parts(parts, axum::body::Body::from(bytes));
    let (number, plan) = state.begin_request(method.as_str(), &path, req.uri().query(), text);
    let conn = req
        .extensions()
        .get::<ConnectInfo<ConnMeta>>()
        .map(|c| c.0.clone());
    let (resp, sent) = respond(&state, plan, conn, req, next).await;
    let status = if sent { resp.status().as_u16() } else { 0 };
    state.finish_request(number, status);
    // Never log headers: they carry the token.
    tracing::debug!(number, %method, %path, status, "request");
    resp
}

/// Produces the response; the flag is false when the connection was killed instead.
async fn respond(
    state: &ServerState,
    plan: FaultPlan,
    conn: Option<ConnMeta>,
    req: Request,
    next: Next,
) -> (Response, bool) {
    let stopping = || ScimError::new(503, "server is shutting down").into_response();
    if !plan.delay.is_zero() {
        tokio::select! {
            _ = tokio::time::sleep(plan.delay) => {}
            _ = state.shutting_down() => return (stopping(), true),
        }
    }
    let kill = |conn: Option<ConnMeta>| match conn {
        Some(c) => {
            c.kill();
            (stopping(), false)
        }
        // Not served through our listener (cannot happen via `serve`): best effort.
        None => (stopping(), true),
    };
    match plan.action {
        Some(Fault::RateLimit { retry_after_secs }) => {
            let mut resp = ScimError::new(429, "rate limited").into_response();
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            (resp, true)
        }
        Some(Fault::Status(code)) => {
            // Informational codes would confuse hyper; treat them as a plain 500.
            let code = if (200..=999).contains(&code) {
                code
            } else {
                500
            };
            (
                ScimError::new(code, "injected failure").into_response(),
                true,
            )
        }
        Some(Fault::Drop) => kill(conn),
        Some(Fault::Hang) => {
            state.shutting_down().await;
            kill(conn)
        }
        Some(Fault::Delay(_)) | None => match authorize(state, &req) {
            Ok(()) => (next.run(req).await, true),
            Err(e) => {
                let mut resp = e.into_response();
                resp.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                (resp, true)
            }
        },
    }
}

fn authorize(state: &ServerState, req: &Request) -> Result<(), ScimError> {
    // Like real Notion, discovery of capabilities needs no token.
    if req.method() == Method::GET && req.uri().path() == "/scim/v2/ServiceProviderConfig" {
        return Ok(());
    }
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ScimError::new(401, "missing bearer token"))?;
    let presented = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or_else(|| ScimError::new(401, "authorization must use the Bearer scheme"))?;
    if constant_time_eq(presented.as_bytes(), state.token().as_bytes()) {
        Ok(())
    } else {
        Err(ScimError::new(401, "invalid token"))
    }
}

/// Compares without an early exit, as a real server would.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn ok(body: Value) -> Response {
    scim_response(StatusCode::OK, &body)
}

fn created(body: Value) -> Response {
    let location = body["meta"]["location"]
        .as_str()
        .and_then(|l| HeaderValue::from_str(l).ok());
    let mut resp = scim_response(StatusCode::CREATED, &body);
    if let Some(l) = location {
        resp.headers_mut().insert(header::LOCATION, l);
    }
    resp
}

type Handled = Result<Response, ScimError>;

fn id_of(path: Result<Path<String>, PathRejection>) -> Result<String, ScimError> {
    path.map(|Path(id)| id)
        .map_err(|e| ScimError::new(404, format!("bad resource path: {e}")))
}

fn body_of(body: Result<Bytes, BytesRejection>) -> Result<Value, ScimError> {
    let bytes = body.map_err(|e| ScimError::new(e.status().as_u16(), e.body_text()))?;
    json_object(&bytes)
}

/// Query parameters of the list endpoints; numbers are parsed by hand so a bad value
/// yields a SCIM error rather than axum's plain-text rejection.
#[derive(Debug, Default, Deserialize)]
struct ListParams {
    #[serde(rename = "startIndex", alias = "startindex")]
    start_index: Option<String>,
    count: Option<String>,
    filter: Option<String>,
}

fn list_params(
    q: Result<Query<ListParams>, QueryRejection>,
) -> Result<(Page, Option<String>), ScimError> {
    let Query(q) = q.map_err(|e| invalid_value(format!("bad query string: {e}")))?;
    let num = |v: Option<String>, what: &str| -> Result<Option<i64>, ScimError> {
        v.map(|s| {
            s.trim()
                .parse::<i64>()
                .map_err(|_| invalid_value(format!("{what} must be an integer")))
        })
        .transpose()
    };
    let page = Page::new(num(q.start_index, "startIndex")?, num(q.count, "count")?);
    let filter = q.filter.filter(|f| !f.trim().is_empty());
    Ok((page, filter))
}

async fn resource_type(name: Result<Path<String>, PathRejection>) -> Handled {
    let name = id_of(name)?;
    scim::resource_type(&name)
        .map(ok)
        .ok_or_else(|| ScimError::not_found("ResourceType", &name))
}

async fn list_users(
    State(s): State<ServerState>,
    q: Result<Query<ListParams>, QueryRejection>,
) -> Handled {
    let (page, filter) = list_params(q)?;
    let filter = filter.as_deref().map(UserFilter::parse).transpose()?;
    Ok(ok(s.read().list_users(filter.as_ref(), page)))
}

async fn get_user(
    State(s): State<ServerState>,
    id: Result<Path<String>, PathRejection>,
) -> Handled {
    Ok(ok(s.read().get_user(&id_of(id)?)?))
}

async fn create_user(State(s): State<ServerState>, body: Result<Bytes, BytesRejection>) -> Handled {
    let body = body_of(body)?;
    Ok(created(s.write().create_user(&body)?))
}

async fn replace_user(
    State(s): State<ServerState>,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Handled {
    let (id, body) = (id_of(id)?, body_of(body)?);
    Ok(ok(s.write().replace_user(&id, &body)?))
}

async fn patch_user(
    State(s): State<ServerState>,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Handled {
    let (id, body) = (id_of(id)?, body_of(body)?);
    Ok(ok(s.write().patch_user(&id, &body)?))
}

async fn delete_user(
    State(s): State<ServerState>,
    id: Result<Path<String>, PathRejection>,
) -> Handled {
    s.write().delete_user(&id_of(id)?)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_groups(
    State(s): State<ServerState>,
    q: Result<Query<ListParams>, QueryRejection>,
) -> Handled {
    let (page, filter) = list_params(q)?;
    let filter = filter.as_deref().map(GroupFilter::parse).transpose()?;
    Ok(ok(s.read().list_groups(filter.as_ref(), page)))
}

async fn get_group(
    State(s): State<ServerState>,
    id: Result<Path<String>, PathRejection>,
) -> Handled {
    Ok(ok(s.read().get_group(&id_of(id)?)?))
}

async fn create_group(
    State(s): State<ServerState>,
    body: Result<Bytes, BytesRejection>,
) -> Handled {
    let body = body_of(body)?;
    Ok(created(s.write().create_group(&body)?))
}

async fn replace_group(
    State(s): State<ServerState>,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Handled {
    let (id, body) = (id_of(id)?, body_of(body)?);
    Ok(ok(s.write().replace_group(&id, &body)?))
}

async fn patch_group(
    State(s): State<ServerState>,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Handled {
    let (id, body) = (id_of(id)?, body_of(body)?);
    Ok(ok(s.write().patch_group(&id, &body)?))
}

async fn delete_group(
    State(s): State<ServerState>,
    id: Result<Path<String>, PathRejection>,
) -> Handled {
    s.write().delete_group(&id_of(id)?)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

//! HTTP routing: the endpoints and their handlers (the gate in front of them all
//! lives in `gate.rs`).

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::Value;

use crate::filter::{GroupFilter, UserFilter};
use crate::gate;
use crate::input::{invalid_value, json_object};
use crate::paging::Page;
use crate::scim::{self, scim_response, ScimError};
use crate::state::ServerState;

/// Mount point of the API, as on Notion.
pub const BASE_PATH: &str = "/scim/v2";

/// Large enough for a PUT of a group with 100,000 members.
pub(crate) const BODY_LIMIT: usize = 64 * 1024 * 1024;

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
        .layer(middleware::from_fn_with_state(state.clone(), gate::gate))
        .with_state(state)
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
    Ok(ok(s.read().list_users(
        filter.as_ref(),
        page,
        s.anomaly_set(),
    )))
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
    Ok(ok(s.read().list_groups(
        filter.as_ref(),
        page,
        s.anomaly_set(),
    )))
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

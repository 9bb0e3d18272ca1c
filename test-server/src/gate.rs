//! The gate every request passes first: numbering and logging, the rate limit, fault
//! injection and the bearer-token check, in that order.

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::conn::ConnMeta;
use crate::faults::{Fault, FaultPlan};
use crate::inject;
use crate::ratelimit::retry_after_secs;
use crate::routes::BODY_LIMIT;
use crate::scim::ScimError;
use crate::state::ServerState;

/// Runs before every request: numbers and logs it, rate-limits, applies faults,
/// checks the token.
pub(crate) async fn gate(State(state): State<ServerState>, req: Request, next: Next) -> Response {
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
    let (number, admission) = state.begin_request(method.as_str(), &path, req.uri().query(), text);
    let conn = req
        .extensions()
        .get::<ConnectInfo<ConnMeta>>()
        .map(|c| c.0.clone());
    let (resp, sent) = match admission {
        Ok(plan) => respond(&state, plan, conn, req, next).await,
        Err(wait) => {
            let secs = retry_after_secs(wait).to_string();
            let detail = "rate limit exceeded; retry after the number of seconds in Retry-After";
            (inject::too_many_requests(detail, &secs), true)
        }
    };
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
        Some(Fault::Drop) => return kill(conn),
        Some(Fault::Hang) => {
            state.shutting_down().await;
            return kill(conn);
        }
        _ => {}
    }
    if let Some(resp) = plan.action.as_ref().and_then(inject::replacement) {
        return (resp, true);
    }
    let resp = match authorize(state, &req) {
        Ok(()) => next.run(req).await,
        Err(e) => {
            let mut resp = e.into_response();
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            resp
        }
    };
    match &plan.action {
        Some(Fault::DropAfterHandling) => kill(conn),
        Some(Fault::HangAfterHandling) => {
            state.shutting_down().await;
            kill(conn)
        }
        Some(fault) => (inject::rewrite(fault, resp).await, true),
        None => (resp, true),
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

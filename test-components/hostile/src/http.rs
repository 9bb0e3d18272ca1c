//! A bare `GET` over `wasi:http`: enough to knock on the host's doors and
//! to see what the host answers.

use wasi::http::outgoing_handler;
use wasi::http::types::{
    http_error_code, ErrorCode, Fields, FutureIncomingResponse, IncomingResponse, Method,
    OutgoingRequest, Scheme,
};
use wasi::io::streams::StreamError;

/// Starts a GET of `url` (`http(s)://authority/path`); [`wait`] awaits it.
pub fn start(url: &str) -> Result<FutureIncomingResponse, String> {
    send(&Method::Get, url)
}

/// Sends `method` to `url` without a body and waits for the answer; what
/// the host said when it refused or failed.
pub fn request(method: &Method, url: &str) -> Result<IncomingResponse, String> {
    send(method, url).and_then(|f| wait(&f))
}

fn send(method: &Method, url: &str) -> Result<FutureIncomingResponse, String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("`{url}` is not a URL"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let scheme = if scheme == "https" {
        Scheme::Https
    } else {
        Scheme::Http
    };
    let request = OutgoingRequest::new(Fields::new());
    let refused = |what: &str| format!("wasi:http refused the {what}");
    request.set_method(method).map_err(|()| refused("method"))?;
    request
        .set_scheme(Some(&scheme))
        .map_err(|()| refused("scheme"))?;
    request
        .set_authority(Some(authority))
        .map_err(|()| refused("authority"))?;
    request
        .set_path_with_query(Some(path))
        .map_err(|()| refused("path"))?;
    outgoing_handler::handle(request, None).map_err(|code| describe(&code))
}

/// Waits for the response (its body is left unread).
pub fn wait(future: &FutureIncomingResponse) -> Result<IncomingResponse, String> {
    loop {
        // The pollable is a child of the future: drop it first.
        let pollable = future.subscribe();
        pollable.block();
        drop(pollable);
        match future.get() {
            Some(Ok(Ok(response))) => return Ok(response),
            Some(Ok(Err(code))) => return Err(describe(&code)),
            Some(Err(())) => return Err("the response was already taken".into()),
            None => continue,
        }
    }
}

/// Reads the whole body; its length, or what the host said when it failed.
pub fn read_all(response: IncomingResponse) -> Result<usize, String> {
    let body = response
        .consume()
        .map_err(|()| "the body was already taken".to_string())?;
    let stream = body
        .stream()
        .map_err(|()| "the body stream was already taken".to_string())?;
    let mut read = 0;
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => read += chunk.len(),
            Err(StreamError::Closed) => return Ok(read),
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(match http_error_code(&e) {
                    Some(code) => describe(&code),
                    None => e.to_debug_string(),
                })
            }
        }
    }
}

/// What the guest was told, as text: an internal error's own text, else the code.
pub fn describe(code: &ErrorCode) -> String {
    match code {
        ErrorCode::InternalError(Some(text)) => text.clone(),
        other => format!("{other:?}"),
    }
}

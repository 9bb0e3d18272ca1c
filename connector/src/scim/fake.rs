//! A scripted [`Transport`] for unit tests: it answers from a queue and
//! records every request it was given.

use std::cell::RefCell;
use std::collections::VecDeque;

use serde_json::Value;

use super::{HttpRequest, HttpResponse, Transport};
use crate::baton::connector::types::{ConnectorError, ErrorKind};
use crate::error::error;

/// Answers queued with [`FakeTransport::push`], in order.
#[derive(Default)]
pub struct FakeTransport {
    answers: RefCell<VecDeque<Result<HttpResponse, ConnectorError>>>,
    sent: RefCell<Vec<HttpRequest>>,
}

impl FakeTransport {
    /// An empty script.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues an HTTP answer.
    pub fn push(&self, status: u16, body: &str) {
        self.push_bytes(status, None, body.as_bytes());
    }

    /// Queues an HTTP answer with any bytes and an optional content type.
    pub fn push_bytes(&self, status: u16, content_type: Option<&str>, body: &[u8]) {
        self.answers.borrow_mut().push_back(Ok(HttpResponse {
            status,
            retry_after: None,
            content_type: content_type.map(Into::into),
            body: body.to_vec(),
            previewed: false,
        }));
    }

    /// Queues the answer a host gives a write in a dry run.
    pub fn push_previewed(&self) {
        self.answers.borrow_mut().push_back(Ok(HttpResponse {
            status: 204,
            retry_after: None,
            content_type: None,
            body: Vec::new(),
            previewed: true,
        }));
    }

    /// Queues a transport failure.
    pub fn push_err(&self, kind: ErrorKind, message: &str) {
        self.answers
            .borrow_mut()
            .push_back(Err(error(kind, message)));
    }

    /// Every request sent so far.
    pub fn requests(&self) -> Vec<HttpRequest> {
        self.sent.borrow().clone()
    }

    /// Every request sent so far as `(method, path and query, JSON body)`,
    /// the body parsed so that tests compare values, not spellings.
    pub fn calls(&self) -> Vec<(&'static str, String, Option<Value>)> {
        self.sent
            .borrow()
            .iter()
            .map(|r| {
                let body = r
                    .body
                    .as_ref()
                    .map(|b| serde_json::from_slice(b).expect("request bodies are JSON"));
                (r.method.as_str(), r.path_and_query.clone(), body)
            })
            .collect()
    }

    /// The answers not consumed yet.
    pub fn unused(&self) -> usize {
        self.answers.borrow().len()
    }

    /// The path and query of every request sent so far.
    pub fn paths(&self) -> Vec<String> {
        self.sent
            .borrow()
            .iter()
            .map(|r| r.path_and_query.clone())
            .collect()
    }
}

impl Transport for FakeTransport {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, ConnectorError> {
        self.sent.borrow_mut().push(request.clone());
        self.answers.borrow_mut().pop_front().unwrap_or_else(|| {
            Err(error(
                ErrorKind::Internal,
                "fake transport: no answer queued",
            ))
        })
    }
}

/// The bearer token of [`client`]; tests check it never shows in errors.
pub const TOKEN: &str = "secret-token-123";

/// A client for `http://127.0.0.1:1/scim/v2` over `fake`.
pub fn client(fake: &FakeTransport) -> super::ScimClient<&FakeTransport> {
    let base_url = crate::config::parse_base_url("http://127.0.0.1:1/scim/v2").unwrap();
    let config = crate::config::Config {
        token: TOKEN.into(),
        base_url,
    };
    super::ScimClient::new(fake, &config)
}

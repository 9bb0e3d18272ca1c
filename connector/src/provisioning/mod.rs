//! Provisioning: the write side of the contract.
//!
//! `lib.rs` dispatches each export here by resource type:
//!
//! - `users`: `create-account` and `delete-resource` of users;
//! - `roles`: granting and revoking `role:<r>:assigned` (a role change);
//! - `groups`: granting and revoking `group:<g>:member` (membership);
//! - `owners`: the guard that keeps the workspace from losing its last owner.
//!
//! Every operation validates its input before any request, then reads the
//! current state fresh (the client never caches), decides, makes one write
//! and, where the answer allows, checks that the write took effect. A write
//! whose answer is lost (timeout, reset, 5xx) is sent a second time only
//! after a fresh read shows it did not take effect (`checked`), so no change
//! is applied twice. Each operation records one info line saying what it
//! did; no line carries the token or a request body.

pub mod checked;
pub mod groups;
pub mod owners;
pub mod roles;
pub mod users;

use crate::baton::connector::types::{ConnectorError, ErrorKind, ResourceId};
use crate::error::{invalid_argument, not_found};

/// The id of a principal that must be a user, refused (with no request)
/// when it is of another type or empty.
pub fn user_principal<'a>(
    principal: &'a ResourceId,
    what: &str,
) -> Result<&'a str, ConnectorError> {
    if principal.resource_type != crate::users::TYPE_ID {
        return Err(invalid_argument(format!(
            "only users can receive {what}, not a principal of type `{}`",
            principal.resource_type
        )));
    }
    non_empty_id(&principal.resource, "user")
}

/// The trimmed id, refused when it is empty.
pub fn non_empty_id<'a>(id: &'a str, what: &str) -> Result<&'a str, ConnectorError> {
    let id = id.trim();
    if id.is_empty() {
        return Err(invalid_argument(format!("the {what} id is empty")));
    }
    Ok(id)
}

/// Rewords a `not-found` error as "<what> `<id>` not found", keeping the
/// request and the server's detail; other errors pass unchanged.
pub fn name_missing(what: &str, id: &str) -> impl FnOnce(ConnectorError) -> ConnectorError {
    let subject = format!("{what} `{id}`");
    move |e| {
        if e.kind == ErrorKind::NotFound {
            not_found(format!("{subject} not found ({})", e.message))
        } else {
            e
        }
    }
}

/// Whether two SCIM ids are the same; they are UUIDs, so case and
/// surrounding blanks are ignored.
pub fn same_id(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

#[cfg(test)]
mod lost_answer_tests;
#[cfg(test)]
pub mod test_support;

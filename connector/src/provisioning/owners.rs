//! The last-owner guard.
//!
//! A Notion workspace without an owner cannot be administered, and the SCIM
//! token belongs to an owner. Deleting an owner, or moving one to another
//! role, is therefore refused unless some other active owner remains.
//!
//! A second guard would be worth having, but cannot be enforced: Notion
//! revokes every SCIM token of an owner who leaves or changes role, including
//! the token this connector uses. The SCIM API does not say which user
//! created the token, so the connector cannot recognise that user and does
//! not pretend to; it records a debug line saying so whenever an owner is
//! about to be changed.

use crate::baton::connector::types::ConnectorError;
use crate::error::{bad_response, failed_precondition};
use crate::notes::Notes;
use crate::paging::{budget, MAX_LISTING_ITEMS};
use crate::provisioning::same_id;
use crate::roles;
use crate::scim::model::{from_raw_item, ScimUser};
use crate::scim::{ScimClient, Transport, PAGE_SIZE};

/// Resource id of the owner role.
pub const OWNER: &str = "owner";

/// What is logged because the token-owner guard cannot exist.
pub const TOKEN_OWNER_NOTE: &str = "the SCIM API does not reveal which owner created the token, \
     so changing or removing that owner (which revokes the token) cannot be prevented";

/// Whether Notion reports this user as a workspace owner.
pub fn is_owner(user: &ScimUser) -> bool {
    user.notion
        .as_ref()
        .and_then(|n| n.role.as_deref())
        .and_then(roles::from_notion)
        .is_some_and(|r| r.id == OWNER)
}

/// Refuses `action` (e.g. "delete user u1") when `user_id` is the only
/// active owner. Call it only for a user known to be an owner.
pub fn ensure_not_last_owner<T: Transport>(
    client: &ScimClient<T>,
    user_id: &str,
    action: &str,
    notes: &mut Notes,
) -> Result<(), ConnectorError> {
    notes.debug(format!("user {user_id} is an owner; {TOKEN_OWNER_NOTE}"));
    if another_owner_exists(client, user_id, notes)? {
        return Ok(());
    }
    Err(failed_precondition(format!(
        "refusing to {action}: user {user_id} is the last remaining owner of the workspace; \
         make another member an owner first"
    )))
}

/// Pages through `GET /Users` until an active owner other than `user_id`
/// turns up. Stops at the first one, at an empty page, when `totalResults`
/// items have been read, or (without a total) at a short page. A server whose
/// listing does not end within the limits of `paging` (a total that keeps
/// growing) is an error: whether another owner exists is then unknown.
pub fn another_owner_exists<T: Transport>(
    client: &ScimClient<T>,
    user_id: &str,
    notes: &mut Notes,
) -> Result<bool, ConnectorError> {
    let (mut start, mut received) = (1u64, 0u64);
    // Set by the first totalResults, as for a listing (paging's rule 4).
    let mut limit: Option<u64> = None;
    loop {
        let page = client.list_users(start, PAGE_SIZE)?;
        let count = page.len() as u64;
        let found = page
            .items()
            .filter_map(from_raw_item::<ScimUser>)
            .find(|u| {
                is_owner(u)
                    && u.active != Some(false)
                    && u.id.as_deref().is_some_and(|id| !same_id(id, user_id))
            });
        if let Some(other) = found {
            notes.debug(format!(
                "user {} is another owner of the workspace",
                other.id.unwrap_or_default()
            ));
            return Ok(true);
        }
        received = received.saturating_add(count);
        if limit.is_none() {
            limit = page.total_results.map(|t| budget(t, PAGE_SIZE));
        }
        let done = match page.total_results {
            Some(total) => received >= total,
            None => count < u64::from(PAGE_SIZE),
        };
        if count == 0 || done {
            notes.debug(format!(
                "read {received} users: no active owner besides user {user_id}"
            ));
            return Ok(false);
        }
        if received >= limit.unwrap_or(u64::MAX).min(MAX_LISTING_ITEMS) {
            return Err(bad_response(format!(
                "GET /Users: the user listing did not end after {received} users (its \
                 totalResults keeps growing), so whether another owner exists is unknown"
            )));
        }
        start = start.saturating_add(count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provisioning::test_support::{client, users_page};
    use crate::scim::fake::FakeTransport;

    #[test]
    fn stops_at_the_first_other_owner() {
        type Case = (Vec<String>, bool, Vec<&'static str>);
        let page1 = users_page(
            150,
            &[("u1", Some("owner"), true), ("u2", Some("member"), true)],
        );
        let cases: Vec<Case> = vec![
            // Another owner on the first page: one request.
            (
                vec![users_page(
                    3,
                    &[("u1", Some("owner"), true), ("u9", Some("owner"), true)],
                )],
                true,
                vec!["/Users?startIndex=1&count=100"],
            ),
            // Inactive owners and the user themself do not count.
            (
                vec![users_page(
                    3,
                    &[
                        ("U1", Some("Owner"), true),
                        ("u8", Some("owner"), false),
                        ("u7", Some("membership_admin"), true),
                    ],
                )],
                false,
                vec!["/Users?startIndex=1&count=100"],
            ),
            // The second page has one: startIndex advances by items received.
            (
                vec![
                    page1.clone(),
                    users_page(150, &[("u5", Some("owner"), true)]),
                ],
                true,
                vec![
                    "/Users?startIndex=1&count=100",
                    "/Users?startIndex=3&count=100",
                ],
            ),
            // A lying total: an empty page ends the search.
            (
                vec![page1, users_page(150, &[])],
                false,
                vec![
                    "/Users?startIndex=1&count=100",
                    "/Users?startIndex=3&count=100",
                ],
            ),
            // No total: a short page is the last one.
            (
                vec![r#"{"Resources":[{"id":"u2","userName":"b@x.test"}]}"#.to_string()],
                false,
                vec!["/Users?startIndex=1&count=100"],
            ),
        ];
        for (answers, want, paths) in cases {
            let fake = FakeTransport::new();
            for a in &answers {
                fake.push(200, a);
            }
            let got = another_owner_exists(&client(&fake), "u1", &mut Notes::new()).unwrap();
            assert_eq!(got, want, "{answers:?}");
            assert_eq!(fake.paths(), paths, "{answers:?}");
        }
    }

    #[test]
    fn refusal_names_the_last_owner() {
        let fake = FakeTransport::new();
        fake.push(200, &users_page(1, &[("u1", Some("owner"), true)]));
        let mut notes = Notes::new();
        let e =
            ensure_not_last_owner(&client(&fake), "u1", "delete user u1", &mut notes).unwrap_err();
        assert_eq!(
            e.kind,
            crate::baton::connector::types::ErrorKind::FailedPrecondition
        );
        assert!(
            e.message.starts_with(
                "refusing to delete user u1: user u1 is the last remaining owner of the workspace"
            ),
            "{}",
            e.message
        );
        assert!(notes.has(
            crate::baton::connector::types::LogLevel::Debug,
            "does not reveal which owner created the token"
        ));
    }
}

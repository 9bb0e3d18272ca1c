//! Notion SCIM connector for Baton, built as a `wasm32-wasip2` component that
//! exports the `baton:connector` contract (`wit/connector.wit`).
//!
//! How a host drives it:
//!
//! 1. `metadata` describes the config fields (`config.rs`) and the resource
//!    types `user`, `group` and `role` (`users.rs`, `groups.rs`, `roles.rs`).
//! 2. `configure` checks the shape of the token and base URL; no request.
//! 3. `validate` makes one request, `GET /Users?startIndex=1&count=1`.
//! 4. `list-resources` pages through `GET /Users` and `GET /Groups` (100 per
//!    page, `paging.rs`); each page carries the role grants of its users or the
//!    member entitlements and grants of its groups. Roles are static.
//! 5. Provisioning (`provisioning/`): role grants and revokes change a user's
//!    role, group grants and revokes change one membership, `create-account`
//!    and `delete-resource` add and remove workspace members.
//!
//! This file only holds the bindings and dispatches by resource type id. All
//! HTTP goes through `scim/` (one request per client method, no retries), and
//! log lines gathered in `notes.rs` reach the host's logger when a call returns.

wit_bindgen::generate!({
    world: "baton-connector",
    path: "../wit",
    additional_derives: [PartialEq],
});

mod config;
mod error;
mod groups;
mod notes;
mod paging;
#[cfg(test)]
mod prop_support;
mod provisioning;
mod roles;
mod scim;
mod users;

use baton::connector::types::{
    ConfigValue, ConnectorError, ConnectorMetadata, CreateAccountOutcome, CredentialOption,
    EntitlementRef, Grant, GrantOutcome, Page, ProfileEntry, ResourceId, RevokeOutcome,
};
use exports::baton::connector::connector::Guest;

use crate::error::invalid_argument;
use crate::notes::Notes;
use crate::paging::{empty_page, single_page, with_listings};
use crate::scim::wasi_http::WasiHttp;
use crate::scim::ScimClient;

/// The exported component.
struct NotionConnector;

/// A client for the stored configuration.
fn client() -> Result<ScimClient<WasiHttp>, ConnectorError> {
    Ok(ScimClient::new(WasiHttp, &config::current()?))
}

/// Runs `f`, then forwards its log lines to the host, success or not.
fn logged<R>(f: impl FnOnce(&mut Notes) -> R) -> R {
    let mut notes = Notes::new();
    let result = f(&mut notes);
    for (level, line) in notes.drain() {
        baton::connector::host::log(level, &line);
    }
    for r in notes.drain_repeated() {
        baton::connector::host::warn_repeated(r.kind, &r.detail, &r.subject, &r.message);
    }
    result
}

fn unknown_type(type_id: &str) -> ConnectorError {
    invalid_argument(format!("unknown resource type `{type_id}`"))
}

impl Guest for NotionConnector {
    fn metadata() -> ConnectorMetadata {
        ConnectorMetadata {
            name: "baton-notion".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            display_name: "Notion".into(),
            description: "Connector syncing users, groups and workspace roles from Notion via SCIM"
                .into(),
            help_url: "/docs/baton/notion".into(),
            icon_url: "/static/app-icons/notion.svg".into(),
            config_fields: config::fields(),
            resource_types: vec![
                users::resource_type(),
                groups::resource_type(),
                roles::resource_type(),
            ],
            account_creation_schema: users::account_creation_schema(),
            credential_options: vec![CredentialOption::NoPassword],
            read_only_posts: Vec::new(),
        }
    }

    fn configure(values: Vec<ConfigValue>) -> Result<(), ConnectorError> {
        config::store(config::parse(&values)?);
        // Listings of a previous configuration must not leak into new ones.
        paging::reset();
        Ok(())
    }

    fn validate() -> Result<(), ConnectorError> {
        client()?.validate()
    }

    fn list_resources(
        resource_type: String,
        parent: Option<ResourceId>,
        page_token: String,
    ) -> Result<Page, ConnectorError> {
        let known = [users::TYPE_ID, groups::TYPE_ID, roles::TYPE_ID];
        if !known.contains(&resource_type.as_str()) {
            return Err(unknown_type(&resource_type));
        }
        // No Notion type lives under a parent, so there is nothing below one.
        if parent.is_some() {
            return Ok(empty_page());
        }
        logged(|notes| match resource_type.as_str() {
            users::TYPE_ID => {
                with_listings(|l| users::list_page(&client()?, l, &page_token, notes))
            }
            groups::TYPE_ID => {
                with_listings(|l| groups::list_page(&client()?, l, &page_token, notes))
            }
            _ => roles::list_resources(&page_token),
        })
    }

    fn list_entitlements(resource: ResourceId, page_token: String) -> Result<Page, ConnectorError> {
        let id = resource.resource.as_str();
        match resource.resource_type.as_str() {
            // Users hold entitlements but offer none.
            users::TYPE_ID => single_page(users::TYPE_ID, &page_token).map(|()| empty_page()),
            groups::TYPE_ID => {
                logged(|notes| groups::list_entitlements(&client()?, id, &page_token, notes))
            }
            roles::TYPE_ID => roles::list_entitlements(id, &page_token),
            other => Err(unknown_type(other)),
        }
    }

    fn list_grants(resource: ResourceId, page_token: String) -> Result<Page, ConnectorError> {
        let id = resource.resource.as_str();
        match resource.resource_type.as_str() {
            users::TYPE_ID => single_page(users::TYPE_ID, &page_token).map(|()| empty_page()),
            groups::TYPE_ID => {
                logged(|notes| groups::list_grants(&client()?, id, &page_token, notes))
            }
            // Role grants are emitted by the user listing (skip-grants).
            roles::TYPE_ID => single_page(roles::TYPE_ID, &page_token).map(|()| empty_page()),
            other => Err(unknown_type(other)),
        }
    }

    fn grant_entitlement(
        principal: ResourceId,
        entitlement: EntitlementRef,
    ) -> Result<GrantOutcome, ConnectorError> {
        match entitlement.resource.resource_type.as_str() {
            roles::TYPE_ID => logged(|notes| {
                provisioning::roles::grant(&client()?, &principal, &entitlement, notes)
            }),
            groups::TYPE_ID => logged(|notes| {
                provisioning::groups::grant(&client()?, &principal, &entitlement, notes)
            }),
            users::TYPE_ID => Err(invalid_argument("users offer no entitlements to grant")),
            other => Err(unknown_type(other)),
        }
    }

    fn revoke_grant(grant: Grant) -> Result<RevokeOutcome, ConnectorError> {
        match grant.entitlement.resource.resource_type.as_str() {
            roles::TYPE_ID => {
                logged(|notes| provisioning::roles::revoke(&client()?, &grant, notes))
            }
            groups::TYPE_ID => {
                logged(|notes| provisioning::groups::revoke(&client()?, &grant, notes))
            }
            users::TYPE_ID => Err(invalid_argument("users offer no entitlements to revoke")),
            other => Err(unknown_type(other)),
        }
    }

    fn create_account(profile: Vec<ProfileEntry>) -> Result<CreateAccountOutcome, ConnectorError> {
        logged(|notes| provisioning::users::create_account(&client()?, &profile, notes))
    }

    fn delete_resource(id: ResourceId) -> Result<bool, ConnectorError> {
        match id.resource_type.as_str() {
            users::TYPE_ID => {
                logged(|notes| provisioning::users::delete(&client()?, &id.resource, notes))
            }
            other @ (groups::TYPE_ID | roles::TYPE_ID) => Err(invalid_argument(format!(
                "resources of type `{other}` cannot be deleted; only users can"
            ))),
            other => Err(unknown_type(other)),
        }
    }
}

// Only the component exports the contract's symbols. Natively (unit tests) the
// `cdylib` would carry names like `baton:connector/connector#metadata`, which
// the system linker's version script cannot express.
#[cfg(target_arch = "wasm32")]
export!(NotionConnector);

#[cfg(test)]
mod tests {
    use super::*;
    use baton::connector::types::{Capability, ErrorKind};

    #[test]
    fn metadata_declares_the_three_types() {
        let m = NotionConnector::metadata();
        assert_eq!(m.name, "baton-notion");
        assert_eq!(m.version, env!("CARGO_PKG_VERSION"));
        let types: Vec<_> = m
            .resource_types
            .iter()
            .map(|t| {
                (
                    t.id.as_str(),
                    t.inline_listing,
                    t.skip_entitlements,
                    t.skip_grants,
                )
            })
            .collect();
        assert_eq!(
            types,
            [
                ("user", true, true, false),
                ("group", true, false, false),
                ("role", true, false, true)
            ]
        );
        assert_eq!(
            m.resource_types[0].capabilities,
            [Capability::AccountProvisioning, Capability::ResourceDelete]
        );
        let fields: Vec<_> = m
            .account_creation_schema
            .iter()
            .map(|f| (f.name.as_str(), f.order, f.required))
            .collect();
        assert_eq!(
            fields,
            [
                ("email", 1, true),
                ("first_name", 2, true),
                ("last_name", 3, true)
            ]
        );
        assert_eq!(m.credential_options, [CredentialOption::NoPassword]);
    }

    #[test]
    fn dispatch_without_requests() {
        let id = |t: &str, r: &str| ResourceId {
            resource_type: t.into(),
            resource: r.into(),
        };
        let e = NotionConnector::list_resources("team".into(), None, String::new()).unwrap_err();
        assert_eq!(
            (e.kind, e.message.as_str()),
            (ErrorKind::InvalidArgument, "unknown resource type `team`")
        );
        let page =
            NotionConnector::list_resources("user".into(), Some(id("group", "g")), String::new());
        assert_eq!(page, Ok(empty_page()));
        let page = NotionConnector::list_entitlements(id("role", "owner"), String::new()).unwrap();
        assert_eq!(page.entitlements[0].id.slug, "assigned");
        for t in ["user", "role"] {
            assert_eq!(
                NotionConnector::list_grants(id(t, "x"), String::new()),
                Ok(empty_page())
            );
        }
        assert_eq!(
            NotionConnector::list_entitlements(id("user", "u"), String::new()),
            Ok(empty_page())
        );
        // Not configured (a fresh thread has no stored config): refused
        // before any request.
        let e = std::thread::spawn(|| {
            NotionConnector::list_resources("group".into(), None, String::new())
        })
        .join()
        .unwrap()
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::FailedPrecondition);
    }

    #[test]
    fn provisioning_dispatch_refuses_before_any_request() {
        let id = |t: &str, r: &str| ResourceId {
            resource_type: t.into(),
            resource: r.into(),
        };
        let entitlement = move |t: &str, r: &str, slug: &str| EntitlementRef {
            resource: id(t, r),
            slug: slug.into(),
        };
        // Run in a fresh thread: nothing is configured there, so any call that
        // got past dispatch would fail with failed-precondition instead.
        let errors = std::thread::spawn(move || {
            vec![
                NotionConnector::delete_resource(id("group", "g")).unwrap_err(),
                NotionConnector::delete_resource(id("role", "owner")).unwrap_err(),
                NotionConnector::delete_resource(id("team", "t")).unwrap_err(),
                NotionConnector::grant_entitlement(id("user", "u"), entitlement("user", "u", "x"))
                    .unwrap_err(),
                NotionConnector::grant_entitlement(id("user", "u"), entitlement("team", "t", "x"))
                    .unwrap_err(),
                NotionConnector::revoke_grant(Grant {
                    entitlement: entitlement("user", "u", "x"),
                    principal: id("user", "u"),
                })
                .unwrap_err(),
                NotionConnector::delete_resource(id("user", "u")).unwrap_err(),
            ]
        })
        .join()
        .unwrap();
        let got: Vec<_> = errors
            .iter()
            .map(|e| (e.kind, e.message.as_str()))
            .collect();
        let invalid = ErrorKind::InvalidArgument;
        assert_eq!(
            got,
            [
                (
                    invalid,
                    "resources of type `group` cannot be deleted; only users can"
                ),
                (
                    invalid,
                    "resources of type `role` cannot be deleted; only users can"
                ),
                (invalid, "unknown resource type `team`"),
                (invalid, "users offer no entitlements to grant"),
                (invalid, "unknown resource type `team`"),
                (invalid, "users offer no entitlements to revoke"),
                (
                    ErrorKind::FailedPrecondition,
                    "the connector is not configured; call configure first"
                ),
            ]
        );
    }
}

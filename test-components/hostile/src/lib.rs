//! Test fixture: a Baton connector component that attacks the host's sandbox.
//!
//! It implements the real `baton:connector` world, so the host loads and
//! drives it like any connector. The config value `mode` picks the attack,
//! which happens in `list-resources` (see `modes.rs`); every other export
//! behaves. `host/tests/all/sandbox.rs` builds it and checks that the host
//! stops each attack with an error that names the limit or origin.
//!
//! Config fields: `mode` (required), `base-url` (an allowed origin, for
//! modes that need a server that answers) and `target` (a URL that the
//! host must refuse).

wit_bindgen::generate!({
    world: "baton-connector",
    path: "../../wit",
});

mod http;
mod modes;

use std::sync::Mutex;

use baton::connector::types::{
    ConfigField, ConfigValue, ConnectorError, ConnectorMetadata, CreateAccountOutcome,
    CredentialBinding, CredentialPresentation, EntitlementRef, ErrorKind, Grant, GrantOutcome,
    Page, ProfileEntry, ResourceId, ResourceTrait, ResourceType, RevokeOutcome,
};
use exports::baton::connector::connector::Guest;

/// The one resource type; its pages carry everything (no per-resource calls).
pub(crate) const THING: &str = "thing";

/// The configuration given to `configure`.
pub(crate) static CONFIG: Mutex<Vec<ConfigValue>> = Mutex::new(Vec::new());

/// A config value, empty when absent.
pub(crate) fn config(name: &str) -> String {
    let values = CONFIG.lock().unwrap_or_else(|e| e.into_inner());
    values
        .iter()
        .find(|v| v.name == name)
        .map(|v| v.value.clone())
        .unwrap_or_default()
}

/// A connector error of kind `internal`.
pub(crate) fn fail(message: impl Into<String>) -> ConnectorError {
    ConnectorError {
        kind: ErrorKind::Internal,
        message: message.into(),
        retry_after_ms: None,
    }
}

fn field(name: &str, required: bool, egress_origin: bool) -> ConfigField {
    ConfigField {
        name: name.into(),
        display_name: name.into(),
        description: format!("`{name}` of the hostile test connector"),
        required,
        secret: false,
        hidden: false,
        egress_origin,
        default_value: None,
        credential: None,
    }
}

/// A secret field, bound to `base-url` when `bound`.
fn secret(name: &str, bound: bool) -> ConfigField {
    ConfigField {
        secret: true,
        credential: bound.then(|| CredentialBinding {
            origin_field: "base-url".into(),
            presentation: CredentialPresentation::Bearer,
        }),
        ..field(name, false, false)
    }
}

/// The POST path the component declares read-only.
pub(crate) const READ_ONLY_POST: &str = "/scim/v2/search";

/// The exported component.
struct Hostile;

impl Guest for Hostile {
    fn metadata() -> ConnectorMetadata {
        ConnectorMetadata {
            name: "baton-hostile".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            display_name: "Hostile".into(),
            description: "A test connector that attacks the host's sandbox".into(),
            help_url: String::new(),
            icon_url: String::new(),
            config_fields: vec![
                field("mode", true, false),
                field("base-url", false, true),
                field("target", false, false),
                secret("token", true),
                secret("other-secret", false),
            ],
            resource_types: vec![ResourceType {
                id: THING.into(),
                display_name: "Thing".into(),
                description: "Whatever the attack returns".into(),
                traits: vec![ResourceTrait::App],
                capabilities: vec![],
                inline_listing: true,
                skip_entitlements: true,
                skip_grants: true,
            }],
            account_creation_schema: vec![],
            credential_options: vec![],
            read_only_posts: vec![READ_ONLY_POST.into()],
        }
    }

    fn configure(config: Vec<ConfigValue>) -> Result<(), ConnectorError> {
        *CONFIG.lock().unwrap_or_else(|e| e.into_inner()) = config;
        Ok(())
    }

    fn validate() -> Result<(), ConnectorError> {
        Ok(())
    }

    fn list_resources(
        resource_type: String,
        _parent: Option<ResourceId>,
        page_token: String,
    ) -> Result<Page, ConnectorError> {
        if resource_type != THING {
            return Err(fail(format!("unknown resource type `{resource_type}`")));
        }
        modes::list(&config("mode"), &page_token)
    }

    fn list_entitlements(_: ResourceId, _: String) -> Result<Page, ConnectorError> {
        Ok(modes::page(Vec::new(), None))
    }

    fn list_grants(_: ResourceId, _: String) -> Result<Page, ConnectorError> {
        Ok(modes::page(Vec::new(), None))
    }

    fn grant_entitlement(_: ResourceId, _: EntitlementRef) -> Result<GrantOutcome, ConnectorError> {
        Err(fail("not supported"))
    }

    fn revoke_grant(_: Grant) -> Result<RevokeOutcome, ConnectorError> {
        Err(fail("not supported"))
    }

    fn create_account(_: Vec<ProfileEntry>) -> Result<CreateAccountOutcome, ConnectorError> {
        Err(fail("not supported"))
    }

    /// In `write` mode: sends DELETE, PATCH and POST to `base-url`, to
    /// show that a dry run sends none of them whatever the component does.
    fn delete_resource(_: ResourceId) -> Result<bool, ConnectorError> {
        if config("mode") != "write" {
            return Err(fail("not supported"));
        }
        modes::list("write", "").map(|_| true)
    }
}

export!(Hostile);

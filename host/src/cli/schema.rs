//! What `baton-notion capabilities` and `baton-notion config` print: Baton's
//! `ConnectorCapabilities` and `c1.config.v1.Configuration` as protojson,
//! derived from the component's metadata rather than written by hand.
//!
//! protojson rules followed: lowerCamelCase keys in field order, default
//! values omitted, enums by name, `Any` as `{"@type": ...}`.

use serde_json::{json, Map, Value};

use super::reader::json;
use crate::bindings::types::{Capability, ConnectorMetadata, CredentialOption};
use crate::sync::encode;

const CAPABILITIES_TYPE: &str = "type.googleapis.com/c1.connector.v2.ConnectorCapabilities";

/// Baton's `Capability` enum: (number, name). Sorting by number gives Baton's order.
fn capability(c: Capability) -> (u8, &'static str) {
    match c {
        Capability::Provision => (1, "CAPABILITY_PROVISION"),
        Capability::AccountProvisioning => (5, "CAPABILITY_ACCOUNT_PROVISIONING"),
        Capability::ResourceDelete => (8, "CAPABILITY_RESOURCE_DELETE"),
    }
}

const SYNC: (u8, &str) = (2, "CAPABILITY_SYNC");

fn credential_option(c: CredentialOption) -> &'static str {
    match c {
        CredentialOption::NoPassword => "CAPABILITY_DETAIL_CREDENTIAL_OPTION_NO_PASSWORD",
        CredentialOption::RandomPassword => "CAPABILITY_DETAIL_CREDENTIAL_OPTION_RANDOM_PASSWORD",
        CredentialOption::Sso => "CAPABILITY_DETAIL_CREDENTIAL_OPTION_SSO",
        CredentialOption::EncryptedPassword => {
            "CAPABILITY_DETAIL_CREDENTIAL_OPTION_ENCRYPTED_PASSWORD"
        }
    }
}

fn names(mut caps: Vec<(u8, &'static str)>) -> Vec<&'static str> {
    caps.sort();
    caps.dedup();
    caps.into_iter().map(|(_, name)| name).collect()
}

/// The `capabilities` output: an `Any`-wrapped `ConnectorCapabilities`.
/// Like Baton's SDK, every resource type can sync, entries are sorted by
/// resource type id, and the connector-level list is the sorted union.
pub fn capabilities(metadata: &ConnectorMetadata) -> Value {
    let mut types: Vec<_> = metadata.resource_types.iter().collect();
    types.sort_by(|a, b| a.id.cmp(&b.id));
    let mut all = vec![SYNC];
    let per_type: Vec<Value> = types
        .iter()
        .map(|rt| {
            let mut caps = vec![SYNC];
            caps.extend(rt.capabilities.iter().map(|c| capability(*c)));
            all.extend(caps.iter().copied());
            json!({
                "resourceType": json::resource_type(&encode::resource_type(rt)).to_value(),
                "capabilities": names(caps),
                "permissions": {},
            })
        })
        .collect();
    let mut credential_details = Map::new();
    let has_accounts = types
        .iter()
        .any(|rt| rt.capabilities.contains(&Capability::AccountProvisioning));
    if has_accounts && !metadata.credential_options.is_empty() {
        let options: Vec<_> = metadata
            .credential_options
            .iter()
            .map(|c| credential_option(*c))
            .collect();
        credential_details.insert(
            "capabilityAccountProvisioning".into(),
            json!({"supportedCredentialOptions": options, "preferredCredentialOption": options[0]}),
        );
    }
    json!({
        "@type": CAPABILITIES_TYPE,
        "resourceTypeCapabilities": per_type,
        "connectorCapabilities": names(all),
        "credentialDetails": credential_details,
    })
}

/// The `config` output: the `c1.config.v1.Configuration` a platform uses to
/// render a settings form. Hidden (CLI-only) connector fields are left out;
/// `log-level` is exported as an operator field, as Baton's SDK does.
pub fn config(metadata: &ConnectorMetadata) -> Value {
    let mut fields = vec![json!({
        "name": "log-level",
        "description": "The log level: debug, info, warn, error",
        "isOps": true,
        "stringField": {"defaultValue": "info"},
    })];
    for f in metadata.config_fields.iter().filter(|f| !f.hidden) {
        let mut field = Map::new();
        field.insert("name".into(), json!(f.name));
        if !f.display_name.is_empty() {
            field.insert("displayName".into(), json!(f.display_name));
        }
        if !f.description.is_empty() {
            field.insert("description".into(), json!(f.description));
        }
        if f.required {
            field.insert("isRequired".into(), json!(true));
        }
        if f.secret {
            field.insert("isSecret".into(), json!(true));
        }
        let mut string_field = Map::new();
        if let Some(default) = f.default_value.as_ref().filter(|d| !d.is_empty()) {
            string_field.insert("defaultValue".into(), json!(default));
        }
        if f.required {
            string_field.insert("rules".into(), json!({"isRequired": true}));
        }
        field.insert("stringField".into(), Value::Object(string_field));
        fields.push(Value::Object(field));
    }
    let mut out = Map::new();
    out.insert("fields".into(), json!(fields));
    out.insert("displayName".into(), json!(metadata.display_name));
    if !metadata.help_url.is_empty() {
        out.insert("helpUrl".into(), json!(metadata.help_url));
    }
    if !metadata.icon_url.is_empty() {
        out.insert("iconUrl".into(), json!(metadata.icon_url));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::types::{ConfigField, ResourceTrait, ResourceType};

    fn metadata() -> ConnectorMetadata {
        let rt = |id: &str, caps: Vec<Capability>, skip_grants: bool| ResourceType {
            id: id.into(),
            display_name: id.to_uppercase(),
            description: String::new(),
            traits: vec![ResourceTrait::User],
            capabilities: caps,
            inline_listing: true,
            skip_entitlements: false,
            skip_grants,
        };
        ConnectorMetadata {
            name: "x".into(),
            version: "1".into(),
            display_name: "X".into(),
            description: String::new(),
            help_url: String::new(),
            icon_url: String::new(),
            config_fields: vec![
                ConfigField {
                    name: "token".into(),
                    display_name: "Token".into(),
                    description: "d".into(),
                    required: true,
                    secret: true,
                    hidden: false,
                    egress_origin: false,
                    default_value: None,
                    credential: None,
                },
                ConfigField {
                    name: "base-url".into(),
                    display_name: String::new(),
                    description: String::new(),
                    required: false,
                    secret: false,
                    hidden: true,
                    egress_origin: true,
                    default_value: Some("https://x".into()),
                    credential: None,
                },
            ],
            resource_types: vec![
                rt(
                    "zeta",
                    vec![Capability::ResourceDelete, Capability::AccountProvisioning],
                    false,
                ),
                rt("alpha", vec![Capability::Provision], true),
            ],
            account_creation_schema: vec![],
            credential_options: vec![CredentialOption::NoPassword],
            read_only_posts: Vec::new(),
        }
    }

    #[test]
    fn capabilities_are_sorted_and_derived_from_metadata() {
        let c = capabilities(&metadata());
        let ids: Vec<_> = c["resourceTypeCapabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["resourceType"]["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["alpha", "zeta"]);
        assert_eq!(
            c["resourceTypeCapabilities"][1]["capabilities"],
            json!([
                "CAPABILITY_SYNC",
                "CAPABILITY_ACCOUNT_PROVISIONING",
                "CAPABILITY_RESOURCE_DELETE"
            ])
        );
        assert_eq!(
            c["connectorCapabilities"],
            json!([
                "CAPABILITY_PROVISION",
                "CAPABILITY_SYNC",
                "CAPABILITY_ACCOUNT_PROVISIONING",
                "CAPABILITY_RESOURCE_DELETE"
            ])
        );
        assert_eq!(
            c["resourceTypeCapabilities"][0]["resourceType"]["annotations"],
            json!([{"@type": "type.googleapis.com/c1.connector.v2.SkipGrants"}])
        );
        assert_eq!(
            c["credentialDetails"]["capabilityAccountProvisioning"]["preferredCredentialOption"],
            "CAPABILITY_DETAIL_CREDENTIAL_OPTION_NO_PASSWORD"
        );
    }

    #[test]
    fn config_leaves_hidden_fields_out_and_marks_secrets() {
        let c = config(&metadata());
        let names: Vec<_> = c["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["log-level", "token"]);
        assert_eq!(
            c["fields"][1],
            json!({"name": "token", "displayName": "Token", "description": "d", "isRequired": true,
                   "isSecret": true, "stringField": {"rules": {"isRequired": true}}})
        );
        assert!(c.get("helpUrl").is_none());
    }
}

//! Notion SCIM connector (stub; being written).
wit_bindgen::generate!({ world: "baton-connector", path: "../wit" });

use exports::baton::connector::connector::Guest;
use baton::connector::types::*;

struct NotionConnector;

fn unimplemented_err() -> ConnectorError {
    ConnectorError { kind: ErrorKind::Internal, message: "not implemented yet".into(), retry_after_ms: None }
}

impl Guest for NotionConnector {
    fn metadata() -> ConnectorMetadata {
        ConnectorMetadata {
            name: "baton-notion".into(), version: env!("CARGO_PKG_VERSION").into(),
            display_name: "Notion".into(), description: String::new(), config_fields: vec![],
            resource_types: vec![], account_creation_schema: vec![], credential_options: vec![],
        }
    }
    fn configure(_config: Vec<ConfigValue>) -> Result<(), ConnectorError> { Err(unimplemented_err()) }
    fn validate() -> Result<(), ConnectorError> { Err(unimplemented_err()) }
    fn list_resources(_t: String, _p: Option<ResourceId>, _tok: String) -> Result<Page, ConnectorError> { Err(unimplemented_err()) }
    fn list_entitlements(_r: ResourceId, _tok: String) -> Result<Page, ConnectorError> { Err(unimplemented_err()) }
    fn list_grants(_r: ResourceId, _tok: String) -> Result<Page, ConnectorError> { Err(unimplemented_err()) }
    fn grant_entitlement(_p: ResourceId, _e: EntitlementRef) -> Result<GrantOutcome, ConnectorError> { Err(unimplemented_err()) }
    fn revoke_grant(_g: Grant) -> Result<bool, ConnectorError> { Err(unimplemented_err()) }
    fn create_account(_p: Vec<ProfileEntry>) -> Result<CreateAccountOutcome, ConnectorError> { Err(unimplemented_err()) }
    fn delete_resource(_id: ResourceId) -> Result<bool, ConnectorError> { Err(unimplemented_err()) }
}

export!(NotionConnector);

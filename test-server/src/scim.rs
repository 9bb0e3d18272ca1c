//! SCIM wire constants, the error envelope, and the fixed discovery documents.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// Core user schema URN.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Core group schema URN.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Notion's user extension; holds the workspace `role`.
pub const NOTION_USER_EXT: &str = "urn:ietf:params:scim:schemas:extension:notion:2.0:User";
/// Enterprise user extension (accepted and echoed, otherwise unused).
pub const ENTERPRISE_USER_EXT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// ListResponse message URN.
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// Error message URN.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// PatchOp message URN.
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// Media type of every SCIM response body.
pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";
/// Host used in `meta.location` and `$ref`; intentionally not the serving host.
pub const LOCATION_BASE: &str = "https://www.notion.so/scim/v2";
/// Largest page the server returns, as documented by Notion.
pub const MAX_COUNT: usize = 100;

/// A SCIM error, rendered as the RFC 7644 §3.12 envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScimError {
    /// HTTP status.
    pub status: u16,
    /// Optional `scimType` keyword (e.g. `invalidFilter`, `uniqueness`).
    pub scim_type: Option<&'static str>,
    /// Human-readable detail.
    pub detail: String,
}

impl ScimError {
    /// An error with the given status and detail and no `scimType`.
    pub fn new(status: u16, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type: None,
            detail: detail.into(),
        }
    }

    /// A 400 with a `scimType`.
    pub fn bad_request(scim_type: &'static str, detail: impl Into<String>) -> Self {
        ScimError {
            status: 400,
            scim_type: Some(scim_type),
            detail: detail.into(),
        }
    }

    /// A 404 for a missing resource.
    pub fn not_found(kind: &str, id: &str) -> Self {
        ScimError::new(404, format!("{kind} {id} not found"))
    }

    /// The JSON body.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            v["scimType"] = Value::from(t);
        }
        v
    }
}

impl std::fmt::Display for ScimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.detail)
    }
}

impl std::error::Error for ScimError {}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        scim_response(status, &self.to_json())
    }
}

/// Serialises `body` with the SCIM content type.
pub fn scim_response(status: StatusCode, body: &Value) -> Response {
    // Serialising a Value cannot fail (all keys are strings).
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut resp = (status, bytes).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(SCIM_CONTENT_TYPE),
    );
    resp
}

/// Builds a ListResponse envelope.
pub fn list_response(total: usize, start_index: usize, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// The ServiceProviderConfig document, with the capabilities Notion reports.
pub fn service_provider_config() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://www.notion.com/help/provision-users-and-groups-with-scim",
        "patch": { "supported": true },
        "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
        "filter": { "supported": true, "maxResults": MAX_COUNT },
        "changePassword": { "supported": false },
        "sort": { "supported": false },
        "etag": { "supported": false },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with the workspace SCIM token",
            "primary": true
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{LOCATION_BASE}/ServiceProviderConfig")
        }
    })
}

/// One ResourceType document (`"User"` or `"Group"`), or `None` for other names.
pub fn resource_type(name: &str) -> Option<Value> {
    let schema = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
    match name {
        "User" => Some(json!({
            "schemas": [schema],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "Workspace members",
            "schema": USER_SCHEMA,
            "schemaExtensions": [{ "schema": NOTION_USER_EXT, "required": false }],
            "meta": { "resourceType": "ResourceType", "location": format!("{LOCATION_BASE}/ResourceTypes/User") }
        })),
        "Group" => Some(json!({
            "schemas": [schema],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "Workspace groups",
            "schema": GROUP_SCHEMA,
            "meta": { "resourceType": "ResourceType", "location": format!("{LOCATION_BASE}/ResourceTypes/Group") }
        })),
        _ => None,
    }
}

/// The ResourceTypes list.
pub fn resource_types() -> Value {
    let all: Vec<Value> = ["User", "Group"]
        .into_iter()
        .filter_map(resource_type)
        .collect();
    list_response(all.len(), 1, all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_envelope_has_string_status() {
        let e = ScimError::bad_request("invalidFilter", "nope").to_json();
        assert_eq!(e["status"], "400");
        assert_eq!(e["scimType"], "invalidFilter");
        assert_eq!(e["schemas"][0], ERROR_SCHEMA);
        assert!(ScimError::new(404, "x").to_json().get("scimType").is_none());
    }
}

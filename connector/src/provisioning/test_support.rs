//! Helpers shared by the provisioning tests: a client over the fake
//! transport, SCIM bodies and the request bodies the client must send.

use serde_json::{json, Value};

use crate::baton::connector::types::{EntitlementRef, Grant, ResourceId};
pub use crate::scim::fake::client;
use crate::scim::model::NOTION_USER_EXTENSION;

/// A SCIM user with an optional role and an `active` flag.
pub fn user_json(id: &str, role: Option<&str>, active: bool) -> Value {
    let mut user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", NOTION_USER_EXTENSION],
        "id": id,
        "userName": format!("{id}@x.test"),
        "name": {"givenName": "Ann", "familyName": "Lee", "formatted": "Ann Lee"},
        "emails": [{"value": format!("{id}@x.test"), "primary": true, "type": "work"}],
        "active": active,
    });
    if let Some(role) = role {
        user[NOTION_USER_EXTENSION] = json!({ "role": role });
    }
    user
}

/// The body of `user_json`.
pub fn user(id: &str, role: Option<&str>) -> String {
    user_json(id, role, true).to_string()
}

/// A `ListResponse` of users `(id, role, active)`.
pub fn users_page(total: u64, users: &[(&str, Option<&str>, bool)]) -> String {
    let resources: Vec<Value> = users
        .iter()
        .map(|(id, role, active)| user_json(id, *role, *active))
        .collect();
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": total,
        "Resources": resources,
    })
    .to_string()
}

/// A SCIM group with these member ids.
pub fn group(id: &str, members: &[&str]) -> String {
    let members: Vec<Value> = members
        .iter()
        .map(|m| json!({"value": m, "$ref": format!("https://x.test/Users/{m}"), "type": "User"}))
        .collect();
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": id,
        "displayName": "Engineering",
        "members": members,
    })
    .to_string()
}

/// A SCIM error body.
pub fn scim_error(status: u16, detail: &str) -> String {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": status.to_string(),
        "detail": detail,
    })
    .to_string()
}

/// The PATCH body that sets a user's role.
pub fn role_patch(role: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{
            "op": "replace",
            "value": {NOTION_USER_EXTENSION: {"role": role}},
        }],
    })
}

/// The PATCH body that adds (`Add`) or removes (`Remove`) one member.
pub fn member_patch(op: &str, user: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": op, "path": "members", "value": [{"value": user}]}],
    })
}

/// A resource id.
pub fn rid(resource_type: &str, id: &str) -> ResourceId {
    ResourceId {
        resource_type: resource_type.into(),
        resource: id.into(),
    }
}

/// An entitlement reference.
pub fn ent(resource_type: &str, id: &str, slug: &str) -> EntitlementRef {
    EntitlementRef {
        resource: rid(resource_type, id),
        slug: slug.into(),
    }
}

/// A grant of `entitlement` to user `user`.
pub fn grant(entitlement: EntitlementRef, user: &str) -> Grant {
    Grant {
        entitlement,
        principal: rid("user", user),
    }
}

/// A request as recorded by the fake: `(method, path, JSON body)`.
pub type Call = (&'static str, String, Option<Value>);

/// A GET of `path`.
pub fn get_call(path: &str) -> Call {
    ("GET", path.into(), None)
}

/// A PATCH of `path` with `body`.
pub fn patch_call(path: &str, body: Value) -> Call {
    ("PATCH", path.into(), Some(body))
}

/// A DELETE of `path`.
pub fn delete_call(path: &str) -> Call {
    ("DELETE", path.into(), None)
}

/// What a user holds after a role revoke: the `restricted_member` role.
pub fn restricted(user: &str) -> Grant {
    grant(ent("role", "restricted_member", "assigned"), user)
}

//! Validation of request bodies: turning client JSON into typed values or 400 errors.
//!
//! Everything here is total: malformed input yields a [`ScimError`], never a panic.

use serde_json::{Map, Value};

use crate::model::{Email, Role, ScimId};
use crate::scim::{ScimError, ENTERPRISE_USER_EXT, NOTION_USER_EXT};

/// User attributes the mock stores verbatim in [`crate::model::User::extra`]
/// (canonical spelling; matched case-insensitively as SCIM attribute names are).
const EXTRA_ATTRS: &[&str] = &[
    "externalId",
    "title",
    "nickName",
    "profileUrl",
    "userType",
    "locale",
    "preferredLanguage",
    "timezone",
    "phoneNumbers",
    "addresses",
    "photos",
    "roles",
    ENTERPRISE_USER_EXT,
];

/// Canonical spelling of an attribute stored in `extra`, if it is one.
pub(crate) fn extra_attr(name: &str) -> Option<&'static str> {
    EXTRA_ATTRS
        .iter()
        .copied()
        .find(|a| a.eq_ignore_ascii_case(name))
}

pub(crate) fn invalid_value(detail: impl Into<String>) -> ScimError {
    ScimError::bad_request("invalidValue", detail)
}

/// Parses a request body as a JSON object.
pub(crate) fn json_object(body: &[u8]) -> Result<Value, ScimError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ScimError::bad_request("invalidSyntax", format!("invalid JSON body: {e}")))?;
    if v.is_object() {
        Ok(v)
    } else {
        Err(ScimError::bad_request(
            "invalidSyntax",
            "request body must be a JSON object",
        ))
    }
}

/// A required non-empty string.
pub(crate) fn string(v: &Value, what: &str) -> Result<String, ScimError> {
    match v.as_str() {
        Some(s) if !s.trim().is_empty() => Ok(s.to_string()),
        _ => Err(invalid_value(format!("{what} must be a non-empty string"))),
    }
}

/// An optional string attribute: absent or `null` is `None`.
pub(crate) fn opt_string(v: Option<&Value>, what: &str) -> Result<Option<String>, ScimError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid_value(format!("{what} must be a string"))),
    }
}

/// A boolean; the strings "true"/"false" are accepted too because some IdPs send them.
pub(crate) fn boolean(v: &Value, what: &str) -> Result<bool, ScimError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(invalid_value(format!("{what} must be a boolean"))),
    }
}

/// A role value such as `"member"`.
pub(crate) fn role(v: &Value) -> Result<Role, ScimError> {
    let s = v
        .as_str()
        .ok_or_else(|| invalid_value("role must be a string"))?;
    Role::parse(s).ok_or_else(|| {
        invalid_value(format!(
            "invalid role '{s}' (expected owner, membership_admin, member or restricted_member)"
        ))
    })
}

/// The Notion extension object, `{"role": "..."}`.
pub(crate) fn role_ext(v: &Value) -> Result<Role, ScimError> {
    let obj = v
        .as_object()
        .ok_or_else(|| invalid_value(format!("{NOTION_USER_EXT} must be an object")))?;
    let r = obj
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("role"))
        .map(|(_, v)| v)
        .ok_or_else(|| invalid_value(format!("{NOTION_USER_EXT} requires a role")))?;
    role(r)
}

/// The `emails` attribute.
pub(crate) fn emails(v: &Value) -> Result<Vec<Email>, ScimError> {
    let arr = v
        .as_array()
        .ok_or_else(|| invalid_value("emails must be an array"))?;
    arr.iter()
        .map(|e| {
            let value = e
                .get("value")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| invalid_value("each email needs a string value"))?;
            let primary = match e.get("primary") {
                None | Some(Value::Null) => false,
                Some(p) => boolean(p, "emails.primary")?,
            };
            Ok(Email {
                value: value.to_lowercase(),
                primary,
                kind: opt_string(e.get("type"), "emails.type")?,
            })
        })
        .collect()
}

/// The default `emails` for a user who supplied none: the login address.
pub(crate) fn default_emails(user_name: &str) -> Vec<Email> {
    vec![Email {
        value: user_name.to_string(),
        primary: true,
        kind: Some("work".into()),
    }]
}

/// Member references: `[{"value": "<id>"}, ...]` (a single object is accepted too).
/// Ids must be well-formed; whether they exist is checked by the caller.
pub(crate) fn member_ids(v: &Value) -> Result<Vec<ScimId>, ScimError> {
    let items: &[Value] = match v {
        Value::Array(a) => a,
        Value::Object(_) => std::slice::from_ref(v),
        _ => return Err(invalid_value("members must be an array of {\"value\": id}")),
    };
    items
        .iter()
        .map(|m| {
            let s = m
                .get("value")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid_value("each member needs a string value"))?;
            s.parse::<ScimId>()
                .map_err(|_| invalid_value(format!("'{s}' is not a valid user id")))
        })
        .collect()
}

/// A user as described by a POST or PUT body.
#[derive(Debug, Default)]
pub(crate) struct UserInput {
    pub user_name: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub formatted: Option<String>,
    pub display_name: Option<String>,
    pub emails: Option<Vec<Email>>,
    pub active: Option<bool>,
    pub role: Option<Role>,
    pub extra: Map<String, Value>,
}

/// Reads a full user representation. `userName` is required and lower-cased, as Notion
/// lower-cases emails; unknown attributes are ignored.
pub(crate) fn user_input(body: &Value) -> Result<UserInput, ScimError> {
    let obj = body
        .as_object()
        .ok_or_else(|| ScimError::bad_request("invalidSyntax", "user must be a JSON object"))?;
    let mut out = UserInput::default();
    let mut user_name = None;
    for (key, v) in obj {
        let lower = key.to_ascii_lowercase();
        match lower.as_str() {
            "username" => user_name = Some(string(v, "userName")?.trim().to_lowercase()),
            "name" if !v.is_null() => {
                let name = v
                    .as_object()
                    .ok_or_else(|| invalid_value("name must be an object"))?;
                for (k, nv) in name {
                    let slot = match k.to_ascii_lowercase().as_str() {
                        "givenname" => &mut out.given_name,
                        "familyname" => &mut out.family_name,
                        "formatted" => &mut out.formatted,
                        _ => continue,
                    };
                    *slot = opt_string(Some(nv), &format!("name.{k}"))?;
                }
            }
            "displayname" => out.display_name = opt_string(Some(v), "displayName")?,
            "emails" if !v.is_null() => out.emails = Some(emails(v)?),
            "active" if !v.is_null() => out.active = Some(boolean(v, "active")?),
            _ if key.eq_ignore_ascii_case(NOTION_USER_EXT) && !v.is_null() => {
                out.role = Some(role_ext(v)?)
            }
            _ => {
                if let Some(canonical) = extra_attr(key) {
                    if !v.is_null() {
                        out.extra.insert(canonical.to_string(), v.clone());
                    }
                }
            }
        }
    }
    out.user_name = user_name.ok_or_else(|| invalid_value("userName is required"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn user_input_reads_everything_it_knows() {
        let body = json!({
            "schemas": ["x"],
            "userName": " Ann@Corp.COM ",
            "name": {"givenName": "Ann", "familyName": "Lee", "middleName": "Q"},
            "displayName": "Ann L",
            "emails": [{"value": "Ann@Corp.com", "primary": "True", "type": "work"}],
            "active": true,
            "title": "CTO",
            NOTION_USER_EXT: {"role": "owner"},
            "bogus": 1
        });
        let u = user_input(&body).unwrap();
        assert_eq!(u.user_name, "ann@corp.com");
        assert_eq!(u.given_name.as_deref(), Some("Ann"));
        assert_eq!(u.formatted, None);
        assert_eq!(u.role, Some(Role::Owner));
        assert!(u.emails.unwrap()[0].primary);
        assert_eq!(u.extra.len(), 1);
        assert_eq!(u.extra["title"], "CTO");
    }

    #[test]
    fn bad_user_input_is_a_400() {
        for body in [
            json!({}),
            json!({"userName": ""}),
            json!({"userName": 5}),
            json!({"userName": "a@b.c", "name": "Ann"}),
            json!({"userName": "a@b.c", NOTION_USER_EXT: {"role": "admin"}}),
            json!({"userName": "a@b.c", "active": "yes"}),
            json!({"userName": "a@b.c", "emails": [{"primary": true}]}),
        ] {
            assert_eq!(user_input(&body).unwrap_err().status, 400, "{body}");
        }
        assert_eq!(json_object(b"{nope").unwrap_err().status, 400);
        assert_eq!(json_object(b"[1]").unwrap_err().status, 400);
    }

    #[test]
    fn member_refs() {
        let id = "01234567-89ab-4cde-8f01-23456789abcd";
        assert_eq!(member_ids(&json!([{"value": id}])).unwrap().len(), 1);
        assert_eq!(member_ids(&json!({"value": id})).unwrap().len(), 1);
        assert!(member_ids(&json!([{"value": "nope"}])).is_err());
        assert!(member_ids(&json!([id])).is_err());
    }
}

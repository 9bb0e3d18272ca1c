//! RFC 7644 PatchOp handling for users and groups.
//!
//! Operations are applied to a copy of the resource by the store and committed only if
//! every operation succeeds, so a failing request changes nothing.

use serde_json::{Map, Value};

use crate::input::{self, invalid_value};
use crate::model::{Group, ScimId, User};
use crate::scim::{ScimError, ENTERPRISE_USER_EXT, NOTION_USER_EXT, USER_SCHEMA};

/// The operation kind; op names are case-insensitive ("Add", "add", "ADD").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OpKind {
    Add,
    Remove,
    Replace,
}

/// One PATCH operation.
#[derive(Clone, Debug)]
pub(crate) struct PatchOp {
    pub kind: OpKind,
    pub path: Option<String>,
    pub value: Option<Value>,
}

fn invalid_path(detail: impl Into<String>) -> ScimError {
    ScimError::bad_request("invalidPath", detail)
}

fn syntax(detail: impl Into<String>) -> ScimError {
    ScimError::bad_request("invalidSyntax", detail)
}

/// Reads the `Operations` array. The `schemas` member is not enforced: Notion's
/// strictness there is unknown and clients are not tested against it.
pub(crate) fn parse_ops(body: &Value) -> Result<Vec<PatchOp>, ScimError> {
    let obj = body
        .as_object()
        .ok_or_else(|| syntax("PATCH body must be an object"))?;
    let ops = obj
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Operations"))
        .and_then(|(_, v)| v.as_array())
        .ok_or_else(|| syntax("PATCH body needs an Operations array"))?;
    ops.iter()
        .map(|op| {
            let kind = match op.get("op").and_then(Value::as_str) {
                Some(s) if s.eq_ignore_ascii_case("add") => OpKind::Add,
                Some(s) if s.eq_ignore_ascii_case("remove") => OpKind::Remove,
                Some(s) if s.eq_ignore_ascii_case("replace") => OpKind::Replace,
                Some(s) => return Err(syntax(format!("unknown op '{s}'"))),
                None => return Err(syntax("each operation needs an op")),
            };
            let path = match op.get("path") {
                None | Some(Value::Null) => None,
                Some(Value::String(p)) if !p.trim().is_empty() => Some(p.trim().to_string()),
                Some(_) => return Err(invalid_path("path must be a non-empty string")),
            };
            let value = op.get("value").filter(|v| !v.is_null()).cloned();
            Ok(PatchOp { kind, path, value })
        })
        .collect()
}

/// Applies `ops` to `user`. `active: false` is left for the store to act on.
pub(crate) fn apply_user(user: &mut User, ops: &[PatchOp]) -> Result<(), ScimError> {
    for op in ops {
        match (&op.path, op.kind) {
            (Some(path), _) => set_user_attr(user, op.kind, path, op.value.as_ref())?,
            (None, OpKind::Remove) => {
                return Err(ScimError::bad_request("noTarget", "remove requires a path"))
            }
            (None, _) => {
                let obj = op
                    .value
                    .as_ref()
                    .and_then(Value::as_object)
                    .ok_or_else(|| {
                        invalid_value("an operation without path needs an object value")
                    })?;
                for (k, v) in obj {
                    set_user_attr(user, op.kind, k, Some(v))?;
                }
            }
        }
    }
    Ok(())
}

fn need(value: Option<&Value>, path: &str) -> Result<Value, ScimError> {
    value
        .cloned()
        .ok_or_else(|| invalid_value(format!("operation on '{path}' needs a value")))
}

fn set_user_attr(
    user: &mut User,
    kind: OpKind,
    path: &str,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    if path.contains('[') {
        return Err(invalid_path(format!(
            "filtered paths are not supported: '{path}'"
        )));
    }
    let lower = path.to_ascii_lowercase();
    let core_prefix = format!("{}:", USER_SCHEMA.to_ascii_lowercase());
    let attr = lower.strip_prefix(&core_prefix).unwrap_or(&lower);
    let notion = NOTION_USER_EXT.to_ascii_lowercase();
    let enterprise = ENTERPRISE_USER_EXT.to_ascii_lowercase();
    let remove = kind == OpKind::Remove;
    match attr {
        "id" | "schemas" | "meta" => {}
        // Notion reads photos on create only and ignores them on update.
        "photos" => {}
        "active" if !remove => user.active = input::boolean(&need(value, path)?, "active")?,
        "username" if !remove => {
            user.user_name = input::string(&need(value, path)?, "userName")?
                .trim()
                .to_lowercase()
        }
        "displayname" => {
            user.display_name = if remove {
                None
            } else {
                Some(input::string(&need(value, path)?, "displayName")?)
            }
        }
        "name" if remove => {
            user.given_name = None;
            user.family_name = None;
            user.formatted = None;
        }
        "name" => {
            let v = need(value, path)?;
            let obj = v
                .as_object()
                .ok_or_else(|| invalid_value("name must be an object"))?;
            for (k, nv) in obj {
                // Sub-attributes Notion has no field for (middleName...) are ignored.
                if ["givenname", "familyname", "formatted"]
                    .contains(&k.to_ascii_lowercase().as_str())
                {
                    set_user_attr(user, kind, &format!("name.{k}"), Some(nv))?;
                }
            }
        }
        "name.givenname" | "name.familyname" | "name.formatted" => {
            let slot = match attr {
                "name.givenname" => &mut user.given_name,
                "name.familyname" => &mut user.family_name,
                _ => &mut user.formatted,
            };
            *slot = if remove {
                None
            } else {
                input::opt_string(Some(&need(value, path)?), path)?
            };
        }
        "emails" if remove => user.emails.clear(),
        "emails" => {
            let new = input::emails(&need(value, path)?)?;
            if kind == OpKind::Add {
                user.emails.extend(new);
            } else {
                user.emails = new;
            }
        }
        a if a == notion && !remove => user.role = Some(input::role_ext(&need(value, path)?)?),
        a if a.strip_prefix(&notion) == Some(":role") && !remove => {
            user.role = Some(input::role(&need(value, path)?)?)
        }
        a if a == notion || a.starts_with(&format!("{notion}:")) => {
            return Err(ScimError::bad_request(
                "mutability",
                "the Notion role cannot be removed",
            ))
        }
        a if a.starts_with(&format!("{enterprise}:")) => {
            let sub = &path[path.len() - (a.len() - enterprise.len() - 1)..];
            let ext = user
                .extra
                .entry(ENTERPRISE_USER_EXT.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !ext.is_object() {
                *ext = Value::Object(Map::new());
            }
            if let Some(obj) = ext.as_object_mut() {
                if remove {
                    obj.remove(sub);
                } else {
                    obj.insert(sub.to_string(), need(value, path)?);
                }
            }
        }
        _ => match input::extra_attr(attr) {
            Some(canonical) if remove => {
                user.extra.remove(canonical);
            }
            Some(canonical) => {
                user.extra.insert(canonical.to_string(), need(value, path)?);
            }
            None if remove && matches!(attr, "active" | "username") => {
                return Err(ScimError::bad_request(
                    "mutability",
                    format!("'{path}' cannot be removed"),
                ))
            }
            None => return Err(invalid_path(format!("unsupported attribute path '{path}'"))),
        },
    }
    Ok(())
}

/// Applies `ops` to `group`; `user_exists` validates member ids being added.
pub(crate) fn apply_group(
    group: &mut Group,
    ops: &[PatchOp],
    user_exists: impl Fn(ScimId) -> bool,
) -> Result<(), ScimError> {
    for op in ops {
        match &op.path {
            Some(path) => set_group_attr(group, op.kind, path, op.value.as_ref(), &user_exists)?,
            None if op.kind == OpKind::Remove => {
                return Err(ScimError::bad_request("noTarget", "remove requires a path"))
            }
            None => {
                let obj = op
                    .value
                    .as_ref()
                    .and_then(Value::as_object)
                    .ok_or_else(|| {
                        invalid_value("an operation without path needs an object value")
                    })?;
                for (k, v) in obj {
                    set_group_attr(group, op.kind, k, Some(v), &user_exists)?;
                }
            }
        }
    }
    Ok(())
}

/// Checks that every id names an existing user; returns them de-duplicated.
pub(crate) fn existing_members(
    ids: Vec<ScimId>,
    user_exists: impl Fn(ScimId) -> bool,
) -> Result<Vec<ScimId>, ScimError> {
    let mut out: Vec<ScimId> = Vec::with_capacity(ids.len());
    for id in ids {
        if !user_exists(id) {
            return Err(invalid_value(format!("user {id} does not exist")));
        }
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

fn set_group_attr(
    group: &mut Group,
    kind: OpKind,
    path: &str,
    value: Option<&Value>,
    user_exists: &impl Fn(ScimId) -> bool,
) -> Result<(), ScimError> {
    if path.contains('[') {
        return Err(invalid_path(format!(
            "filtered paths are not supported: '{path}'; remove members with a value list"
        )));
    }
    match (path.to_ascii_lowercase().as_str(), kind) {
        ("id" | "schemas" | "meta" | "externalid", _) => {}
        ("members", OpKind::Remove) => match value {
            // RFC 7644: remove without a value clears the attribute.
            None => group.members.clear(),
            Some(v) => {
                let gone = input::member_ids(v)?;
                group.members.retain(|m| !gone.contains(m));
            }
        },
        ("members", OpKind::Add) => {
            let new = existing_members(input::member_ids(&need(value, path)?)?, user_exists)?;
            for id in new {
                if !group.members.contains(&id) {
                    group.members.push(id);
                }
            }
        }
        ("members", OpKind::Replace) => {
            group.members = existing_members(input::member_ids(&need(value, path)?)?, user_exists)?;
        }
        ("displayname", OpKind::Remove) => {
            return Err(ScimError::bad_request(
                "mutability",
                "displayName is required",
            ))
        }
        ("displayname", _) => {
            group.display_name = input::string(&need(value, path)?, "displayName")?;
        }
        _ => return Err(invalid_path(format!("unsupported attribute path '{path}'"))),
    }
    Ok(())
}

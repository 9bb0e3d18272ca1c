//! SCIM JSON shapes as Notion returns them, parsed leniently.
//!
//! Notion publishes no schema for its SCIM API, so every field is optional and
//! a field of an unexpected type reads as absent instead of failing the whole
//! page. Unknown fields (`meta`, `photos`, other extensions) are ignored; `meta`
//! is not modelled at all because Notion writes its dates as epoch-millisecond
//! strings. Whether an object is usable (it has an `id`, a `userName`) is
//! decided by the resource modules, which skip and log unusable items.

use serde::de::{DeserializeOwned, Deserializer};
use serde::Deserialize;
use serde_json::Value;

/// The key of Notion's user extension, which carries the workspace role.
pub const NOTION_USER_EXTENSION: &str = "urn:ietf:params:scim:schemas:extension:notion:2.0:User";

/// One page of an RFC 7644 `ListResponse`.
#[derive(Debug, Default, PartialEq)]
pub struct ListResponse {
    /// `totalResults`, when present and a non-negative integer.
    pub total_results: Option<u64>,
    /// `itemsPerPage` as the server states it. Paging never relies on it
    /// (servers get it wrong); it is only compared with the items received.
    pub items_per_page: Option<u64>,
    /// The raw items of `Resources`; each is parsed on its own so that one
    /// malformed item cannot fail the page.
    pub resources: Vec<Value>,
}

impl ListResponse {
    /// Parses a response body; the error explains what is wrong with it.
    ///
    /// `Resources` may be absent only when `totalResults` is 0 (RFC 7644
    /// allows leaving out an empty list). Absent while the total promises
    /// items, the page is refused rather than read as empty, which would
    /// silently end a listing.
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        let value: Value = serde_json::from_slice(body).map_err(|e| not_json(body, &e))?;
        let Value::Object(mut object) = value else {
            return Err("the body is not a JSON object".into());
        };
        // RFC 7644 spells it `Resources`; tolerate a server that lower-cases it.
        let resources = object
            .remove("Resources")
            .or_else(|| object.remove("resources"));
        let total_results = object.get("totalResults").and_then(non_negative);
        let items_per_page = object.get("itemsPerPage").and_then(non_negative);
        let resources = match (resources, total_results) {
            (Some(Value::Array(items)), _) => items,
            (Some(Value::Null) | None, Some(0)) => Vec::new(),
            (Some(Value::Null) | None, Some(total)) => {
                return Err(format!(
                    "the ListResponse has no `Resources` although totalResults is {total}"
                ))
            }
            (None | Some(Value::Null), None) => {
                return Err("the body is not a SCIM ListResponse (no `Resources`)".into())
            }
            (Some(_), _) => return Err("`Resources` is not a list".into()),
        };
        Ok(Self {
            total_results,
            items_per_page,
            resources,
        })
    }
}

/// Says why a body that serde could not parse is not JSON: empty, an HTML
/// page (a proxy's or a login page), cut short, or otherwise malformed.
pub fn not_json(body: &[u8], error: &serde_json::Error) -> String {
    let text = body.trim_ascii_start();
    if text.is_empty() {
        "the body is empty, not JSON".into()
    } else if text.starts_with(b"<") {
        "the body is an HTML page, not JSON".into()
    } else if error.is_eof() {
        format!("the body is cut-short JSON ({error})")
    } else {
        format!("the body is not JSON ({error})")
    }
}

/// A SCIM user; only `id` and `userName` matter for identity.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ScimUser {
    /// Notion user UUID.
    #[serde(deserialize_with = "string_like")]
    pub id: Option<String>,
    /// The user's email, used as login.
    #[serde(rename = "userName", deserialize_with = "string_like")]
    pub user_name: Option<String>,
    /// Display name chosen by Notion.
    #[serde(rename = "displayName", deserialize_with = "string_like")]
    pub display_name: Option<String>,
    /// Structured name; no sub-field is guaranteed.
    #[serde(deserialize_with = "lenient")]
    pub name: Option<ScimName>,
    /// Email addresses.
    #[serde(deserialize_with = "list_of")]
    pub emails: Vec<ScimEmail>,
    /// Whether the user is active; absent means active.
    #[serde(deserialize_with = "bool_like")]
    pub active: Option<bool>,
    /// Notion's extension with the workspace role.
    #[serde(rename = "urn:ietf:params:scim:schemas:extension:notion:2.0:User")]
    #[serde(deserialize_with = "lenient")]
    pub notion: Option<NotionUserExtension>,
}

/// The `name` complex attribute of a user.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ScimName {
    /// Full name.
    #[serde(deserialize_with = "string_like")]
    pub formatted: Option<String>,
    /// Given name.
    #[serde(rename = "givenName", deserialize_with = "string_like")]
    pub given_name: Option<String>,
    /// Family name.
    #[serde(rename = "familyName", deserialize_with = "string_like")]
    pub family_name: Option<String>,
}

/// One item of a user's `emails`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ScimEmail {
    /// The address.
    #[serde(deserialize_with = "string_like")]
    pub value: Option<String>,
    /// Whether this is the primary address.
    #[serde(deserialize_with = "bool_like")]
    pub primary: Option<bool>,
}

/// Notion's user extension object.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NotionUserExtension {
    /// `owner`, `membership_admin`, `member`, `restricted_member` or a value
    /// Notion added since.
    #[serde(deserialize_with = "string_like")]
    pub role: Option<String>,
}

/// A SCIM group with its members inline.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ScimGroup {
    /// Group id.
    #[serde(deserialize_with = "string_like")]
    pub id: Option<String>,
    /// Group name.
    #[serde(rename = "displayName", deserialize_with = "string_like")]
    pub display_name: Option<String>,
    /// Members; absent means none.
    #[serde(deserialize_with = "list_of")]
    pub members: Vec<ScimMember>,
}

/// One item of a group's `members`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ScimMember {
    /// The member's id.
    #[serde(deserialize_with = "string_like")]
    pub value: Option<String>,
    /// `User` or `Group`, when the server says.
    #[serde(rename = "type", deserialize_with = "string_like")]
    pub kind: Option<String>,
}

/// An RFC 7644 error body (or Notion's REST-style `message`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ScimError {
    /// HTTP status repeated in the body; a string per the RFC, a number in practice.
    #[serde(deserialize_with = "string_like")]
    pub status: Option<String>,
    /// SCIM error type such as `uniqueness`.
    #[serde(rename = "scimType", deserialize_with = "string_like")]
    pub scim_type: Option<String>,
    /// Human-readable detail.
    #[serde(deserialize_with = "string_like")]
    pub detail: Option<String>,
    /// Notion's public API puts its text here.
    #[serde(deserialize_with = "string_like")]
    pub message: Option<String>,
}

/// Parses one JSON object as `T`, reporting only whether it worked.
///
/// Anything but an object is refused: serde would otherwise read a JSON list
/// as a struct given field by field.
pub fn from_item<T: DeserializeOwned>(item: Value) -> Option<T> {
    if !item.is_object() {
        return None;
    }
    serde_json::from_value(item).ok()
}

/// A non-negative integer given as a number or a numeric string.
fn non_negative(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Any value that parses as `T`; anything else reads as absent.
fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    Ok(serde_json::from_value(Value::deserialize(d)?).ok())
}

/// A string, or a number in its text form (ids and statuses come both ways).
fn string_like<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// A boolean, or the strings `true` / `false` in any case.
fn bool_like<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => Some(b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    })
}

/// A list whose unparsable items are dropped; a non-list reads as empty.
fn list_of<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items.into_iter().filter_map(from_item).collect(),
        _ => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn list_response_shapes() {
        type Want = Result<(Option<u64>, usize), &'static str>;
        let cases: &[(&str, Want)] = &[
            (
                r#"{"totalResults":2,"Resources":[{},{}]}"#,
                Ok((Some(2), 2)),
            ),
            (r#"{"totalResults":"3","resources":[{}]}"#, Ok((Some(3), 1))),
            (r#"{"Resources":[{}]}"#, Ok((None, 1))),
            (r#"{"totalResults":0}"#, Ok((Some(0), 0))),
            (r#"{"totalResults":-1,"Resources":[]}"#, Ok((None, 0))),
            (r#"{"totalResults":0,"Resources":null}"#, Ok((Some(0), 0))),
            (r#"{"Resources":{}}"#, Err("not a list")),
            (
                r#"{"totalResults":5}"#,
                Err("no `Resources` although totalResults is 5"),
            ),
            (r#"{"totalResults":"x"}"#, Err("not a SCIM ListResponse")),
            (r#"{"ok":true}"#, Err("not a SCIM ListResponse")),
            (r#"[1,2]"#, Err("not a JSON object")),
            ("<html>", Err("not JSON")),
            ("", Err("not JSON")),
        ];
        for (body, want) in cases {
            let got =
                ListResponse::parse(body.as_bytes()).map(|l| (l.total_results, l.resources.len()));
            match (got, want) {
                (Ok(g), Ok(w)) => assert_eq!(g, *w, "{body}"),
                (Err(g), Err(w)) => assert!(g.contains(w), "{body}: {g}"),
                (g, w) => panic!("{body}: got {g:?}, want {w:?}"),
            }
        }
    }

    #[test]
    fn items_per_page_is_read_but_not_required() {
        let page =
            ListResponse::parse(br#"{"totalResults":3,"itemsPerPage":"100","Resources":[{}]}"#)
                .unwrap();
        assert_eq!(
            (page.total_results, page.items_per_page),
            (Some(3), Some(100))
        );
        let page = ListResponse::parse(br#"{"itemsPerPage":-2,"Resources":[]}"#).unwrap();
        assert_eq!(page.items_per_page, None);
    }

    #[test]
    fn user_fields_of_the_wrong_type_read_as_absent() {
        let user: ScimUser = from_item(json!({
            "id": 42,
            "userName": ["x"],
            "name": "Ann Lee",
            "emails": [{"value": "a@x.test", "primary": "True"}, "junk", {"value": 7}],
            "active": "false",
            "meta": {"created": "1700000000000"},
            NOTION_USER_EXTENSION: {"role": "member"}
        }))
        .unwrap();
        assert_eq!(user.id.as_deref(), Some("42"));
        assert_eq!(user.user_name, None);
        assert!(user.name.is_none());
        assert_eq!(user.emails.len(), 2);
        assert_eq!(user.emails[0].primary, Some(true));
        assert_eq!(user.active, Some(false));
        assert_eq!(user.notion.and_then(|n| n.role).as_deref(), Some("member"));
    }

    #[test]
    fn group_members_default_to_empty() {
        let group: ScimGroup = from_item(json!({"id": "g", "members": null})).unwrap();
        assert!(group.members.is_empty());
        assert!(from_item::<ScimGroup>(json!("not an object")).is_none());
        assert!(from_item::<ScimGroup>(json!(["g", "G"])).is_none());
    }
}

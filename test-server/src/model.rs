//! Typed SCIM resources held by the mock, and their JSON rendering.
//!
//! Resources are stored typed (not as `serde_json::Value`) so that 100,000 users stay
//! small in memory: ids are 128-bit integers and JSON is only built for the page being
//! served.

use std::fmt;
use std::str::FromStr;

use serde_json::{json, Map, Value};

use crate::scim::{GROUP_SCHEMA, LOCATION_BASE, NOTION_USER_EXT, USER_SCHEMA};

/// A resource id: a UUID rendered in the hyphenated lower-case form Notion uses.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ScimId(pub u128);

impl fmt::Display for ScimId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        write!(
            f,
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            (v >> 96) as u32,
            (v >> 80) as u16,
            (v >> 64) as u16,
            (v >> 48) as u16,
            v & 0xffff_ffff_ffff
        )
    }
}

impl fmt::Debug for ScimId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ScimId({self})")
    }
}

impl FromStr for ScimId {
    type Err = ();

    /// Accepts only the hyphenated 8-4-4-4-12 form (either case), like a path segment
    /// copied from a previous response.
    fn from_str(s: &str) -> Result<Self, ()> {
        let bytes = s.as_bytes();
        if bytes.len() != 36 {
            return Err(());
        }
        let mut v: u128 = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                if b != b'-' {
                    return Err(());
                }
                continue;
            }
            let d = (b as char).to_digit(16).ok_or(())?;
            v = (v << 4) | u128::from(d);
        }
        Ok(ScimId(v))
    }
}

/// A Notion workspace role, carried in the Notion SCIM user extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Workspace owner.
    Owner,
    /// Membership admin.
    MembershipAdmin,
    /// Regular member (the default for users created through SCIM).
    Member,
    /// Restricted member.
    RestrictedMember,
}

impl Role {
    /// All roles, most privileged first.
    pub const ALL: [Role; 4] = [
        Role::Owner,
        Role::MembershipAdmin,
        Role::Member,
        Role::RestrictedMember,
    ];

    /// The wire value, e.g. `"membership_admin"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::MembershipAdmin => "membership_admin",
            Role::Member => "member",
            Role::RestrictedMember => "restricted_member",
        }
    }

    /// Parses a wire value; exact match, as Notion documents lower-case values only.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// One entry of a user's `emails` attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    /// The address.
    pub value: String,
    /// Whether this is the primary address.
    pub primary: bool,
    /// The SCIM `type` (e.g. `"work"`), if any.
    pub kind: Option<String>,
}

/// A workspace member as the mock stores it.
#[derive(Clone, Debug, PartialEq)]
pub struct User {
    /// Notion user id.
    pub id: ScimId,
    /// The login email, always lower-case (Notion lower-cases emails).
    pub user_name: String,
    /// `name.givenName`.
    pub given_name: Option<String>,
    /// `name.familyName`.
    pub family_name: Option<String>,
    /// `name.formatted`; absent for some generated users on purpose.
    pub formatted: Option<String>,
    /// `displayName`; absent for some generated users on purpose.
    pub display_name: Option<String>,
    /// `emails`.
    pub emails: Vec<Email>,
    /// `active`.
    pub active: bool,
    /// Role from the Notion extension; `None` means the extension is missing entirely.
    pub role: Option<Role>,
    /// `meta.created`, epoch milliseconds.
    pub created_ms: u64,
    /// `meta.lastModified`, epoch milliseconds.
    pub modified_ms: u64,
    /// Other attributes a client supplied (title, phoneNumbers, enterprise extension...),
    /// echoed back verbatim so clients can round-trip them.
    pub extra: Map<String, Value>,
}

impl User {
    /// The best human-readable name, following the fallback chain clients are expected
    /// to use: displayName, name.formatted, given + family, userName.
    pub fn display(&self) -> String {
        if let Some(d) = &self.display_name {
            return d.clone();
        }
        if let Some(f) = &self.formatted {
            return f.clone();
        }
        let joined = [self.given_name.as_deref(), self.family_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        if joined.is_empty() {
            self.user_name.clone()
        } else {
            joined
        }
    }

    /// Renders the user exactly as the API serves it.
    pub fn to_json(&self) -> Value {
        let mut schemas = vec![Value::from(USER_SCHEMA)];
        if self.role.is_some() {
            schemas.push(Value::from(NOTION_USER_EXT));
        }
        for key in self.extra.keys() {
            if key.starts_with("urn:") {
                schemas.push(Value::from(key.as_str()));
            }
        }
        let mut obj = Map::new();
        obj.insert("schemas".into(), Value::Array(schemas));
        obj.insert("id".into(), Value::from(self.id.to_string()));
        obj.insert("userName".into(), Value::from(self.user_name.as_str()));
        let mut name = Map::new();
        for (key, v) in [
            ("givenName", &self.given_name),
            ("familyName", &self.family_name),
            ("formatted", &self.formatted),
        ] {
            if let Some(v) = v {
                name.insert(key.into(), Value::from(v.as_str()));
            }
        }
        if !name.is_empty() {
            obj.insert("name".into(), Value::Object(name));
        }
        if let Some(d) = &self.display_name {
            obj.insert("displayName".into(), Value::from(d.as_str()));
        }
        let emails: Vec<Value> = self
            .emails
            .iter()
            .map(|e| {
                let mut m = Map::new();
                m.insert("value".into(), Value::from(e.value.as_str()));
                m.insert("primary".into(), Value::from(e.primary));
                if let Some(k) = &e.kind {
                    m.insert("type".into(), Value::from(k.as_str()));
                }
                Value::Object(m)
            })
            .collect();
        obj.insert("emails".into(), Value::Array(emails));
        obj.insert("active".into(), Value::from(self.active));
        if let Some(role) = self.role {
            obj.insert(NOTION_USER_EXT.into(), json!({ "role": role.as_str() }));
        }
        for (k, v) in &self.extra {
            obj.insert(k.clone(), v.clone());
        }
        obj.insert(
            "meta".into(),
            meta(
                "User",
                self.created_ms,
                self.modified_ms,
                &user_location(self.id),
            ),
        );
        Value::Object(obj)
    }
}

/// A workspace group as the mock stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// Group id.
    pub id: ScimId,
    /// `displayName`.
    pub display_name: String,
    /// Member user ids, in the order they were added.
    pub members: Vec<ScimId>,
    /// `meta.created`, epoch milliseconds.
    pub created_ms: u64,
    /// `meta.lastModified`, epoch milliseconds.
    pub modified_ms: u64,
}

impl Group {
    /// Renders the group as served; `display_of` supplies each member's `display`
    /// (members whose user is unknown get none).
    pub fn to_json(&self, display_of: impl Fn(ScimId) -> Option<String>) -> Value {
        let members: Vec<Value> = self
            .members
            .iter()
            .map(|&uid| {
                let mut m = Map::new();
                m.insert("value".into(), Value::from(uid.to_string()));
                m.insert("$ref".into(), Value::from(user_location(uid)));
                m.insert("type".into(), Value::from("User"));
                if let Some(d) = display_of(uid) {
                    m.insert("display".into(), Value::from(d));
                }
                Value::Object(m)
            })
            .collect();
        json!({
            "schemas": [GROUP_SCHEMA],
            "id": self.id.to_string(),
            "displayName": self.display_name,
            "members": members,
            "meta": meta("Group", self.created_ms, self.modified_ms, &group_location(self.id)),
        })
    }
}

/// `meta.location` deliberately points at a different host than the one serving the
/// request, as real Notion does, so clients that follow it get caught.
pub fn user_location(id: ScimId) -> String {
    format!("{LOCATION_BASE}/Users/{id}")
}

/// See [`user_location`].
pub fn group_location(id: ScimId) -> String {
    format!("{LOCATION_BASE}/Groups/{id}")
}

fn meta(kind: &str, created: u64, modified: u64, location: &str) -> Value {
    // Notion serialises these as millisecond epoch numbers inside strings.
    json!({
        "resourceType": kind,
        "created": created.to_string(),
        "lastModified": modified.to_string(),
        "location": location,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_round_trips_and_rejects_other_forms() {
        let id = ScimId(0x0123_4567_89ab_cdef_0011_2233_4455_6677);
        let s = id.to_string();
        assert_eq!(s, "01234567-89ab-cdef-0011-223344556677");
        assert_eq!(s.parse::<ScimId>(), Ok(id));
        assert_eq!(s.to_uppercase().parse::<ScimId>(), Ok(id));
        assert!("0123456789abcdef0011223344556677"
            .parse::<ScimId>()
            .is_err());
        assert!("01234567-89ab-cdef-0011-22334455667g"
            .parse::<ScimId>()
            .is_err());
        assert!("".parse::<ScimId>().is_err());
    }

    #[test]
    fn roles_parse_exactly() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("Owner"), None);
        assert_eq!(Role::parse("admin"), None);
    }
}

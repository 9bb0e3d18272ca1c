//! Resource type `role`: Notion's four workspace roles.
//!
//! Notion has no role endpoint; the roles are a fixed list, so they are
//! listed without a request. Who holds which role is learnt while listing
//! users (see `users`), which is why role grants are never listed here.

use crate::baton::connector::types::{
    Capability, ConnectorError, Entitlement, EntitlementPurpose, EntitlementRef, Page,
    ProfileEntry, ProfileValue, ResourceId, ResourceRecord, ResourceTrait, ResourceType, TraitData,
};
use crate::error::not_found;
use crate::paging::{empty_page, single_page};

/// Resource type id of roles.
pub const TYPE_ID: &str = "role";
/// Slug of the one entitlement of every role.
pub const ASSIGNED: &str = "assigned";

/// One workspace role.
#[derive(Debug, PartialEq, Eq)]
pub struct Role {
    /// Notion's role value, used as resource id.
    pub id: &'static str,
    /// Human name.
    pub display_name: &'static str,
    /// What the role allows.
    pub description: &'static str,
    /// Whether the role administers the workspace.
    pub administrative: bool,
}

/// Every role, most powerful first.
pub const ROLES: [Role; 4] = [
    Role {
        id: "owner",
        display_name: "Owner",
        description: "Workspace owner: manages the workspace, its settings and its members",
        administrative: true,
    },
    Role {
        id: "membership_admin",
        display_name: "Membership Admin",
        description: "Manages the workspace's members and groups",
        administrative: true,
    },
    Role {
        id: "member",
        display_name: "Member",
        description: "Regular workspace member",
        administrative: false,
    },
    Role {
        id: "restricted_member",
        display_name: "Restricted Member",
        description: "Workspace member with restricted access",
        administrative: false,
    },
];

/// The role with this resource id.
pub fn find(id: &str) -> Option<&'static Role> {
    ROLES.iter().find(|r| r.id == id)
}

/// The role named by Notion's extension value; tolerant of case and blanks.
pub fn from_notion(value: &str) -> Option<&'static Role> {
    let value = value.trim();
    ROLES.iter().find(|r| r.id.eq_ignore_ascii_case(value))
}

/// The resource type declaration.
pub fn resource_type() -> ResourceType {
    ResourceType {
        id: TYPE_ID.into(),
        display_name: "Role".into(),
        description: "A Notion workspace role; every workspace member holds exactly one".into(),
        traits: vec![ResourceTrait::Role],
        capabilities: vec![Capability::Provision],
        inline_listing: true,
        skip_entitlements: false,
        // Role grants come from the user listing.
        skip_grants: true,
    }
}

/// The reference to a role's `assigned` entitlement.
pub fn assigned_ref(role: &Role) -> EntitlementRef {
    EntitlementRef {
        resource: resource_id(role),
        slug: ASSIGNED.into(),
    }
}

fn resource_id(role: &Role) -> ResourceId {
    ResourceId {
        resource_type: TYPE_ID.into(),
        resource: role.id.into(),
    }
}

/// The resource record of a role.
pub fn resource(role: &Role) -> ResourceRecord {
    let text = |s: &str| ProfileValue::Text(s.into());
    let profile = vec![
        ProfileEntry {
            key: "role_id".into(),
            value: text(role.id),
        },
        ProfileEntry {
            key: "description".into(),
            value: text(role.description),
        },
        ProfileEntry {
            key: "is_administrative".into(),
            value: ProfileValue::Boolean(role.administrative),
        },
    ];
    ResourceRecord {
        id: resource_id(role),
        parent: None,
        display_name: role.display_name.into(),
        description: role.description.into(),
        traits: vec![TraitData::Role(profile)],
    }
}

/// The `assigned` entitlement of a role.
pub fn entitlement(role: &Role) -> Entitlement {
    Entitlement {
        id: assigned_ref(role),
        display_name: format!("{} role assigned", role.display_name),
        description: format!("Has the {} workspace role in Notion", role.display_name),
        purpose: EntitlementPurpose::Assignment,
        grantable_to: vec![crate::users::TYPE_ID.into()],
    }
}

/// `list-resources("role")`: all roles and their entitlements, one page.
pub fn list_resources(token: &str) -> Result<Page, ConnectorError> {
    single_page(TYPE_ID, token)?;
    Ok(Page {
        resources: ROLES.iter().map(resource).collect(),
        entitlements: ROLES.iter().map(entitlement).collect(),
        ..empty_page()
    })
}

/// `list-entitlements` of one role.
pub fn list_entitlements(id: &str, token: &str) -> Result<Page, ConnectorError> {
    single_page(TYPE_ID, token)?;
    let role = find(id).ok_or_else(|| not_found(format!("unknown Notion role `{id}`")))?;
    Ok(Page {
        entitlements: vec![entitlement(role)],
        ..empty_page()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baton::connector::types::ErrorKind;

    #[test]
    fn lists_four_roles_with_entitlements() {
        let page = list_resources("").unwrap();
        let ids: Vec<_> = page
            .resources
            .iter()
            .map(|r| r.id.resource.as_str())
            .collect();
        assert_eq!(
            ids,
            ["owner", "membership_admin", "member", "restricted_member"]
        );
        assert_eq!(page.entitlements.len(), 4);
        assert_eq!(
            page.entitlements[1].display_name,
            "Membership Admin role assigned"
        );
        assert_eq!(
            page.entitlements[1].description,
            "Has the Membership Admin workspace role in Notion"
        );
        assert_eq!(page.entitlements[1].grantable_to, ["user"]);
        assert!(page.grants.is_empty() && page.next_page_token.is_none());
        let TraitData::Role(profile) = &page.resources[0].traits[0] else {
            panic!("not a role")
        };
        assert!(profile.contains(&ProfileEntry {
            key: "is_administrative".into(),
            value: ProfileValue::Boolean(true)
        }));
    }

    #[test]
    fn entitlements_of_one_role() {
        let page = list_entitlements("owner", "").unwrap();
        assert_eq!(page.entitlements.len(), 1);
        assert_eq!(page.entitlements[0].id.slug, "assigned");
        assert_eq!(
            list_entitlements("guest", "").unwrap_err().kind,
            ErrorKind::NotFound
        );
        assert_eq!(
            list_resources("x").unwrap_err().kind,
            ErrorKind::InvalidArgument
        );
    }

    #[test]
    fn notion_values() {
        let cases = [
            ("owner", Some("owner")),
            (" Membership_Admin ", Some("membership_admin")),
            ("restricted_member", Some("restricted_member")),
            ("guest", None),
            ("", None),
        ];
        for (value, want) in cases {
            assert_eq!(from_notion(value).map(|r| r.id), want, "{value}");
        }
    }
}

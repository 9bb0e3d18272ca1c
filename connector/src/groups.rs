//! Resource type `group`: Notion groups from `GET /Groups`.
//!
//! The list response already carries every group's members, so one listing
//! request yields groups, their `member` entitlements and the member grants;
//! there is no request per group or per member.

use std::collections::HashSet;

use crate::baton::connector::types::{
    Capability, ConnectorError, Entitlement, EntitlementPurpose, EntitlementRef, Grant, Page,
    ProfileEntry, ProfileValue, ResourceId, ResourceRecord, ResourceTrait, ResourceType, TraitData,
};
use crate::error::invalid_argument;
use crate::notes::Notes;
use crate::paging::{empty_page, single_page, Listings, PageItem, Requests};
use crate::scim::model::ScimGroup;
use crate::scim::{ScimClient, Transport};
use crate::users;

/// Resource type id of groups.
pub const TYPE_ID: &str = "group";
/// Slug of a group's membership entitlement.
pub const MEMBER: &str = "member";

/// The resource type declaration.
pub fn resource_type() -> ResourceType {
    ResourceType {
        id: TYPE_ID.into(),
        display_name: "Group".into(),
        description: "A Notion group of workspace members".into(),
        traits: vec![ResourceTrait::Group],
        capabilities: vec![Capability::Provision],
        inline_listing: true,
        skip_entitlements: false,
        skip_grants: false,
    }
}

/// A group mapped from SCIM with its entitlement and member grants.
#[derive(Debug)]
pub struct MappedGroup {
    /// The group resource.
    pub resource: ResourceRecord,
    /// Its `member` entitlement.
    pub entitlement: Entitlement,
    /// One grant per member user.
    pub grants: Vec<Grant>,
}

/// `list-resources("group")`: one page of `GET /Groups`.
pub fn list_page<T: Transport>(
    client: &ScimClient<T>,
    listings: &mut Listings,
    token: &str,
    notes: &mut Notes,
) -> Result<Page, ConnectorError> {
    let requests = Requests {
        fetch: |start, count| client.list_groups(start, count),
        prefetch: |start, count| client.prefetch_groups(start, count),
    };
    listings.records(TYPE_ID, "group", token, requests, map_group, notes)
}

impl PageItem for MappedGroup {
    fn id(&self) -> &str {
        &self.resource.id.resource
    }

    fn add_to(self, page: &mut Page) {
        page.resources.push(self.resource);
        page.entitlements.push(self.entitlement);
        page.grants.extend(self.grants);
    }
}

/// `list-entitlements` of one group (reads the group for its name).
pub fn list_entitlements<T: Transport>(
    client: &ScimClient<T>,
    id: &str,
    token: &str,
    notes: &mut Notes,
) -> Result<Page, ConnectorError> {
    let group = fetch_one(client, id, token, notes)?;
    Ok(Page {
        entitlements: vec![group.entitlement],
        ..empty_page()
    })
}

/// `list-grants` of one group: its members, from `GET /Groups/{id}`.
pub fn list_grants<T: Transport>(
    client: &ScimClient<T>,
    id: &str,
    token: &str,
    notes: &mut Notes,
) -> Result<Page, ConnectorError> {
    let group = fetch_one(client, id, token, notes)?;
    Ok(Page {
        grants: group.grants,
        ..empty_page()
    })
}

/// Reads one group; the resource id is the one asked for, whatever the body says.
fn fetch_one<T: Transport>(
    client: &ScimClient<T>,
    id: &str,
    token: &str,
    notes: &mut Notes,
) -> Result<MappedGroup, ConnectorError> {
    single_page(TYPE_ID, token)?;
    if id.trim().is_empty() {
        return Err(invalid_argument("the group id is empty"));
    }
    let mut group = client.get_group(id)?;
    group.id = Some(id.to_string());
    map_group(group, notes)
        .ok_or_else(|| invalid_argument(format!("`{id}` is not a valid group id")))
}

/// Maps a SCIM group; only `id` is required.
pub fn map_group(group: ScimGroup, notes: &mut Notes) -> Option<MappedGroup> {
    let Some(id) = group.id.as_deref().map(str::trim).filter(|i| !i.is_empty()) else {
        notes.warn(format!(
            "skipping a group without an id (displayName {:?})",
            group.display_name.as_deref().unwrap_or("")
        ));
        return None;
    };
    let resource_id = ResourceId {
        resource_type: TYPE_ID.into(),
        resource: id.into(),
    };
    let name = group
        .display_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(id)
        .to_string();
    let entitlement_ref = EntitlementRef {
        resource: resource_id.clone(),
        slug: MEMBER.into(),
    };
    let mut seen = HashSet::new();
    let mut grants = Vec::new();
    for member in group.members {
        let Some(user) = member
            .value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
        else {
            notes.debug(format!("group {id}: skipping a member without a value"));
            continue;
        };
        // Notion groups hold users; a nested group cannot receive `member`.
        if let Some(kind) = member
            .kind
            .as_deref()
            .filter(|k| !k.eq_ignore_ascii_case("user"))
        {
            notes.warn_repeated(
                "group members that are not users were skipped",
                kind,
                format!("{id}:{user}"),
                format!("group {id}: skipping member {user} of type {kind:?}"),
            );
            continue;
        }
        if seen.insert(user.to_string()) {
            grants.push(Grant {
                entitlement: entitlement_ref.clone(),
                principal: ResourceId {
                    resource_type: users::TYPE_ID.into(),
                    resource: user.into(),
                },
            });
        }
    }
    let profile = vec![ProfileEntry {
        key: "group_id".into(),
        value: ProfileValue::Text(id.into()),
    }];
    Some(MappedGroup {
        entitlement: Entitlement {
            id: entitlement_ref,
            display_name: format!("{name} Group member"),
            description: format!("Member of {name} Group in Notion"),
            purpose: EntitlementPurpose::Assignment,
            grantable_to: vec![users::TYPE_ID.into()],
        },
        resource: ResourceRecord {
            id: resource_id,
            parent: None,
            display_name: name,
            description: String::new(),
            traits: vec![TraitData::Group(profile)],
        },
        grants,
    })
}

#[cfg(test)]
#[path = "groups_tests.rs"]
mod tests;

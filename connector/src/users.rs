//! Resource type `user`: workspace members from `GET /Users`.
//!
//! Each user's workspace role arrives in Notion's user extension, so the user
//! listing also emits the user's role grant. That keeps a sync at one request
//! per 100 users instead of one per user or per role.

use crate::baton::connector::types::{
    AccountField, AccountStatus, Capability, ConnectorError, Email, Grant, Page, ProfileEntry,
    ProfileValue, ResourceId, ResourceRecord, ResourceTrait, ResourceType, TraitData, UserTrait,
};
use crate::notes::Notes;
use crate::paging::{Listings, PageItem, Requests};
use crate::roles;
use crate::scim::model::{ScimUser, NOTION_USER_EXTENSION};
use crate::scim::{ScimClient, Transport};

/// Resource type id of users.
pub const TYPE_ID: &str = "user";

/// The resource type declaration.
pub fn resource_type() -> ResourceType {
    ResourceType {
        id: TYPE_ID.into(),
        display_name: "User".into(),
        description: "A member of the Notion workspace (guests are not visible to SCIM)".into(),
        traits: vec![ResourceTrait::User],
        capabilities: vec![Capability::AccountProvisioning, Capability::ResourceDelete],
        inline_listing: true,
        skip_entitlements: true,
        skip_grants: false,
    }
}

/// The profile fields `create-account` expects.
pub fn account_creation_schema() -> Vec<AccountField> {
    let field =
        |name: &str, display: &str, description: &str, placeholder: &str, order| AccountField {
            name: name.into(),
            display_name: display.into(),
            description: description.into(),
            placeholder: placeholder.into(),
            required: true,
            order,
        };
    vec![
        field(
            "email",
            "Email",
            "Email address of the user; also their login",
            "ann@example.com",
            1,
        ),
        field(
            "first_name",
            "First name",
            "Given name of the user",
            "Ann",
            2,
        ),
        field(
            "last_name",
            "Last name",
            "Family name of the user",
            "Lee",
            3,
        ),
    ]
}

/// A user mapped from SCIM, with its role grant when the role is known.
#[derive(Debug)]
pub struct MappedUser {
    /// The user resource.
    pub resource: ResourceRecord,
    /// `role:<role>:assigned` held by this user.
    pub role_grant: Option<Grant>,
}

/// `list-resources("user")`: one page of `GET /Users`.
pub fn list_page<T: Transport>(
    client: &ScimClient<T>,
    listings: &mut Listings,
    token: &str,
    notes: &mut Notes,
) -> Result<Page, ConnectorError> {
    let requests = Requests {
        fetch: |start, count| client.list_users(start, count),
        prefetch: |start, count| client.prefetch_users(start, count),
    };
    listings.records(TYPE_ID, "user", token, requests, map_user, notes)
}

impl PageItem for MappedUser {
    fn id(&self) -> &str {
        &self.resource.id.resource
    }

    fn add_to(self, page: &mut Page) {
        page.resources.push(self.resource);
        page.grants.extend(self.role_grant);
    }
}

/// Maps a SCIM user; only `id` and `userName` are required.
pub fn map_user(user: ScimUser, notes: &mut Notes) -> Option<MappedUser> {
    let id = non_empty(user.id.as_deref());
    let login = non_empty(user.user_name.as_deref());
    let (Some(id), Some(login)) = (id, login) else {
        let missing = if id.is_none() { "an id" } else { "a userName" };
        let subject = id.or(login).unwrap_or("no id or userName either");
        notes.warn_repeated(
            "users were skipped for a missing id or userName",
            missing,
            subject,
            format!("skipping a user without {missing}: {subject}"),
        );
        return None;
    };
    let principal = ResourceId {
        resource_type: TYPE_ID.into(),
        resource: id.into(),
    };
    let role_grant = role_grant(&user, &principal, notes);
    let name = user.name.as_ref();
    let given = non_empty(name.and_then(|n| n.given_name.as_deref()));
    let family = non_empty(name.and_then(|n| n.family_name.as_deref()));
    let display_name = display_name(&user, login);

    let mut emails: Vec<Email> = user
        .emails
        .iter()
        .filter_map(|e| {
            Some(Email {
                address: non_empty(e.value.as_deref())?.to_string(),
                is_primary: e.primary.unwrap_or(false),
            })
        })
        .collect();
    // Notion's userName is the member's email address, so it is the primary
    // email whenever the list names none.
    if !emails.iter().any(|e| e.is_primary) {
        match emails
            .iter_mut()
            .find(|e| e.address.eq_ignore_ascii_case(login))
        {
            Some(same) => same.is_primary = true,
            None => emails.insert(
                0,
                Email {
                    address: login.into(),
                    is_primary: true,
                },
            ),
        }
    }
    let text = |key: &str, value: &str| ProfileEntry {
        key: key.into(),
        value: ProfileValue::Text(value.into()),
    };
    let mut profile = Vec::new();
    profile.extend(given.map(|g| text("first_name", g)));
    profile.extend(family.map(|f| text("last_name", f)));
    profile.push(text("email", login));
    let role = user
        .notion
        .as_ref()
        .and_then(|n| non_empty(n.role.as_deref()));
    profile.extend(role.map(|r| text("workspace_role", r)));

    let trait_data = UserTrait {
        login: login.into(),
        emails,
        // Notion treats `active: false` as removal; absent means active.
        status: match user.active {
            Some(false) => AccountStatus::Disabled,
            _ => AccountStatus::Enabled,
        },
        given_name: given.map(Into::into),
        family_name: family.map(Into::into),
        profile,
    };
    Some(MappedUser {
        resource: ResourceRecord {
            id: principal,
            parent: None,
            display_name,
            description: String::new(),
            traits: vec![TraitData::User(trait_data)],
        },
        role_grant,
    })
}

/// `displayName`, then `name.formatted`, then given and family name, then
/// `userName`, skipping blank values at each step.
fn display_name(user: &ScimUser, login: &str) -> String {
    let name = user.name.as_ref();
    if let Some(d) = non_empty(user.display_name.as_deref())
        .or_else(|| non_empty(name.and_then(|n| n.formatted.as_deref())))
    {
        return d.to_string();
    }
    let parts: Vec<&str> = [
        name.and_then(|n| n.given_name.as_deref()),
        name.and_then(|n| n.family_name.as_deref()),
    ]
    .into_iter()
    .filter_map(non_empty)
    .collect();
    if parts.is_empty() {
        login.to_string()
    } else {
        parts.join(" ")
    }
}

/// The grant of the user's workspace role, if Notion says which one.
fn role_grant(user: &ScimUser, principal: &ResourceId, notes: &mut Notes) -> Option<Grant> {
    let id = &principal.resource;
    let Some(value) = user
        .notion
        .as_ref()
        .and_then(|n| non_empty(n.role.as_deref()))
    else {
        notes.debug(format!(
            "user {id} has no role in {NOTION_USER_EXTENSION}; no role grant"
        ));
        return None;
    };
    let Some(role) = roles::from_notion(value) else {
        notes.warn_repeated(
            "users have an unknown Notion workspace role; no role grant for them",
            value,
            id.as_str(),
            format!("user {id} has an unknown Notion workspace role {value:?}; no role grant"),
        );
        return None;
    };
    Some(Grant {
        entitlement: roles::assigned_ref(role),
        principal: principal.clone(),
    })
}

/// The trimmed text, unless it is blank.
fn non_empty(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}

#[cfg(test)]
#[path = "users_tests.rs"]
mod tests;

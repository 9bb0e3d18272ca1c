//! Granting and revoking group membership (`group:<g>:member`).
//!
//! Both read the group first and then add or remove exactly one member with
//! `PATCH /Groups/{id}` in the value-list form proven on Notion; the member
//! list is never replaced as a whole, so concurrent changes are not lost.
//! When the PATCH answer lists the members, it is checked. A PATCH whose
//! answer is lost (timeout, reset, 5xx) is followed by a fresh read of the
//! group, and sent again only if the membership has not changed: adding or
//! removing one member is idempotent, but only a read can tell whether it
//! already happened.

use crate::baton::connector::types::{
    ConnectorError, EntitlementRef, Grant, GrantOutcome, ResourceId, RevokeOutcome,
};
use crate::error::{bad_response, invalid_argument};
use crate::groups::MEMBER;
use crate::notes::Notes;
use crate::provisioning::checked::{send_checked, Written};
use crate::provisioning::{name_missing, non_empty_id, same_id, user_principal};
use crate::scim::model::ScimGroup;
use crate::scim::{found, found_write, MemberChange, ScimClient, Transport};

/// `grant-entitlement` of `group:<gid>:member` to a user.
pub fn grant<T: Transport>(
    client: &ScimClient<T>,
    principal: &ResourceId,
    entitlement: &EntitlementRef,
    notes: &mut Notes,
) -> Result<GrantOutcome, ConnectorError> {
    let (gid, uid) = check(entitlement, principal)?;
    let group = client.get_group(gid).map_err(name_missing("group", gid))?;
    if is_member(&group, uid) {
        notes.info(format!(
            "user {uid} is already a member of group {gid}; nothing changed"
        ));
        return Ok(GrantOutcome {
            changed: false,
            replaced: Vec::new(),
        });
    }
    let written = send_checked(
        &format!("adding user {uid} to group {gid}"),
        notes,
        || client.patch_group_members(gid, MemberChange::Add, uid),
        |_| {
            let group = client.get_group(gid).map_err(name_missing("group", gid))?;
            Ok(is_member(&group, uid).then_some(()))
        },
    )?;
    let listed = match written {
        Written::Answered(listed) => listed,
        Written::Confirmed(()) => None,
    };
    match listed {
        Some(members) if !members.iter().any(|m| same_id(m, uid)) => {
            return Err(bad_response(format!(
                "PATCH /Groups/{gid} answered with a member list without user {uid}: adding \
                 the member did not take effect"
            )))
        }
        Some(_) => {}
        None => notes.debug(format!(
            "PATCH /Groups/{gid} answered without a member list; the addition is not verified"
        )),
    }
    notes.info(format!("added user {uid} to group {gid}"));
    Ok(GrantOutcome {
        changed: true,
        replaced: Vec::new(),
    })
}

/// `revoke-grant` of `group:<gid>:member` held by a user.
pub fn revoke<T: Transport>(
    client: &ScimClient<T>,
    grant: &Grant,
    notes: &mut Notes,
) -> Result<RevokeOutcome, ConnectorError> {
    let (gid, uid) = check(&grant.entitlement, &grant.principal)?;
    let already = |notes: &mut Notes, why: &str| {
        notes.info(format!(
            "user {uid} is not a member of group {gid} ({why}); already revoked"
        ));
        Ok(RevokeOutcome::AlreadyRevoked)
    };
    let Some(group) = found(client.get_group(gid))? else {
        return already(notes, "the group does not exist");
    };
    if !is_member(&group, uid) {
        return already(notes, "not listed among its members");
    }
    let written = send_checked(
        &format!("removing user {uid} from group {gid}"),
        notes,
        || found_write(client.patch_group_members(gid, MemberChange::Remove, uid)),
        // `Some(false)`: the group is gone; `Some(true)`: it no longer lists the user.
        |_| {
            Ok(match found(client.get_group(gid))? {
                None => Some(false),
                Some(group) => (!is_member(&group, uid)).then_some(true),
            })
        },
    )?;
    let listed = match written {
        Written::Answered(Some(listed)) => listed,
        Written::Answered(None) | Written::Confirmed(false) => {
            return already(notes, "the group was deleted meanwhile")
        }
        Written::Confirmed(true) => None,
    };
    if listed.is_some_and(|members| members.iter().any(|m| same_id(m, uid))) {
        return Err(bad_response(format!(
            "PATCH /Groups/{gid} answered with a member list still holding user {uid}: removing \
             the member did not take effect"
        )));
    }
    notes.info(format!("removed user {uid} from group {gid}"));
    Ok(RevokeOutcome::Revoked(Vec::new()))
}

/// The group and user ids of a membership, refused (with no request) unless
/// the slug is `member` and the principal a user.
fn check<'a>(
    entitlement: &'a EntitlementRef,
    principal: &'a ResourceId,
) -> Result<(&'a str, &'a str), ConnectorError> {
    if entitlement.slug != MEMBER {
        return Err(invalid_argument(format!(
            "groups offer only the `{MEMBER}` entitlement, not `{}`",
            entitlement.slug
        )));
    }
    let gid = non_empty_id(&entitlement.resource.resource, "group")?;
    let uid = user_principal(principal, "group membership")?;
    Ok((gid, uid))
}

/// Whether `uid` is among the group's members.
fn is_member(group: &ScimGroup, uid: &str) -> bool {
    group
        .members
        .iter()
        .filter_map(|m| m.value.as_deref())
        .any(|v| same_id(v, uid))
}

#[cfg(test)]
#[path = "groups_tests.rs"]
mod tests;

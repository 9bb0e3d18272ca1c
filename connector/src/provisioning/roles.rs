//! Granting and revoking workspace roles.
//!
//! Every member holds exactly one role, so granting `role:<r>:assigned` is a
//! role change that replaces the previous role's grant, and revoking a role
//! moves the member down to `restricted_member`, the lowest role (the
//! default of the mutually exclusive set). Both read the user first and
//! change it with one `PATCH /Users/{id}`. A PATCH whose answer is lost
//! (timeout, reset, 5xx) is followed by a fresh read of the user, and sent
//! again only if the user does not hold the new role yet.

use crate::baton::connector::types::{
    ConnectorError, EntitlementRef, Grant, GrantOutcome, ResourceId, RevokeOutcome,
};
use crate::error::{bad_response, invalid_argument};
use crate::notes::Notes;
use crate::provisioning::checked::{send_checked, Written};
use crate::provisioning::{name_missing, owners, user_principal};
use crate::roles::{self, Role, ASSIGNED};
use crate::scim::model::ScimUser;
use crate::scim::{found, found_write, ScimClient, Transport};

/// The role a revoked member is moved to.
pub const LOWEST: &str = "restricted_member";

/// `grant-entitlement` of `role:<r>:assigned` to a user.
pub fn grant<T: Transport>(
    client: &ScimClient<T>,
    principal: &ResourceId,
    entitlement: &EntitlementRef,
    notes: &mut Notes,
) -> Result<GrantOutcome, ConnectorError> {
    let target = target_role(entitlement)?;
    let uid = user_principal(principal, "a workspace role")?;
    let user = client.get_user(uid).map_err(name_missing("user", uid))?;
    let old = held_role(&user, uid, notes);
    if old.is_some_and(|r| r.id == target.id) {
        notes.info(format!(
            "user {uid} already holds the {} role; nothing changed",
            target.id
        ));
        return Ok(GrantOutcome {
            changed: false,
            replaced: Vec::new(),
        });
    }
    if owners::is_owner(&user) {
        let action = format!("change the role of user {uid} from owner to {}", target.id);
        owners::ensure_not_last_owner(client, uid, &action, notes)?;
    }
    let written = send_checked(
        &format!("changing the role of user {uid} to {}", target.id),
        notes,
        || client.patch_user_role(uid, target.id),
        |_| {
            let user = client.get_user(uid).map_err(name_missing("user", uid))?;
            Ok(holds(&user, target).then_some(()))
        },
    )?;
    if let Written::Answered(answer) = written {
        check_role_answer(answer.as_ref(), uid, target)?;
    }
    let replaced: Vec<Grant> = old
        .map(|r| Grant {
            entitlement: roles::assigned_ref(r),
            principal: principal.clone(),
        })
        .into_iter()
        .collect();
    match old {
        Some(r) => notes.info(format!(
            "granted the {} role to user {uid}, replacing the {} role",
            target.id, r.id
        )),
        None => notes.info(format!(
            "granted the {} role to user {uid}; the previous role was unknown, so no replaced grant is reported",
            target.id
        )),
    }
    Ok(GrantOutcome {
        changed: true,
        replaced,
    })
}

/// `revoke-grant` of `role:<r>:assigned` held by a user.
pub fn revoke<T: Transport>(
    client: &ScimClient<T>,
    grant: &Grant,
    notes: &mut Notes,
) -> Result<RevokeOutcome, ConnectorError> {
    let role = target_role(&grant.entitlement)?;
    let uid = user_principal(&grant.principal, "a workspace role")?;
    let Some(user) = found(client.get_user(uid))? else {
        notes.info(format!(
            "user {uid} is not in the Notion workspace; the {} role is already revoked",
            role.id
        ));
        return Ok(RevokeOutcome::AlreadyRevoked);
    };
    let held = held_role(&user, uid, notes);
    if held.is_none_or(|r| r.id != role.id) {
        notes.info(format!(
            "user {uid} does not hold the {} role (holds {}); already revoked",
            role.id,
            held.map_or("no known role", |r| r.id)
        ));
        return Ok(RevokeOutcome::AlreadyRevoked);
    }
    if role.id == LOWEST {
        notes.info(format!(
            "left the {LOWEST} role of user {uid} unchanged: it is the lowest role"
        ));
        return Ok(RevokeOutcome::Unchanged(format!(
            "{LOWEST} is the lowest Notion workspace role and every member holds exactly one \
             role, so it cannot be revoked on its own; to remove user {uid} from the workspace, \
             delete the account instead"
        )));
    }
    if role.id == owners::OWNER {
        let action = format!("revoke the owner role of user {uid}");
        owners::ensure_not_last_owner(client, uid, &action, notes)?;
    }
    let lowest = roles::find(LOWEST).expect("restricted_member is a known role");
    let written = send_checked(
        &format!("changing the role of user {uid} to {LOWEST}"),
        notes,
        || found_write(client.patch_user_role(uid, LOWEST)),
        // `Some(false)`: the user is gone; `Some(true)`: the user is a restricted member.
        |_| {
            Ok(match found(client.get_user(uid))? {
                None => Some(false),
                Some(user) => holds(&user, lowest).then_some(true),
            })
        },
    )?;
    match written {
        Written::Answered(Some(answer)) => check_role_answer(answer.as_ref(), uid, lowest)?,
        Written::Answered(None) | Written::Confirmed(false) => {
            notes.info(format!(
                "user {uid} left the workspace before the role change; the {} role is already \
                 revoked",
                role.id
            ));
            return Ok(RevokeOutcome::AlreadyRevoked);
        }
        Written::Confirmed(true) => {}
    }
    notes.info(format!(
        "revoked the {} role of user {uid}, who is now a {LOWEST}",
        role.id
    ));
    // Every member holds exactly one role: the lowest takes this one's place.
    Ok(RevokeOutcome::Revoked(vec![Grant {
        entitlement: roles::assigned_ref(lowest),
        principal: grant.principal.clone(),
    }]))
}

/// The role an entitlement names; refused (with no request) unless it is
/// one of the four roles' `assigned` entitlement.
fn target_role(entitlement: &EntitlementRef) -> Result<&'static Role, ConnectorError> {
    let id = entitlement.resource.resource.as_str();
    let role = roles::find(id).ok_or_else(|| {
        invalid_argument(format!(
            "unknown Notion workspace role `{id}` (known: owner, membership_admin, member, \
             restricted_member)"
        ))
    })?;
    if entitlement.slug != ASSIGNED {
        return Err(invalid_argument(format!(
            "roles offer only the `{ASSIGNED}` entitlement, not `{}`",
            entitlement.slug
        )));
    }
    Ok(role)
}

/// The user's current role; a missing or unknown value is logged.
fn held_role(user: &ScimUser, uid: &str, notes: &mut Notes) -> Option<&'static Role> {
    let raw = user.notion.as_ref().and_then(|n| n.role.as_deref());
    let role = raw.and_then(roles::from_notion);
    if role.is_none() {
        notes.warn(format!(
            "user {uid} has {} in Notion's user extension",
            match raw {
                Some(value) => format!("the unknown workspace role {value:?}"),
                None => "no workspace role".into(),
            }
        ));
    }
    role
}

/// Whether Notion reports `role` as the user's role (no log line, unlike
/// [`held_role`]: this is a check after a write).
fn holds(user: &ScimUser, role: &Role) -> bool {
    user.notion
        .as_ref()
        .and_then(|n| n.role.as_deref())
        .and_then(roles::from_notion)
        .is_some_and(|r| r.id == role.id)
}

/// Checks the user returned by a role PATCH (if any) against the role sent.
/// An answer without a role cannot be checked and is accepted.
fn check_role_answer(
    answer: Option<&ScimUser>,
    uid: &str,
    sent: &Role,
) -> Result<(), ConnectorError> {
    let returned = answer
        .and_then(|u| u.notion.as_ref())
        .and_then(|n| n.role.as_deref());
    match returned {
        Some(value) if roles::from_notion(value).is_none_or(|r| r.id != sent.id) => {
            Err(bad_response(format!(
                "PATCH /Users/{uid} answered with role {value:?} instead of {:?}: the role change \
                 did not take effect",
                sent.id
            )))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
#[path = "roles_tests.rs"]
mod tests;

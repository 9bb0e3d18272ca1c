//! Creating and deleting users (workspace members).
//!
//! `create-account` adds a member with `POST /Users` (Notion also creates the
//! Notion account when the email has none); `delete-resource` removes a
//! member with `DELETE /Users/{id}`, which Notion documents as removal from
//! the workspace plus sign-out, not deletion of the Notion account.

use std::cell::Cell;

use crate::baton::connector::types::{
    ConnectorError, CreateAccountOutcome, ErrorKind, ProfileEntry, ProfileValue, ResourceRecord,
};
use crate::error::{bad_response, internal, invalid_argument};
use crate::notes::Notes;
use crate::provisioning::checked::{send_checked, Written};
use crate::provisioning::{non_empty_id, owners};
use crate::scim::model::ScimUser;
use crate::scim::{found, found_write, NewUser, ScimClient, Transport};
use crate::users::map_user;

/// Profile keys read by `create-account`, as declared in the
/// account-creation schema (`crate::users::account_creation_schema`).
const EMAIL: &str = "email";
const FIRST_NAME: &str = "first_name";
const LAST_NAME: &str = "last_name";

/// `create-account`: validates the profile, then `POST /Users`. On a 409
/// the existing user is looked up by email.
///
/// When the POST's outcome is unknown (timeout, reset, 5xx), the email is
/// looked up (`GET /Users?filter=email eq "..."`) before anything else is
/// sent. An active user with that email is reported as `created`: Baton asks
/// to create accounts it believes absent, and the POST just sent is what made
/// it exist (a user that had existed already would have made it a 409, which
/// cannot be told apart once the answer is lost). No such user, or only an
/// inactive one (the POST sets `active: true`, so it did not take effect),
/// and the POST is sent once more; a 409 then takes the path above.
pub fn create_account<T: Transport>(
    client: &ScimClient<T>,
    profile: &[ProfileEntry],
    notes: &mut Notes,
) -> Result<CreateAccountOutcome, ConnectorError> {
    let new_user = new_user(profile)?;
    let email = new_user.email.as_str();
    let written = send_checked(
        &format!("creating user {email}"),
        notes,
        || client.create_user(&new_user),
        |notes| find_active(client, email, notes),
    );
    match written {
        Ok(written) => {
            let (user, how) = match written {
                Written::Answered(user) => (user, ""),
                Written::Confirmed(user) => (user, " (confirmed by a lookup; the answer was lost)"),
            };
            let resource = to_record(user, "POST /Users", notes)?;
            notes.info(format!(
                "created user {} ({email}) in the Notion workspace{how}",
                resource.id.resource
            ));
            Ok(CreateAccountOutcome::Created(resource))
        }
        Err(e) if e.kind == ErrorKind::AlreadyExists => {
            let existing = lookup_existing(client, email, notes);
            notes.info(format!(
                "user {email} already exists in the Notion workspace ({})",
                match &existing {
                    Some(r) => format!("id {}", r.id.resource),
                    None => "it could not be read back".into(),
                }
            ));
            Ok(CreateAccountOutcome::AlreadyExists(existing))
        }
        Err(e) => Err(e),
    }
}

/// The active user with `email`, if any: whether a POST whose answer was
/// lost took effect.
fn find_active<T: Transport>(
    client: &ScimClient<T>,
    email: &str,
    notes: &mut Notes,
) -> Result<Option<ScimUser>, ConnectorError> {
    Ok(client.find_user_by_email(email)?.filter(|user| {
        let active = user.active != Some(false);
        if !active {
            notes.debug(format!("user {email} exists but is inactive"));
        }
        active
    }))
}

/// The existing user with `email`, if the lookup finds and maps it. A failed
/// lookup is logged, not returned: the account's existence is the answer.
fn lookup_existing<T: Transport>(
    client: &ScimClient<T>,
    email: &str,
    notes: &mut Notes,
) -> Option<ResourceRecord> {
    match client.find_user_by_email(email) {
        Ok(Some(user)) => map_user(user, notes).map(|m| m.resource),
        Ok(None) => {
            notes.warn(format!(
                "POST /Users answered 409 but no user with email {email} was found"
            ));
            None
        }
        Err(e) => {
            notes.warn(format!(
                "looking up the existing user {email} failed: {}",
                e.message
            ));
            None
        }
    }
}

/// Maps a user returned by a write; one without id or userName is unusable.
fn to_record(
    user: ScimUser,
    request: &str,
    notes: &mut Notes,
) -> Result<ResourceRecord, ConnectorError> {
    map_user(user, notes).map(|m| m.resource).ok_or_else(|| {
        bad_response(format!(
            "{request}: the answer has no user id or userName; the account may have been created"
        ))
    })
}

/// Reads the three required profile fields; nothing is sent when one is
/// missing, empty or not text, or when the email is not an address.
fn new_user(profile: &[ProfileEntry]) -> Result<NewUser, ConnectorError> {
    let email = text_field(profile, EMAIL)?;
    check_email(&email)?;
    Ok(NewUser {
        email,
        first_name: text_field(profile, FIRST_NAME)?,
        last_name: text_field(profile, LAST_NAME)?,
    })
}

/// The trimmed text of a required profile field.
fn text_field(profile: &[ProfileEntry], key: &str) -> Result<String, ConnectorError> {
    let entry = profile
        .iter()
        .find(|e| e.key == key)
        .ok_or_else(|| invalid_argument(format!("the profile field `{key}` is required")))?;
    let kind = match &entry.value {
        ProfileValue::Text(text) if !text.trim().is_empty() => return Ok(text.trim().into()),
        ProfileValue::Text(_) => "empty",
        ProfileValue::Null => "null",
        ProfileValue::Boolean(_) => "a boolean",
        ProfileValue::Number(_) => "a number",
    };
    Err(invalid_argument(format!(
        "the profile field `{key}` must be non-empty text, not {kind}"
    )))
}

/// Refuses what cannot be an email address: no `@`, nothing on one side of
/// it, or whitespace and control characters.
fn check_email(email: &str) -> Result<(), ConnectorError> {
    let problem = match email.rsplit_once('@') {
        None => Some("it has no '@'"),
        Some((local, domain)) if local.is_empty() || domain.is_empty() => {
            Some("a part around '@' is empty")
        }
        Some(_) if email.chars().any(|c| c.is_whitespace() || c.is_control()) => {
            Some("it contains whitespace")
        }
        Some(_) => None,
    };
    match problem {
        Some(why) => Err(invalid_argument(format!(
            "the profile field `{EMAIL}` is not an email address ({why}): {email:?}"
        ))),
        None => Ok(()),
    }
}

/// `delete-resource` of a user: removes the member from the workspace.
///
/// Reads the user first: when it is absent (404) the user is already deleted,
/// nothing is sent and the answer is `Ok(false)`. A user the read finds is
/// deleted whether it is active or not: Notion's listing shows inactive
/// users, so a sync keeps reporting one (as disabled) until a DELETE removes
/// it. Deleting the last active owner is refused. A DELETE answered 404 is
/// `Ok(false)` as well: someone else deleted the user first.
///
/// After a 2xx answer the user is read again, and success needs it absent or
/// inactive; still active is an error. A DELETE with an unknown outcome is
/// followed by that read at once and sent again only if the user is still
/// there: still active, or, for a user that was inactive already, still
/// listed at all (inactive then proves nothing).
pub fn delete<T: Transport>(
    client: &ScimClient<T>,
    id: &str,
    notes: &mut Notes,
) -> Result<bool, ConnectorError> {
    let id = non_empty_id(id, "user")?;
    let Some(user) = found(client.get_user(id))? else {
        notes.info(format!(
            "user {id} is not in the Notion workspace; already deleted, nothing sent"
        ));
        return Ok(false);
    };
    let was_inactive = user.active == Some(false);
    if was_inactive {
        notes.debug(format!(
            "user {id} is inactive but still listed; deleting it so that syncs no longer list it"
        ));
    } else if owners::is_owner(&user) {
        // Only active owners count for the guard (`another_owner_exists`), so
        // removing an inactive one never leaves the workspace without one.
        owners::ensure_not_last_owner(client, id, &format!("delete user {id}"), notes)?;
    }
    // Which send a 404 answered: only the first one means "already deleted".
    let sends = Cell::new(0u32);
    let written = send_checked(
        &format!("deleting user {id}"),
        notes,
        || {
            sends.set(sends.get() + 1);
            found_write(client.delete_user(id))
        },
        |_| {
            let after = found(client.get_user(id))?;
            Ok(is_removed(after.as_ref(), was_inactive).then_some(after))
        },
    )?;
    let after = match written {
        Written::Answered(None) if sends.get() == 1 => {
            notes.info(format!(
                "user {id} was already gone when DELETE was sent (404); already deleted"
            ));
            return Ok(false);
        }
        Written::Answered(None) => {
            // The read before this re-send still found the user: the first
            // DELETE, whose answer was lost, took effect late.
            notes.debug(format!(
                "user {id} was there at the check but gone at the re-sent DELETE (404)"
            ));
            None
        }
        // A dry run: the read back would still find the user.
        Written::Answered(Some(true)) => return Ok(true),
        Written::Answered(Some(false)) => found(client.get_user(id))?,
        Written::Confirmed(after) => after,
    };
    match after {
        Some(after) if after.active != Some(false) => {
            Err(internal(format!("user {id} still exists after DELETE")))
        }
        Some(_) if was_inactive => {
            // Notion answered the DELETE with success; that is the best
            // evidence there is, as an inactive user read back proves nothing.
            notes.warn(format!(
                "Notion accepted DELETE /Users/{id} but still lists the user as inactive; \
                 a sync may list it until Notion drops it"
            ));
            notes.info(format!(
                "deleted user {id} from the Notion workspace (answered; still listed as inactive)"
            ));
            Ok(true)
        }
        after => {
            notes.info(format!(
                "deleted user {id} from the Notion workspace (confirmed: {})",
                if after.is_some() {
                    "now inactive"
                } else {
                    "now absent"
                }
            ));
            Ok(true)
        }
    }
}

/// Whether a user read after a DELETE shows the DELETE in effect: absent, or
/// inactive when it was active before (a user that was inactive already must
/// be absent).
fn is_removed(user: Option<&ScimUser>, was_inactive: bool) -> bool {
    match user {
        None => true,
        Some(u) => !was_inactive && u.active == Some(false),
    }
}

#[cfg(test)]
#[path = "users_tests.rs"]
mod tests;

//! One-shot provisioning: grant, revoke, create an account, delete a resource.
//!
//! As in Baton, grant and revoke resolve their ids against an existing c1z:
//! the entitlement, principal or grant must have been synced before. Every
//! check that can fail on our side happens before the connector is called,
//! so a bad id or profile never reaches the upstream.

mod outcome;
mod resolve;

pub use outcome::{ProvisionOutcome, ProvisionReport};

use std::path::Path;

use crate::bindings::types::{
    Capability, ConnectorMetadata, CreateAccountOutcome, EntitlementRef, Grant, ProfileEntry,
    ResourceId, ResourceTrait, RevokeOutcome,
};
use crate::c1z::C1zError;
use crate::runtime::{ConnectorInstance, RuntimeError};
use crate::sync::encode;
use resolve::{account_profile, entitlement_ref, SyncedIds};

/// A provisioning action, as the CLI flags describe it.
#[derive(Debug, Clone, PartialEq)]
pub enum ProvisionRequest {
    /// `--grant-entitlement ID --grant-principal ID --grant-principal-type TYPE`.
    Grant {
        /// Baton entitlement id, e.g. `role:owner:assigned`.
        entitlement_id: String,
        /// The principal's resource id.
        principal_id: String,
        /// The principal's resource type.
        principal_type: String,
    },
    /// `--revoke-grant ID`.
    Revoke {
        /// Baton grant id.
        grant_id: String,
    },
    /// `--create-account-*`.
    CreateAccount {
        /// The account's profile (a JSON object of scalars).
        profile: serde_json::Map<String, serde_json::Value>,
    },
    /// `--delete-resource ID --delete-resource-type TYPE`.
    Delete {
        /// The resource id.
        resource_id: String,
        /// Its resource type.
        resource_type: String,
    },
}

/// Why a provisioning action was not carried out.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// The request names something invalid; nothing was sent upstream.
    #[error("{0}")]
    Invalid(String),
    /// The c1z used to resolve ids could not be read.
    #[error("cannot resolve ids from {path}: {source}")]
    Store {
        /// The c1z.
        path: String,
        /// Why.
        source: C1zError,
    },
    /// The connector failed.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

/// A request whose ids are resolved and whose input is checked: ready to
/// send. Preparing never contacts the upstream.
#[derive(Debug, Clone, PartialEq)]
pub enum PreparedAction {
    /// Grant `entitlement` to `principal`.
    Grant {
        /// The entitlement.
        entitlement: EntitlementRef,
        /// The principal.
        principal: ResourceId,
    },
    /// Revoke this grant.
    Revoke(Grant),
    /// Create an account with this profile.
    CreateAccount(Vec<ProfileEntry>),
    /// Delete this resource.
    Delete {
        /// The resource.
        id: ResourceId,
        /// The grants it holds in the synced c1z (empty without one).
        grants: Vec<String>,
        /// How many of them are group memberships; `None` without a c1z.
        groups: Option<usize>,
    },
}

impl ProvisionRequest {
    /// The operation's name in a [`ProvisionReport`].
    pub fn operation(&self) -> &'static str {
        match self {
            ProvisionRequest::Grant { .. } => "grant",
            ProvisionRequest::Revoke { .. } => "revoke",
            ProvisionRequest::CreateAccount { .. } => "create-account",
            ProvisionRequest::Delete { .. } => "delete",
        }
    }
}

/// Resolves and checks a request. `c1z` is the synced file that grant and
/// revoke resolve their ids against.
pub fn prepare(
    metadata: &ConnectorMetadata,
    request: &ProvisionRequest,
    c1z: &Path,
) -> Result<PreparedAction, ProvisionError> {
    match request {
        ProvisionRequest::Grant {
            entitlement_id,
            principal_id,
            principal_type,
        } => {
            let store = SyncedIds::open(c1z)?;
            let entitlement = store.entitlement(entitlement_id)?;
            let principal = store.principal(principal_type, principal_id)?;
            if !entitlement.grantable_to.is_empty()
                && !entitlement
                    .grantable_to
                    .iter()
                    .any(|t| &t.id == principal_type)
            {
                return Err(ProvisionError::Invalid(format!(
                    "entitlement `{entitlement_id}` cannot be granted to a `{principal_type}` (--grant-principal-type)"
                )));
            }
            Ok(PreparedAction::Grant {
                entitlement: entitlement_ref(&entitlement)?,
                principal,
            })
        }
        ProvisionRequest::Revoke { grant_id } => Ok(PreparedAction::Revoke(
            SyncedIds::open(c1z)?.grant(grant_id)?,
        )),
        ProvisionRequest::CreateAccount { profile } => Ok(PreparedAction::CreateAccount(
            account_profile(metadata, profile)?,
        )),
        ProvisionRequest::Delete {
            resource_id,
            resource_type,
        } => {
            let deletable = metadata.resource_types.iter().any(|t| {
                &t.id == resource_type && t.capabilities.contains(&Capability::ResourceDelete)
            });
            if !deletable {
                return Err(ProvisionError::Invalid(format!(
                    "resources of type `{resource_type}` (--delete-resource-type) cannot be deleted by this connector"
                )));
            }
            let id = ResourceId {
                resource_type: resource_type.clone(),
                resource: resource_id.clone(),
            };
            // The c1z only says what goes with the resource; delete needs none.
            let (grants, groups) = match SyncedIds::open(c1z) {
                Ok(store) => {
                    let group_types: Vec<&str> = metadata
                        .resource_types
                        .iter()
                        .filter(|t| t.traits.contains(&ResourceTrait::Group))
                        .map(|t| t.id.as_str())
                        .collect();
                    let held = store.grants_of(&id)?;
                    let groups = held
                        .iter()
                        .filter(|(rtype, _)| group_types.contains(&rtype.as_str()))
                        .count();
                    (
                        held.into_iter().map(|(_, grant_id)| grant_id).collect(),
                        Some(groups),
                    )
                }
                Err(_) => (Vec::new(), None),
            };
            Ok(PreparedAction::Delete { id, grants, groups })
        }
    }
}

/// Sends a prepared action through the connector.
pub fn execute(
    instance: &mut ConnectorInstance,
    action: &PreparedAction,
) -> Result<ProvisionOutcome, ProvisionError> {
    Ok(match action {
        PreparedAction::Grant {
            entitlement,
            principal,
        } => {
            let grant_id = encode::grant_id(&Grant {
                entitlement: entitlement.clone(),
                principal: principal.clone(),
            });
            let outcome = instance.grant_entitlement(principal, entitlement)?;
            if outcome.changed {
                let replaced = outcome.replaced.iter().map(encode::grant_id).collect();
                ProvisionOutcome::Granted {
                    grant_id,
                    entitlement_id: encode::entitlement_id(entitlement),
                    principal: (principal.resource_type.clone(), principal.resource.clone()),
                    replaced,
                }
            } else {
                ProvisionOutcome::AlreadyGranted { grant_id }
            }
        }
        PreparedAction::Revoke(grant) => {
            let grant_id = encode::grant_id(grant);
            match instance.revoke_grant(grant)? {
                RevokeOutcome::Revoked(leaves) => ProvisionOutcome::Revoked {
                    grant_id,
                    principal: (
                        grant.principal.resource_type.clone(),
                        grant.principal.resource.clone(),
                    ),
                    leaves: leaves
                        .iter()
                        .map(|g| encode::entitlement_id(&g.entitlement))
                        .collect(),
                    leaves_grants: leaves.iter().map(encode::grant_id).collect(),
                },
                RevokeOutcome::AlreadyRevoked => ProvisionOutcome::AlreadyRevoked { grant_id },
                RevokeOutcome::Unchanged(reason) => {
                    ProvisionOutcome::NotRevoked { grant_id, reason }
                }
            }
        }
        PreparedAction::CreateAccount(profile) => match instance.create_account(profile)? {
            CreateAccountOutcome::Created(r) => ProvisionOutcome::Created {
                resource_type: r.id.resource_type,
                resource_id: r.id.resource,
                display_name: r.display_name,
            },
            CreateAccountOutcome::AlreadyExists(r) => ProvisionOutcome::AlreadyExists {
                resource_id: r.map(|r| r.id.resource),
            },
        },
        PreparedAction::Delete { id, grants, groups } => {
            let (resource_type, resource_id) = (id.resource_type.clone(), id.resource.clone());
            if instance.delete_resource(id)? {
                ProvisionOutcome::Deleted {
                    resource_type,
                    resource_id,
                    grants: grants.clone(),
                    groups: *groups,
                }
            } else {
                ProvisionOutcome::AlreadyDeleted {
                    resource_type,
                    resource_id,
                }
            }
        }
    })
}

//! One-shot provisioning: grant, revoke, create an account, delete a resource.
//!
//! As in Baton, grant and revoke resolve their ids against an existing c1z:
//! the entitlement, principal or grant must have been synced before. Every
//! check that can fail on our side happens before the connector is called,
//! so a bad id or profile never reaches the upstream.

use std::fmt;
use std::path::Path;

use serde::Serialize;

use crate::bindings::types::{
    Capability, ConnectorMetadata, CreateAccountOutcome, EntitlementRef, Grant, ProfileEntry,
    ProfileValue, ResourceId, RevokeOutcome,
};
use crate::c1z::{proto, C1zError, C1zReader};
use crate::runtime::{ConnectorInstance, RuntimeError};
use crate::sync::encode;

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

/// What a provisioning action did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ProvisionOutcome {
    /// The grant was made.
    Granted {
        /// Its Baton id.
        grant_id: String,
        /// Grants it replaced (mutually exclusive entitlements).
        replaced: Vec<String>,
    },
    /// The principal already held the entitlement; nothing was sent.
    AlreadyGranted {
        /// The grant's id.
        grant_id: String,
    },
    /// The grant was removed.
    Revoked {
        /// Its id.
        grant_id: String,
    },
    /// The grant was already absent.
    AlreadyRevoked {
        /// Its id.
        grant_id: String,
    },
    /// The connector left the grant in place and says why.
    NotRevoked {
        /// Its id.
        grant_id: String,
        /// The connector's reason.
        reason: String,
    },
    /// An account was created.
    Created {
        /// The new resource's type.
        resource_type: String,
        /// The new resource's id.
        resource_id: String,
        /// Its display name.
        display_name: String,
    },
    /// The account existed already.
    AlreadyExists {
        /// Its id, when the connector could find it.
        resource_id: Option<String>,
    },
    /// The resource was deleted.
    Deleted {
        /// Its type.
        resource_type: String,
        /// Its id.
        resource_id: String,
    },
    /// The resource was already gone.
    AlreadyDeleted {
        /// Its type.
        resource_type: String,
        /// Its id.
        resource_id: String,
    },
}

impl fmt::Display for ProvisionOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProvisionOutcome::Granted { grant_id, replaced } if replaced.is_empty() => {
                write!(f, "granted {grant_id}")
            }
            ProvisionOutcome::Granted { grant_id, replaced } => {
                write!(
                    f,
                    "granted {grant_id}; replaced grant {}",
                    replaced.join(", ")
                )
            }
            ProvisionOutcome::AlreadyGranted { grant_id } => {
                write!(f, "already granted {grant_id}")
            }
            ProvisionOutcome::Revoked { grant_id } => write!(f, "revoked {grant_id}"),
            ProvisionOutcome::AlreadyRevoked { grant_id } => {
                write!(f, "already revoked {grant_id}")
            }
            ProvisionOutcome::NotRevoked { grant_id, reason } => {
                write!(f, "not revoked {grant_id}: {reason}")
            }
            ProvisionOutcome::Created {
                resource_type,
                resource_id,
                display_name,
            } => {
                write!(f, "created {resource_type} {resource_id} ({display_name})")
            }
            ProvisionOutcome::AlreadyExists {
                resource_id: Some(id),
            } => {
                write!(f, "account already exists: {id}")
            }
            ProvisionOutcome::AlreadyExists { resource_id: None } => {
                write!(f, "account already exists")
            }
            ProvisionOutcome::Deleted {
                resource_type,
                resource_id,
            } => {
                write!(f, "deleted {resource_type} {resource_id}")
            }
            ProvisionOutcome::AlreadyDeleted {
                resource_type,
                resource_id,
            } => {
                write!(f, "already deleted {resource_type} {resource_id}")
            }
        }
    }
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
    Delete(ResourceId),
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
                    "entitlement `{entitlement_id}` cannot be granted to a `{principal_type}`"
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
                    "resources of type `{resource_type}` cannot be deleted by this connector"
                )));
            }
            Ok(PreparedAction::Delete(ResourceId {
                resource_type: resource_type.clone(),
                resource: resource_id.clone(),
            }))
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
                ProvisionOutcome::Granted { grant_id, replaced }
            } else {
                ProvisionOutcome::AlreadyGranted { grant_id }
            }
        }
        PreparedAction::Revoke(grant) => {
            let grant_id = encode::grant_id(grant);
            match instance.revoke_grant(grant)? {
                RevokeOutcome::Revoked => ProvisionOutcome::Revoked { grant_id },
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
        PreparedAction::Delete(id) => {
            let (resource_type, resource_id) = (id.resource_type.clone(), id.resource.clone());
            if instance.delete_resource(id)? {
                ProvisionOutcome::Deleted {
                    resource_type,
                    resource_id,
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

/// The contract names an entitlement by resource and slug.
fn entitlement_ref(e: &proto::Entitlement) -> Result<EntitlementRef, ProvisionError> {
    let id = e
        .resource
        .as_ref()
        .and_then(|r| r.id.as_ref())
        .ok_or_else(|| {
            ProvisionError::Invalid(format!("entitlement `{}` in the c1z has no resource", e.id))
        })?;
    // Go-written files may leave the slug empty; the id ends with it.
    let prefix = format!("{}:{}:", id.resource_type, id.resource);
    let slug = match e.id.strip_prefix(&prefix) {
        _ if !e.slug.is_empty() => e.slug.clone(),
        Some(rest) => rest.to_string(),
        None => e.id.clone(),
    };
    Ok(EntitlementRef {
        resource: ResourceId {
            resource_type: id.resource_type.clone(),
            resource: id.resource.clone(),
        },
        slug,
    })
}

/// Checks a profile against the account-creation schema and converts it.
fn account_profile(
    metadata: &ConnectorMetadata,
    profile: &serde_json::Map<String, serde_json::Value>,
) -> Result<Vec<ProfileEntry>, ProvisionError> {
    use serde_json::Value;
    for field in metadata
        .account_creation_schema
        .iter()
        .filter(|f| f.required)
    {
        let present = match profile.get(&field.name) {
            Some(Value::String(s)) => !s.trim().is_empty(),
            Some(Value::Null) | None => false,
            Some(_) => true,
        };
        if !present {
            return Err(ProvisionError::Invalid(format!(
                "the account profile needs `{}` ({}); pass it in --create-account-profile",
                field.name, field.description
            )));
        }
    }
    profile
        .iter()
        .map(|(key, value)| {
            let value = match value {
                Value::Null => ProfileValue::Null,
                Value::Bool(b) => ProfileValue::Boolean(*b),
                Value::Number(n) => ProfileValue::Number(n.as_f64().unwrap_or_default()),
                Value::String(s) => ProfileValue::Text(s.clone()),
                Value::Array(_) | Value::Object(_) => {
                    return Err(ProvisionError::Invalid(format!(
                        "account profile field `{key}` must be a string, number, boolean or null"
                    )))
                }
            };
            Ok(ProfileEntry {
                key: key.clone(),
                value,
            })
        })
        .collect()
}

/// Lookups in the newest sync of a c1z.
struct SyncedIds {
    reader: C1zReader,
    sync_id: String,
    path: String,
}

impl SyncedIds {
    fn open(path: &Path) -> Result<SyncedIds, ProvisionError> {
        let display = path.display().to_string();
        let store_err = |source| ProvisionError::Store {
            path: display.clone(),
            source,
        };
        let reader = C1zReader::open(path).map_err(store_err)?;
        let sync_id = reader.select_sync(None).map_err(store_err)?.sync_id;
        Ok(SyncedIds {
            reader,
            sync_id,
            path: display,
        })
    }

    fn err(&self, source: C1zError) -> ProvisionError {
        ProvisionError::Store {
            path: self.path.clone(),
            source,
        }
    }

    fn entitlement(&self, id: &str) -> Result<proto::Entitlement, ProvisionError> {
        self.reader
            .entitlement(&self.sync_id, id)
            .map_err(|e| self.err(e))?
            .ok_or_else(|| {
                ProvisionError::Invalid(format!(
                    "entitlement `{id}` is not in {}; run a sync first or check the id",
                    self.path
                ))
            })
    }

    fn principal(&self, resource_type: &str, id: &str) -> Result<ResourceId, ProvisionError> {
        let rid = proto::ResourceId {
            resource_type: resource_type.to_string(),
            resource: id.to_string(),
            baton_resource: false,
        };
        match self
            .reader
            .resource(&self.sync_id, &rid)
            .map_err(|e| self.err(e))?
        {
            Some(_) => Ok(ResourceId {
                resource_type: rid.resource_type,
                resource: rid.resource,
            }),
            None => Err(ProvisionError::Invalid(format!(
                "principal {resource_type} `{id}` is not in {}; run a sync first or check the id",
                self.path
            ))),
        }
    }

    fn grant(&self, id: &str) -> Result<Grant, ProvisionError> {
        let grant = self
            .reader
            .grant(&self.sync_id, id)
            .map_err(|e| self.err(e))?
            .ok_or_else(|| {
                ProvisionError::Invalid(format!(
                    "grant `{id}` is not in {}; run a sync first or check the id",
                    self.path
                ))
            })?;
        let entitlement_id = grant
            .entitlement
            .as_ref()
            .map(|e| e.id.clone())
            .unwrap_or_default();
        let entitlement = entitlement_ref(&self.entitlement(&entitlement_id)?)?;
        let principal = grant.principal.and_then(|p| p.id).ok_or_else(|| {
            ProvisionError::Invalid(format!("grant `{id}` in {} has no principal", self.path))
        })?;
        Ok(Grant {
            entitlement,
            principal: ResourceId {
                resource_type: principal.resource_type,
                resource: principal.resource,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_lines_are_human_readable() {
        let g = ProvisionOutcome::Granted {
            grant_id: "role:owner:assigned:user:u".into(),
            replaced: vec!["role:member:assigned:user:u".into()],
        };
        assert_eq!(
            g.to_string(),
            "granted role:owner:assigned:user:u; replaced grant role:member:assigned:user:u"
        );
        let json = serde_json::to_value(&g).unwrap();
        assert_eq!(json["outcome"], "granted");
        assert_eq!(json["replaced"][0], "role:member:assigned:user:u");
        let d = ProvisionOutcome::AlreadyDeleted {
            resource_type: "user".into(),
            resource_id: "x".into(),
        };
        assert_eq!(d.to_string(), "already deleted user x");
    }

    #[test]
    fn slug_comes_from_the_message_or_the_id() {
        let resource = proto::Resource {
            id: Some(proto::ResourceId {
                resource_type: "group".into(),
                resource: "g1".into(),
                baton_resource: false,
            }),
            ..Default::default()
        };
        let mut e = proto::Entitlement {
            id: "group:g1:member".into(),
            resource: Some(resource),
            ..Default::default()
        };
        assert_eq!(entitlement_ref(&e).unwrap().slug, "member");
        e.slug = "member".into();
        assert_eq!(entitlement_ref(&e).unwrap().slug, "member");
    }
}

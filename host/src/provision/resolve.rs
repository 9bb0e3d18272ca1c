//! Resolving ids against a synced c1z, and checking account profiles.

use std::path::Path;

use crate::bindings::types::{
    ConnectorMetadata, EntitlementRef, Grant, ProfileEntry, ProfileValue, ResourceId,
};
use crate::c1z::{proto, C1zError, C1zReader, GrantFilter};

use super::ProvisionError;

/// The contract names an entitlement by resource and slug.
pub(super) fn entitlement_ref(e: &proto::Entitlement) -> Result<EntitlementRef, ProvisionError> {
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
pub(super) fn account_profile(
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
pub(super) struct SyncedIds {
    reader: C1zReader,
    sync_id: String,
    path: String,
}

impl SyncedIds {
    pub(super) fn open(path: &Path) -> Result<SyncedIds, ProvisionError> {
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

    pub(super) fn entitlement(&self, id: &str) -> Result<proto::Entitlement, ProvisionError> {
        self.reader
            .entitlement(&self.sync_id, id)
            .map_err(|e| self.err(e))?
            .ok_or_else(|| {
                ProvisionError::Invalid(format!(
                    "entitlement `{id}` (--grant-entitlement) is not in {}; run a sync first or check the id",
                    self.path
                ))
            })
    }

    pub(super) fn principal(
        &self,
        resource_type: &str,
        id: &str,
    ) -> Result<ResourceId, ProvisionError> {
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
                "principal {resource_type} `{id}` (--grant-principal-type, --grant-principal) is not in {}; \
                 run a sync first or check the id",
                self.path
            ))),
        }
    }

    /// The grants `principal` holds: the type of the resource each is on, and its id.
    pub(super) fn grants_of(
        &self,
        principal: &ResourceId,
    ) -> Result<Vec<(String, String)>, ProvisionError> {
        let filter = GrantFilter {
            principal_type: Some(principal.resource_type.clone()),
            principal_id: Some(principal.resource.clone()),
            ..Default::default()
        };
        let mut held = Vec::new();
        for grant in self.reader.grants(&self.sync_id, &filter) {
            let grant = grant.map_err(|e| self.err(e))?;
            let on = grant
                .entitlement
                .as_ref()
                .and_then(|e| e.resource.as_ref())
                .and_then(|r| r.id.as_ref())
                .map(|r| r.resource_type.clone())
                .unwrap_or_default();
            held.push((on, grant.id));
        }
        Ok(held)
    }

    pub(super) fn grant(&self, id: &str) -> Result<Grant, ProvisionError> {
        let grant = self
            .reader
            .grant(&self.sync_id, id)
            .map_err(|e| self.err(e))?
            .ok_or_else(|| {
                ProvisionError::Invalid(format!(
                    "grant `{id}` (--revoke-grant) is not in {}; run a sync first or check the id",
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

//! The rows each `baton` listing prints, and the lookups that resolve their references.
//!
//! Each listing walks one table of the selected sync and, like Go's CLI, fetches the
//! objects a row refers to (resource type, parent, entitlement, principal) through small
//! caches. A reference to an object missing from the sync is printed as a placeholder such
//! as `MISSING RESOURCE (user:u1)`, with one warning on stderr per missing object, instead
//! of failing: the rest of the listing is still useful.

use super::json::{self, Obj, J};
use crate::c1z::proto::{
    resource_type::Trait, Entitlement, Grant, GrantExpandable, Resource, ResourceId, ResourceType,
};
use crate::c1z::{C1zReader, EntitlementFilter, GrantFilter, ResourceFilter, SyncRun};
use anyhow::Result;
use std::collections::{HashMap, HashSet};

/// Cached objects per kind before a cache is reset (bounds memory on huge files).
const CACHE_LIMIT: usize = 100_000;

/// One printable row: console cells and the protojson of Go's output message.
pub trait Row {
    /// Console column headers.
    const HEADERS: &'static [&'static str];
    /// Key of the list in the JSON output, e.g. `resources`.
    const LIST_KEY: &'static str;
    /// Console cells, one per header.
    fn cells(&self) -> Vec<String>;
    /// The JSON of one list element.
    fn json(&self) -> J;
}

/// A callback receiving rows; returning an error stops the listing.
pub type Sink<'a, R> = &'a mut dyn FnMut(R) -> Result<()>;

/// Resolves references within one sync, caching what it fetched.
pub struct Lookups<'r> {
    reader: &'r C1zReader,
    sync_id: String,
    types: HashMap<String, ResourceType>,
    resources: HashMap<String, Resource>,
    entitlements: HashMap<String, Entitlement>,
    warned: HashSet<String>,
}

impl<'r> Lookups<'r> {
    /// Lookups in `sync`.
    pub fn new(reader: &'r C1zReader, sync: &SyncRun) -> Self {
        Lookups {
            reader,
            sync_id: sync.sync_id.clone(),
            types: HashMap::new(),
            resources: HashMap::new(),
            entitlements: HashMap::new(),
            warned: HashSet::new(),
        }
    }

    fn warn_missing(&mut self, what: String) {
        if self.warned.insert(what.clone()) {
            eprintln!(
                "warning: {what} is referenced but not in sync {}",
                self.sync_id
            );
        }
    }

    fn resource_type(&mut self, id: &str) -> Result<ResourceType> {
        if let Some(rt) = self.types.get(id) {
            return Ok(rt.clone());
        }
        let rt = match self.reader.resource_type(&self.sync_id, id)? {
            Some(rt) => rt,
            None => {
                self.warn_missing(format!("resource type {id:?}"));
                ResourceType {
                    id: id.to_string(),
                    display_name: format!("MISSING RESOURCE TYPE ({id})"),
                    ..Default::default()
                }
            }
        };
        self.types.insert(id.to_string(), rt.clone());
        Ok(rt)
    }

    fn resource(&mut self, id: Option<&ResourceId>) -> Result<Resource> {
        let id = id.cloned().unwrap_or_default();
        let key = id.key();
        if let Some(r) = self.resources.get(&key) {
            return Ok(r.clone());
        }
        let r = match self.reader.resource(&self.sync_id, &id)? {
            Some(r) => r,
            None => {
                self.warn_missing(format!("resource {key:?}"));
                Resource {
                    display_name: format!("MISSING RESOURCE ({key})"),
                    id: Some(id),
                    ..Default::default()
                }
            }
        };
        if self.resources.len() >= CACHE_LIMIT {
            self.resources.clear();
        }
        self.resources.insert(key, r.clone());
        Ok(r)
    }

    fn entitlement(&mut self, from_grant: Option<&Entitlement>) -> Result<Entitlement> {
        let id = from_grant.map(|e| e.id.clone()).unwrap_or_default();
        if let Some(e) = self.entitlements.get(&id) {
            return Ok(e.clone());
        }
        let e = match self.reader.entitlement(&self.sync_id, &id)? {
            Some(e) => e,
            None => {
                self.warn_missing(format!("entitlement {id:?}"));
                Entitlement {
                    display_name: format!("MISSING ENTITLEMENT ({id})"),
                    id: id.clone(),
                    resource: from_grant.and_then(|e| e.resource.clone()),
                    ..Default::default()
                }
            }
        };
        if self.entitlements.len() >= CACHE_LIMIT {
            self.entitlements.clear();
        }
        self.entitlements.insert(id, e.clone());
        Ok(e)
    }

    /// Streams `baton resource-types` rows.
    pub fn resource_types(&mut self, sink: Sink<'_, ResourceType>) -> Result<()> {
        for rt in self.reader.resource_types(&self.sync_id) {
            sink(rt?)?;
        }
        Ok(())
    }

    /// Streams `baton resources` rows.
    pub fn resources(
        &mut self,
        filter: &ResourceFilter,
        sink: Sink<'_, ResourceRow>,
    ) -> Result<()> {
        for r in self.reader.resources(&self.sync_id, filter) {
            let resource = r?;
            let type_id = resource
                .id
                .as_ref()
                .map(|i| i.resource_type.as_str())
                .unwrap_or("");
            let resource_type = self.resource_type(type_id)?;
            let parent = match &resource.parent_resource_id {
                Some(p) => Some(self.resource(Some(p))?),
                None => None,
            };
            sink(ResourceRow {
                resource,
                resource_type,
                parent,
            })?;
        }
        Ok(())
    }

    /// Streams `baton entitlements` rows.
    pub fn entitlements(
        &mut self,
        filter: &EntitlementFilter,
        sink: Sink<'_, EntitlementRow>,
    ) -> Result<()> {
        for e in self.reader.entitlements(&self.sync_id, filter) {
            let entitlement = e?;
            let rid = entitlement.resource.as_ref().and_then(|r| r.id.as_ref());
            let resource_type =
                self.resource_type(rid.map(|i| i.resource_type.as_str()).unwrap_or(""))?;
            let resource = self.resource(rid)?;
            sink(EntitlementRow {
                entitlement,
                resource,
                resource_type,
            })?;
        }
        Ok(())
    }

    /// Streams `baton grants` rows.
    pub fn grants(&mut self, filter: &GrantFilter, sink: Sink<'_, GrantRow>) -> Result<()> {
        let expandable = <GrantExpandable as prost::Name>::full_name();
        for g in self.reader.grants(&self.sync_id, filter) {
            let mut grant = g?;
            // Go's reader moves GrantExpandable out of grants written by older SDKs (its
            // backfill on open), so it never shows up in Go's output; hide it likewise.
            grant
                .annotations
                .retain(|a| crate::c1z::proto::any_type_name(a) != expandable);
            let entitlement = self.entitlement(grant.entitlement.as_ref())?;
            let principal = self.resource(grant.principal.as_ref().and_then(|p| p.id.as_ref()))?;
            let rid = grant
                .entitlement
                .as_ref()
                .and_then(|e| e.resource.as_ref())
                .and_then(|r| r.id.as_ref());
            let resource = self.resource(rid)?;
            let resource_type =
                self.resource_type(rid.map(|i| i.resource_type.as_str()).unwrap_or(""))?;
            sink(GrantRow {
                grant,
                entitlement,
                resource,
                resource_type,
                principal,
            })?;
        }
        Ok(())
    }
}

impl Row for ResourceType {
    const HEADERS: &'static [&'static str] = &["ID", "Display Name", "Traits"];
    const LIST_KEY: &'static str = "resourceTypes";
    fn cells(&self) -> Vec<String> {
        let traits: Vec<String> = self
            .traits
            .iter()
            .map(|&t| {
                Trait::try_from(t).map_or_else(|_| t.to_string(), |t| t.as_str_name().to_string())
            })
            .collect();
        vec![
            self.id.clone(),
            self.display_name.clone(),
            traits.join(", "),
        ]
    }
    fn json(&self) -> J {
        Obj::default()
            .msg("resourceType", Some(json::resource_type(self)))
            .done()
    }
}

/// A `baton resources` row (Go's `ResourceOutput`).
pub struct ResourceRow {
    resource: Resource,
    resource_type: ResourceType,
    parent: Option<Resource>,
}

impl Row for ResourceRow {
    const HEADERS: &'static [&'static str] =
        &["ID", "Display Name", "Resource Type", "Parent Resource"];
    const LIST_KEY: &'static str = "resources";
    fn cells(&self) -> Vec<String> {
        let parent = self.parent.as_ref().map_or_else(
            || "-".to_string(),
            |p| {
                format!(
                    "{} ({})",
                    p.display_name,
                    p.id.as_ref().map_or("", |i| i.resource_type.as_str())
                )
            },
        );
        vec![
            self.resource
                .id
                .as_ref()
                .map(|i| i.resource.clone())
                .unwrap_or_default(),
            self.resource.display_name.clone(),
            self.resource_type.display_name.clone(),
            parent,
        ]
    }
    fn json(&self) -> J {
        Obj::default()
            .msg("resource", Some(json::resource(&self.resource)))
            .msg(
                "resourceType",
                Some(json::resource_type(&self.resource_type)),
            )
            .msg("parent", self.parent.as_ref().map(json::resource))
            .done()
    }
}

/// A `baton entitlements` row (Go's `EntitlementOutput`).
pub struct EntitlementRow {
    entitlement: Entitlement,
    resource: Resource,
    resource_type: ResourceType,
}

impl Row for EntitlementRow {
    const HEADERS: &'static [&'static str] = &[
        "ID",
        "Display Name",
        "Resource Type",
        "Resource",
        "Permission",
    ];
    const LIST_KEY: &'static str = "entitlements";
    fn cells(&self) -> Vec<String> {
        vec![
            self.entitlement.id.clone(),
            self.entitlement.display_name.clone(),
            self.resource_type.display_name.clone(),
            self.resource.display_name.clone(),
            self.entitlement.slug.clone(),
        ]
    }
    fn json(&self) -> J {
        Obj::default()
            .msg("entitlement", Some(json::entitlement(&self.entitlement)))
            .msg("resource", Some(json::resource(&self.resource)))
            .msg(
                "resourceType",
                Some(json::resource_type(&self.resource_type)),
            )
            .done()
    }
}

/// A `baton grants` row (Go's `GrantOutput`).
pub struct GrantRow {
    grant: Grant,
    entitlement: Entitlement,
    resource: Resource,
    resource_type: ResourceType,
    principal: Resource,
}

impl Row for GrantRow {
    const HEADERS: &'static [&'static str] = &[
        "ID",
        "Resource Type",
        "Resource",
        "Entitlement",
        "Principal",
    ];
    const LIST_KEY: &'static str = "grants";
    fn cells(&self) -> Vec<String> {
        vec![
            self.grant.id.clone(),
            self.resource_type.display_name.clone(),
            self.resource.display_name.clone(),
            self.entitlement.display_name.clone(),
            self.principal.display_name.clone(),
        ]
    }
    fn json(&self) -> J {
        Obj::default()
            .msg("grant", Some(json::grant(&self.grant)))
            .msg("entitlement", Some(json::entitlement(&self.entitlement)))
            .msg("resource", Some(json::resource(&self.resource)))
            .msg(
                "resourceType",
                Some(json::resource_type(&self.resource_type)),
            )
            .msg("principal", Some(json::resource(&self.principal)))
            .done()
    }
}

impl Row for SyncRun {
    const HEADERS: &'static [&'static str] =
        &["ID", "Started At", "Ended At", "Type", "Parent ID", "Token"];
    const LIST_KEY: &'static str = "syncs";
    fn cells(&self) -> Vec<String> {
        // Unparseable times are shown as stored rather than hidden.
        let started = self
            .started()
            .map_or_else(|| self.started_at.clone(), |t| t.to_rfc3339(false));
        let ended = match (&self.ended_at, self.ended()) {
            (None, _) => "-".to_string(),
            (Some(_), Some(t)) => t.to_rfc3339(false),
            (Some(raw), None) => raw.clone(),
        };
        vec![
            self.sync_id.clone(),
            started,
            ended,
            self.sync_type.clone(),
            self.parent_sync_id.clone(),
            self.sync_token.clone(),
        ]
    }
    fn json(&self) -> J {
        let time =
            |t: Option<crate::c1z::timestamp::UnixTime>| t.map(|t| J::Str(t.to_rfc3339(true)));
        Obj::default()
            .str("id", &self.sync_id)
            .msg("startedAt", time(self.started()))
            .msg("endedAt", time(self.ended()))
            .str("syncToken", &self.sync_token)
            .str("syncType", &self.sync_type)
            .str("parentSyncId", &self.parent_sync_id)
            .done()
    }
}

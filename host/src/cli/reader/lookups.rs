//! Lookups that resolve what a listed object refers to, and the listings built on them.
//!
//! Each listing walks one table of the selected sync and, like Go's CLI, fetches the
//! objects a row refers to (resource type, parent, entitlement, principal) through small
//! caches. A reference to an object missing from the sync is printed as a placeholder such
//! as `MISSING RESOURCE (user:u1)`, with one warning on stderr per missing object, instead
//! of failing: the rest of the listing is still useful.

use super::rows::{EntitlementRow, GrantRow, ResourceRow, Sink};
use crate::c1z::proto::{Entitlement, Grant, GrantExpandable, Resource, ResourceId, ResourceType};
use crate::c1z::{C1zReader, EntitlementFilter, GrantFilter, ResourceFilter, SyncRun};
use anyhow::Result;
use std::collections::{HashMap, HashSet};

/// Cached objects per kind before a cache is reset (bounds memory on huge files).
const CACHE_LIMIT: usize = 100_000;

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

    /// The resource type with this id (a placeholder, with a warning, when missing).
    pub fn resource_type(&mut self, id: &str) -> Result<ResourceType> {
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

    /// The resource with this id (a placeholder, with a warning, when missing).
    pub fn resource(&mut self, id: Option<&ResourceId>) -> Result<Resource> {
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
            sink(self.resource_row(r?)?)?;
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
            sink(self.entitlement_row(e?)?)?;
        }
        Ok(())
    }

    /// Streams `baton grants` rows.
    pub fn grants(&mut self, filter: &GrantFilter, sink: Sink<'_, GrantRow>) -> Result<()> {
        for g in self.reader.grants(&self.sync_id, filter) {
            sink(self.grant_row(g?)?)?;
        }
        Ok(())
    }

    /// Streams `baton principals` rows: the principal of each grant matching `filter`, in
    /// grant order, each principal once (what Go's `principals` prints).
    pub fn principals(&mut self, filter: &GrantFilter, sink: Sink<'_, ResourceRow>) -> Result<()> {
        let mut seen = HashSet::new();
        for g in self.reader.grants(&self.sync_id, filter) {
            let grant = g?;
            let id = grant.principal.and_then(|p| p.id).unwrap_or_default();
            if seen.insert(id.key()) {
                let principal = self.resource(Some(&id))?;
                sink(self.resource_row(principal)?)?;
            }
        }
        Ok(())
    }

    /// A resource with its type and parent, as `baton resources` prints it.
    pub fn resource_row(&mut self, resource: Resource) -> Result<ResourceRow> {
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
        Ok(ResourceRow {
            resource,
            resource_type,
            parent,
        })
    }

    /// An entitlement with its resource and resource type, as `baton entitlements` prints it.
    pub fn entitlement_row(&mut self, entitlement: Entitlement) -> Result<EntitlementRow> {
        let rid = entitlement.resource.as_ref().and_then(|r| r.id.as_ref());
        let resource_type =
            self.resource_type(rid.map(|i| i.resource_type.as_str()).unwrap_or(""))?;
        let resource = self.resource(rid)?;
        Ok(EntitlementRow {
            entitlement,
            resource,
            resource_type,
        })
    }

    /// A grant with the objects it refers to, as `baton grants` prints it.
    pub fn grant_row(&mut self, mut grant: Grant) -> Result<GrantRow> {
        hide_expandable(&mut grant);
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
        Ok(GrantRow {
            grant,
            entitlement,
            resource,
            resource_type,
            principal,
        })
    }
}

/// Removes `GrantExpandable` annotations: Go's reader moves them out of grants written by
/// older SDKs (its backfill on open), so they never show up in Go's output.
pub fn hide_expandable(grant: &mut Grant) {
    let expandable = <GrantExpandable as prost::Name>::full_name();
    grant
        .annotations
        .retain(|a| crate::c1z::proto::any_type_name(a) != expandable);
}

//! Carries resources from another c1z into this sync (`--external-resource-c1z`).
//!
//! After the connector's own listings, the engine copies objects from the newest
//! finished sync of the external file into the sync being written, keeping their ids:
//!
//! * with an entitlement filter (`--external-resource-entitlement-id-filter`): that
//!   entitlement, its resource and the resource's type, every grant of it, and each
//!   grant's principal with the principal's type;
//! * without one: the resource types with a user or group trait, all their resources
//!   (the principals), the entitlements on those resources and the grants of them.
//!
//! The import runs after the connector's listings and the writer keeps the first copy of
//! an id, so where both have an object the synced copy wins (for resource types: the
//! connector's definition). Such overlaps are counted apart from the connector's repeats
//! ([`SyncCounts::external_overlaps`](crate::c1z::SyncCounts::external_overlaps)) and
//! reported at info level: two systems knowing one object is expected, not a paging fault.
//! References the external file itself cannot resolve are counted and warned about, never
//! invented.
//!
//! Not implemented: Baton's matching of external principals to the connector's own users
//! through `ExternalResourceMatch*` annotations, copying the parents of carried resources,
//! and grant expansion (a carried `GrantExpandable` grant is stored as it was read).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::SyncError;
use crate::c1z::proto::{resource_type::Trait, Entitlement, Grant, Resource, ResourceId};
use crate::c1z::{
    proto, C1zError, C1zReader, C1zWriter, EntitlementFilter, GrantFilter, ResourceFilter,
};

/// How many unresolvable references are quoted in the warning.
const MAX_EXAMPLES: usize = 5;

/// Another c1z whose resources a sync carries over, and which of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalResources {
    path: PathBuf,
    entitlement_filter: Option<String>,
}

/// What an import copied into the target sync.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounts {
    /// Resource types copied.
    pub resource_types: u64,
    /// Resources copied.
    pub resources: u64,
    /// Entitlements copied.
    pub entitlements: u64,
    /// Grants copied.
    pub grants: u64,
    /// Objects not copied because the target already had one with that id (its copy kept).
    pub overlaps: u64,
    /// References to objects the external file does not hold (not copied).
    pub missing: u64,
}

impl ExternalResources {
    /// Carry resources from the c1z at `path`; an empty filter means none, as in Baton.
    pub fn new(path: impl Into<PathBuf>, entitlement_filter: Option<String>) -> Self {
        ExternalResources {
            path: path.into(),
            entitlement_filter: entitlement_filter.filter(|f| !f.is_empty()),
        }
    }

    /// The external c1z.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The entitlement whose grants select what is carried, if any.
    pub fn entitlement_filter(&self) -> Option<&str> {
        self.entitlement_filter.as_deref()
    }

    /// Opens the file, picks its newest finished sync and resolves the filter: every check
    /// that can fail before the connector is asked for anything.
    pub fn open(&self) -> Result<ExternalSource, SyncError> {
        let reader = C1zReader::open(&self.path).map_err(|e| self.error(e))?;
        let sync = reader.select_sync(None).map_err(|e| self.error(e))?;
        if !sync.is_finished() {
            return Err(self.error(format!(
                "its newest sync {} is unfinished; only a finished sync can be carried over",
                sync.sync_id
            )));
        }
        let entitlement = match &self.entitlement_filter {
            None => None,
            Some(id) => Some(
                reader
                    .entitlement(&sync.sync_id, id)
                    .map_err(|e| self.error(e))?
                    .ok_or_else(|| {
                        self.error(format!(
                            "entitlement {id:?} (--external-resource-entitlement-id-filter) \
                             is not in its sync {}",
                            sync.sync_id
                        ))
                    })?,
            ),
        };
        Ok(ExternalSource {
            source: self.clone(),
            reader,
            sync_id: sync.sync_id,
            entitlement,
        })
    }

    /// Opens the file and imports from it into `writer` (see [`ExternalSource::import_into`]).
    pub fn import_into(&self, writer: &mut C1zWriter) -> Result<ImportCounts, SyncError> {
        self.open()?.import_into(writer)
    }

    fn error(&self, message: impl ToString) -> SyncError {
        SyncError::External {
            path: self.path.clone(),
            message: message.to_string(),
        }
    }
}

/// An external c1z, opened and checked, ready to import from.
pub struct ExternalSource {
    source: ExternalResources,
    reader: C1zReader,
    sync_id: String,
    /// The filter's entitlement, resolved when the file was opened.
    entitlement: Option<Entitlement>,
}

impl ExternalSource {
    /// The id of the external sync objects are copied from.
    pub fn sync_id(&self) -> &str {
        &self.sync_id
    }

    /// Copies the selected objects into `writer` and logs one summary line. On error the
    /// caller must drop the writer unfinished, which leaves the target file untouched.
    pub fn import_into(&self, writer: &mut C1zWriter) -> Result<ImportCounts, SyncError> {
        let started = Instant::now();
        writer.start_external_import();
        let mut import = Import {
            src: self,
            writer,
            counts: ImportCounts::default(),
            types_seen: HashSet::new(),
            resources_seen: HashSet::new(),
            examples: Vec::new(),
            first_overlap: None,
        };
        match &self.entitlement {
            Some(e) => import.by_entitlement(e)?,
            None => import.principals()?,
        }
        let Import {
            counts,
            examples,
            first_overlap,
            ..
        } = import;
        let file = self.source.path.display();
        if let Some(example) = first_overlap {
            tracing::info!(
                %file,
                external_overlaps = counts.overlaps,
                example = %example,
                "{} objects of the external c1z were already in this sync; the synced copy \
                 was kept, e.g. {example}",
                counts.overlaps
            );
        }
        if counts.missing > 0 {
            tracing::warn!(
                %file,
                missing = counts.missing,
                examples = ?examples,
                "the external c1z references objects it does not hold; they were not carried over"
            );
        }
        tracing::info!(
            %file,
            external_sync_id = %self.sync_id,
            entitlement_filter = self.source.entitlement_filter().unwrap_or(""),
            resource_types = counts.resource_types,
            resources = counts.resources,
            entitlements = counts.entitlements,
            grants = counts.grants,
            overlaps = counts.overlaps,
            missing = counts.missing,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "imported external resources"
        );
        Ok(counts)
    }

    /// Any error reading the external file names it.
    fn read_error(&self, e: C1zError) -> SyncError {
        self.source.error(e)
    }

    /// An object from the external file that the writer refuses names the file too; other
    /// writer errors (I/O, SQLite) concern the target and stay store errors.
    fn write_error(&self, e: C1zError) -> SyncError {
        match e {
            C1zError::Invalid { .. } => self.source.error(e),
            other => SyncError::Store(other),
        }
    }
}

/// One import in progress.
struct Import<'a> {
    src: &'a ExternalSource,
    writer: &'a mut C1zWriter,
    counts: ImportCounts,
    /// Resource types already handled (copied, kept as the connector's, or missing).
    types_seen: HashSet<String>,
    /// `type:id` keys of resources already handled by [`Import::resource_by_id`].
    resources_seen: HashSet<String>,
    examples: Vec<String>,
    /// The first object the target already had, named for the overlap report.
    first_overlap: Option<String>,
}

impl Import<'_> {
    /// The filter's entitlement with its resource, its grants and their principals.
    fn by_entitlement(&mut self, ent: &Entitlement) -> Result<(), SyncError> {
        let rid = ent.resource.as_ref().and_then(|r| r.id.as_ref());
        let rid = rid.ok_or_else(|| {
            self.src.source.error(format!(
                "entitlement {:?} names no resource it belongs to",
                ent.id
            ))
        })?;
        self.resource_by_id(rid, &format!("entitlement {}", ent.id))?;
        self.entitlement(ent)?;
        let filter = GrantFilter {
            entitlement_id: Some(ent.id.clone()),
            ..Default::default()
        };
        for g in self.src.reader.grants(&self.src.sync_id, &filter) {
            let g = g.map_err(|e| self.src.read_error(e))?;
            if let Some(pid) = g.principal.as_ref().and_then(|p| p.id.as_ref()) {
                self.resource_by_id(pid, &format!("grant {}", g.id))?;
            }
            // A grant without a principal is refused by the writer with a clear message.
            self.grant(&g)?;
        }
        Ok(())
    }

    /// All resources of user- and group-trait types, their entitlements and grants.
    fn principals(&mut self) -> Result<(), SyncError> {
        let sid = self.src.sync_id.as_str();
        let mut types = Vec::new();
        for rt in self.src.reader.resource_types(sid) {
            let rt = rt.map_err(|e| self.src.read_error(e))?;
            let principal = rt
                .traits
                .iter()
                .any(|&t| t == Trait::User as i32 || t == Trait::Group as i32);
            if principal {
                types.push(rt);
            }
        }
        for rt in &types {
            self.resource_type(rt)?;
        }
        let principal_type = |t: &str| types.iter().any(|rt| rt.id == t);
        for rt in &types {
            let filter = ResourceFilter {
                resource_type: Some(rt.id.clone()),
                ..Default::default()
            };
            for r in self.src.reader.resources(sid, &filter) {
                let r = r.map_err(|e| self.src.read_error(e))?;
                self.resource(&r)?;
            }
        }
        for rt in &types {
            let filter = EntitlementFilter {
                resource_type: Some(rt.id.clone()),
                ..Default::default()
            };
            for e in self.src.reader.entitlements(sid, &filter) {
                let e = e.map_err(|e| self.src.read_error(e))?;
                self.entitlement(&e)?;
            }
        }
        for rt in &types {
            let filter = GrantFilter {
                resource_type: Some(rt.id.clone()),
                ..Default::default()
            };
            for g in self.src.reader.grants(sid, &filter) {
                let g = g.map_err(|e| self.src.read_error(e))?;
                // Principals of other types (rare) are not among those copied above.
                if let Some(pid) = g.principal.as_ref().and_then(|p| p.id.as_ref()) {
                    if !principal_type(&pid.resource_type) {
                        self.resource_by_id(pid, &format!("grant {}", g.id))?;
                    }
                }
                self.grant(&g)?;
            }
        }
        Ok(())
    }

    /// Copies a resource type from the external file, once.
    fn resource_type_by_id(&mut self, id: &str, referrer: &str) -> Result<(), SyncError> {
        if self.types_seen.contains(id) {
            return Ok(());
        }
        match self
            .src
            .reader
            .resource_type(&self.src.sync_id, id)
            .map_err(|e| self.src.read_error(e))?
        {
            Some(rt) => self.resource_type(&rt),
            None => {
                self.types_seen.insert(id.to_string());
                self.missing(format!("{referrer}: resource type {id}"));
                Ok(())
            }
        }
    }

    fn resource_type(&mut self, rt: &proto::ResourceType) -> Result<(), SyncError> {
        self.types_seen.insert(rt.id.clone());
        let inserted = self
            .writer
            .put_resource_type(rt)
            .map_err(|e| self.src.write_error(e))?;
        if !inserted {
            tracing::debug!(
                resource_type = %rt.id,
                "the external c1z also defines this resource type; the connector's definition is kept"
            );
        }
        self.count(
            inserted,
            |c| &mut c.resource_types,
            || format!("resource type {}", rt.id),
        );
        Ok(())
    }

    /// Copies a resource (after its type) from the external file, once.
    fn resource_by_id(&mut self, id: &ResourceId, referrer: &str) -> Result<(), SyncError> {
        if !self.resources_seen.insert(id.key()) {
            return Ok(());
        }
        self.resource_type_by_id(&id.resource_type, referrer)?;
        match self
            .src
            .reader
            .resource(&self.src.sync_id, id)
            .map_err(|e| self.src.read_error(e))?
        {
            Some(r) => self.resource(&r),
            None => {
                self.missing(format!("{referrer}: resource {}", id.key()));
                Ok(())
            }
        }
    }

    fn resource(&mut self, r: &Resource) -> Result<(), SyncError> {
        let inserted = self
            .writer
            .put_resource(r)
            .map_err(|e| self.src.write_error(e))?;
        self.count(
            inserted,
            |c| &mut c.resources,
            || {
                let id = r.id.as_ref().map(ResourceId::key).unwrap_or_default();
                format!("resource {id}")
            },
        );
        Ok(())
    }

    fn entitlement(&mut self, e: &Entitlement) -> Result<(), SyncError> {
        let inserted = self
            .writer
            .put_entitlement(e)
            .map_err(|e| self.src.write_error(e))?;
        self.count(
            inserted,
            |c| &mut c.entitlements,
            || format!("entitlement {}", e.id),
        );
        Ok(())
    }

    fn grant(&mut self, g: &Grant) -> Result<(), SyncError> {
        let inserted = self
            .writer
            .put_grant(g)
            .map_err(|e| self.src.write_error(e))?;
        self.count(inserted, |c| &mut c.grants, || format!("grant {}", g.id));
        Ok(())
    }

    /// `name` is only called for the first overlap, so the others cost no formatting.
    fn count(
        &mut self,
        inserted: bool,
        field: impl FnOnce(&mut ImportCounts) -> &mut u64,
        name: impl FnOnce() -> String,
    ) {
        if inserted {
            *field(&mut self.counts) += 1;
        } else {
            self.counts.overlaps += 1;
            self.first_overlap.get_or_insert_with(name);
        }
    }

    fn missing(&mut self, what: String) {
        self.counts.missing += 1;
        if self.examples.len() < MAX_EXAMPLES {
            self.examples
                .push(format!("{what} is not in the external c1z"));
        }
    }
}

#[cfg(test)]
#[path = "external_tests.rs"]
mod tests;

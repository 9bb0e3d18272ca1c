//! The sync engine: drives a connector's paged listings into a c1z file.
//!
//! For each resource type the engine pages through `list-resources`; each
//! page is written to SQLite before the next is asked for, so memory does not
//! grow with tenant size. Types that declare `inline-listing` deliver their
//! entitlements and grants inside those pages; for the others the engine
//! pages `list-entitlements` and `list-grants` per resource, as Baton's
//! syncer does. The target file is replaced only when everything succeeded.

pub mod encode;
pub mod external;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::bindings::types::{ConnectorMetadata, Page, ResourceId, ResourceRecord};
use crate::c1z::{proto, C1zError, C1zWriter, SyncSummary};
use crate::runtime::{ConnectorInstance, RuntimeError};
use external::ExternalResources;

/// Why a sync failed. The previous c1z, if any, is untouched in every case.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The connector failed or crashed.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// The c1z could not be written.
    #[error(transparent)]
    Store(#[from] C1zError),
    /// The connector broke the contract (for example, it returned an
    /// entitlement on a resource it never listed).
    #[error("the connector broke the contract: {0}")]
    Contract(String),
    /// The `--external-resource-c1z` file could not be read, or does not hold what was asked.
    #[error("external resource c1z {}: {message}", path.display())]
    External {
        /// The external c1z.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// Which listing a page came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// `list-resources`.
    Resources,
    /// `list-entitlements`.
    Entitlements,
    /// `list-grants`.
    Grants,
}

/// Progress of a running sync, reported after every page.
#[derive(Debug, Clone)]
pub struct PageEvent<'a> {
    /// The resource type being listed.
    pub resource_type: &'a str,
    /// Which listing.
    pub listing: Listing,
    /// Items in this page (resources, entitlements and grants together).
    pub items: usize,
    /// Totals for this resource type so far.
    pub totals: &'a TypeStats,
    /// How long the connector took to produce the page.
    pub call: Duration,
    /// How long writing the page to the c1z took.
    pub write: Duration,
}

/// Counters for one resource type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypeStats {
    /// Pages received from the connector.
    pub pages: u64,
    /// Resources written.
    pub resources: u64,
    /// Entitlements written.
    pub entitlements: u64,
    /// Grants written.
    pub grants: u64,
    /// Items the connector returned more than once (kept once).
    pub duplicates: u64,
}

/// What a finished sync reports.
#[derive(Debug, Clone)]
pub struct SyncReport {
    /// What the c1z writer recorded.
    pub summary: SyncSummary,
    /// Per resource type, in the connector's order.
    pub per_type: Vec<(String, TypeStats)>,
    /// Wall time of the whole run.
    pub elapsed: Duration,
}

/// One sync of one connector instance into one target file.
pub struct SyncRun<'a> {
    instance: &'a mut ConnectorInstance,
    metadata: &'a ConnectorMetadata,
    writer: C1zWriter,
    resource_types: HashMap<String, proto::ResourceType>,
    observer: Option<&'a mut dyn FnMut(&PageEvent<'_>)>,
    external: Option<ExternalResources>,
}

impl<'a> SyncRun<'a> {
    /// Prepares a sync of a configured instance into `target`.
    pub fn new(
        instance: &'a mut ConnectorInstance,
        metadata: &'a ConnectorMetadata,
        target: &Path,
    ) -> Result<SyncRun<'a>, SyncError> {
        let writer = C1zWriter::create(target)?;
        let resource_types = metadata
            .resource_types
            .iter()
            .map(|rt| (rt.id.clone(), encode::resource_type(rt)))
            .collect();
        Ok(SyncRun {
            instance,
            metadata,
            writer,
            resource_types,
            observer: None,
            external: None,
        })
    }

    /// Calls `observer` after every page (for progress bars and tracing).
    pub fn with_observer(mut self, observer: &'a mut dyn FnMut(&PageEvent<'_>)) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Also carries resources from another c1z into this sync, after the connector's own.
    pub fn with_external(mut self, external: ExternalResources) -> Self {
        self.external = Some(external);
        self
    }

    /// Runs the sync to the end and replaces the target file.
    pub fn run(mut self) -> Result<SyncReport, SyncError> {
        let started = Instant::now();
        // Opened first, so a bad external file fails before any request is made.
        let external = self.external.as_ref().map(|e| e.open()).transpose()?;
        for rt in &self.metadata.resource_types {
            self.writer
                .put_resource_type(&self.resource_types[&rt.id])?;
        }
        let mut per_type = Vec::new();
        for rt in &self.metadata.resource_types {
            let mut stats = TypeStats::default();
            let per_resource = !rt.inline_listing;
            self.sync_type(
                &rt.id,
                per_resource && !rt.skip_entitlements,
                per_resource && !rt.skip_grants,
                &mut stats,
            )?;
            tracing::info!(
                resource_type = %rt.id,
                pages = stats.pages,
                resources = stats.resources,
                entitlements = stats.entitlements,
                grants = stats.grants,
                duplicates = stats.duplicates,
                "synced resource type"
            );
            per_type.push((rt.id.clone(), stats));
        }
        if let Some(external) = external {
            external.import_into(&mut self.writer)?;
        }
        let summary = self.writer.finish()?;
        Ok(SyncReport {
            summary,
            per_type,
            elapsed: started.elapsed(),
        })
    }

    fn sync_type(
        &mut self,
        resource_type: &str,
        list_entitlements: bool,
        list_grants: bool,
        stats: &mut TypeStats,
    ) -> Result<(), SyncError> {
        let mut token = String::new();
        loop {
            let started = Instant::now();
            let page = self.instance.list_resources(resource_type, None, &token)?;
            let call = started.elapsed();
            for r in &page.resources {
                if r.id.resource_type != resource_type {
                    return Err(SyncError::Contract(format!(
                        "listing `{resource_type}` returned resource {}:{}",
                        r.id.resource_type, r.id.resource
                    )));
                }
            }
            let ids: Vec<ResourceId> = page.resources.iter().map(|r| r.id.clone()).collect();
            let next = self.write_page(resource_type, Listing::Resources, page, call, stats)?;
            for id in &ids {
                if list_entitlements {
                    self.drain(resource_type, id, Listing::Entitlements, stats)?;
                }
                if list_grants {
                    self.drain(resource_type, id, Listing::Grants, stats)?;
                }
            }
            match next_token(&token, next, "list-resources")? {
                Some(t) => token = t,
                None => return Ok(()),
            }
        }
    }

    /// Pages a per-resource listing to its end.
    fn drain(
        &mut self,
        resource_type: &str,
        id: &ResourceId,
        listing: Listing,
        stats: &mut TypeStats,
    ) -> Result<(), SyncError> {
        let mut token = String::new();
        loop {
            let started = Instant::now();
            let page = match listing {
                Listing::Entitlements => self.instance.list_entitlements(id, &token)?,
                _ => self.instance.list_grants(id, &token)?,
            };
            let call = started.elapsed();
            let next = self.write_page(resource_type, listing, page, call, stats)?;
            let call = if listing == Listing::Entitlements {
                "list-entitlements"
            } else {
                "list-grants"
            };
            match next_token(&token, next, call)? {
                Some(t) => token = t,
                None => return Ok(()),
            }
        }
    }

    /// Writes one page; returns its next-page token.
    fn write_page(
        &mut self,
        resource_type: &str,
        listing: Listing,
        page: Page,
        call: Duration,
        stats: &mut TypeStats,
    ) -> Result<Option<String>, SyncError> {
        let started = Instant::now();
        stats.pages += 1;
        let items = page.resources.len() + page.entitlements.len() + page.grants.len();
        // Keyed by (type, id): entitlements usually arrive with their resource.
        let mut in_page: HashMap<(&str, &str), proto::Resource> = HashMap::new();
        for r in &page.resources {
            self.check_declared_type(r)?;
            let message = encode::resource(r);
            if self.writer.put_resource(&message)? {
                stats.resources += 1;
            } else {
                stats.duplicates += 1;
            }
            in_page.insert((&r.id.resource_type, &r.id.resource), message);
        }
        for e in &page.entitlements {
            let on = &e.id.resource;
            let resource = match in_page.get(&(on.resource_type.as_str(), on.resource.as_str())) {
                Some(r) => r.clone(),
                None => self
                    .writer
                    .get_resource(&encode::resource_id(on))?
                    .ok_or_else(|| {
                        SyncError::Contract(format!(
                            "entitlement `{}` is on resource {}:{}, which was not listed before it",
                            encode::entitlement_id(&e.id),
                            on.resource_type,
                            on.resource
                        ))
                    })?,
            };
            let grantable_to = e
                .grantable_to
                .iter()
                .map(|t| {
                    self.resource_types.get(t).cloned().ok_or_else(|| {
                        SyncError::Contract(format!(
                            "entitlement `{}` is grantable to unknown resource type `{t}`",
                            encode::entitlement_id(&e.id)
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            if self
                .writer
                .put_entitlement(&encode::entitlement(e, resource, grantable_to))?
            {
                stats.entitlements += 1;
            } else {
                stats.duplicates += 1;
            }
        }
        for g in &page.grants {
            if self.writer.put_grant(&encode::grant(g))? {
                stats.grants += 1;
            } else {
                stats.duplicates += 1;
            }
        }
        if let Some(observer) = self.observer.as_mut() {
            observer(&PageEvent {
                resource_type,
                listing,
                items,
                totals: stats,
                call,
                write: started.elapsed(),
            });
        }
        Ok(page.next_page_token)
    }

    fn check_declared_type(&self, r: &ResourceRecord) -> Result<(), SyncError> {
        if self.resource_types.contains_key(&r.id.resource_type) {
            Ok(())
        } else {
            Err(SyncError::Contract(format!(
                "resource {}:{} has a resource type the metadata does not declare",
                r.id.resource_type, r.id.resource
            )))
        }
    }
}

/// The next token, or `None` at the end. A connector that hands back the
/// token it was given would loop forever, so that is an error.
fn next_token(
    current: &str,
    next: Option<String>,
    call: &str,
) -> Result<Option<String>, SyncError> {
    match next {
        None => Ok(None),
        Some(t) if t.is_empty() => Ok(None),
        Some(t) if t == current => Err(SyncError::Contract(format!(
            "{call} returned the page token it was given (`{t}`); the listing would never end"
        ))),
        Some(t) => Ok(Some(t)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_token_ends_on_none_or_empty_and_refuses_a_repeat() {
        assert_eq!(next_token("", None, "x").unwrap(), None);
        assert_eq!(next_token("a", Some(String::new()), "x").unwrap(), None);
        assert_eq!(
            next_token("a", Some("b".into()), "x").unwrap(),
            Some("b".into())
        );
        let err = next_token("a", Some("a".into()), "list-resources").unwrap_err();
        assert!(err.to_string().contains("would never end"), "{err}");
    }
}

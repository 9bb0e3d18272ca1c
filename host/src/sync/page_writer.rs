//! [`PageWriter`]: turns connector pages into c1z rows, on a thread of its own.
//!
//! The sync engine hands each page over a small bounded queue, so the writer
//! encodes and inserts page *n* while the connector fetches and parses page
//! *n + 1*; the queue bound keeps memory flat whatever the tenant size.

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use super::checkpoint::Checkpoint;
use super::{encode, Listing, SyncError, TypeStats};
use crate::bindings::types::{Page, ResourceRecord};
use crate::c1z::{proto, C1zWriter};

/// Pages the engine may queue ahead of the writer: enough to ride out a slow
/// insert, few enough that memory stays flat.
pub(super) const QUEUE_PAGES: usize = 4;

/// One page on its way to the writer.
pub(super) struct QueuedPage {
    pub resource_type: String,
    pub listing: Listing,
    pub page: Page,
    /// When the connector call that produced it started, and how long it took.
    pub called_at: Instant,
    pub call: Duration,
}

/// What the engine sends the writer.
pub(super) enum Job {
    /// A page to write.
    Page(QueuedPage),
    /// Every page of this resource type was queued; echoed back as [`Done::Type`].
    TypeListed(String),
    /// The sync's checkpoint once the pages queued before it are written; the writer
    /// fills in what was written.
    Checkpoint(Box<Checkpoint>),
}

/// What the writer reports back, in queue order.
pub(super) enum Done {
    /// A page was written.
    Page(WrittenPage),
    /// Every page of this resource type was written.
    Type(String),
}

/// What writing one page did, sent back to the engine for its observer.
pub(super) struct WrittenPage {
    pub resource_type: String,
    pub listing: Listing,
    pub items: usize,
    /// What the type's pages written so far hold, this one included.
    pub totals: TypeStats,
    pub called_at: Instant,
    pub call: Duration,
    pub write: Duration,
}

/// Objects of one page that were stored, and repeats that were not.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct PageCounts {
    pub resources: u64,
    pub entitlements: u64,
    pub grants: u64,
    pub duplicates: u64,
}

/// Encodes and stores pages in order.
pub(super) struct PageWriter {
    pub writer: C1zWriter,
    pub resource_types: HashMap<String, proto::ResourceType>,
    /// What was written per resource type, a resumed sync's earlier runs included.
    pub written: BTreeMap<String, TypeStats>,
}

impl PageWriter {
    /// Writes queued pages until the engine closes the queue; reports each one on
    /// `done`. Waits for pages without holding a thread; each page is written on tokio's
    /// blocking pool, as SQLite blocks. Stops at the first error, which drops the queue
    /// so that the engine's next hand-over fails and it asks for this result.
    pub async fn run(
        mut self,
        mut queue: tokio::sync::mpsc::Receiver<Job>,
        done: Sender<Done>,
    ) -> Result<C1zWriter, SyncError> {
        while let Some(job) = queue.recv().await {
            let span = tracing::Span::current();
            let (back, handled) = tokio::task::spawn_blocking(move || {
                let _in_run = span.enter();
                let handled = self.handle(job);
                (self, handled)
            })
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
            self = back;
            // A closed `done` means the engine failed and no longer listens.
            if let Some(report) = handled? {
                let _ = done.send(report);
            }
        }
        Ok(self.writer)
    }

    /// Does one job; what to report back, if anything.
    fn handle(&mut self, job: Job) -> Result<Option<Done>, SyncError> {
        Ok(Some(match job {
            Job::Checkpoint(mut checkpoint) => {
                checkpoint.written = self.written.clone();
                self.writer.checkpoint(&checkpoint.to_token())?;
                return Ok(None);
            }
            Job::Page(queued) => {
                let started = Instant::now();
                let page = &queued.page;
                let items = page.resources.len() + page.entitlements.len() + page.grants.len();
                let counts = self.write(page)?;
                let tally = self
                    .written
                    .entry(queued.resource_type.clone())
                    .or_default();
                tally.pages += 1;
                tally.resources += counts.resources;
                tally.entitlements += counts.entitlements;
                tally.grants += counts.grants;
                tally.duplicates += counts.duplicates;
                if queued.listing == Listing::Resources && page.total_estimate.is_some() {
                    tally.total_estimate = page.total_estimate;
                }
                Done::Page(WrittenPage {
                    totals: tally.clone(),
                    resource_type: queued.resource_type,
                    listing: queued.listing,
                    items,
                    called_at: queued.called_at,
                    call: queued.call,
                    write: started.elapsed(),
                })
            }
            Job::TypeListed(resource_type) => Done::Type(resource_type),
        }))
    }

    /// Writes one page: its resources, then its entitlements, then its grants.
    /// An entitlement carries its resource when that is in this page or was
    /// written before, else only the resource's id (as grants do); if the
    /// resource never comes, the writer drops the entitlement at the end.
    fn write(&mut self, page: &Page) -> Result<PageCounts, SyncError> {
        let mut counts = PageCounts::default();
        let count = |stored: bool, field: &mut u64, duplicates: &mut u64| {
            if stored {
                *field += 1;
            } else {
                *duplicates += 1;
            }
        };
        // Keyed by (type, id): entitlements usually arrive with their resource.
        let mut in_page: HashMap<(&str, &str), proto::Resource> = HashMap::new();
        for r in &page.resources {
            self.check_declared_type(r)?;
            let message = encode::resource(r);
            let stored = self.writer.put_resource(&message)?;
            count(stored, &mut counts.resources, &mut counts.duplicates);
            in_page.insert((&r.id.resource_type, &r.id.resource), message);
        }
        for e in &page.entitlements {
            let on = &e.id.resource;
            let resource = match in_page.get(&(on.resource_type.as_str(), on.resource.as_str())) {
                Some(r) => r.clone(),
                None => {
                    let id = encode::resource_id(on);
                    self.writer
                        .get_resource(&id)?
                        .unwrap_or_else(|| proto::Resource {
                            id: Some(id),
                            ..Default::default()
                        })
                }
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
            let stored =
                self.writer
                    .put_entitlement(&encode::entitlement(e, resource, grantable_to))?;
            count(stored, &mut counts.entitlements, &mut counts.duplicates);
        }
        for g in &page.grants {
            let stored = self.writer.put_grant(&encode::grant(g))?;
            count(stored, &mut counts.grants, &mut counts.duplicates);
        }
        Ok(counts)
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

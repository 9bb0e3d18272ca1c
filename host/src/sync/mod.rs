//! The sync engine: drives a connector's paged listings into a c1z file.
//!
//! For each resource type the engine pages through `list-resources`; each
//! page goes to a writer thread through a short bounded queue, so SQLite
//! works while the connector fetches the next page and memory does not grow
//! with tenant size. Types that declare `inline-listing` deliver their
//! entitlements and grants inside those pages; for the others the engine
//! pages `list-entitlements` and `list-grants` per resource, as Baton's
//! syncer does. The target file is replaced only when everything succeeded.
//!
//! What a run may produce is bounded by the instance's [`RunPolicy`]: pages per listing
//! and objects per sync are counted here, the database size is enforced by SQLite in the
//! writer; reaching one stops the sync with [`SyncError::Limit`]. Objects that reference
//! objects missing from the sync are dropped when the writer finishes, and reported in
//! one warning.
//!
//! After every page the engine also queues a [`Checkpoint`] behind it. When the connector
//! fails part-way (an upstream error, a deadline, a cancellation), the pages written so far
//! are saved as an unfinished sync with that checkpoint ([`SyncError::Stopped`]), and the
//! next run into the same file resumes it under the same sync id, asking for no page it
//! already wrote.

pub mod checkpoint;
pub mod encode;
pub mod external;
mod page_writer;
mod progress;
mod task;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver};

use std::time::{Duration, Instant};
use tracing::Instrument;

use crate::bindings::types::{ConnectorMetadata, Page, ResourceId};
use crate::c1z::timestamp::UnixTime;
use crate::c1z::{proto, C1zError, C1zWriter, Dropped, History, SavedProgress, SyncSummary};
use crate::runtime::{ConnectorInstance, Limit, RunPolicy, RuntimeError};
use checkpoint::{Checkpoint, Drain, DrainListing, Position, SyncOwner};
use external::ExternalResources;
use page_writer::{Done, Job, PageWriter, QueuedPage, WrittenPage, QUEUE_PAGES};
pub use progress::{ProgressSnapshot, SyncProgress};
pub use task::{spawn, SyncHandle, SyncJob};

/// Why a sync failed. The previous c1z, if any, is untouched in every case.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The connector failed or crashed.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// The c1z could not be written.
    #[error(transparent)]
    Store(C1zError),
    /// The connector broke the contract (for example, it handed back the page token it
    /// was given).
    #[error("the connector broke the contract: {0}")]
    Contract(String),
    /// The sync reached a bound of its [`RunPolicy`] on what a run may produce
    /// ([`Limit::PagesPerListing`], [`Limit::Objects`] or [`Limit::DatabaseSize`]) and
    /// was stopped at once. The message names the `baton-notion` flag that sets it.
    #[error("{}", limit_message(.limit, .listing.as_deref()))]
    Limit {
        /// The bound reached, with its value.
        limit: Limit,
        /// The listing that reached it, for a page limit: `resource type user`,
        /// `entitlements of group:g1` or `grants of group:g1`.
        listing: Option<String>,
    },
    /// The connector failed part-way (`cause`: an upstream error, a deadline or a
    /// cancellation), after at least one page. What was written is saved in the target
    /// as an unfinished sync with its checkpoint, beside the earlier finished syncs; the
    /// next sync into the target resumes it.
    #[error(
        "{cause}; the sync stopped in {at}, and its progress is saved in {}: the next sync \
         into it resumes there",
        saved.path.display()
    )]
    Stopped {
        /// Why it stopped.
        cause: Box<SyncError>,
        /// Where ([`Checkpoint::describe`]).
        at: String,
        /// What was saved.
        saved: SavedProgress,
    },
    /// The error of a labelled run ([`RunPolicy::label`]): what went wrong, named by the
    /// run's label (`tenant-42: list-resources failed: ...`). [`SyncError::unlabelled`]
    /// gives the error inside.
    #[error("{label}: {error}")]
    Labelled {
        /// The run's label.
        label: String,
        /// What went wrong.
        error: Box<SyncError>,
    },
    /// The `--external-resource-c1z` file could not be read, or does not hold what was asked.
    #[error("external resource c1z {}: {message}", path.display())]
    External {
        /// The external c1z.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

impl SyncError {
    /// The error without the run's label, when it has one.
    pub fn unlabelled(&self) -> &SyncError {
        match self {
            SyncError::Labelled { error, .. } => error.unlabelled(),
            other => other,
        }
    }

    /// Names the run by `label`, if it has one, once: the label of a runtime error
    /// inside moves out to the sync error.
    pub(crate) fn labelled(self, label: Option<&str>) -> SyncError {
        match (label, self.without_runtime_label()) {
            (_, e @ SyncError::Labelled { .. }) | (None, e) => e,
            (Some(label), e) => SyncError::Labelled {
                label: label.to_string(),
                error: Box::new(e),
            },
        }
    }

    fn without_runtime_label(self) -> SyncError {
        match self {
            SyncError::Runtime(e) => SyncError::Runtime(e.into_unlabelled()),
            SyncError::Stopped { cause, at, saved } => SyncError::Stopped {
                cause: Box::new(cause.without_runtime_label()),
                at,
                saved,
            },
            other => other,
        }
    }

    /// Whether the sync may be resumed after this error: the connector failed upstream,
    /// hit a deadline or was cancelled. A broken contract, a sandbox breach or a bound on
    /// what a run may produce would only happen again.
    fn is_resumable(&self) -> bool {
        let unlabelled = match self {
            SyncError::Runtime(e) => e.unlabelled(),
            _ => return false,
        };
        matches!(
            unlabelled,
            RuntimeError::Connector { .. }
                | RuntimeError::Cancelled { .. }
                | RuntimeError::Limit {
                    limit: Limit::CallTime { .. } | Limit::RunTime { .. },
                    ..
                }
        )
    }
}

impl From<C1zError> for SyncError {
    /// A full database is the sync's size limit ([`RunPolicy::max_database_bytes`]).
    fn from(e: C1zError) -> SyncError {
        match e {
            C1zError::SizeLimit { bytes } => SyncError::Limit {
                limit: Limit::DatabaseSize { bytes },
                listing: None,
            },
            e => SyncError::Store(e),
        }
    }
}

/// The one-line message of [`SyncError::Limit`]: what happened, and the flag to change.
fn limit_message(limit: &Limit, listing: Option<&str>) -> String {
    let listing = listing.unwrap_or("one listing");
    match limit {
        Limit::PagesPerListing { pages } => format!(
            "the connector listed more than {pages} pages of {listing} (--max-pages-per-listing)"
        ),
        Limit::Objects { objects } => format!(
            "the connector returned more than {objects} objects in this sync (--max-objects)"
        ),
        Limit::DatabaseSize { .. } => {
            format!("the c1z being written reached {limit} (--max-database-size)")
        }
        other => format!("the sync exceeded {other}"),
    }
}

/// What [`SyncRun::with_observer`] calls after every page; `Send`, so that the sync can
/// run as a task on any thread.
pub type Observer<'a> = dyn FnMut(&PageEvent<'_>) + Send + 'a;

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
    /// When the connector call that produced the page started.
    pub called_at: Instant,
    /// How long the connector took to produce the page.
    pub call: Duration,
    /// How long writing the page to the c1z took (on the writer thread, so
    /// it overlaps the next calls).
    pub write: Duration,
}

/// Counters for one resource type.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
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
    /// Resources of this type the connector last said the listing holds
    /// (`page.total-estimate`); for progress only, it may change or lie.
    pub total_estimate: Option<u64>,
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
    /// Where the run resumed an unfinished sync of the target ([`Checkpoint::describe`]);
    /// `None` for a new sync.
    pub resumed_at: Option<String>,
}

/// One sync of one connector instance into one target file.
pub struct SyncRun<'a> {
    instance: &'a mut ConnectorInstance,
    metadata: &'a ConnectorMetadata,
    writer: C1zWriter,
    resource_types: HashMap<String, proto::ResourceType>,
    observer: Option<&'a mut Observer<'a>>,
    external: Option<ExternalResources>,
    resume: bool,
    progress: SyncProgress,
}

impl<'a> SyncRun<'a> {
    /// Prepares a sync of a configured instance into `target`, keeping the target's
    /// history as Baton does by default ([`History::default`]: the newest earlier finished
    /// full sync stays beside the new one).
    pub fn new(
        instance: &'a mut ConnectorInstance,
        metadata: &'a ConnectorMetadata,
        target: &Path,
    ) -> Result<SyncRun<'a>, SyncError> {
        SyncRun::with_history(instance, metadata, target, &History::default())
    }

    /// Prepares a sync into `target` that keeps the target's earlier syncs as `history`
    /// says. A target that cannot be read is refused here, before any request is sent.
    pub fn with_history(
        instance: &'a mut ConnectorInstance,
        metadata: &'a ConnectorMetadata,
        target: &Path,
        history: &History,
    ) -> Result<SyncRun<'a>, SyncError> {
        let mut writer = C1zWriter::create_with_history(target, history)?;
        writer.limit_size(instance.policy().max_database_bytes)?;
        let resource_types = metadata
            .resource_types
            .iter()
            .map(|rt| (rt.id.clone(), encode::resource_type(rt)))
            .collect();
        let (requests, retries) = instance.request_counters();
        Ok(SyncRun {
            instance,
            metadata,
            writer,
            resource_types,
            observer: None,
            external: None,
            resume: true,
            progress: SyncProgress::new(requests, retries),
        })
    }

    /// Feeds `progress` instead of a view of its own ([`spawn`] hands it out first).
    pub(crate) fn with_progress(mut self, progress: SyncProgress) -> Self {
        self.progress = progress;
        self
    }

    /// A live view of this sync for other threads: pages, objects, requests, retries
    /// and the resource type being listed.
    pub fn progress(&self) -> SyncProgress {
        self.progress.clone()
    }

    /// Starts a new sync even when the target holds an unfinished one this run could
    /// resume; the unfinished one is dropped (with a warning) when the new one is saved.
    pub fn without_resume(mut self) -> Self {
        self.resume = false;
        self
    }

    /// Calls `observer` after every page is written (for progress bars and tracing).
    pub fn with_observer(mut self, observer: &'a mut Observer<'a>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Also carries resources from another c1z into this sync, after the connector's own.
    pub fn with_external(mut self, external: ExternalResources) -> Self {
        self.external = Some(external);
        self
    }

    /// Runs the sync to the end and replaces the target file: [`list`](Self::list), then
    /// [`ListedSync::finish`].
    pub fn run(self) -> Result<SyncReport, SyncError> {
        crate::runtime::block_on(self.run_async())
    }

    /// [`run`](Self::run) for async callers: the connector's waits hold no thread, and
    /// SQLite's work runs on tokio's blocking pool.
    pub async fn run_async(self) -> Result<SyncReport, SyncError> {
        self.list_async().await?.finish_async().await
    }

    /// Drives the connector through every listing into the database; the last call into
    /// the connector is made here. A resumable failure after at least one page saves the
    /// progress into the target ([`SyncError::Stopped`]).
    ///
    /// The connector is driven by this task while a [`PageWriter`] task encodes and
    /// stores the pages behind a queue of [`QUEUE_PAGES`]. A labelled run's errors are
    /// [`SyncError::Labelled`].
    pub fn list(self) -> Result<ListedSync, SyncError> {
        crate::runtime::block_on(self.list_async())
    }

    /// [`list`](Self::list) for async callers.
    pub async fn list_async(self) -> Result<ListedSync, SyncError> {
        let label = self.instance.policy().label.clone();
        self.list_unlabelled()
            .await
            .map_err(|e| e.labelled(label.as_deref()))
    }

    /// [`list`](Self::list) without the run's label on its errors.
    async fn list_unlabelled(self) -> Result<ListedSync, SyncError> {
        let started = Instant::now();
        let SyncRun {
            instance,
            metadata,
            mut writer,
            resource_types,
            observer,
            external,
            resume,
            progress,
        } = self;
        let span = instance.span();
        let label = instance.policy().label.clone();
        // Only for the synchronous start: no await while it is entered.
        let in_run = span.enter();
        // Opened first, so a bad external file fails before any request is made.
        let external = external.as_ref().map(|e| e.open()).transpose()?;
        let owner = SyncOwner::of(metadata, instance.config_identity());
        let (start, resumed) = resume_point(&mut writer, resume, owner, metadata)?;
        let resumed_at = resumed.then(|| start.describe());
        if !resumed {
            for rt in &metadata.resource_types {
                writer.put_resource_type(&resource_types[&rt.id])?;
            }
        }
        let per_type: Vec<(String, TypeStats)> = metadata
            .resource_types
            .iter()
            .map(|rt| {
                let stats = start.written.get(&rt.id).cloned().unwrap_or_default();
                (rt.id.clone(), stats)
            })
            .collect();
        let page_writer = PageWriter {
            writer,
            resource_types,
            written: start.written.clone(),
        };
        drop(in_run);
        let (queue, jobs) = tokio::sync::mpsc::channel(QUEUE_PAGES);
        let (done_tx, done) = mpsc::channel();
        let writing = tokio::spawn(page_writer.run(jobs, done_tx).instrument(span.clone()));
        let bounds = Bounds::of(instance.policy());
        let mut engine = Engine {
            instance,
            bounds,
            queue: Some(queue),
            done,
            observer,
            per_type,
            checkpoint: start,
            pages_this_run: 0,
            progress,
        };
        let listed = match engine.list_all(metadata).instrument(span.clone()).await {
            Ok(()) => Ok(()),
            Err(e) => Err((e, engine.progress())),
        };
        // Closing the queue lets the writer finish what is queued and stop.
        engine.queue = None;
        let written = writing
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        span.in_scope(|| engine.report_written());
        let per_type = engine.per_type;
        // The writer's error explains a refused hand-over; otherwise the connector's comes first.
        let writer = written?;
        if let Err((e, progress)) = listed {
            let span = span.clone();
            let saving = tokio::task::spawn_blocking(move || {
                let _in_run = span.enter();
                save_progress(writer, e, progress)
            });
            return Err(saving
                .await
                .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic())));
        }
        Ok(ListedSync {
            writer,
            external,
            per_type,
            started,
            resumed_at,
            span: span.clone(),
            label,
        })
    }
}

/// A sync whose listings are all written ([`SyncRun::list`]); what is left makes no call
/// into the connector.
pub struct ListedSync {
    writer: C1zWriter,
    external: Option<external::ExternalSource>,
    per_type: Vec<(String, TypeStats)>,
    started: Instant,
    resumed_at: Option<String>,
    span: tracing::Span,
    label: Option<String>,
}

impl ListedSync {
    /// [`finish`](Self::finish) for async callers: on tokio's blocking pool.
    pub async fn finish_async(self) -> Result<SyncReport, SyncError> {
        tokio::task::spawn_blocking(move || self.finish())
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }

    /// Imports the external resources, finishes the c1z and replaces the target with it.
    pub fn finish(self) -> Result<SyncReport, SyncError> {
        let label = self.label.clone();
        self.finish_unlabelled()
            .map_err(|e| e.labelled(label.as_deref()))
    }

    fn finish_unlabelled(self) -> Result<SyncReport, SyncError> {
        let ListedSync {
            mut writer,
            external,
            per_type,
            started,
            resumed_at,
            span,
            label: _,
        } = self;
        let _in_run = span.enter();
        // After the listings: the writer keeps the first copy of an id, so the synced copy
        // of an object also in the external file wins, as the README promises.
        if let Some(external) = external {
            external.import_into(&mut writer)?;
        }
        let summary = writer.finish()?;
        warn_dropped(&summary.dropped);
        // A large sync frees tens of MiB at once; small ones leave it to the platform
        // (`runtime::release_memory`), as a trim after each costs more than it returns.
        if summary.db_bytes >= RELEASE_AFTER_DB_BYTES {
            crate::runtime::release_memory();
        }
        Ok(SyncReport {
            summary,
            per_type,
            elapsed: started.elapsed(),
            resumed_at,
        })
    }
}

/// Where a sync starts: the checkpoint of the target's unfinished sync when it may be
/// resumed (then the writer continues it, and this says `true`), else the start. An unfinished sync that is not resumed is dropped, with a warning that
/// says why.
fn resume_point(
    writer: &mut C1zWriter,
    resume: bool,
    owner: SyncOwner,
    metadata: &ConnectorMetadata,
) -> Result<(Checkpoint, bool), SyncError> {
    let Some(unfinished) = writer.unfinished() else {
        return Ok((Checkpoint::start(owner), false));
    };
    let sync_id = unfinished.sync_id.clone();
    let verdict = if resume {
        Checkpoint::resumable(unfinished, &owner, metadata, UnixTime::now())
    } else {
        Err("a fresh sync was asked for (--fresh-sync)".to_string())
    };
    match verdict {
        Ok(checkpoint) => {
            tracing::info!(
                sync_id = %sync_id,
                started_at = %unfinished.started_at,
                "resuming the unfinished sync {sync_id} at {}",
                checkpoint.describe()
            );
            let duplicates = checkpoint.written.values().map(|s| s.duplicates).sum();
            writer.resume_unfinished(duplicates)?;
            Ok((checkpoint, true))
        }
        Err(why) => {
            tracing::warn!(
                sync_id = %sync_id,
                "dropping the unfinished sync {sync_id} in the c1z: {why}; starting a new sync"
            );
            Ok((Checkpoint::start(owner), false))
        }
    }
}

/// Saves what the sync wrote when it stopped on an error it may be resumed after, and
/// returns the error to report: [`SyncError::Stopped`] once saved, else `error` (the
/// target then stays as it was).
fn save_progress(writer: C1zWriter, error: SyncError, progress: Option<String>) -> SyncError {
    let Some(at) = progress.filter(|_| error.is_resumable()) else {
        return error;
    };
    match writer.save_unfinished() {
        Ok(saved) => {
            tracing::debug!(sync_id = %saved.sync_id, "saved the unfinished sync");
            SyncError::Stopped {
                cause: Box::new(error),
                at,
                saved,
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "the sync's progress could not be saved");
            error
        }
    }
}

/// A sync whose database reached this size hands the memory it freed back at its end.
const RELEASE_AFTER_DB_BYTES: u64 = 32 << 20;

/// Logs one warning for the objects the writer dropped, e.g. `dropped 3 grants
/// referencing objects not in this sync, e.g. grant …: principal user:u9 is not in the
/// sync`. A Notion group member who is not a listed user (a guest) lands here.
fn warn_dropped(dropped: &Dropped) {
    if dropped.total() == 0 {
        return;
    }
    let kinds: Vec<String> = [
        (dropped.resources, "resource", "resources"),
        (dropped.entitlements, "entitlement", "entitlements"),
        (dropped.grants, "grant", "grants"),
    ]
    .into_iter()
    .filter(|(n, _, _)| *n > 0)
    .map(|(n, one, many)| format!("{n} {}", if n == 1 { one } else { many }))
    .collect();
    let kinds = match kinds.as_slice() {
        [.., last] if kinds.len() > 1 => {
            format!("{} and {last}", kinds[..kinds.len() - 1].join(", "))
        }
        _ => kinds.join(""),
    };
    let example = dropped.examples.first().map(String::as_str).unwrap_or("");
    tracing::warn!(
        dropped_resources = dropped.resources,
        dropped_entitlements = dropped.entitlements,
        dropped_grants = dropped.grants,
        examples = ?dropped.examples,
        "dropped {kinds} referencing objects not in this sync, e.g. {example}"
    );
}

/// The bounds of [`RunPolicy`] that the engine counts against.
struct Bounds {
    pages_per_listing: u64,
    objects: u64,
}

impl Bounds {
    fn of(policy: &RunPolicy) -> Bounds {
        Bounds {
            pages_per_listing: policy.max_pages_per_listing,
            objects: policy.max_objects,
        }
    }
}

/// The connector side of a running sync: pages listings and queues each page
/// for the writer thread.
struct Engine<'a, 'o> {
    instance: &'a mut ConnectorInstance,
    bounds: Bounds,
    /// Where the sync stands; its `objects` counts what the connector returned so far,
    /// repeats included.
    checkpoint: Checkpoint,
    /// Pages queued by this run (not those of a resumed run before it).
    pages_this_run: u64,
    progress: SyncProgress,
    /// `None` once closed.
    queue: Option<tokio::sync::mpsc::Sender<Job>>,
    done: Receiver<Done>,
    observer: Option<&'o mut Observer<'o>>,
    per_type: Vec<(String, TypeStats)>,
}

impl Engine<'_, '_> {
    async fn list_all(&mut self, metadata: &ConnectorMetadata) -> Result<(), SyncError> {
        for rt in &metadata.resource_types {
            if self.checkpoint.done.contains(&rt.id) {
                continue;
            }
            let at = match self.checkpoint.at.take() {
                Some(at) if at.resource_type == rt.id => at,
                _ => Position::start(&rt.id),
            };
            let per_resource = !rt.inline_listing;
            self.checkpoint.at = Some(at);
            self.progress.listing(Some(&rt.id));
            self.sync_type(
                &rt.id,
                per_resource && !rt.skip_entitlements,
                per_resource && !rt.skip_grants,
            )
            .await?;
            self.checkpoint.at = None;
            self.checkpoint.done.push(rt.id.clone());
            self.hand_over(Job::Checkpoint(Box::new(self.checkpoint.clone())))
                .await?;
            self.hand_over(Job::TypeListed(rt.id.clone())).await?;
        }
        self.progress.listing(None);
        Ok(())
    }

    /// Where the sync stands when this run has queued at least one page; `None` before.
    fn progress(&self) -> Option<String> {
        (self.pages_this_run > 0).then(|| self.checkpoint.describe())
    }

    fn position(&mut self) -> &mut Position {
        self.checkpoint
            .at
            .as_mut()
            .expect("set while a type is listed")
    }

    /// Lists a resource type from where `checkpoint.at` stands to its end: the per-resource
    /// listings of the last page's resources first, then the next page of resources.
    async fn sync_type(
        &mut self,
        resource_type: &str,
        list_entitlements: bool,
        list_grants: bool,
    ) -> Result<(), SyncError> {
        if !list_entitlements && !list_grants {
            self.position().pending.clear();
        }
        loop {
            while let Some(id) = self.position().first_pending() {
                self.drain(resource_type, &id, list_entitlements, list_grants)
                    .await?;
            }
            let Some(token) = self.position().next.clone() else {
                return Ok(());
            };
            let pages = self.position().pages;
            if pages > 0 {
                self.check_pages(pages, || format!("resource type {resource_type}"))?;
            }
            let called_at = Instant::now();
            let mut page = self
                .instance
                .list_resources_async(resource_type, None, &token)
                .await?;
            let call = called_at.elapsed();
            for r in &page.resources {
                if r.id.resource_type != resource_type {
                    return Err(SyncError::Contract(format!(
                        "listing `{resource_type}` returned resource {}:{}",
                        r.id.resource_type, r.id.resource
                    )));
                }
            }
            let next = next_token(&token, page.next_page_token.take(), "list-resources")?;
            let position = self.position();
            position.pages += 1;
            position.next = next;
            if list_entitlements || list_grants {
                position.pending = page
                    .resources
                    .iter()
                    .map(|r| (r.id.resource_type.clone(), r.id.resource.clone()))
                    .collect();
            }
            self.queue_page(resource_type, Listing::Resources, page, called_at, call)
                .await?;
        }
    }

    /// Pages the per-resource listings of `id`, the first pending resource, from where
    /// they stand to their end, and takes it off the pending list.
    async fn drain(
        &mut self,
        resource_type: &str,
        id: &ResourceId,
        list_entitlements: bool,
        list_grants: bool,
    ) -> Result<(), SyncError> {
        loop {
            let drain = self.position().drain.clone().unwrap_or(Drain {
                listing: if list_entitlements {
                    DrainListing::Entitlements
                } else {
                    DrainListing::Grants
                },
                token: String::new(),
                pages: 0,
            });
            let (listing, call_name, what) = match drain.listing {
                DrainListing::Entitlements => {
                    (Listing::Entitlements, "list-entitlements", "entitlements")
                }
                DrainListing::Grants => (Listing::Grants, "list-grants", "grants"),
            };
            if drain.pages > 0 {
                self.check_pages(drain.pages, || {
                    format!("{what} of {}:{}", id.resource_type, id.resource)
                })?;
            }
            let called_at = Instant::now();
            let mut page = match drain.listing {
                DrainListing::Entitlements => {
                    self.instance
                        .list_entitlements_async(id, &drain.token)
                        .await?
                }
                DrainListing::Grants => self.instance.list_grants_async(id, &drain.token).await?,
            };
            let call = called_at.elapsed();
            let next = next_token(&drain.token, page.next_page_token.take(), call_name)?;
            let position = self.position();
            let finished = match next {
                Some(token) => {
                    position.drain = Some(Drain {
                        token,
                        pages: drain.pages + 1,
                        ..drain
                    });
                    false
                }
                None if drain.listing == DrainListing::Entitlements && list_grants => {
                    position.drain = Some(Drain {
                        listing: DrainListing::Grants,
                        token: String::new(),
                        pages: 0,
                    });
                    false
                }
                None => {
                    position.drain = None;
                    position.pending.remove(0);
                    true
                }
            };
            self.queue_page(resource_type, listing, page, called_at, call)
                .await?;
            if finished {
                return Ok(());
            }
        }
    }

    /// Refuses to ask for another page after `pages` pages of one listing when that is
    /// the limit: a component that hands out a new token forever is stopped here.
    fn check_pages(&self, pages: u64, listing: impl FnOnce() -> String) -> Result<(), SyncError> {
        if pages < self.bounds.pages_per_listing {
            return Ok(());
        }
        Err(SyncError::Limit {
            limit: Limit::PagesPerListing {
                pages: self.bounds.pages_per_listing,
            },
            listing: Some(listing()),
        })
    }

    async fn queue_page(
        &mut self,
        resource_type: &str,
        listing: Listing,
        page: Page,
        called_at: Instant,
        call: Duration,
    ) -> Result<(), SyncError> {
        // Counted before the page is written: the page that would pass the limit is not.
        let items = page.resources.len() + page.entitlements.len() + page.grants.len();
        self.checkpoint.objects = self.checkpoint.objects.saturating_add(items as u64);
        if self.checkpoint.objects > self.bounds.objects {
            return Err(SyncError::Limit {
                limit: Limit::Objects {
                    objects: self.bounds.objects,
                },
                listing: None,
            });
        }
        self.hand_over(Job::Page(QueuedPage {
            resource_type: resource_type.to_string(),
            listing,
            page,
            called_at,
            call,
        }))
        .await?;
        self.pages_this_run += 1;
        // Behind its page, so the writer records it once the page is stored.
        self.hand_over(Job::Checkpoint(Box::new(self.checkpoint.clone())))
            .await?;
        self.report_written();
        Ok(())
    }

    /// Queues a job; waits while the queue is full.
    async fn hand_over(&mut self, job: Job) -> Result<(), SyncError> {
        let queue = self.queue.as_ref().expect("open while listing");
        // A refusal means the writer stopped on an error, which `run` returns.
        queue
            .send(job)
            .await
            .map_err(|_| SyncError::Contract("the c1z writer stopped".into()))
    }

    /// Counts what the writer has written so far and tells the observer. Once the writer
    /// has finished, this reads everything it did.
    fn report_written(&mut self) {
        while let Ok(done) = self.done.try_recv() {
            match done {
                Done::Page(page) => self.count(&page),
                Done::Type(resource_type) => {
                    let stats = self.stats(&resource_type);
                    tracing::info!(
                        resource_type = %resource_type,
                        pages = stats.pages,
                        resources = stats.resources,
                        entitlements = stats.entitlements,
                        grants = stats.grants,
                        duplicates = stats.duplicates,
                        "synced resource type"
                    );
                }
            }
        }
    }

    fn count(&mut self, page: &WrittenPage) {
        self.progress.page_written(page.items as u64);
        let stats = self.stats_mut(&page.resource_type);
        *stats = page.totals.clone();
        if let Some(observer) = self.observer.as_mut() {
            observer(&PageEvent {
                resource_type: &page.resource_type,
                listing: page.listing,
                items: page.items,
                totals: &page.totals,
                called_at: page.called_at,
                call: page.call,
                write: page.write,
            });
        }
    }

    fn stats(&self, resource_type: &str) -> TypeStats {
        self.per_type
            .iter()
            .find(|(t, _)| t == resource_type)
            .map(|(_, s)| s.clone())
            .unwrap_or_default()
    }

    fn stats_mut(&mut self, resource_type: &str) -> &mut TypeStats {
        if let Some(i) = self.per_type.iter().position(|(t, _)| t == resource_type) {
            return &mut self.per_type[i].1;
        }
        self.per_type
            .push((resource_type.to_string(), TypeStats::default()));
        &mut self.per_type.last_mut().expect("pushed").1
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

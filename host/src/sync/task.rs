//! [`spawn`]: a sync started as a task on the caller's tokio runtime, for a platform
//! that runs many tenants at once. A sync waiting on its upstream or on its rate limiter
//! holds no thread, so thousands of paced syncs share the runtime's few worker threads;
//! SQLite's work goes to tokio's blocking pool one page at a time.

use std::path::PathBuf;

use tokio::task::JoinHandle;

use super::{ProgressSnapshot, SyncError, SyncProgress, SyncReport, SyncRun};
use crate::bindings::types::ConnectorMetadata;
use crate::c1z::History;
use crate::runtime::{Canceller, ConnectorInstance};

/// What [`spawn`] needs: a configured instance (validated or not) and where to write.
pub struct SyncJob {
    /// The connector instance, configured; the task owns it until the sync ends.
    pub instance: ConnectorInstance,
    /// Its metadata ([`ConnectorInstance::metadata`]).
    pub metadata: ConnectorMetadata,
    /// The c1z file to sync into.
    pub target: PathBuf,
    /// How the target's earlier syncs are kept.
    pub history: History,
    /// Whether to resume an unfinished sync of the target ([`SyncRun::without_resume`]).
    pub resume: bool,
}

impl SyncJob {
    /// A job that keeps Baton's default history and resumes an unfinished sync.
    pub fn new(instance: ConnectorInstance, metadata: ConnectorMetadata, target: PathBuf) -> Self {
        SyncJob {
            instance,
            metadata,
            target,
            history: History::default(),
            resume: true,
        }
    }
}

/// A running sync: await it, cancel it, or read its progress.
pub struct SyncHandle {
    task: JoinHandle<Result<SyncReport, SyncError>>,
    canceller: Canceller,
    progress: SyncProgress,
}

/// Starts `job` as a task on the current tokio runtime (it must be called from within
/// one). The run's label ([`RunPolicy::label`](crate::runtime::RunPolicy::label)) names
/// its log lines and its error.
pub fn spawn(job: SyncJob) -> SyncHandle {
    let canceller = job.instance.canceller();
    let (requests, retries) = job.instance.request_counters();
    let progress = SyncProgress::new(requests, retries);
    let seen = progress.clone();
    let task = tokio::spawn(async move {
        let SyncJob {
            mut instance,
            metadata,
            target,
            history,
            resume,
        } = job;
        let label = instance.policy().label.clone();
        let run = SyncRun::with_history(&mut instance, &metadata, &target, &history)
            .map_err(|e| e.labelled(label.as_deref()))?
            .with_progress(seen);
        let run = if resume { run } else { run.without_resume() };
        run.run_async().await
    });
    SyncHandle {
        task,
        canceller,
        progress,
    }
}

impl SyncHandle {
    /// Cancels the sync: it stops within a tick (10 ms), or at once when it waits. A
    /// sync that had written a page saves its progress ([`SyncError::Stopped`]).
    pub fn cancel(&self) {
        self.canceller.cancel();
    }

    /// Where the sync stands.
    pub fn progress(&self) -> ProgressSnapshot {
        self.progress.snapshot()
    }

    /// Whether the sync has ended (its result is ready for [`wait`](Self::wait)).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Waits for the sync to end.
    pub async fn wait(self) -> Result<SyncReport, SyncError> {
        self.task
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }
}

//! [`SyncProgress`]: a running sync seen from another thread, as a platform's dashboard
//! or an operator's "how far is tenant 42?" needs it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A live view of one sync ([`SyncRun::progress`](super::SyncRun::progress)); clones
/// share it, and any thread may read it while the sync runs.
#[derive(Debug, Clone)]
pub struct SyncProgress {
    state: Arc<State>,
    requests: Arc<AtomicU64>,
    retries: Arc<AtomicU64>,
}

#[derive(Debug, Default)]
struct State {
    pages: AtomicU64,
    objects: AtomicU64,
    resource_type: Mutex<Option<String>>,
}

/// What [`SyncProgress::snapshot`] reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProgressSnapshot {
    /// Pages written so far (a resumed sync's earlier pages not included).
    pub pages: u64,
    /// Resources, entitlements and grants in those pages.
    pub objects: u64,
    /// Requests the connector sent, each retry counted.
    pub requests: u64,
    /// Of those, retries.
    pub retries: u64,
    /// The resource type being listed; `None` before the first and after the last.
    pub resource_type: Option<String>,
}

impl SyncProgress {
    /// A view fed by the engine, with the instance's request counters.
    pub(crate) fn new(requests: Arc<AtomicU64>, retries: Arc<AtomicU64>) -> SyncProgress {
        SyncProgress {
            state: Arc::default(),
            requests,
            retries,
        }
    }

    /// Where the sync is now.
    pub fn snapshot(&self) -> ProgressSnapshot {
        ProgressSnapshot {
            pages: self.state.pages.load(Ordering::Relaxed),
            objects: self.state.objects.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            resource_type: self
                .state
                .resource_type
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }

    /// Counts a written page of `items` objects.
    pub(crate) fn page_written(&self, items: u64) {
        self.state.pages.fetch_add(1, Ordering::Relaxed);
        self.state.objects.fetch_add(items, Ordering::Relaxed);
    }

    /// Records the resource type being listed.
    pub(crate) fn listing(&self, resource_type: Option<&str>) {
        *self
            .state
            .resource_type
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = resource_type.map(str::to_string);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_reads_what_the_engine_and_the_instance_counted() {
        let (requests, retries) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let progress = SyncProgress::new(requests.clone(), retries.clone());
        let seen = progress.clone();
        assert_eq!(seen.snapshot(), ProgressSnapshot::default());
        progress.listing(Some("user"));
        progress.page_written(150);
        progress.page_written(50);
        requests.store(3, Ordering::Relaxed);
        retries.store(1, Ordering::Relaxed);
        assert_eq!(
            seen.snapshot(),
            ProgressSnapshot {
                pages: 2,
                objects: 200,
                requests: 3,
                retries: 1,
                resource_type: Some("user".into()),
            }
        );
        progress.listing(None);
        assert_eq!(seen.snapshot().resource_type, None);
    }
}

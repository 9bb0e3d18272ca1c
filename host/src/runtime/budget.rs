//! What a platform bounds across all the runs of one [`Runtime`](super::Runtime)
//! ([`RuntimeOptions`]): requests in flight, and runs in progress. Past either, the
//! request or the run waits for its turn instead of failing, without holding a thread; each run's own limits
//! ([`RunPolicy`](super::RunPolicy)) still apply inside that.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::cancel::Canceller;

/// How a [`Runtime`](super::Runtime) is set up: process-wide budgets and the engine's
/// memory layout. The defaults are the CLI's: no budget, wasmtime's on-demand allocator
/// and its default address-space reservation.
#[derive(Debug, Clone, Default)]
pub struct RuntimeOptions {
    /// Outgoing requests in flight across all runs at once, from sending until the
    /// response body ends. A request beyond it waits (its wait counts against the call's
    /// time limit). `None`: only each run's own `max_concurrent_requests`.
    pub max_requests_in_flight: Option<usize>,
    /// Runs in progress at once. A run enters at its instance's first call that may
    /// send a request (not `metadata` or `configure`) and leaves when the instance is
    /// dropped; a run beyond it waits there, holding no thread, and its run clock starts
    /// only once it enters. `None`: no bound.
    pub max_runs_in_progress: Option<usize>,
    /// Instances allocated from wasmtime's pooling allocator with this many slots
    /// (component instances; memories and tables are sized to match), instead of
    /// on demand. Faster instantiation for many short runs, at the price of reserving
    /// the whole pool's address space up front. An instantiation beyond the pool fails.
    pub pooling_instances: Option<u32>,
    /// Bytes of virtual address space reserved per linear memory (wasmtime's
    /// `memory_reservation`). `None`: wasmtime's default (4 GiB on 64-bit, which makes
    /// bounds checks free); smaller values let more instances live at once on a host
    /// with a bounded address space, at some cost per memory access. Without pooling a
    /// memory that outgrows it moves; with pooling it is also the most a guest's memory
    /// can grow to, so keep it at or above `RunPolicy::memory_limit`.
    pub memory_reservation: Option<u64>,
}

/// The budgets shared by the instances of one runtime.
#[derive(Debug, Default)]
pub(crate) struct Budget {
    /// Slots for requests in flight.
    pub(crate) requests: Option<Arc<Semaphore>>,
    /// Places for runs in progress.
    runs: Option<Arc<Semaphore>>,
}

impl Budget {
    pub(crate) fn new(options: &RuntimeOptions) -> Budget {
        let slots = |n: Option<usize>| n.map(|n| Arc::new(Semaphore::new(n.max(1))));
        Budget {
            requests: slots(options.max_requests_in_flight),
            runs: slots(options.max_runs_in_progress),
        }
    }

    /// Waits until a run may start, without holding a thread; `Ok(None)` when runs are
    /// not bounded, `Err` when the run was cancelled while it waited.
    pub(crate) async fn enter_run(&self, canceller: &Canceller) -> Result<Option<RunTicket>, ()> {
        let Some(runs) = &self.runs else {
            return Ok(None);
        };
        tokio::select! {
            permit = runs.clone().acquire_owned() => {
                permit.map(|p| Some(RunTicket { _place: p })).map_err(|_| ())
            }
            () = canceller.cancelled() => Err(()),
        }
    }
}

/// A run's place among those in progress; given back when the instance is dropped.
#[derive(Debug)]
pub(crate) struct RunTicket {
    _place: OwnedSemaphorePermit,
}

//! Stopping a run from outside its thread: an operator cancelling one
//! tenant, or a platform shutting down. [`Canceller::cancel`] stops guest
//! code at the next epoch tick (10 ms) and a guest waiting in
//! `wasi:io/poll` at once; the call fails with
//! [`RuntimeError::Cancelled`](super::RuntimeError::Cancelled), and so does
//! every later call of the instance.

use std::fmt;

use tokio::sync::watch;

/// Cancels one instance's run; clones cancel the same run. Send it to
/// whichever thread may decide to stop the run.
#[derive(Debug, Clone)]
pub struct Canceller(watch::Sender<bool>);

impl Canceller {
    pub(crate) fn new() -> Canceller {
        Canceller(watch::Sender::new(false))
    }

    /// Cancels the run. Idempotent; there is no undo.
    pub fn cancel(&self) {
        self.0.send_replace(true);
    }

    /// Whether the run was cancelled.
    pub fn is_cancelled(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once the run is cancelled (at once if it already is).
    pub(crate) async fn cancelled(&self) {
        let mut receiver = self.0.subscribe();
        // Only an error if the sender is gone, and `self` holds it.
        let _ = receiver.wait_for(|cancelled| *cancelled).await;
    }
}

/// The error a cancellation raises inside wasmtime; it ends the call as a trap.
#[derive(Debug)]
pub(crate) struct CancelTrap;

impl fmt::Display for CancelTrap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the run was cancelled")
    }
}

impl std::error::Error for CancelTrap {}

//! `wasi:io` functions that the host replaces in the linker for the guest.
//!
//! - `wasi:io/poll`: the standard implementation, cut off at the current
//!   call's deadline with a trap that names the limit. Without it a guest
//!   could sleep in the host (a long timer) beyond every time limit, since
//!   epoch interruption only acts in guest code.
//! - `wasi:io/error.to-debug-string`: the error's message chain only. The
//!   standard text is the host-side `Debug` form, which carries a host
//!   backtrace (source paths, frames) whenever `RUST_BACKTRACE` is set.

use std::time::Instant;

use wasmtime::component::{HasData, Linker, Resource, ResourceTable};
use wasmtime_wasi::p2::bindings::io::error as io_error;
use wasmtime_wasi::p2::bindings::io::poll;
use wasmtime_wasi::p2::DynPollable;

use super::cancel::{CancelTrap, Canceller};
use super::limits::{Breach, Limit, LimitTrap, Tripwire};
use super::state::HostState;

/// Replaces the linker's `wasi:io/poll` and `wasi:io/error` with the
/// versions in this module.
pub(crate) fn shadow_wasi_io(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let added = add(linker);
    linker.allow_shadowing(false);
    added
}

fn add(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    poll::add_to_linker::<HostState, HasDeadlinePoll>(linker, |state| {
        let (table, deadlines, tripwire, canceller) = state.poll_parts();
        DeadlinePoll {
            table,
            deadline: deadlines.current(),
            tripwire,
            canceller: canceller.clone(),
        }
    })?;
    io_error::add_to_linker::<HostState, HasPlainErrors>(linker, |state| {
        PlainErrors(state.poll_parts().0)
    })
}

/// `wasi:io/poll` bounded by the deadline of the call in progress.
struct DeadlinePoll<'a> {
    table: &'a mut ResourceTable,
    deadline: Option<(Instant, Limit)>,
    tripwire: &'a Tripwire,
    canceller: Canceller,
}

impl DeadlinePoll<'_> {
    async fn bounded<T>(
        &mut self,
        wait: impl AsyncFnOnce(&mut ResourceTable) -> T,
    ) -> wasmtime::Result<T> {
        let (ends, limit) = match self.deadline.clone() {
            Some((ends, limit)) => (Some(ends), Some(limit)),
            None => (None, None),
        };
        let table = &mut *self.table;
        let canceller = self.canceller.clone();
        // A cancellation ends the wait at once; the deadline ends it in time.
        let bounded = async {
            match ends {
                Some(ends) => tokio::time::timeout_at(ends.into(), wait(table)).await.ok(),
                None => Some(wait(table).await),
            }
        };
        let waited = tokio::select! {
            done = bounded => Ok(done),
            () = canceller.cancelled() => Err(()),
        };
        match waited {
            Ok(Some(done)) => Ok(done),
            Ok(None) => {
                let limit = limit.expect("only a deadline times out");
                self.tripwire.trip(Breach::Limit(limit.clone()));
                Err(wasmtime::Error::new(LimitTrap(limit)))
            }
            Err(()) => Err(wasmtime::Error::new(CancelTrap)),
        }
    }
}

impl poll::Host for DeadlinePoll<'_> {
    async fn poll(&mut self, pollables: Vec<Resource<DynPollable>>) -> wasmtime::Result<Vec<u32>> {
        self.bounded(async |table| poll::Host::poll(table, pollables).await)
            .await?
    }
}

impl poll::HostPollable for DeadlinePoll<'_> {
    async fn ready(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<bool> {
        // Polls once; never waits.
        poll::HostPollable::ready(self.table, pollable).await
    }

    async fn block(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<()> {
        self.bounded(async |table| poll::HostPollable::block(table, pollable).await)
            .await?
    }

    fn drop(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<()> {
        poll::HostPollable::drop(self.table, pollable)
    }
}

struct HasDeadlinePoll;

impl HasData for HasDeadlinePoll {
    type Data<'a> = DeadlinePoll<'a>;
}

/// `wasi:io/error` whose debug string is the message chain, without backtrace.
struct PlainErrors<'a>(&'a mut ResourceTable);

impl io_error::Host for PlainErrors<'_> {}

impl io_error::HostError for PlainErrors<'_> {
    fn to_debug_string(&mut self, err: Resource<wasmtime::Error>) -> wasmtime::Result<String> {
        Ok(format!("{:#}", self.0.get(&err)?))
    }

    fn drop(&mut self, err: Resource<wasmtime::Error>) -> wasmtime::Result<()> {
        self.0.delete(err)?;
        Ok(())
    }
}

struct HasPlainErrors;

impl HasData for HasPlainErrors {
    type Data<'a> = PlainErrors<'a>;
}

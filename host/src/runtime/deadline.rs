//! Time limits: the epoch ticker and the per-call and per-run deadlines of a store.
//!
//! Both limits are wall-clock. Epoch interruption stops guest code: a
//! background thread advances the engine's epoch every [`TICK`], and at
//! every tick the store's epoch callback ([`on_tick`]) compares the real
//! clock with the call's deadline. Counting ticks instead would drift: a
//! tick is never shorter than [`TICK`] and comes later on a loaded machine
//! (a 5-minute limit held 307 s idle and 339 s loaded), while the clock
//! check stops the guest within one tick plus scheduling delay of the
//! deadline. Epoch checks only run in guest code, so they cannot end a wait
//! inside a host call; the guest waits on the host through `wasi:io/poll` (timers, HTTP
//! responses, stream readiness), which `shadow.rs` replaces with a version
//! that stops at the same deadline. The remaining blocking host calls
//! (`blocking-read` and friends on HTTP bodies) are bounded by the request
//! timeout, and the epoch check stops the guest right after they return.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use wasmtime::{Engine, StoreContextMut, UpdateDeadline};

use super::limits::{Breach, Limit, LimitTrap};
use super::state::HostState;

/// How often the ticker advances the epoch: the precision of time limits in guest code.
pub(crate) const TICK: Duration = Duration::from_millis(10);

/// A thread that advances an engine's epoch every [`TICK`].
///
/// Shared through an `Arc` by the runtime, its components and their
/// instances; the thread stops and is joined when the last holder is
/// dropped, so no thread outlives its last user.
pub(crate) struct Ticker {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    /// Cleared by the thread as it exits; the tests watch it.
    #[cfg_attr(not(test), allow(dead_code))]
    running: Arc<AtomicBool>,
}

impl Ticker {
    pub(crate) fn start(engine: &Engine) -> std::io::Result<Ticker> {
        let (stop, stopped) = mpsc::channel::<()>();
        // A weak handle, so that the thread does not keep the engine alive.
        let engine = engine.weak();
        let running = Arc::new(AtomicBool::new(true));
        let flag = running.clone();
        let thread = std::thread::Builder::new()
            .name("baton-epoch-ticker".into())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(TICK) {
                    match engine.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
                flag.store(false, Ordering::SeqCst);
            })?;
        Ok(Ticker {
            stop: Some(stop),
            thread: Some(thread),
            running,
        })
    }

    /// Whether the thread still runs; for tests.
    #[cfg(test)]
    pub(crate) fn running(&self) -> Arc<AtomicBool> {
        self.running.clone()
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        // Dropping the sender wakes the thread at once with `Disconnected`.
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The time limits of one store and the deadline of the call in progress.
#[derive(Debug)]
pub(crate) struct Deadlines {
    call_timeout: Duration,
    run_timeout: Duration,
    /// Set by the first call of the run (instantiation does not count), so
    /// that an instance prepared ahead and queued spends none of it waiting.
    run_ends: Option<Instant>,
    /// The deadline of the call in progress and the limit that sets it.
    current: Option<(Instant, Limit)>,
    /// The same deadline, for the egress hooks' waits on tokio tasks.
    clock: CallClock,
}

/// The deadline of the call in progress, readable from other threads.
///
/// The egress hooks read it when the guest sends a request, so that the
/// host's own waits for that request (rate limiter, retry backoff) never
/// outlast the call: a request future runs on a tokio task, which the
/// epoch deadline and the deadline-aware `wasi:io/poll` do not stop.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallClock(Arc<Mutex<Option<Instant>>>);

impl CallClock {
    /// The deadline of the call in progress; `None` between calls.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, deadline: Option<Instant>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = deadline;
    }
}

impl Deadlines {
    /// The limits of a run whose clock starts at its first call.
    pub(crate) fn new(call_timeout: Duration, run_timeout: Duration) -> Deadlines {
        Deadlines {
            call_timeout,
            run_timeout,
            run_ends: None,
            current: None,
            clock: CallClock::default(),
        }
    }

    /// Starts a call; fails with the run limit when the run has no time left.
    /// The first call that `counts_for_run` starts the run clock.
    pub(crate) fn begin_call(&mut self, counts_for_run: bool) -> Result<(), Limit> {
        let now = Instant::now();
        if counts_for_run && self.run_ends.is_none() {
            self.run_ends = Some(now.checked_add(self.run_timeout).unwrap_or(now + FAR));
        }
        let run_ends = self.run_ends.unwrap_or(now + FAR);
        if now >= run_ends {
            return Err(self.run_limit());
        }
        let call_ends = now.checked_add(self.call_timeout).unwrap_or(now + FAR);
        let (ends, limit) = if call_ends <= run_ends {
            (
                call_ends,
                Limit::CallTime {
                    limit: self.call_timeout,
                },
            )
        } else {
            (run_ends, self.run_limit())
        };
        self.current = Some((ends, limit));
        self.clock.set(Some(ends));
        Ok(())
    }

    /// The limit that the call in progress has run out of at `now`, if it has.
    pub(crate) fn overdue(&self, now: Instant) -> Option<Limit> {
        match &self.current {
            Some((ends, limit)) if now >= *ends => Some(limit.clone()),
            _ => None,
        }
    }

    /// Ends the call in progress; returns the limit that bounded it.
    pub(crate) fn end_call(&mut self) -> Option<Limit> {
        self.clock.set(None);
        self.current.take().map(|(_, limit)| limit)
    }

    /// A handle on the deadline of the call in progress.
    pub(crate) fn clock(&self) -> CallClock {
        self.clock.clone()
    }

    /// The deadline of the call in progress.
    pub(crate) fn current(&self) -> Option<(Instant, Limit)> {
        self.current.clone()
    }

    fn run_limit(&self) -> Limit {
        Limit::RunTime {
            limit: self.run_timeout,
        }
    }
}

/// The store's epoch deadline callback, run on the guest's thread at every
/// tick while guest code runs (the call sets a deadline of one tick): stops
/// the guest with the limit it broke once the real clock passes the call's
/// deadline, else lets it run to the next tick. About 100 clock reads a
/// second, next to nothing.
pub(crate) fn on_tick(store: StoreContextMut<'_, HostState>) -> wasmtime::Result<UpdateDeadline> {
    let state = store.data();
    if state.canceller.is_cancelled() {
        return Err(wasmtime::Error::new(super::cancel::CancelTrap));
    }
    match state.deadlines.overdue(Instant::now()) {
        Some(limit) => {
            state.tripwire.trip(Breach::Limit(limit.clone()));
            Err(wasmtime::Error::new(LimitTrap(limit)))
        }
        // Yield to the executor every tick: a guest busy parsing a large page lets the
        // other runs on its thread go on.
        None => Ok(UpdateDeadline::Yield(1)),
    }
}

/// Stands in for "no deadline" when a timeout does not fit in an `Instant`.
const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_is_bounded_by_the_earlier_of_its_own_and_the_run_deadline() {
        let mut d = Deadlines::new(Duration::from_millis(100), Duration::from_secs(60));
        let clock = d.clock();
        assert_eq!(clock.deadline(), None);
        let before = Instant::now();
        d.begin_call(true).unwrap();
        let (ends, _) = d.current().unwrap();
        assert!(ends >= before + Duration::from_millis(100));
        assert!(ends <= Instant::now() + Duration::from_millis(100));
        assert_eq!(clock.deadline(), Some(ends));
        assert_eq!(
            d.end_call(),
            Some(Limit::CallTime {
                limit: Duration::from_millis(100)
            })
        );
        assert_eq!(clock.deadline(), None, "cleared between calls");
        assert_eq!(d.end_call(), None);

        let mut d = Deadlines::new(Duration::from_secs(60), Duration::from_millis(50));
        d.begin_call(true).unwrap();
        let (ends, _) = d.current().unwrap();
        assert!(ends <= Instant::now() + Duration::from_millis(50));
        assert_eq!(
            d.end_call(),
            Some(Limit::RunTime {
                limit: Duration::from_millis(50)
            })
        );
    }

    #[test]
    fn the_run_clock_starts_at_the_first_call_not_at_instantiation() {
        let mut d = Deadlines::new(Duration::from_secs(60), Duration::from_millis(50));
        // Instantiation: bounded by the call limit only.
        d.begin_call(false).unwrap();
        assert!(matches!(d.end_call(), Some(Limit::CallTime { .. })));
        // The instance waits in a queue longer than its run limit...
        std::thread::sleep(Duration::from_millis(80));
        // ...and its first call still has the whole run ahead of it.
        d.begin_call(true).expect("the run clock had not started");
        assert!(matches!(d.end_call(), Some(Limit::RunTime { .. })));
        std::thread::sleep(Duration::from_millis(60));
        assert!(d.begin_call(true).is_err(), "now the run is over");
    }

    #[test]
    fn no_call_starts_once_the_run_is_over() {
        let mut d = Deadlines::new(Duration::from_secs(1), Duration::ZERO);
        assert_eq!(
            d.begin_call(true),
            Err(Limit::RunTime {
                limit: Duration::ZERO
            })
        );
    }

    #[test]
    fn huge_timeouts_do_not_overflow() {
        let mut d = Deadlines::new(Duration::MAX, Duration::MAX);
        d.begin_call(true).unwrap();
        assert_eq!(d.overdue(Instant::now() + Duration::from_secs(3600)), None);
    }

    #[test]
    fn a_call_is_overdue_by_the_clock_from_its_deadline_on() {
        let mut d = Deadlines::new(Duration::from_secs(2), Duration::from_secs(60));
        assert_eq!(d.overdue(Instant::now()), None, "no call in progress");
        d.begin_call(true).unwrap();
        let (ends, limit) = d.current().unwrap();
        assert_eq!(d.overdue(ends - Duration::from_millis(1)), None);
        assert_eq!(d.overdue(ends), Some(limit.clone()));
        assert_eq!(
            d.overdue(ends + Duration::from_secs(1)),
            Some(Limit::CallTime {
                limit: Duration::from_secs(2)
            })
        );
        d.end_call();
        assert_eq!(d.overdue(ends + Duration::from_secs(1)), None);
    }

    #[test]
    fn the_ticker_advances_the_epoch_and_stops_when_dropped() {
        let engine = Engine::new(wasmtime::Config::new().epoch_interruption(true)).unwrap();
        let ticker = Ticker::start(&engine).unwrap();
        let running = ticker.running();
        // A module that spins until the epoch deadline stops it.
        let module =
            wasmtime::Module::new(&engine, r#"(module (func (export "spin") (loop (br 0))))"#)
                .unwrap();
        let mut store = wasmtime::Store::new(&engine, ());
        store.set_epoch_deadline(3);
        let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
        let spin = instance
            .get_typed_func::<(), ()>(&mut store, "spin")
            .unwrap();
        let err = spin.call(&mut store, ()).unwrap_err();
        assert_eq!(
            err.downcast_ref::<wasmtime::Trap>(),
            Some(&wasmtime::Trap::Interrupt)
        );
        assert!(running.load(Ordering::SeqCst));
        drop(ticker);
        assert!(!running.load(Ordering::SeqCst));
    }
}

//! The sandbox limits: how a broken one is named, recorded and enforced for
//! memory and tables.
//!
//! Limits are enforced in several places (the resource limiter here, epoch
//! deadlines and `wasi:io/poll` in `deadline.rs`, the egress hooks), some of
//! them on tokio tasks. Each records what it stopped in the store's
//! [`Tripwire`], so that the failed call can be reported by limit rather
//! than by the symptom the guest showed (a trap, or an error of its own).

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmtime::ResourceLimiter;

/// A sandbox limit that a connector ran into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Limit {
    /// Bytes of linear memory, all memories together.
    Memory {
        /// The limit ([`RunPolicy::memory_limit`](super::RunPolicy::memory_limit)).
        bytes: u64,
    },
    /// Table elements, all tables together.
    TableElements {
        /// The limit ([`RunPolicy::table_elements_limit`](super::RunPolicy::table_elements_limit)).
        elements: u64,
    },
    /// Wall-clock time of one call.
    CallTime {
        /// The limit ([`RunPolicy::call_timeout`](super::RunPolicy::call_timeout)).
        limit: Duration,
    },
    /// Wall-clock time of the whole run.
    RunTime {
        /// The limit ([`RunPolicy::run_timeout`](super::RunPolicy::run_timeout)).
        limit: Duration,
    },
    /// Bytes of one HTTP response body.
    ResponseBody {
        /// The limit ([`RunPolicy::response_body_limit`](super::RunPolicy::response_body_limit)).
        bytes: u64,
    },
    /// Outgoing requests in flight at once.
    ConcurrentRequests {
        /// The limit ([`RunPolicy::max_concurrent_requests`](super::RunPolicy::max_concurrent_requests)).
        requests: usize,
    },
    /// Pages of one listing. Enforced by the sync engine, which reports it as
    /// [`SyncError::Limit`](crate::sync::SyncError::Limit).
    PagesPerListing {
        /// The limit ([`RunPolicy::max_pages_per_listing`](super::RunPolicy::max_pages_per_listing)).
        pages: u64,
    },
    /// Objects the connector returned in one sync. Enforced by the sync
    /// engine, which reports it as [`SyncError::Limit`](crate::sync::SyncError::Limit).
    Objects {
        /// The limit ([`RunPolicy::max_objects`](super::RunPolicy::max_objects)).
        objects: u64,
    },
    /// Bytes of the database being written. Enforced by SQLite in the c1z
    /// writer, reported as [`SyncError::Limit`](crate::sync::SyncError::Limit).
    DatabaseSize {
        /// The limit ([`RunPolicy::max_database_bytes`](super::RunPolicy::max_database_bytes)).
        bytes: u64,
    },
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Memory { bytes } => write!(f, "its memory limit of {}", Bytes(*bytes)),
            Limit::TableElements { elements } => {
                write!(f, "its table limit of {elements} elements")
            }
            Limit::CallTime { limit } => write!(f, "its time limit of {} per call", Time(*limit)),
            Limit::RunTime { limit } => write!(f, "its time limit of {} per run", Time(*limit)),
            Limit::ResponseBody { bytes } => {
                write!(f, "its response body limit of {}", Bytes(*bytes))
            }
            Limit::ConcurrentRequests { requests } => {
                write!(f, "its limit of {requests} concurrent requests")
            }
            Limit::PagesPerListing { pages } => write!(f, "its limit of {pages} pages per listing"),
            Limit::Objects { objects } => write!(f, "its limit of {objects} objects per sync"),
            Limit::DatabaseSize { bytes } => {
                write!(f, "its database size limit of {}", Bytes(*bytes))
            }
        }
    }
}

/// A byte count for messages: whole GiB, MiB or KiB when it is one, else bytes.
pub(crate) struct Bytes(pub(crate) u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const KIB: u64 = 1024;
        const MIB: u64 = 1024 * KIB;
        const GIB: u64 = 1024 * MIB;
        match self.0 {
            0 => write!(f, "0 bytes"),
            n if n % GIB == 0 => write!(f, "{} GiB", n / GIB),
            n if n % MIB == 0 => write!(f, "{} MiB", n / MIB),
            n if n % KIB == 0 => write!(f, "{} KiB", n / KIB),
            n => write!(f, "{n} bytes"),
        }
    }
}

/// A duration for messages, in the largest unit that divides it.
pub(crate) struct Time(pub(crate) Duration);

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        if d.subsec_nanos() != 0 || d.is_zero() {
            return write!(f, "{} ms", d.as_millis());
        }
        match d.as_secs() {
            s if s % 3600 == 0 => write!(f, "{} h", s / 3600),
            s if s % 60 == 0 => write!(f, "{} min", s / 60),
            s => write!(f, "{s} s"),
        }
    }
}

/// What stopped a call, as recorded where it was enforced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Breach {
    /// A limit was reached.
    Limit(Limit),
    /// A request went to an origin outside the allow-list.
    Egress {
        /// The refused origin, `scheme://host:port`.
        origin: String,
    },
    /// A write was sent where the host allows only reads.
    Write {
        /// The HTTP method.
        method: String,
        /// The request path, without its query.
        path: String,
    },
}

/// The first breach since the current call began, shared by everything that
/// enforces a limit in one store (the egress hooks run on tokio tasks).
#[derive(Debug, Clone, Default)]
pub(crate) struct Tripwire(Arc<Mutex<Option<Breach>>>);

impl Tripwire {
    /// Records a breach unless one is recorded already: the first one caused the rest.
    pub(crate) fn trip(&self, breach: Breach) {
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        slot.get_or_insert(breach);
    }

    /// Takes the recorded breach, clearing it for the next call.
    pub(crate) fn take(&self) -> Option<Breach> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// The error a limit raises inside wasmtime. It ends the call as a trap;
/// the [`Tripwire`] says which limit it was.
#[derive(Debug)]
pub(crate) struct LimitTrap(pub(crate) Limit);

impl fmt::Display for LimitTrap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the connector exceeded {}", self.0)
    }
}

impl std::error::Error for LimitTrap {}

/// Caps the guest's linear memories and tables, summed over the store.
///
/// Totals, not per-memory caps: a component may hold several core
/// instances, each with its own memory. Growth past a cap traps at once
/// rather than letting `memory.grow` return -1, so a guest cannot carry on
/// half-broken and the error names the limit.
#[derive(Debug)]
pub(crate) struct GuestLimiter {
    memory: Budget,
    tables: Budget,
    tripwire: Tripwire,
}

/// A running total against a cap; memories and tables are counted alike.
#[derive(Debug)]
struct Budget {
    limit: u64,
    used: u64,
    /// The last growth allowed, undone if wasmtime then fails it.
    last_growth: u64,
}

impl Budget {
    fn new(limit: u64) -> Budget {
        Budget {
            limit,
            used: 0,
            last_growth: 0,
        }
    }

    /// Counts a growth from `current` to `desired`; false if it would pass the cap.
    fn grow(&mut self, current: usize, desired: usize) -> bool {
        let growth = desired.saturating_sub(current) as u64;
        let total = self.used.saturating_add(growth);
        if total > self.limit {
            return false;
        }
        self.used = total;
        self.last_growth = growth;
        true
    }

    /// Undoes the last growth, which wasmtime refused after we allowed it.
    fn undo_last(&mut self) {
        self.used -= self.last_growth;
        self.last_growth = 0;
    }
}

impl GuestLimiter {
    pub(crate) fn new(memory_limit: u64, table_limit: u64, tripwire: Tripwire) -> GuestLimiter {
        GuestLimiter {
            memory: Budget::new(memory_limit),
            tables: Budget::new(table_limit),
            tripwire,
        }
    }

    fn refuse(&self, limit: Limit) -> wasmtime::Error {
        self.tripwire.trip(Breach::Limit(limit.clone()));
        wasmtime::Error::new(LimitTrap(limit))
    }
}

impl ResourceLimiter for GuestLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if !self.memory.grow(current, desired) {
            return Err(self.refuse(Limit::Memory {
                bytes: self.memory.limit,
            }));
        }
        Ok(true)
    }

    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        // Allowed here but refused by wasmtime (past the memory's own maximum):
        // memory.grow returns -1 as the spec says, and the total is restored.
        self.memory.undo_last();
        Ok(())
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if !self.tables.grow(current, desired) {
            return Err(self.refuse(Limit::TableElements {
                elements: self.tables.limit,
            }));
        }
        Ok(true)
    }

    fn table_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.tables.undo_last();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_name_themselves_in_readable_units() {
        let cases = [
            (
                Limit::Memory { bytes: 256 << 20 },
                "its memory limit of 256 MiB",
            ),
            (
                Limit::ResponseBody { bytes: 16 << 10 },
                "its response body limit of 16 KiB",
            ),
            (
                Limit::ResponseBody { bytes: 1000 },
                "its response body limit of 1000 bytes",
            ),
            (
                Limit::TableElements { elements: 10 },
                "its table limit of 10 elements",
            ),
            (
                Limit::CallTime {
                    limit: Duration::from_secs(30),
                },
                "its time limit of 30 s per call",
            ),
            (
                Limit::CallTime {
                    limit: Duration::from_millis(1500),
                },
                "its time limit of 1500 ms per call",
            ),
            (
                Limit::RunTime {
                    limit: Duration::from_secs(3600),
                },
                "its time limit of 1 h per run",
            ),
            (
                Limit::RunTime {
                    limit: Duration::from_secs(300),
                },
                "its time limit of 5 min per run",
            ),
            (
                Limit::ConcurrentRequests { requests: 4 },
                "its limit of 4 concurrent requests",
            ),
            (
                Limit::PagesPerListing { pages: 1000 },
                "its limit of 1000 pages per listing",
            ),
            (
                Limit::Objects { objects: 50 },
                "its limit of 50 objects per sync",
            ),
            (
                Limit::DatabaseSize { bytes: 20 << 30 },
                "its database size limit of 20 GiB",
            ),
        ];
        for (limit, text) in cases {
            assert_eq!(limit.to_string(), text);
        }
    }

    #[test]
    fn the_first_breach_is_kept_until_taken() {
        let wire = Tripwire::default();
        wire.trip(Breach::Egress {
            origin: "http://a:1".into(),
        });
        wire.trip(Breach::Limit(Limit::Memory { bytes: 1 }));
        assert_eq!(
            wire.take(),
            Some(Breach::Egress {
                origin: "http://a:1".into()
            })
        );
        assert_eq!(wire.take(), None);
    }

    #[test]
    fn memory_is_capped_in_total_over_all_memories() {
        let wire = Tripwire::default();
        let mut limiter = GuestLimiter::new(4 << 16, 10, wire.clone());
        // Two memories of two pages each fill the cap exactly.
        assert!(limiter.memory_growing(0, 2 << 16, None).unwrap());
        assert!(limiter.memory_growing(0, 2 << 16, None).unwrap());
        let err = limiter.memory_growing(2 << 16, 3 << 16, None).unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            "the connector exceeded its memory limit of 256 KiB"
        );
        assert_eq!(
            wire.take(),
            Some(Breach::Limit(Limit::Memory { bytes: 4 << 16 }))
        );
    }

    #[test]
    fn a_growth_that_wasmtime_fails_is_not_counted() {
        let mut limiter = GuestLimiter::new(2 << 16, 10, Tripwire::default());
        assert!(limiter.memory_growing(0, 2 << 16, None).unwrap());
        limiter
            .memory_grow_failed(wasmtime::format_err!("past maximum"))
            .unwrap();
        assert!(limiter.memory_growing(0, 2 << 16, None).unwrap());
        assert!(limiter.table_growing(0, 10, None).unwrap());
        limiter
            .table_grow_failed(wasmtime::format_err!("past maximum"))
            .unwrap();
        assert!(limiter.table_growing(0, 10, None).unwrap());
        assert!(limiter.table_growing(10, 11, None).is_err());
    }
}

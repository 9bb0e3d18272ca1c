//! The c1z store: Baton's `.c1z` sync file, format v1.
//!
//! A c1z is the 5-byte header `C1ZF\0` followed by zstd-compressed SQLite whose tables hold
//! serialized `c1.connector.v2` protobuf messages plus the indexed columns readers filter
//! on (see `c1z-format.md`). This module has:
//!
//! * [`proto`]: the protobuf messages (hand-written prost structs) and `Any` helpers;
//! * [`C1zWriter`]: writes one full sync into a new file, replacing the target atomically,
//!   without objects that reference objects missing from the sync ([`Dropped`]);
//! * [`C1zReader`]: reads Go-written and our own files, streaming listings page by page;
//! * [`ksuid`] and [`timestamp`]: sync ids and the `datetime` text layout.
//!
//! Only v1 is written or read; the newer v3 (Pebble) format is recognised and rejected with
//! a clear error, as Baton's v0.7 CLI (the reader we target) cannot read it either.

mod container;
mod dangling;
mod error;
mod history;
pub mod ksuid;
mod listing;
pub mod proto;
mod reader;
mod schema;
mod temp;
pub mod timestamp;
mod validate;
mod writer;

pub use container::{MAGIC_V1, MAGIC_V3};
pub use dangling::Dropped;
pub use error::C1zError;
pub use history::{History, UnfinishedSync};
pub use listing::{EntitlementFilter, GrantFilter, Objects, ResourceFilter};
pub use reader::{C1zReader, SyncRun};
pub use temp::{claim_exit, remove_temp_files_before_exit};
pub use writer::{C1zWriter, SavedProgress, SyncSummary};

/// Objects a [`C1zWriter`] stored so far, and duplicates it skipped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncCounts {
    /// Resource types written.
    pub resource_types: u64,
    /// Resources written.
    pub resources: u64,
    /// Entitlements written.
    pub entitlements: u64,
    /// Grants written.
    pub grants: u64,
    /// Puts skipped because the sync already had an object with that id (first one kept).
    pub duplicates: u64,
    /// Objects copied from another c1z (after [`C1zWriter::start_external_import`]) that
    /// the sync already had, so the sync's own copy was kept. Apart from `duplicates`
    /// because they say nothing about the connector's paging: they are the same object
    /// known to two systems.
    pub external_overlaps: u64,
}

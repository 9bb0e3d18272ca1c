//! [`C1zWriter`]: writes one full sync into a new c1z file.
//!
//! The database is built in a temp file next to the target inside one transaction, with
//! durability pragmas off (the temp db is throwaway until `finish`), the unique indexes
//! (they do duplicate detection) and two partial ones that cost nothing to keep, and the
//! other lookup indexes built at the end. `finish` compresses into a second temp file,
//! fsyncs it and renames it over the target, so the target is replaced atomically or not
//! at all.
//!
//! `finish` also settles referential integrity (`dangling.rs`): objects that reference an
//! object missing from the sync are dropped and counted. An optional size limit
//! ([`C1zWriter::limit_size`]) is SQLite's own `max_page_count`.

use super::container::write_c1z;
use super::dangling::{self, Dropped};
use super::history::{self, History, Previous, UnfinishedSync};
use super::ksuid::Ksuid;
use super::proto::{self, Entitlement, Grant, Resource, ResourceId, ResourceType};
use super::schema;
use super::temp::{self, TempFile};
use super::timestamp::UnixTime;
use super::{validate, C1zError, SyncCounts};
use prost::Message;
use rusqlite::{params, Connection, ErrorCode, OptionalExtension};
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What [`C1zWriter::finish`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncSummary {
    /// The sync's KSUID.
    pub sync_id: String,
    /// The c1z file written.
    pub path: PathBuf,
    /// `started_at` as stored (UTC, `YYYY-MM-DD HH:MM:SS.f`).
    pub started_at: String,
    /// `ended_at` as stored.
    pub ended_at: String,
    /// Objects in the file (those written, less those dropped) and duplicates skipped.
    pub counts: SyncCounts,
    /// Size of the SQLite database inside.
    pub db_bytes: u64,
    /// Size of the c1z file.
    pub file_bytes: u64,
    /// Objects dropped at the end because they referenced an object missing from the sync
    /// (a resource's type or parent, an entitlement's resource, a grant's entitlement,
    /// principal or entitlement resource), with examples.
    pub dropped: Dropped,
    /// References to objects missing from the sync that the file still holds: 0, unless
    /// [`C1zWriter::keep_dangling`] kept them (Baton then shows placeholders).
    pub dangling_references: u64,
    /// Up to 20 human-readable examples of those references.
    pub dangling_examples: Vec<String>,
    /// Time spent executing the SQLite inserts of the `put_*` calls, summed over the sync
    /// (what the rest of a page write costs is the caller's to measure around them).
    pub insert_time: Duration,
    /// Time `finish` spent checking references and dropping the objects that dangle.
    pub check_time: Duration,
    /// Time `finish` spent in SQLite apart from the check: the deferred indexes, the commit
    /// and the close.
    pub finalize_time: Duration,
    /// Time `finish` spent compressing the database into the c1z with zstd and fsyncing it.
    pub compress_time: Duration,
    /// Earlier syncs of the target kept in the new file beside this one, oldest first.
    pub kept_syncs: Vec<String>,
    /// Sync runs of the previous file not kept: finished full syncs beyond the keep
    /// count, and unfinished or partial ones.
    pub dropped_syncs: usize,
    /// Time `finish` spent copying the kept syncs from the previous file.
    pub history_time: Duration,
}

/// Writes one full sync into a new c1z that replaces `target` only on [`finish`](Self::finish).
///
/// Dropping a writer without `finish` removes its temp files and leaves `target` untouched.
pub struct C1zWriter {
    // Field order matters: the connection must close before its temp file is deleted.
    conn: Connection,
    db_path: TempFile,
    target: PathBuf,
    dir: PathBuf,
    sync_id: String,
    started_at: String,
    counts: SyncCounts,
    /// Traits of each resource type written, to check resources carry their trait.
    traits: HashMap<String, Vec<i32>>,
    /// Summed time of the inserts, reported in [`SyncSummary::insert_time`] so that
    /// benchmarks can tell SQLite apart from encoding at a cost of two clock reads a row.
    insert_time: Duration,
    clock: DiscoveryClock,
    /// Set by [`start_external_import`](Self::start_external_import).
    importing: bool,
    /// Set by [`keep_dangling`](Self::keep_dangling).
    keep_dangling: bool,
    /// Set by [`limit_size`](Self::limit_size).
    size_limit: Option<SizeLimit>,
    /// The previous file whose syncs are kept ([`create_with_history`](Self::create_with_history)).
    /// After `conn` and `db_path` in drop order: it is attached to the connection.
    previous: Option<Previous>,
    /// Set by [`resume_unfinished`](Self::resume_unfinished).
    resumed: bool,
}

/// What [`C1zWriter::save_unfinished`] reports: the target now holds the earlier finished
/// syncs and this one, unfinished, with its checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedProgress {
    /// The unfinished sync's KSUID.
    pub sync_id: String,
    /// The c1z file written.
    pub path: PathBuf,
    /// Size of the c1z file.
    pub file_bytes: u64,
    /// Finished syncs kept beside it, oldest first (all of them: the keep count applies
    /// only once a sync finishes).
    pub kept_syncs: Vec<String>,
}

/// A bound on the database's size, as SQLite enforces it, and what is needed to tell it
/// apart from a full disk: SQLite says `SQLITE_FULL` for both, and may roll the whole
/// transaction back, after which it no longer knows how big the database was. So the
/// writer reads the page count every [`RECOUNT_ROWS`] rows and bounds the growth since.
#[derive(Debug, Clone, Copy)]
struct SizeLimit {
    /// The limit asked for.
    bytes: u64,
    /// `max_page_count` as SQLite set it.
    pages: u64,
    page_size: u64,
    /// `page_count` when last read.
    seen_pages: u64,
    /// Rows inserted since, and their blobs' bytes.
    rows_since: u64,
    bytes_since: u64,
}

/// Rows between two reads of the page count (a pragma of a few microseconds).
const RECOUNT_ROWS: u64 = 64;
/// Bytes a row takes besides its blob: its other columns and its unique index entry.
const ROW_OVERHEAD: u64 = 1024;
/// Pages a statement may need besides its row: a split, or a new root, in each b-tree it
/// touches (a table and up to three indexes, a few levels deep).
const STATEMENT_SLACK_PAGES: u64 = 64;

impl SizeLimit {
    /// Counts an inserted row; reads the page count again every [`RECOUNT_ROWS`] rows.
    fn inserted(&mut self, conn: &Connection, blob_bytes: usize) {
        self.rows_since += 1;
        self.bytes_since += blob_bytes as u64;
        if self.rows_since >= RECOUNT_ROWS {
            self.recount(conn);
        }
    }

    fn recount(&mut self, conn: &Connection) {
        if let Ok(pages) = conn.query_row("PRAGMA page_count", [], |r| r.get(0)) {
            self.seen_pages = pages;
            self.rows_since = 0;
            self.bytes_since = 0;
        }
    }

    /// The most pages the database can have held when a statement inserting a row with
    /// `blob_bytes` failed: the last count, plus twice (b-tree pages are not full) what the
    /// rows since and this one can have taken.
    fn most_pages(&self, blob_bytes: usize) -> u64 {
        let rows = self.rows_since + 1;
        let bytes = self.bytes_since + blob_bytes as u64 + rows * ROW_OVERHEAD;
        self.seen_pages + 2 * bytes.div_ceil(self.page_size) + STATEMENT_SLACK_PAGES
    }

    /// The same for building the lookup indexes: an index is never larger than the
    /// database it indexes.
    fn most_pages_indexed(&self) -> u64 {
        2 * self.most_pages(0)
    }
}

impl C1zWriter {
    /// Starts a new full sync that will replace `target` on `finish`; creates the temp
    /// database in `target`'s folder and records the sync run. The new file holds this
    /// sync only.
    pub fn create(target: &Path) -> Result<C1zWriter, C1zError> {
        let fresh = History {
            keep: Some(1),
            fresh: true,
        };
        C1zWriter::create_with_history(target, &fresh)
    }

    /// Like [`create`](Self::create), but the new file also keeps the finished full syncs
    /// of an existing `target`, up to `history`'s keep count. A target that cannot be read
    /// is refused ([`C1zError::History`]) unless `history.fresh`, and left as it was.
    pub fn create_with_history(target: &Path, history: &History) -> Result<C1zWriter, C1zError> {
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if target.is_dir() {
            let e = std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a directory");
            return Err(C1zError::io("write the c1z file", target, e));
        }
        let name = target.file_name().unwrap_or_default().to_string_lossy();
        temp::remove_stale(&dir, &name);
        let (_, db_path) = TempFile::beside(&dir, &name, ".db.tmp")?;
        let conn = Connection::open(db_path.path())?;
        // MEMORY journal (not OFF) so a failed statement still rolls back cleanly.
        conn.execute_batch(
            "PRAGMA journal_mode = MEMORY;
             PRAGMA synchronous = OFF;
             PRAGMA locking_mode = EXCLUSIVE;
             PRAGMA cache_size = -8192;", // 8 MiB: 16, 32 and 64 MiB were no faster and only raised peak RSS
        )?;
        // Before BEGIN: SQLite attaches the previous database only outside a transaction.
        let previous = history::open_previous(&conn, target, &dir, &name, history)?;
        conn.execute_batch("BEGIN")?;
        conn.execute_batch(schema::TABLES)?;
        let sync_id = Ksuid::generate().map_err(C1zError::Random)?.to_string();
        let started_at = UnixTime::now().to_db_text();
        conn.execute(
            "INSERT INTO v1_sync_runs (sync_id, started_at, ended_at, sync_token, sync_type, \
             parent_sync_id, linked_sync_id, supports_diff) \
             VALUES (?1, ?2, NULL, '', 'full', '', '', 1)",
            params![sync_id, started_at],
        )?;
        Ok(C1zWriter {
            conn,
            db_path,
            target: target.to_path_buf(),
            dir,
            sync_id,
            started_at,
            counts: SyncCounts::default(),
            traits: HashMap::new(),
            insert_time: Duration::ZERO,
            clock: DiscoveryClock::new(),
            importing: false,
            keep_dangling: false,
            size_limit: None,
            previous,
            resumed: false,
        })
    }

    /// The newest unfinished full sync of the target, which this writer could resume
    /// instead of starting a new one; `None` for a fresh history or a target without one.
    pub fn unfinished(&self) -> Option<&UnfinishedSync> {
        self.previous.as_ref()?.unfinished.as_ref()
    }

    /// Continues the target's [`unfinished`](Self::unfinished) sync instead of the new one:
    /// copies its rows and its run (checkpoint included) into this database with SQL, and
    /// takes its sync id and start time. `duplicates`: those its earlier runs skipped (from
    /// their checkpoint), so that [`SyncCounts`] covers the whole sync. Call it before any
    /// put.
    pub fn resume_unfinished(&mut self, duplicates: u64) -> Result<(), C1zError> {
        let Some(unfinished) = self.unfinished().cloned() else {
            return Err(C1zError::Sync("the target holds no unfinished sync".into()));
        };
        self.conn.execute(
            "DELETE FROM v1_sync_runs WHERE sync_id = ?1",
            [&self.sync_id],
        )?;
        history::copy_syncs(&self.conn, std::slice::from_ref(&unfinished.sync_id), true)?;
        self.sync_id = unfinished.sync_id;
        self.started_at = unfinished.started_at;
        self.resumed = true;
        let mut stmt = self
            .conn
            .prepare("SELECT id, data FROM v1_resource_types WHERE sync_id = ?1")?;
        let types = stmt
            .query_map([&self.sync_id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<Vec<(i64, Vec<u8>)>, _>>()?;
        drop(stmt);
        for (row_id, data) in types {
            let rt: ResourceType = decode("v1_resource_types", row_id, "ResourceType", &data)?;
            self.traits.insert(rt.id.clone(), rt.traits.clone());
            self.counts.resource_types += 1;
        }
        let count = |table: &str| -> Result<u64, rusqlite::Error> {
            self.conn.query_row(
                &format!("SELECT count(*) FROM {table} WHERE sync_id = ?1"),
                [&self.sync_id],
                |r| r.get(0),
            )
        };
        self.counts.resources = count("v1_resources")?;
        self.counts.entitlements = count("v1_entitlements")?;
        self.counts.grants = count("v1_grants")?;
        self.counts.duplicates = duplicates;
        if let Some(limit) = self.size_limit.as_mut() {
            limit.recount(&self.conn);
        }
        Ok(())
    }

    /// Records the syncer's progress in the sync run's `sync_token`, as Go's syncer does;
    /// [`save_unfinished`](Self::save_unfinished) keeps it for the next run.
    pub fn checkpoint(&mut self, token: &str) -> Result<(), C1zError> {
        let mut stmt = self
            .conn
            .prepare_cached("UPDATE v1_sync_runs SET sync_token = ?1 WHERE sync_id = ?2")?;
        stmt.execute(params![token, self.sync_id])
            .map_err(|e| size_limited(self.size_limit, e, |l| l.most_pages(token.len())))?;
        Ok(())
    }

    /// Caps the database at `max_bytes` (rounded down to whole pages, and never below what
    /// it holds already). SQLite refuses to grow past it, and the put or `finish` that
    /// would have is refused with [`C1zError::SizeLimit`].
    pub fn limit_size(&mut self, max_bytes: u64) -> Result<(), C1zError> {
        let page_size: u64 = self.conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        let pages = (max_bytes / page_size).max(1);
        // SQLite answers with the limit it set.
        let pages: u64 =
            self.conn
                .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| {
                    r.get(0)
                })?;
        let mut limit = SizeLimit {
            bytes: max_bytes,
            pages,
            page_size,
            seen_pages: 0,
            rows_since: 0,
            bytes_since: 0,
        };
        limit.recount(&self.conn);
        self.size_limit = Some(limit);
        Ok(())
    }

    /// Keeps objects that reference objects missing from the sync instead of dropping them
    /// at `finish`; they are counted in [`SyncSummary::dangling_references`]. Such a file
    /// fails validators that check references: this is for test fixtures of readers, which
    /// must show placeholders for what is missing.
    pub fn keep_dangling(&mut self) {
        self.keep_dangling = true;
    }

    /// The sync's KSUID.
    pub fn sync_id(&self) -> &str {
        &self.sync_id
    }

    /// Objects written so far.
    pub fn counts(&self) -> SyncCounts {
        self.counts
    }

    /// Declares that the puts from now on copy objects from another c1z. A copy refused
    /// because this sync already holds its id is then counted in
    /// [`SyncCounts::external_overlaps`], not in `duplicates`: a duplicate warns that the
    /// connector's paging shifted, which an overlap with another file does not mean.
    pub fn start_external_import(&mut self) {
        self.importing = true;
    }

    /// Stores a resource type; `false` when this sync already has one with that id (the
    /// first is kept).
    pub fn put_resource_type(&mut self, rt: &ResourceType) -> Result<bool, C1zError> {
        validate::resource_type(rt)?;
        let mut stmt = self.conn.prepare_cached(
            "INSERT OR IGNORE INTO v1_resource_types (external_id, data, sync_id, discovered_at) \
             VALUES (?1, ?2, ?3, ?4)",
        )?;
        let data = rt.encode_to_vec();
        let started = Instant::now();
        let n = stmt
            .execute(params![rt.id, data, self.sync_id, self.clock.now()])
            .map_err(|e| size_limited(self.size_limit, e, |l| l.most_pages(data.len())))?;
        self.insert_time += started.elapsed();
        if let Some(limit) = self.size_limit.as_mut() {
            limit.inserted(&self.conn, data.len());
        }
        if n > 0 {
            self.traits.insert(rt.id.clone(), rt.traits.clone());
        }
        Ok(self
            .counts
            .record(n > 0, self.importing, |c| &mut c.resource_types))
    }

    /// Stores a resource; `false` for a duplicate `type:id` in this sync. A resource of a
    /// type with a user/group/role/app trait must carry that trait annotation.
    pub fn put_resource(&mut self, r: &Resource) -> Result<bool, C1zError> {
        let traits =
            r.id.as_ref()
                .and_then(|id| self.traits.get(&id.resource_type));
        validate::resource(r, traits.map(Vec::as_slice))?;
        let id = r.id.as_ref().expect("validated");
        let parent = r.parent_resource_id.as_ref();
        let mut stmt = self.conn.prepare_cached(
            "INSERT OR IGNORE INTO v1_resources (resource_type_id, external_id, \
             parent_resource_type_id, parent_resource_id, data, sync_id, discovered_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        let data = r.encode_to_vec();
        let started = Instant::now();
        let n = stmt
            .execute(params![
                id.resource_type,
                id.key(),
                parent.map(|p| &p.resource_type),
                parent.map(|p| &p.resource),
                data,
                self.sync_id,
                self.clock.now()
            ])
            .map_err(|e| size_limited(self.size_limit, e, |l| l.most_pages(data.len())))?;
        self.insert_time += started.elapsed();
        if let Some(limit) = self.size_limit.as_mut() {
            limit.inserted(&self.conn, data.len());
        }
        Ok(self
            .counts
            .record(n > 0, self.importing, |c| &mut c.resources))
    }

    /// Stores an entitlement; `false` for a duplicate id in this sync.
    pub fn put_entitlement(&mut self, e: &Entitlement) -> Result<bool, C1zError> {
        validate::entitlement(e)?;
        let rid = resource_id(e.resource.as_ref());
        let mut stmt = self.conn.prepare_cached(
            "INSERT OR IGNORE INTO v1_entitlements (resource_type_id, resource_id, external_id, \
             data, sync_id, discovered_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        let data = e.encode_to_vec();
        let started = Instant::now();
        let n = stmt
            .execute(params![
                rid.resource_type,
                rid.resource,
                e.id,
                data,
                self.sync_id,
                self.clock.now()
            ])
            .map_err(|err| size_limited(self.size_limit, err, |l| l.most_pages(data.len())))?;
        self.insert_time += started.elapsed();
        if let Some(limit) = self.size_limit.as_mut() {
            limit.inserted(&self.conn, data.len());
        }
        Ok(self
            .counts
            .record(n > 0, self.importing, |c| &mut c.entitlements))
    }

    /// Stores a grant; `false` for a duplicate id in this sync.
    ///
    /// Like Go's writer, a `GrantExpandable` annotation is moved out of the blob into the
    /// `expansion` column with `needs_expansion = 1` (we do not expand grants ourselves).
    pub fn put_grant(&mut self, g: &Grant) -> Result<bool, C1zError> {
        validate::grant(g)?;
        let ent = g.entitlement.as_ref().expect("validated");
        let rid = resource_id(ent.resource.as_ref());
        let pid = resource_id(g.principal.as_ref());
        let expandable = proto::has_annotation::<proto::GrantExpandable>(&g.annotations);
        let (data, expansion) = if expandable {
            let mut g = g.clone();
            let name = <proto::GrantExpandable as prost::Name>::full_name();
            let pos = g
                .annotations
                .iter()
                .position(|a| proto::any_type_name(a) == name)
                .expect("checked above");
            let any = g.annotations.remove(pos);
            g.annotations.retain(|a| proto::any_type_name(a) != name);
            (g.encode_to_vec(), Some(any.value))
        } else {
            (g.encode_to_vec(), None)
        };
        let mut stmt = self.conn.prepare_cached(
            "INSERT OR IGNORE INTO v1_grants (resource_type_id, resource_id, entitlement_id, \
             principal_resource_type_id, principal_resource_id, external_id, expansion, \
             needs_expansion, data, sync_id, discovered_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        let started = Instant::now();
        let row_bytes = data.len() + expansion.as_ref().map_or(0, Vec::len);
        let n = stmt
            .execute(params![
                rid.resource_type,
                rid.resource,
                ent.id,
                pid.resource_type,
                pid.resource,
                g.id,
                expansion,
                i64::from(expandable),
                data,
                self.sync_id,
                self.clock.now()
            ])
            .map_err(|e| size_limited(self.size_limit, e, |l| l.most_pages(row_bytes)))?;
        self.insert_time += started.elapsed();
        if let Some(limit) = self.size_limit.as_mut() {
            limit.inserted(&self.conn, row_bytes);
        }
        Ok(self.counts.record(n > 0, self.importing, |c| &mut c.grants))
    }

    /// A resource already written in this sync, by id.
    pub fn get_resource(&self, id: &ResourceId) -> Result<Option<Resource>, C1zError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, data FROM v1_resources \
             WHERE resource_type_id = ?1 AND external_id = ?2 AND sync_id = ?3",
        )?;
        let row = stmt
            .query_row(params![id.resource_type, id.key(), self.sync_id], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .optional()?;
        row.map(|(row_id, data)| decode("v1_resources", row_id, "Resource", &data))
            .transpose()
    }

    /// An entitlement already written in this sync, by id.
    pub fn get_entitlement(&self, id: &str) -> Result<Option<Entitlement>, C1zError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, data FROM v1_entitlements WHERE external_id = ?1 AND sync_id = ?2",
        )?;
        let row = stmt
            .query_row(params![id, self.sync_id], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .optional()?;
        row.map(|(row_id, data)| decode("v1_entitlements", row_id, "Entitlement", &data))
            .transpose()
    }

    /// Sets `ended_at`, builds the lookup indexes, drops the objects that reference objects
    /// missing from the sync (unless [`keep_dangling`](Self::keep_dangling)), commits,
    /// closes the database, compresses it into a temp file next to the target, fsyncs it,
    /// renames it over the target and fsyncs the folder.
    pub fn finish(self) -> Result<SyncSummary, C1zError> {
        let C1zWriter {
            conn,
            db_path,
            target,
            dir,
            sync_id,
            started_at,
            mut counts,
            traits: _,
            insert_time,
            clock: _,
            importing: _,
            keep_dangling,
            mut size_limit,
            previous,
            resumed,
        } = self;
        let finalizing = Instant::now();
        let ended_at = UnixTime::now().to_db_text();
        conn.execute(
            "UPDATE v1_sync_runs SET ended_at = ?1 WHERE sync_id = ?2",
            params![ended_at, sync_id],
        )
        .map_err(|e| size_limited(size_limit, e, |l| l.most_pages(0)))?;
        if let Some(limit) = size_limit.as_mut() {
            limit.recount(&conn);
        }
        conn.execute_batch(schema::DEFERRED_INDEXES)
            .map_err(|e| size_limited(size_limit, e, SizeLimit::most_pages_indexed))?;
        let indexed = finalizing.elapsed();
        // After the indexes: the check reads the referrers' and probes the targets'.
        let checking = Instant::now();
        let settled = dangling::settle(&conn, &sync_id, keep_dangling)?;
        let check_time = checking.elapsed();
        // After the check, which looks at one sync only; the size limit bounds what this
        // sync produced, not the history kept beside it.
        let copying = Instant::now();
        let (kept_syncs, dropped_syncs) = match &previous {
            Some(p) => {
                let kept = p.kept().to_vec();
                let dropped = p.total - kept.len() - usize::from(resumed);
                tracing::info!(
                    kept = kept.len(),
                    dropped,
                    "copying earlier syncs into the new c1z"
                );
                conn.query_row("PRAGMA max_page_count = 2147483646", [], |_| Ok(()))?;
                history::carry_over(&conn, &kept, &sync_id)?;
                (kept, dropped)
            }
            None => (Vec::new(), 0),
        };
        let history_time = copying.elapsed();
        let committing = Instant::now();
        let replaced = replace_target(conn, db_path, previous, &target, &dir)?;
        let finalize_time = indexed + committing.elapsed() - replaced.compress_time;
        let dropped = settled.dropped;
        counts.resources = counts.resources.saturating_sub(dropped.resources);
        counts.entitlements = counts.entitlements.saturating_sub(dropped.entitlements);
        counts.grants = counts.grants.saturating_sub(dropped.grants);
        let Replaced {
            db_bytes,
            file_bytes,
            compress_time,
        } = replaced;
        Ok(SyncSummary {
            sync_id,
            path: target,
            started_at,
            ended_at,
            counts,
            db_bytes,
            file_bytes,
            dropped,
            dangling_references: settled.kept,
            dangling_examples: settled.kept_examples,
            insert_time,
            check_time,
            finalize_time,
            compress_time,
            kept_syncs,
            dropped_syncs,
            history_time,
        })
    }

    /// Replaces the target with the earlier finished syncs and this one unfinished
    /// (`ended_at` NULL, its last [`checkpoint`](Self::checkpoint) in `sync_token`), so
    /// that the next run can resume it. Every object stays, dangling or not: the rest of
    /// the sync may bring what they reference. The keep count is not applied: older syncs
    /// are dropped only once a sync finishes.
    pub fn save_unfinished(self) -> Result<SavedProgress, C1zError> {
        let C1zWriter {
            conn,
            db_path,
            target,
            dir,
            sync_id,
            previous,
            ..
        } = self;
        conn.query_row("PRAGMA max_page_count = 2147483646", [], |_| Ok(()))?;
        conn.execute_batch(schema::DEFERRED_INDEXES)?;
        let kept_syncs = match &previous {
            Some(p) => {
                history::carry_over(&conn, &p.finished, &sync_id)?;
                p.finished.clone()
            }
            None => Vec::new(),
        };
        let replaced = replace_target(conn, db_path, previous, &target, &dir)?;
        Ok(SavedProgress {
            sync_id,
            path: target,
            file_bytes: replaced.file_bytes,
            kept_syncs,
        })
    }
}

/// What [`replace_target`] did.
struct Replaced {
    db_bytes: u64,
    file_bytes: u64,
    compress_time: Duration,
}

/// Commits and closes the finished database, compresses it into a temp file next to the
/// target, fsyncs it, renames it over the target and fsyncs the folder.
fn replace_target(
    conn: Connection,
    db_path: TempFile,
    previous: Option<Previous>,
    target: &Path,
    dir: &Path,
) -> Result<Replaced, C1zError> {
    conn.execute_batch("COMMIT")?;
    if previous.is_some() {
        conn.execute_batch("DETACH DATABASE prev")?;
    }
    conn.close().map_err(|(_, e)| e)?;
    drop(previous);
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    let (out, out_temp) = TempFile::beside(dir, &name, ".c1z.tmp")?;
    let compressing = Instant::now();
    let db_bytes = write_c1z(db_path.path(), out, out_temp.path())?;
    let compress_time = compressing.elapsed();
    let out_path = out_temp.path();
    if let Ok(meta) = std::fs::metadata(target) {
        // Keep the permissions of the file we replace (new files stay private, 0600).
        let _ = std::fs::set_permissions(out_path, meta.permissions());
    }
    let file_bytes = std::fs::metadata(out_path)
        .map_err(|e| C1zError::io("stat", out_path, e))?
        .len();
    out_temp
        .persist(target)
        .map_err(|e| C1zError::io("rename the temp file over", target, e))?;
    // Make the rename itself durable. The target is already replaced, so a failure here
    // is a warning: reporting the sync as failed would say the old file is still there.
    if let Err(e) = File::open(dir).and_then(|d| d.sync_all()) {
        tracing::warn!(
            folder = %dir.display(),
            error = %e,
            "the new c1z is in place, but its folder could not be synced to disk; \
             a power loss now could bring the previous file back"
        );
    }
    drop(db_path);
    Ok(Replaced {
        db_bytes,
        file_bytes,
        compress_time,
    })
}

impl SyncCounts {
    /// Counts one put: the object in its kind's counter, or a refusal as a duplicate or,
    /// while `importing`, as an overlap with the external file.
    fn record(
        &mut self,
        inserted: bool,
        importing: bool,
        field: impl FnOnce(&mut Self) -> &mut u64,
    ) -> bool {
        if inserted {
            *field(self) += 1;
        } else if importing {
            self.external_overlaps += 1;
        } else {
            self.duplicates += 1;
        }
        inserted
    }
}

/// `discovered_at` for rows written now, formatted at most once a millisecond: one
/// timestamp per row cost a clock read and a formatted string per insert.
struct DiscoveryClock {
    formatted_at: Instant,
    text: String,
}

impl DiscoveryClock {
    const RESOLUTION: Duration = Duration::from_millis(1);

    fn new() -> DiscoveryClock {
        DiscoveryClock {
            formatted_at: Instant::now(),
            text: UnixTime::now().to_db_text(),
        }
    }

    fn now(&mut self) -> &str {
        if self.formatted_at.elapsed() >= Self::RESOLUTION {
            self.formatted_at = Instant::now();
            self.text = UnixTime::now().to_db_text();
        }
        &self.text
    }
}

/// Explains a failed statement: `SQLITE_FULL` is the size limit when the database can
/// have been near it (`most_pages` bounds its size), else a full disk.
fn size_limited(
    limit: Option<SizeLimit>,
    e: rusqlite::Error,
    most_pages: impl FnOnce(&SizeLimit) -> u64,
) -> C1zError {
    match limit {
        Some(limit)
            if e.sqlite_error_code() == Some(ErrorCode::DiskFull)
                && most_pages(&limit) >= limit.pages =>
        {
            C1zError::SizeLimit { bytes: limit.bytes }
        }
        _ => e.into(),
    }
}

/// The id of a validated resource (validation guarantees it is present).
fn resource_id(r: Option<&Resource>) -> &ResourceId {
    r.and_then(|r| r.id.as_ref()).expect("validated")
}

/// Decodes a stored blob, naming the table and row when it is corrupt.
pub(crate) fn decode<M: Message + Default>(
    table: &'static str,
    row_id: i64,
    message: &'static str,
    data: &[u8],
) -> Result<M, C1zError> {
    M::decode(data).map_err(|source| C1zError::Decode {
        table,
        row_id,
        message,
        source,
    })
}

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;

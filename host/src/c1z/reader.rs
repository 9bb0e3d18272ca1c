//! [`C1zReader`]: opens a c1z (Go-written or ours) and reads its syncs and objects.
//!
//! The file is decompressed into a private temp folder and opened with `query_only`, so
//! the user's file is never modified. Older files lack columns added by later SDKs
//! (`linked_sync_id`, `supports_diff`, grant expansion columns); those are read as their
//! defaults, the way Go's migrations would fill them.

use super::container::read_c1z;
use super::listing::{self, EntitlementFilter, GrantFilter, Objects, ResourceFilter};
use super::proto::{Entitlement, Grant, Resource, ResourceId, ResourceType};
use super::schema::REQUIRED_TABLES;
use super::timestamp::UnixTime;
use super::writer::decode;
use super::C1zError;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// One row of `v1_sync_runs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRun {
    /// The sync's KSUID.
    pub sync_id: String,
    /// `started_at` as stored (Go writes local time without zone; read as UTC like Go).
    pub started_at: String,
    /// `ended_at` as stored; `None` while the sync is unfinished.
    pub ended_at: Option<String>,
    /// The syncer's checkpoint state (JSON) or `''`.
    pub sync_token: String,
    /// `full`, `partial`, `resources_only`, `partial_upserts` or `partial_deletions`.
    pub sync_type: String,
    /// Base sync of a partial sync, else `''`.
    pub parent_sync_id: String,
    /// Paired diff sync, else `''` (also for files predating the column).
    pub linked_sync_id: String,
    /// Whether grant expansion columns are filled (false for files predating the column).
    pub supports_diff: bool,
}

impl SyncRun {
    /// True once `ended_at` is set.
    pub fn is_finished(&self) -> bool {
        self.ended_at.is_some()
    }

    /// `started_at` parsed (UTC), if parseable.
    pub fn started(&self) -> Option<UnixTime> {
        UnixTime::parse_db_text(&self.started_at)
    }

    /// `ended_at` parsed (UTC), if set and parseable.
    pub fn ended(&self) -> Option<UnixTime> {
        self.ended_at.as_deref().and_then(UnixTime::parse_db_text)
    }
}

/// A read-only view of a decompressed c1z.
pub struct C1zReader {
    // Field order matters: close the connection before the temp folder is removed.
    conn: Connection,
    _dir: tempfile::TempDir,
    path: PathBuf,
    db_bytes: u64,
    sync_columns: String,
    has_expansion: bool,
}

impl C1zReader {
    /// Opens the c1z at `path`: checks the `C1ZF\0` header, streams the zstd payload into a
    /// temp file (at most 3 GiB) and opens it as a read-only SQLite database.
    pub fn open(path: &Path) -> Result<C1zReader, C1zError> {
        let format = |message: String| C1zError::Format {
            path: path.to_path_buf(),
            message,
        };
        let dir = tempfile::Builder::new()
            .prefix("baton-c1z-")
            .tempdir()
            .map_err(|e| C1zError::io("create a temp folder in", std::env::temp_dir(), e))?;
        let db = dir.path().join("db");
        let db_bytes = read_c1z(path, &db)?;
        let mut header = [0u8; 16];
        std::fs::File::open(&db)
            .and_then(|mut f| f.read_exact(&mut header))
            .map_err(|_| format("the decompressed payload is not an SQLite database".into()))?;
        if &header != b"SQLite format 3\0" {
            return Err(format(
                "the decompressed payload is not an SQLite database".into(),
            ));
        }
        // Read-write open of our private copy (a WAL-mode file needs to create its -wal
        // there), but query_only so nothing is ever written.
        let conn = Connection::open_with_flags(
            &db,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        let sqlite = |e: rusqlite::Error| format(format!("the database inside is unreadable: {e}"));
        conn.execute_batch("PRAGMA locking_mode = EXCLUSIVE; PRAGMA query_only = ON;")
            .map_err(sqlite)?;
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .map_err(sqlite)?;
        let missing: Vec<&str> = REQUIRED_TABLES
            .iter()
            .copied()
            .filter(|t| !tables.iter().any(|have| have == t))
            .collect();
        if !missing.is_empty() {
            return Err(format(format!(
                "not a Baton c1z database: table(s) {} missing",
                missing.join(", ")
            )));
        }
        let cols: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info('v1_sync_runs')")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .map_err(sqlite)?;
        let col = |name: &str, default: &str| {
            if cols.iter().any(|c| c == name) {
                name.to_string()
            } else {
                format!("{default} AS {name}")
            }
        };
        let grant_cols: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info('v1_grants')")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .map_err(sqlite)?;
        let has_expansion = grant_cols.iter().any(|c| c == "needs_expansion");
        let sync_columns = [
            "sync_id".to_string(),
            "started_at".into(),
            "ended_at".into(),
            col("sync_token", "''"),
            col("sync_type", "'full'"),
            col("parent_sync_id", "''"),
            col("linked_sync_id", "''"),
            col("supports_diff", "0"),
        ]
        .join(", ");
        Ok(C1zReader {
            conn,
            _dir: dir,
            path: path.to_path_buf(),
            db_bytes,
            sync_columns,
            has_expansion,
        })
    }

    /// The c1z file this reader was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Size of the decompressed database.
    pub fn db_bytes(&self) -> u64 {
        self.db_bytes
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// All sync runs, in insertion order.
    pub fn syncs(&self) -> Result<Vec<SyncRun>, C1zError> {
        let sql = format!("SELECT {} FROM v1_sync_runs ORDER BY id", self.sync_columns);
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([], |r| {
            Ok(SyncRun {
                sync_id: text(r.get_ref(0)?).unwrap_or_default(),
                started_at: text(r.get_ref(1)?).unwrap_or_default(),
                ended_at: text(r.get_ref(2)?),
                sync_token: text(r.get_ref(3)?).unwrap_or_default(),
                sync_type: text(r.get_ref(4)?).unwrap_or_default(),
                parent_sync_id: text(r.get_ref(5)?).unwrap_or_default(),
                linked_sync_id: text(r.get_ref(6)?).unwrap_or_default(),
                supports_diff: r.get::<_, Option<i64>>(7).ok().flatten().unwrap_or(0) != 0,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The sync Baton's CLI lists: `explicit` if given (it must exist); else the newest
    /// finished `full` sync (by `ended_at`, then sync id); else the newest unfinished sync of
    /// any type (by `started_at`, whatever its age, as the Go CLI does); else the newest
    /// finished sync of another type. Check [`SyncRun::is_finished`] to warn.
    pub fn select_sync(&self, explicit: Option<&str>) -> Result<SyncRun, C1zError> {
        let runs = self.syncs()?;
        if let Some(id) = explicit {
            return runs.into_iter().find(|r| r.sync_id == id).ok_or_else(|| {
                C1zError::Sync(format!(
                    "sync {id:?} is not in {} (`baton syncs` lists the syncs it holds)",
                    self.path.display()
                ))
            });
        }
        let newest_finished = |full_only: bool| {
            runs.iter()
                .filter(|r| r.is_finished() && (!full_only || r.sync_type == "full"))
                .max_by(|a, b| (&a.ended_at, &a.sync_id).cmp(&(&b.ended_at, &b.sync_id)))
        };
        let newest_unfinished = runs
            .iter()
            .filter(|r| !r.is_finished())
            .max_by(|a, b| a.started_at.cmp(&b.started_at));
        newest_finished(true)
            .or(newest_unfinished)
            .or_else(|| newest_finished(false))
            .cloned()
            .ok_or_else(|| C1zError::Sync(format!("{} holds no sync runs", self.path.display())))
    }

    /// The newest finished sync of any type (what `baton stats` uses), if any.
    pub fn latest_finished_sync(&self) -> Result<Option<SyncRun>, C1zError> {
        Ok(self
            .syncs()?
            .into_iter()
            .filter(SyncRun::is_finished)
            .max_by(|a, b| (&a.ended_at, &a.sync_id).cmp(&(&b.ended_at, &b.sync_id))))
    }

    /// What `baton stats` counts for `sync`: `resource_types`, the resources of each
    /// resource type (keyed by type id), and `entitlements` / `grants` (not for
    /// `resources_only` syncs).
    pub fn stats(&self, sync: &SyncRun) -> Result<BTreeMap<String, u64>, C1zError> {
        let count = |sql: &str, args: &[&dyn rusqlite::ToSql]| -> Result<u64, C1zError> {
            let n: i64 = self
                .conn
                .prepare_cached(sql)?
                .query_row(args, |r| r.get(0))?;
            Ok(n as u64)
        };
        let id = &sync.sync_id;
        let types: Vec<String> = self
            .conn
            .prepare_cached(
                "SELECT external_id FROM v1_resource_types WHERE sync_id = ?1 ORDER BY id",
            )?
            .query_map([id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut out = BTreeMap::new();
        out.insert("resource_types".to_string(), types.len() as u64);
        for t in types {
            let n = count(
                "SELECT count(*) FROM v1_resources WHERE resource_type_id = ?1 AND sync_id = ?2",
                &[&t, id],
            )?;
            out.insert(t, n);
        }
        if sync.sync_type != "resources_only" {
            let e = count(
                "SELECT count(*) FROM v1_entitlements WHERE sync_id = ?1",
                &[id],
            )?;
            let g = count("SELECT count(*) FROM v1_grants WHERE sync_id = ?1", &[id])?;
            out.insert("entitlements".into(), e);
            out.insert("grants".into(), g);
        }
        Ok(out)
    }

    /// Resource types of `sync_id`, in stored order.
    pub fn resource_types(&self, sync_id: &str) -> Objects<'_, ResourceType> {
        Objects::new(self, listing::RESOURCE_TYPES, sync_id, Vec::new())
    }

    /// Resources of `sync_id` matching `filter`.
    pub fn resources(&self, sync_id: &str, filter: &ResourceFilter) -> Objects<'_, Resource> {
        Objects::new(self, listing::RESOURCES, sync_id, filter.conditions())
    }

    /// Entitlements of `sync_id` matching `filter`.
    pub fn entitlements(
        &self,
        sync_id: &str,
        filter: &EntitlementFilter,
    ) -> Objects<'_, Entitlement> {
        Objects::new(self, listing::ENTITLEMENTS, sync_id, filter.conditions())
    }

    /// Grants of `sync_id` matching `filter` (by entitlement, resource, resource type or
    /// principal).
    pub fn grants(&self, sync_id: &str, filter: &GrantFilter) -> Objects<'_, Grant> {
        Objects::new(self, listing::GRANTS, sync_id, filter.conditions())
    }

    /// One resource type by id.
    pub fn resource_type(&self, sync_id: &str, id: &str) -> Result<Option<ResourceType>, C1zError> {
        self.get(
            listing::RESOURCE_TYPES,
            "external_id = ?2",
            &[&sync_id, &id],
        )
    }

    /// One resource by (type, id).
    pub fn resource(&self, sync_id: &str, id: &ResourceId) -> Result<Option<Resource>, C1zError> {
        let key = id.key();
        self.get(
            listing::RESOURCES,
            "resource_type_id = ?2 AND external_id = ?3",
            &[&sync_id, &id.resource_type, &key],
        )
    }

    /// One entitlement by id.
    pub fn entitlement(&self, sync_id: &str, id: &str) -> Result<Option<Entitlement>, C1zError> {
        self.get(listing::ENTITLEMENTS, "external_id = ?2", &[&sync_id, &id])
    }

    /// One grant by id.
    pub fn grant(&self, sync_id: &str, id: &str) -> Result<Option<Grant>, C1zError> {
        self.get(listing::GRANTS, "external_id = ?2", &[&sync_id, &id])
    }

    fn get<T: prost::Message + Default>(
        &self,
        table: listing::Table,
        cond: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<Option<T>, C1zError> {
        let sql = format!(
            "SELECT id, data FROM {} WHERE sync_id = ?1 AND {cond} LIMIT 1",
            table.name
        );
        let row = self
            .conn
            .prepare_cached(&sql)?
            .query_row(args, |r| Ok((r.get::<_, i64>(0)?, blob(r.get_ref(1)?))))
            .optional()?;
        row.map(|(id, data)| decode(table.name, id, table.message, &data))
            .transpose()
    }

    /// Number of rows of `sync_id` in `v1_grants` that wait for expansion (0 for files
    /// without the column).
    pub fn grants_needing_expansion(&self, sync_id: &str) -> Result<u64, C1zError> {
        if !self.has_expansion {
            return Ok(0);
        }
        let sql = "SELECT count(*) FROM v1_grants WHERE sync_id = ?1 AND needs_expansion = 1";
        let n: i64 = self.conn.query_row(sql, params![sync_id], |r| r.get(0))?;
        Ok(n as u64)
    }
}

/// A TEXT (or numeric) cell as a string; `None` for NULL.
fn text(v: rusqlite::types::ValueRef<'_>) -> Option<String> {
    use rusqlite::types::ValueRef::*;
    match v {
        Null => None,
        Integer(i) => Some(i.to_string()),
        Real(f) => Some(f.to_string()),
        Text(t) | Blob(t) => Some(String::from_utf8_lossy(t).into_owned()),
    }
}

/// A BLOB cell's bytes (TEXT accepted too, for foreign writers).
fn blob(v: rusqlite::types::ValueRef<'_>) -> Vec<u8> {
    match v {
        rusqlite::types::ValueRef::Blob(b) | rusqlite::types::ValueRef::Text(b) => b.to_vec(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
#[path = "reader_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "reader_props.rs"]
mod props;

#[cfg(test)]
#[path = "reader_props_db.rs"]
mod props_db;

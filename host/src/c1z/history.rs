//! Sync history in one file: a sync into an existing c1z keeps that file's finished full
//! syncs beside the new one, as Baton's Go SDK does, so `baton diff -f` can compare them.
//!
//! The previous file is decompressed into a temp database beside the target when the
//! writer is created, so a file that cannot be read is refused before any request is sent,
//! and the target stays as it was. The writer's connection attaches it, and `finish` copies
//! the kept syncs' rows over with `INSERT ... SELECT`: rows go from one SQLite file to the
//! other without being decoded or held in memory. Which old syncs are copied is the
//! cleanup: those beyond the keep count are simply not copied, and since the target is
//! replaced only by the finished new file, they disappear only when the new sync succeeded.

use super::container::read_c1z;
use super::schema::REQUIRED_TABLES;
use super::temp::TempFile;
use super::C1zError;
use rusqlite::Connection;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// How a sync treats the syncs already in its target file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct History {
    /// Finished full syncs the file holds after a sync, the new one included; `None` keeps
    /// them all (`--skip-cleanup`). Baton's default is 2, so `baton diff` has two to compare.
    pub keep: Option<usize>,
    /// Ignore what the target holds (even a file that cannot be read) and start a new
    /// history with this sync (`--fresh-history`).
    pub fresh: bool,
}

impl History {
    /// Baton's default keep count.
    pub const DEFAULT_KEEP: usize = 2;
}

impl Default for History {
    fn default() -> History {
        History {
            keep: Some(History::DEFAULT_KEEP),
            fresh: false,
        }
    }
}

/// Tables whose rows belong to a sync and are copied with it. `v1_connector_sessions` is
/// not: Go clears it at the end of every sync.
const SYNC_TABLES: &[&str] = &[
    "v1_resource_types",
    "v1_resources",
    "v1_entitlements",
    "v1_grants",
    "v1_assets",
];

/// The previous file, decompressed and attached to the writer's connection as `prev`.
#[derive(Debug)]
pub(crate) struct Previous {
    /// The decompressed copy; deleted on drop (after the connection closes).
    _db: TempFile,
    /// Every finished full sync of the file, oldest first.
    pub(crate) finished: Vec<String>,
    /// How many of the newest finished syncs a finished new sync keeps beside it.
    pub(crate) room: usize,
    /// The newest unfinished full sync, which a new sync may resume.
    pub(crate) unfinished: Option<UnfinishedSync>,
    /// Sync runs in the file.
    pub(crate) total: usize,
}

impl Previous {
    /// The finished syncs a finished new sync keeps beside it, oldest first.
    pub(crate) fn kept(&self) -> &[String] {
        &self.finished[self.finished.len().saturating_sub(self.room)..]
    }
}

/// An unfinished full sync found in the target: a sync that stopped part-way and saved
/// its progress, or one whose writer was killed (Go's syncer leaves those).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnfinishedSync {
    /// Its KSUID.
    pub sync_id: String,
    /// `started_at` as stored.
    pub started_at: String,
    /// `sync_token`: the syncer's checkpoint, as that syncer wrote it (may be empty).
    pub sync_token: String,
}

/// Why the history of `target` cannot be kept, as one line with the way out.
fn unreadable(target: &Path, why: impl std::fmt::Display) -> C1zError {
    C1zError::History {
        path: target.to_path_buf(),
        message: format!(
            "cannot keep its sync history, so it was not replaced: {why}; sync into another \
             file with -f, or pass --fresh-history to start a new history in it"
        ),
    }
}

/// Decompresses `target` (when it exists and is not empty) into a temp database beside
/// it, checks that it is a c1z database, attaches it to `conn` as `prev` (before the
/// writer's transaction: SQLite attaches only outside one) and picks the syncs to keep.
pub(crate) fn open_previous(
    conn: &Connection,
    target: &Path,
    dir: &Path,
    name: &str,
    history: &History,
) -> Result<Option<Previous>, C1zError> {
    let meta = match std::fs::metadata(target) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(C1zError::io("read", target, e)),
    };
    // Go treats an empty file as a new database: nothing to keep.
    if history.fresh || meta.len() == 0 {
        return Ok(None);
    }
    let (_, db) = TempFile::beside(dir, name, ".prev.db.tmp")?;
    match read_c1z(target, db.path()) {
        Ok(_) => {}
        Err(e @ (C1zError::Format { .. } | C1zError::NotFound(_))) => {
            let message = match e {
                C1zError::Format { message, .. } => message,
                other => other.to_string(),
            };
            return Err(unreadable(target, message));
        }
        Err(e) => return Err(e),
    }
    rollback_journal(db.path()).map_err(|e| match e {
        Some(e) => C1zError::io("prepare", db.path().to_path_buf(), e),
        None => unreadable(target, "the decompressed payload is not an SQLite database"),
    })?;
    conn.execute("ATTACH DATABASE ?1 AS prev", [path_text(db.path())?])?;
    let inspect = || -> Result<Vec<Run>, rusqlite::Error> {
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM prev.sqlite_master WHERE type = 'table'")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        if let Some(missing) = REQUIRED_TABLES
            .iter()
            .find(|t| !tables.iter().any(|h| h == *t))
        {
            return Err(rusqlite::Error::InvalidParameterName(format!(
                "not a Baton c1z database: table {missing} missing"
            )));
        }
        let cols = columns(conn, "prev", "v1_sync_runs")?;
        let sync_type = if cols.iter().any(|c| c == "sync_type") {
            "sync_type"
        } else {
            "'full'"
        };
        // Newest first, in the order the readers pick the newest finished full sync; the
        // unfinished ones after them, newest first.
        let sql = format!(
            "SELECT sync_id, ended_at IS NOT NULL, {sync_type} = 'full', \
             CAST(started_at AS TEXT), CAST(sync_token AS TEXT) FROM prev.v1_sync_runs \
             ORDER BY ended_at IS NULL, ended_at DESC, started_at DESC, sync_id DESC"
        );
        let runs = conn
            .prepare(&sql)?
            .query_map([], |r| {
                Ok(Run {
                    sync_id: r.get(0)?,
                    finished: r.get(1)?,
                    full: r.get(2)?,
                    started_at: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                    sync_token: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(runs)
    };
    let runs = match inspect() {
        Ok(runs) => runs,
        Err(rusqlite::Error::InvalidParameterName(why)) => {
            detach(conn);
            return Err(unreadable(target, why));
        }
        Err(e) => {
            detach(conn);
            return Err(unreadable(
                target,
                format!("the database inside is unreadable: {e}"),
            ));
        }
    };
    let total = runs.len();
    let unfinished = runs
        .iter()
        .find(|r| !r.finished && r.full)
        .map(|r| UnfinishedSync {
            sync_id: r.sync_id.clone(),
            started_at: r.started_at.clone(),
            sync_token: r.sync_token.clone(),
        });
    let mut finished: Vec<String> = runs
        .into_iter()
        .filter(|r| r.finished && r.full)
        .map(|r| r.sync_id)
        .collect();
    finished.reverse();
    Ok(Some(Previous {
        finished,
        // The new sync takes one place of the keep count.
        room: history.keep.map_or(usize::MAX, |k| k.saturating_sub(1)),
        unfinished,
        total,
        _db: db,
    }))
}

/// A sync run of the previous file, as [`open_previous`] reads it.
struct Run {
    sync_id: String,
    finished: bool,
    full: bool,
    started_at: String,
    sync_token: String,
}

/// Detaches `prev` after a refusal, so the writer's temp db can be dropped cleanly.
fn detach(conn: &Connection) {
    let _ = conn.execute_batch("DETACH DATABASE prev");
}

/// Marks a WAL-mode database (Go writes them) as a rollback-journal one, bytes 18 and 19
/// of the header. The file holds everything (Go checkpoints before compressing), so this
/// only stops SQLite from creating `-wal` and `-shm` files beside our temp copy, which the
/// temp-file cleanup would not know. `Err(None)`: not an SQLite file.
fn rollback_journal(path: &Path) -> Result<(), Option<std::io::Error>> {
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(Some)?;
    let mut header = [0u8; 20];
    f.read_exact(&mut header).map_err(|_| None)?;
    if &header[..16] != b"SQLite format 3\0" {
        return Err(None);
    }
    if header[18] == 2 || header[19] == 2 {
        f.seek(SeekFrom::Start(18)).map_err(Some)?;
        f.write_all(&[1, 1]).map_err(Some)?;
    }
    Ok(())
}

fn path_text(path: &Path) -> Result<String, C1zError> {
    path.to_str().map(str::to_string).ok_or_else(|| {
        C1zError::io(
            "attach",
            PathBuf::from(path),
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "path is not UTF-8"),
        )
    })
}

/// Column names of `schema.table`.
fn columns(conn: &Connection, schema: &str, table: &str) -> Result<Vec<String>, rusqlite::Error> {
    conn.prepare(&format!(
        "SELECT name FROM pragma_table_info('{table}', '{schema}')"
    ))?
    .query_map([], |r| r.get(0))?
    .collect()
}

/// Copies the rows and sync runs of the syncs `kept` from `prev` into the new database,
/// inside the writer's open transaction, and numbers the new sync's run after them (the
/// readers list runs in `id` order, oldest first).
pub(crate) fn carry_over(
    conn: &Connection,
    kept: &[String],
    new_sync: &str,
) -> Result<(), C1zError> {
    if kept.is_empty() {
        return Ok(());
    }
    copy_syncs(conn, kept, true)?;
    conn.execute(
        "UPDATE main.v1_sync_runs SET id = (SELECT max(id) + 1 FROM main.v1_sync_runs) \
         WHERE sync_id = ?1",
        [new_sync],
    )?;
    Ok(())
}

/// Copies the rows of the syncs `ids` from `prev`, and their sync runs when `runs`. Columns
/// an older file lacks take our defaults, the values Go's migrations would give them.
pub(crate) fn copy_syncs(conn: &Connection, ids: &[String], runs: bool) -> Result<(), C1zError> {
    let marks = vec!["?"; ids.len()].join(", ");
    let prev_tables: Vec<String> = conn
        .prepare("SELECT name FROM prev.sqlite_master WHERE type = 'table'")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let run_table: &[&str] = if runs { &["v1_sync_runs"] } else { &[] };
    for table in SYNC_TABLES.iter().chain(run_table) {
        if !prev_tables.iter().any(|t| t == table) {
            continue;
        }
        let have = columns(conn, "prev", table)?;
        let mut names = Vec::new();
        let mut values = Vec::new();
        let mut stmt = conn.prepare(&format!(
            "SELECT name, \"notnull\", dflt_value FROM pragma_table_info('{table}', 'main')"
        ))?;
        let ours = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, bool>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })?;
        for col in ours {
            let (name, not_null, default) = col?;
            if name == "id" {
                continue;
            }
            let value = if have.contains(&name) {
                format!("\"{name}\"")
            } else if let Some(d) = default {
                d
            } else if !not_null {
                "NULL".to_string()
            } else {
                return Err(C1zError::Sync(format!(
                    "the previous file's {table} has no {name} column; pass --fresh-history \
                     to start a new history"
                )));
            };
            names.push(format!("\"{name}\""));
            values.push(value);
        }
        let sql = format!(
            "INSERT OR IGNORE INTO main.{table} ({}) SELECT {} FROM prev.{table} \
             WHERE sync_id IN ({marks}) ORDER BY id",
            names.join(", "),
            values.join(", ")
        );
        conn.execute(&sql, rusqlite::params_from_iter(ids.iter()))?;
    }
    Ok(())
}

//! Measurement (f): the SQLite floor. The least work any writer of this c1z
//! must do in SQLite, measured on the rows (b) wrote.
//!
//! The rows of the synced file are copied (untimed) into memory, then timed:
//! one `INSERT ... SELECT` per table into an empty in-memory database with the
//! file's tables, the file's indexes and the commit. The unique indexes are
//! tried both ways, before the rows (as the writer needs them for its
//! duplicate checks) and after; the faster counts. No disk, no page cache
//! limit, no per-row statements, no encoding: a real writer cannot beat it,
//! and SQLite writes from one thread, so it also bounds the sync's wall time
//! from below, whatever else runs on the other cores.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use baton_host::c1z::MAGIC_V1;
use rusqlite::Connection;

/// The floor's wall time and the rows it inserted.
pub struct Floor {
    pub wall: Duration,
    pub rows: u64,
    /// The unique indexes were built after the rows (the faster order this time).
    pub unique_after: bool,
}

/// Measures the SQLite floor of the c1z at `c1z`: both orders of building
/// the unique indexes (before the rows, as the writer must for its duplicate
/// checks, and after them), the faster one counting.
pub fn sqlite_floor(c1z: &Path) -> Result<Floor> {
    let scratch = tempfile::tempdir()?;
    let file = scratch.path().join("synced.db");
    {
        let mut input = std::io::BufReader::new(std::fs::File::open(c1z)?);
        let mut magic = [0u8; MAGIC_V1.len()];
        std::io::Read::read_exact(&mut input, &mut magic)?;
        ensure!(&magic == MAGIC_V1, "{} is not a v1 c1z", c1z.display());
        let mut output = std::fs::File::create(&file)?;
        zstd::stream::copy_decode(input, &mut output).context("decompressing the synced c1z")?;
    }
    let before = refill(&file, false)?;
    let after = refill(&file, true)?;
    ensure!(
        before.rows == after.rows,
        "(f) inserted {} rows one way and {} the other",
        before.rows,
        after.rows
    );
    Ok(if after.wall < before.wall {
        after
    } else {
        before
    })
}

/// Inserts the rows of the database `file` into an empty in-memory one with its schema.
fn refill(file: &Path, unique_after: bool) -> Result<Floor> {
    let db = Connection::open_in_memory()?;
    db.execute_batch(
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -4194304;",
    )?;
    db.execute(
        "ATTACH DATABASE ?1 AS file",
        [file.to_str().context("temp path")?],
    )?;
    let schema: Vec<(String, String, String)> = db
        .prepare(
            "SELECT type, name, sql FROM file.sqlite_schema
             WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid",
        )?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let is_unique = |sql: &str| sql.to_ascii_uppercase().starts_with("CREATE UNIQUE INDEX");
    let tables: Vec<&str> = schema
        .iter()
        .filter(|(kind, _, _)| kind == "table")
        .map(|(_, name, _)| name.as_str())
        .collect();
    let early = |kind: &str, sql: &str| kind == "table" || (is_unique(sql) && !unique_after);

    for (kind, _, sql) in &schema {
        if early(kind, sql) {
            db.execute_batch(sql)?;
        }
    }
    for table in &tables {
        db.execute_batch(&format!(
            "CREATE TEMP TABLE \"src_{table}\" AS SELECT * FROM file.\"{table}\" ORDER BY rowid"
        ))?;
    }
    db.execute_batch("DETACH DATABASE file")?;

    let started = Instant::now();
    db.execute_batch("BEGIN")?;
    let mut rows = 0u64;
    for table in &tables {
        rows += db.execute(
            &format!("INSERT INTO main.\"{table}\" SELECT * FROM temp.\"src_{table}\""),
            [],
        )? as u64;
    }
    for (kind, _, sql) in &schema {
        if !early(kind, sql) {
            db.execute_batch(sql)?;
        }
    }
    db.execute_batch("COMMIT")?;
    Ok(Floor {
        wall: started.elapsed(),
        rows,
        unique_after,
    })
}

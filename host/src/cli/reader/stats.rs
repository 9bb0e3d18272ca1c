//! `baton stats`: object counts of one sync, as Go's `stats` prints them.

use super::args::Format;
use super::{json, note_later_unfinished, shown_time, table, warn_unfinished};
use crate::c1z::C1zReader;
use anyhow::{anyhow, Context, Result};
use std::collections::BTreeMap;
use std::io::Write;

/// Prints the counts of the newest finished sync (or of `sync_id`): a `Type | Count` table
/// or our own small JSON object (Go's `stats` has no JSON mode).
pub fn stats(
    reader: &C1zReader,
    sync_id: Option<&str>,
    format: Format,
    out: &mut impl Write,
) -> Result<()> {
    let sync = match sync_id {
        Some(id) => reader.select_sync(Some(id)).context("--sync-id")?,
        None => match reader.latest_finished_sync()? {
            Some(s) => s,
            None => return Err(no_finished_sync(reader)?),
        },
    };
    if !sync.is_finished() {
        warn_unfinished(reader, &sync, true);
    } else if sync_id.is_none() {
        note_later_unfinished(reader, &sync);
    }
    let counts: BTreeMap<String, u64> = reader.stats(&sync)?;
    match format {
        Format::Console => {
            let rows: Vec<Vec<String>> = counts
                .iter()
                .map(|(k, v)| vec![k.clone(), v.to_string()])
                .collect();
            table::write_table(out, &["Type", "Count"], &rows)?;
        }
        Format::Json => {
            let counts = counts
                .into_iter()
                .map(|(k, v)| (k, json::J::Num(v.to_string())))
                .collect();
            json::J::Obj(vec![
                ("syncId".into(), json::J::Str(sync.sync_id.clone())),
                ("counts".into(), json::J::Obj(counts)),
            ])
            .write(out)?;
        }
    }
    Ok(())
}

/// Go fails here with `sql: no rows in result set`; we say why and what to do.
fn no_finished_sync(reader: &C1zReader) -> Result<anyhow::Error> {
    let syncs = reader.syncs()?;
    let file = reader.path().display();
    Ok(
        match syncs.iter().max_by(|a, b| a.started_at.cmp(&b.started_at)) {
            None => anyhow!("{file} holds no sync runs, so there is nothing to count"),
            Some(newest) => anyhow!(
                "no finished sync in {file}: `stats` counts the newest finished sync, but the \
                 newest sync here, {} (started {}), is unfinished; pass --sync-id {} to count \
                 it anyway",
                newest.sync_id,
                shown_time(newest),
                newest.sync_id
            ),
        },
    )
}

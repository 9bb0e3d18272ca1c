//! `baton diff`: the resources, entitlements and grants created, deleted and modified
//! between a base (older) and an applied (newer) sync.
//!
//! Like Go's `diff`, objects are matched by id (`type:id` for resources) and an object is
//! "modified" when its protojson differs, which ignores encoding details such as the byte
//! order of annotations; a modified object is reported as it is in the applied sync. Go
//! only compares the two newest full syncs of one file and always prints JSON; we also
//! take the syncs from flags or from two files (C1zWriter writes one sync per file), print
//! console tables by default, and sort every list by id (Go's order is random).
//!
//! `-o json` prints Go's `C1ZDiffOutput` unchanged:
//! `{"resources":{"created":[..],"deleted":[..],"modified":[..]},"entitlements":{..},
//! "grants":{..}}` with protojson objects and empty lists omitted.

use super::args::{DiffArgs, Format};
use super::json::{self, Obj, J};
use super::lookups::{hide_expandable, Lookups};
use super::rows::Row;
use super::{shown_time, titled_table, warn_unfinished};
use crate::c1z::proto::{Entitlement, Grant, Resource};
use crate::c1z::{C1zError, C1zReader, EntitlementFilter, GrantFilter, ResourceFilter, SyncRun};
use anyhow::{anyhow, Context, Result};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

/// Objects of one kind that differ between the base and the applied sync, sorted by id.
#[derive(Debug, Default, PartialEq)]
pub struct Changes<T> {
    /// In the applied sync only.
    pub created: Vec<T>,
    /// In the base sync only.
    pub deleted: Vec<T>,
    /// In both, but different (the applied version).
    pub modified: Vec<T>,
}

/// Everything that differs between two syncs.
#[derive(Debug, Default, PartialEq)]
pub struct SyncDiff {
    /// Resources.
    pub resources: Changes<Resource>,
    /// Entitlements.
    pub entitlements: Changes<Entitlement>,
    /// Grants.
    pub grants: Changes<Grant>,
}

/// An object `diff` compares: its id and its protojson.
trait Diffed: PartialEq + Clone {
    fn key(&self) -> String;
    fn json(&self) -> J;
}

impl Diffed for Resource {
    fn key(&self) -> String {
        self.id.as_ref().map(|i| i.key()).unwrap_or_default()
    }
    fn json(&self) -> J {
        json::resource(self)
    }
}

impl Diffed for Entitlement {
    fn key(&self) -> String {
        self.id.clone()
    }
    fn json(&self) -> J {
        json::entitlement(self)
    }
}

impl Diffed for Grant {
    fn key(&self) -> String {
        self.id.clone()
    }
    fn json(&self) -> J {
        json::grant(self)
    }
}

/// Compares two syncs, which may live in different files. Holds the base sync's objects of
/// one kind in memory at a time and streams the applied sync's.
pub fn diff(
    base: &C1zReader,
    base_sync: &str,
    applied: &C1zReader,
    applied_sync: &str,
) -> Result<SyncDiff> {
    Ok(SyncDiff {
        resources: changes(
            base.resources(base_sync, &ResourceFilter::default()),
            applied.resources(applied_sync, &ResourceFilter::default()),
        )?,
        entitlements: changes(
            base.entitlements(base_sync, &EntitlementFilter::default()),
            applied.entitlements(applied_sync, &EntitlementFilter::default()),
        )?,
        grants: changes(grants(base, base_sync), grants(applied, applied_sync))?,
    })
}

/// All grants of a sync, shown as the listings show them (see `hide_expandable`).
fn grants<'r>(r: &'r C1zReader, sync: &str) -> impl Iterator<Item = Result<Grant, C1zError>> + 'r {
    r.grants(sync, &GrantFilter::default()).map(|g| {
        g.map(|mut g| {
            hide_expandable(&mut g);
            g
        })
    })
}

fn changes<T: Diffed>(
    base: impl Iterator<Item = Result<T, C1zError>>,
    applied: impl Iterator<Item = Result<T, C1zError>>,
) -> Result<Changes<T>> {
    let mut old: HashMap<String, T> = HashMap::new();
    for o in base {
        let o = o?;
        old.insert(o.key(), o);
    }
    let mut out = Changes {
        created: Vec::new(),
        deleted: Vec::new(),
        modified: Vec::new(),
    };
    for n in applied {
        let n = n?;
        match old.remove(&n.key()) {
            None => out.created.push(n),
            // Equal messages are equal JSON; only unequal ones need the (slower) JSON check.
            Some(o) if o != n && o.json() != n.json() => out.modified.push(n),
            Some(_) => {}
        }
    }
    out.deleted = old.into_values().collect();
    for list in [&mut out.created, &mut out.deleted, &mut out.modified] {
        list.sort_by_cached_key(Diffed::key);
    }
    Ok(out)
}

/// Runs `baton diff`: picks the two syncs, compares them and prints the result.
pub fn run(file: &Path, args: &DiffArgs, format: Format, out: &mut impl Write) -> Result<()> {
    let applied_reader = super::open(file, "--file")?;
    let base_reader_owned = match &args.base_file {
        Some(p) => Some(super::open(p, "--base-file")?),
        None => None,
    };
    let base_reader = base_reader_owned.as_ref().unwrap_or(&applied_reader);
    let applied = match &args.applied_sync_id {
        Some(id) => applied_reader
            .select_sync(Some(id))
            .context("--applied-sync-id")?,
        None => newest_full(&applied_reader, None)?.ok_or_else(|| {
            anyhow!(
                "no finished full sync in {} to diff; pass --applied-sync-id (`baton syncs` \
                 lists the syncs)",
                file.display()
            )
        })?,
    };
    let base = match (&args.base_sync_id, &args.base_file) {
        (Some(id), _) => base_reader
            .select_sync(Some(id))
            .context("--base-sync-id")?,
        (None, Some(base_file)) => newest_full(base_reader, None)?.ok_or_else(|| {
            anyhow!(
                "no finished full sync in {} to diff against; pass --base-sync-id",
                base_file.display()
            )
        })?,
        (None, None) => newest_full(base_reader, Some(&applied))?.ok_or_else(|| {
            anyhow!(
                "cannot diff a single sync run: {} holds no finished full sync older than {}; \
                 pass --base-file OLD.c1z to compare with a sync in another file",
                file.display(),
                applied.sync_id
            )
        })?,
    };
    for (reader, sync) in [(base_reader, &base), (&applied_reader, &applied)] {
        if !sync.is_finished() {
            warn_unfinished(reader, sync, true);
        }
    }
    let d = diff(
        base_reader,
        &base.sync_id,
        &applied_reader,
        &applied.sync_id,
    )?;
    match format {
        Format::Json => to_json(&d).write(out)?,
        Format::Console => {
            let mut old = Lookups::new(base_reader, &base);
            let mut new = Lookups::new(&applied_reader, &applied);
            writeln!(out, "Base sync:    {}", describe(base_reader, &base))?;
            writeln!(
                out,
                "Applied sync: {}\n",
                describe(&applied_reader, &applied)
            )?;
            section(
                out,
                "Resources",
                &d.resources,
                &mut old,
                &mut new,
                |l, r| l.resource_row(r),
            )?;
            section(
                out,
                "Entitlements",
                &d.entitlements,
                &mut old,
                &mut new,
                |l, e| l.entitlement_row(e),
            )?;
            section(out, "Grants", &d.grants, &mut old, &mut new, |l, g| {
                l.grant_row(g)
            })?;
        }
    }
    Ok(())
}

/// The newest finished full sync (by `ended_at`, then id, as `select_sync` orders them),
/// only among those older than `before` when given.
fn newest_full(reader: &C1zReader, before: Option<&SyncRun>) -> Result<Option<SyncRun>> {
    let order = |s: &SyncRun| (s.ended_at.clone(), s.sync_id.clone());
    Ok(reader
        .syncs()?
        .into_iter()
        .filter(|s| s.is_finished() && s.sync_type == "full")
        .filter(|s| match before {
            None => true,
            Some(b) if b.is_finished() => order(s) < order(b),
            Some(b) => s.sync_id != b.sync_id,
        })
        .max_by_key(order))
}

fn describe(reader: &C1zReader, sync: &SyncRun) -> String {
    let state = match sync.ended() {
        Some(t) => format!("finished {}", t.to_rfc3339(false)),
        None if sync.is_finished() => "finished".to_string(),
        None => format!("unfinished, started {}", shown_time(sync)),
    };
    format!(
        "{} ({}, {state}) in {}",
        sync.sync_id,
        sync.sync_type,
        reader.path().display()
    )
}

/// Prints "<kind> created/deleted/modified" tables; deleted rows are resolved in the base
/// sync, the others in the applied one.
fn section<T: Clone, R: Row>(
    out: &mut impl Write,
    kind: &str,
    changes: &Changes<T>,
    old: &mut Lookups<'_>,
    new: &mut Lookups<'_>,
    mut row: impl FnMut(&mut Lookups<'_>, T) -> Result<R>,
) -> Result<()> {
    let mut cells = |look: &mut Lookups<'_>, items: &[T]| -> Result<Vec<Vec<String>>> {
        items
            .iter()
            .map(|i| Ok(row(look, i.clone())?.cells()))
            .collect()
    };
    let created = cells(new, &changes.created)?;
    let deleted = cells(old, &changes.deleted)?;
    let modified = cells(new, &changes.modified)?;
    titled_table(out, &format!("{kind} created"), R::HEADERS, &created)?;
    titled_table(out, &format!("{kind} deleted"), R::HEADERS, &deleted)?;
    titled_table(out, &format!("{kind} modified"), R::HEADERS, &modified)
}

fn to_json(d: &SyncDiff) -> J {
    fn lists<T: Diffed>(c: &Changes<T>) -> Option<J> {
        let j = |v: &[T]| v.iter().map(Diffed::json).collect();
        Some(
            Obj::default()
                .list("created", j(&c.created))
                .list("deleted", j(&c.deleted))
                .list("modified", j(&c.modified))
                .done(),
        )
    }
    Obj::default()
        .msg("resources", lists(&d.resources))
        .msg("entitlements", lists(&d.entitlements))
        .msg("grants", lists(&d.grants))
        .done()
}

//! `baton principals compare`: who holds one entitlement but not another, possibly across
//! two c1z files (e.g. the same app synced from two tenants).
//!
//! A base principal "matches" a compared one when they have the same `type:id`; or both
//! are users (`UserTrait`) sharing an email address (compared case-insensitively, as mail
//! systems do); or both or neither are users and their display names are equal and not
//! empty. That is the rule of Go's `compare`, applied symmetrically: `missing` = base
//! principals without a match, `extra` = compared principals without a match (Go reports
//! an extra only when no base principal picked it first, which depends on map order).
//!
//! `-o json` prints Go's `PrincipalsCompareOutput` shape: `{"base":[..],"compared":[..],
//! "missing":[..],"extra":[..]}` of `ResourceOutput`s. The console shows `missing` and
//! `extra` as tables under a title each.

use super::args::{CompareArgs, Format};
use super::json::{Obj, J};
use super::lookups::Lookups;
use super::rows::{ResourceRow, Row};
use super::{titled_table, warn_unfinished};
use crate::c1z::proto::{find_annotation, Resource, UserTrait};
use crate::c1z::{C1zReader, GrantFilter};
use anyhow::{bail, Context, Result};
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

/// The principals holding `entitlement` in the default sync of `reader`, each once, in
/// grant order. Fails when the sync has no such entitlement (most likely a typo).
fn holders(reader: &C1zReader, entitlement: &str) -> Result<Vec<ResourceRow>> {
    let sync = reader.select_sync(None)?;
    if !sync.is_finished() {
        warn_unfinished(reader, &sync, false);
    }
    if reader.entitlement(&sync.sync_id, entitlement)?.is_none() {
        bail!(
            "entitlement {entitlement:?} is not in sync {} of {} (`baton entitlements` lists them)",
            sync.sync_id,
            reader.path().display()
        );
    }
    let filter = GrantFilter {
        entitlement_id: Some(entitlement.to_string()),
        ..Default::default()
    };
    let mut rows = Vec::new();
    Lookups::new(reader, &sync).principals(&filter, &mut |r| {
        rows.push(r);
        Ok(())
    })?;
    Ok(rows)
}

/// What matching looks at, extracted once per principal.
struct Identity {
    key: String,
    user: bool,
    emails: Vec<String>,
    name: String,
}

impl Identity {
    fn of(r: &Resource) -> Identity {
        let user = find_annotation::<UserTrait>(&r.annotations).and_then(|t| t.ok());
        Identity {
            key: r.id.as_ref().map(|i| i.key()).unwrap_or_default(),
            user: user.is_some(),
            emails: user
                .map(|u| u.emails.iter().map(|e| e.address.to_lowercase()).collect())
                .unwrap_or_default(),
            name: r.display_name.clone(),
        }
    }
}

/// Indexes of one side, to find a match for a principal of the other side without
/// comparing every pair.
struct Index {
    keys: HashSet<String>,
    emails: HashSet<String>,
    names: HashSet<(bool, String)>,
}

impl Index {
    fn of(ids: &[Identity]) -> Index {
        Index {
            keys: ids.iter().map(|i| i.key.clone()).collect(),
            emails: ids
                .iter()
                .filter(|i| i.user)
                .flat_map(|i| i.emails.iter().filter(|e| !e.is_empty()).cloned())
                .collect(),
            names: ids
                .iter()
                .filter(|i| !i.name.is_empty())
                .map(|i| (i.user, i.name.clone()))
                .collect(),
        }
    }

    fn matches(&self, p: &Identity) -> bool {
        self.keys.contains(&p.key)
            || (p.user && p.emails.iter().any(|e| self.emails.contains(e)))
            || self.names.contains(&(p.user, p.name.clone()))
    }
}

/// The principals of `rows` without a match in `other`.
fn unmatched<'a>(rows: &'a [ResourceRow], ids: &[Identity], other: &Index) -> Vec<&'a ResourceRow> {
    rows.iter()
        .zip(ids)
        .filter(|(_, id)| !other.matches(id))
        .map(|(r, _)| r)
        .collect()
}

/// Runs `baton principals compare`.
pub fn compare(
    file: &Path,
    args: &CompareArgs,
    format: Format,
    out: &mut impl Write,
) -> Result<()> {
    let base_reader = super::open(file, "--file")?;
    let base = holders(&base_reader, &args.entitlement).context("--entitlement")?;
    let compared = match &args.compare_file {
        Some(other) => holders(
            &super::open(other, "--compare-file")?,
            &args.compare_entitlement,
        ),
        None => holders(&base_reader, &args.compare_entitlement),
    }
    .context("--compare-entitlement")?;
    let base_ids: Vec<Identity> = base.iter().map(|r| Identity::of(&r.resource)).collect();
    let compared_ids: Vec<Identity> = compared.iter().map(|r| Identity::of(&r.resource)).collect();
    let missing = unmatched(&base, &base_ids, &Index::of(&compared_ids));
    let extra = unmatched(&compared, &compared_ids, &Index::of(&base_ids));
    match format {
        Format::Json => {
            let list = |v: Vec<&ResourceRow>| v.into_iter().map(|r| r.json()).collect::<Vec<J>>();
            Obj::default()
                .list("base", list(base.iter().collect()))
                .list("compared", list(compared.iter().collect()))
                .list("missing", list(missing))
                .list("extra", list(extra))
                .done()
                .write(out)?;
        }
        Format::Console => {
            let cells = |v: &[&ResourceRow]| v.iter().map(|r| r.cells()).collect::<Vec<_>>();
            let (b, c) = (&args.entitlement, &args.compare_entitlement);
            writeln!(out, "Base:     {b} ({} principals)", base.len())?;
            writeln!(out, "Compared: {c} ({} principals)\n", compared.len())?;
            let title = format!("Missing (principals of {b} with no match among those of {c})");
            titled_table(out, &title, ResourceRow::HEADERS, &cells(&missing))?;
            let title = format!("Extra (principals of {c} with no match among those of {b})");
            titled_table(out, &title, ResourceRow::HEADERS, &cells(&extra))?;
        }
    }
    Ok(())
}

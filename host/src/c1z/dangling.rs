//! Referential integrity of a sync, settled at its end: objects that reference an object
//! missing from the sync are dropped before the file is committed.
//!
//! A reference may be written before its target (a Notion user's role grant comes before
//! the roles are listed), so nothing can be decided while the sync is written. At the end, with the lookup indexes built, each
//! kind of reference is checked exactly: the distinct referenced keys are read from the
//! referrer's covering index and each is looked up once in the target's unique index, so
//! the cost grows with distinct keys, not with rows (0.16 s for a 100,000-user Notion
//! sync). The keys found missing go into a temp table, and the rows naming them are
//! counted, quoted and deleted through the referrer's index.
//!
//! Resources go first (a missing type; a missing parent, repeated down a chain of
//! parents), then entitlements, then grants, so an object whose target was dropped is
//! dropped too. A file the writer finishes therefore has no reference to a missing
//! object, which readers and validators (`c1z_check.py`) require. An earlier version
//! checked references against a Bloom filter of stored keys while writing: cheaper, but a
//! false "stored" let a dangling reference through, one in 1,600 at a million keys.

use rusqlite::{params, Connection};

use super::C1zError;

/// How many examples a summary keeps.
pub const MAX_EXAMPLES: usize = 20;

/// Objects dropped because they referenced an object missing from the sync.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dropped {
    /// Resources whose resource type or parent was missing.
    pub resources: u64,
    /// Entitlements whose resource was missing.
    pub entitlements: u64,
    /// Grants whose entitlement, principal or entitlement resource was missing.
    pub grants: u64,
    /// Up to [`MAX_EXAMPLES`] examples, one per missing object, e.g.
    /// `grant group:g:member:user:ghost: principal user:ghost is not in the sync`.
    pub examples: Vec<String>,
}

impl Dropped {
    /// Objects dropped in all.
    pub fn total(&self) -> u64 {
        self.resources + self.entitlements + self.grants
    }
}

/// What [`settle`] did.
pub(crate) struct Settled {
    /// What was dropped (nothing when references were kept).
    pub dropped: Dropped,
    /// References to missing objects left in the file (only when kept), and examples.
    pub kept: u64,
    /// Examples of the references kept.
    pub kept_examples: Vec<String>,
}

/// One kind of reference.
struct Check {
    /// The table of the referring rows.
    table: &'static str,
    /// What a referring row is, for examples.
    kind: &'static str,
    /// What the reference is, for examples.
    what: &'static str,
    /// The key columns in the referring table: one, or a resource's type and id.
    columns: &'static [&'static str],
    /// Rows without a reference, when some have none (a resource without a parent).
    optional: Option<&'static str>,
    /// The table holding the targets, by `external_id`.
    target: &'static str,
}

impl Check {
    /// The key as the target's `external_id` has it, over `columns` renamed `a`, `b`.
    fn target_key(&self) -> &'static str {
        if self.columns.len() == 2 {
            "a || ':' || b"
        } else {
            "a"
        }
    }

    /// Fills `temp.dangling_keys` with the referenced keys that are not stored.
    fn find_missing(&self) -> String {
        let (a, b) = self.key_columns();
        let filter = self
            .optional
            .map(|c| format!(" WHERE {c} IS NOT NULL"))
            .unwrap_or_default();
        format!(
            "INSERT INTO temp.dangling_keys (a, b) SELECT a, b FROM \
             (SELECT DISTINCT {a} AS a, {b} AS b FROM {table}{filter}) \
             WHERE NOT EXISTS (SELECT 1 FROM {target} WHERE external_id = {key} AND sync_id = ?1)",
            table = self.table,
            target = self.target,
            key = self.target_key(),
        )
    }

    /// `a` and `b` of `temp.dangling_keys` (`b` NULL for a one-column key).
    fn key_columns(&self) -> (&'static str, &'static str) {
        match self.columns {
            [a, b] => (a, b),
            [a] => (a, "NULL"),
            _ => unreachable!("keys have one or two columns"),
        }
    }

    /// Rows that reference a key in `temp.dangling_keys`, found through the index on
    /// `columns`.
    fn referring(&self) -> String {
        match self.columns {
            [a, b] => format!("({a}, {b}) IN (SELECT a, b FROM temp.dangling_keys)"),
            [a] => format!("{a} IN (SELECT a FROM temp.dangling_keys)"),
            _ => unreachable!("keys have one or two columns"),
        }
    }

    /// The referenced key of a row, as examples show it.
    fn shown_key(&self) -> String {
        self.columns.join(" || ':' || ")
    }
}

/// Resources first, then entitlements, then grants: dropping a target before its
/// referrers are checked lets the drop cascade.
const CHECKS: &[Check] = &[
    Check {
        table: "v1_resources",
        kind: "resource",
        what: "resource type",
        columns: &["resource_type_id"],
        optional: None,
        target: "v1_resource_types",
    },
    Check {
        table: "v1_resources",
        kind: "resource",
        what: "parent resource",
        columns: &["parent_resource_type_id", "parent_resource_id"],
        optional: Some("parent_resource_id"),
        target: "v1_resources",
    },
    Check {
        table: "v1_entitlements",
        kind: "entitlement",
        what: "resource",
        columns: &["resource_type_id", "resource_id"],
        optional: None,
        target: "v1_resources",
    },
    Check {
        table: "v1_grants",
        kind: "grant",
        what: "entitlement",
        columns: &["entitlement_id"],
        optional: None,
        target: "v1_entitlements",
    },
    Check {
        table: "v1_grants",
        kind: "grant",
        what: "principal",
        columns: &["principal_resource_type_id", "principal_resource_id"],
        optional: None,
        target: "v1_resources",
    },
    Check {
        table: "v1_grants",
        kind: "grant",
        what: "entitlement resource",
        columns: &["resource_type_id", "resource_id"],
        optional: None,
        target: "v1_resources",
    },
];

/// Checks every reference of the sync `sync_id` (the only one in the database) and drops
/// the objects whose target is missing, or with `keep`, only counts the references.
/// Needs the lookup indexes (`schema::DEFERRED_INDEXES`) for speed, not for correctness.
pub(crate) fn settle(conn: &Connection, sync_id: &str, keep: bool) -> Result<Settled, C1zError> {
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS dangling_keys (a TEXT NOT NULL, b TEXT);
         DELETE FROM temp.dangling_keys;",
    )?;
    let mut settled = Settled {
        dropped: Dropped::default(),
        kept: 0,
        kept_examples: Vec::new(),
    };
    for check in CHECKS {
        // A dropped parent orphans its children: repeat until a round finds nothing.
        loop {
            conn.execute("DELETE FROM temp.dangling_keys", [])?;
            let missing = conn.execute(&check.find_missing(), params![sync_id])?;
            if missing == 0 {
                break;
            }
            let examples = if keep {
                &mut settled.kept_examples
            } else {
                &mut settled.dropped.examples
            };
            quote(conn, check, examples)?;
            if keep {
                let count: u64 = conn.query_row(
                    &format!(
                        "SELECT count(*) FROM {} WHERE {}",
                        check.table,
                        check.referring()
                    ),
                    [],
                    |r| r.get(0),
                )?;
                settled.kept += count;
                break;
            }
            let deleted = conn.execute(
                &format!("DELETE FROM {} WHERE {}", check.table, check.referring()),
                [],
            )? as u64;
            let dropped = &mut settled.dropped;
            match check.table {
                "v1_resources" => dropped.resources += deleted,
                "v1_entitlements" => dropped.entitlements += deleted,
                _ => dropped.grants += deleted,
            }
            if check.optional.is_none() {
                // Only a parent chain can need another round.
                break;
            }
        }
    }
    conn.execute_batch("DROP TABLE temp.dangling_keys")?;
    Ok(settled)
}

/// Adds examples of rows referring to the missing keys, up to [`MAX_EXAMPLES`] in all.
fn quote(conn: &Connection, check: &Check, examples: &mut Vec<String>) -> Result<(), C1zError> {
    let room = MAX_EXAMPLES.saturating_sub(examples.len());
    if room == 0 {
        return Ok(());
    }
    let mut stmt = conn.prepare(&format!(
        "SELECT external_id, {} FROM {} WHERE {} LIMIT ?1",
        check.shown_key(),
        check.table,
        check.referring()
    ))?;
    let rows = stmt.query_map(params![room as i64], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    for row in rows {
        let (referrer, key) = row?;
        examples.push(format!(
            "{} {referrer}: {} {key} is not in the sync",
            check.kind, check.what
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(super::super::schema::TABLES).unwrap();
        conn.execute_batch(super::super::schema::DEFERRED_INDEXES)
            .unwrap();
        conn
    }

    fn resource_type(conn: &Connection, id: &str) {
        conn.execute(
            "INSERT INTO v1_resource_types (external_id, data, sync_id, discovered_at) \
             VALUES (?1, x'', 's', '')",
            params![id],
        )
        .unwrap();
    }

    fn resource(conn: &Connection, rt: &str, id: &str, parent: Option<(&str, &str)>) {
        conn.execute(
            "INSERT INTO v1_resources (resource_type_id, external_id, parent_resource_type_id, \
             parent_resource_id, data, sync_id, discovered_at) \
             VALUES (?1, ?2, ?3, ?4, x'', 's', '')",
            params![
                rt,
                format!("{rt}:{id}"),
                parent.map(|p| p.0),
                parent.map(|p| p.1)
            ],
        )
        .unwrap();
    }

    fn entitlement(conn: &Connection, rt: &str, id: &str, slug: &str) {
        conn.execute(
            "INSERT INTO v1_entitlements (resource_type_id, resource_id, external_id, data, \
             sync_id, discovered_at) VALUES (?1, ?2, ?3, x'', 's', '')",
            params![rt, id, format!("{rt}:{id}:{slug}")],
        )
        .unwrap();
    }

    fn grant(conn: &Connection, entitlement: (&str, &str, &str), principal: (&str, &str)) {
        let (rt, id, slug) = entitlement;
        let ent = format!("{rt}:{id}:{slug}");
        conn.execute(
            "INSERT INTO v1_grants (resource_type_id, resource_id, entitlement_id, \
             principal_resource_type_id, principal_resource_id, external_id, data, sync_id, \
             discovered_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, x'', 's', '')",
            params![
                rt,
                id,
                ent,
                principal.0,
                principal.1,
                format!("{ent}:{}:{}", principal.0, principal.1)
            ],
        )
        .unwrap();
    }

    fn ids(conn: &Connection, table: &str) -> Vec<String> {
        let mut stmt = conn
            .prepare(&format!("SELECT external_id FROM {table} ORDER BY id"))
            .unwrap();
        let rows = stmt.query_map([], |r| r.get(0)).unwrap();
        rows.map(Result::unwrap).collect()
    }

    /// A sync with every kind of missing target, and a complete part that must stay.
    fn sample() -> Connection {
        let conn = db();
        resource_type(&conn, "user");
        resource_type(&conn, "group");
        resource(&conn, "user", "u1", None);
        resource(&conn, "group", "g1", None);
        entitlement(&conn, "group", "g1", "member");
        grant(&conn, ("group", "g1", "member"), ("user", "u1"));
        // A resource of an undeclared type, and a chain under a missing parent.
        resource(&conn, "app", "a1", None);
        resource(&conn, "group", "child", Some(("group", "gone")));
        resource(&conn, "group", "grandchild", Some(("group", "child")));
        // An entitlement on the orphaned child, and one on a resource never written.
        entitlement(&conn, "group", "child", "member");
        entitlement(&conn, "group", "nowhere", "member");
        // Grants: to a guest, on an entitlement never written, on the dropped child's.
        grant(&conn, ("group", "g1", "member"), ("user", "guest"));
        grant(&conn, ("group", "g1", "admin"), ("user", "u1"));
        grant(&conn, ("group", "child", "member"), ("user", "u1"));
        conn
    }

    #[test]
    fn objects_referencing_missing_ones_are_dropped_in_cascade() {
        let conn = sample();
        let settled = settle(&conn, "s", false).unwrap();
        let d = &settled.dropped;
        assert_eq!((d.resources, d.entitlements, d.grants), (3, 2, 3), "{d:?}");
        assert_eq!(settled.kept, 0);
        assert_eq!(ids(&conn, "v1_resources"), ["user:u1", "group:g1"]);
        assert_eq!(ids(&conn, "v1_entitlements"), ["group:g1:member"]);
        assert_eq!(ids(&conn, "v1_grants"), ["group:g1:member:user:u1"]);
        for example in [
            "resource app:a1: resource type app is not in the sync",
            "resource group:child: parent resource group:gone is not in the sync",
            "resource group:grandchild: parent resource group:child is not in the sync",
            "entitlement group:nowhere:member: resource group:nowhere is not in the sync",
            "grant group:g1:member:user:guest: principal user:guest is not in the sync",
            "grant group:g1:admin:user:u1: entitlement group:g1:admin is not in the sync",
        ] {
            assert!(d.examples.iter().any(|e| e == example), "{example}: {d:?}");
        }
        assert_eq!(d.examples.len(), d.total() as usize, "{d:?}");
        // Settled once, nothing is left to find.
        let again = settle(&conn, "s", false).unwrap();
        assert_eq!(again.dropped, Dropped::default());
    }

    #[test]
    fn kept_references_are_counted_one_per_reference() {
        let conn = sample();
        let settled = settle(&conn, "s", true).unwrap();
        assert_eq!(settled.dropped, Dropped::default());
        // app type, parent gone, entitlement on nowhere, guest, admin entitlement;
        // `child` and its entitlement exist, so nothing cascades.
        assert_eq!(settled.kept, 5, "{:?}", settled.kept_examples);
        assert_eq!(ids(&conn, "v1_grants").len(), 4);
    }

    #[test]
    fn a_complete_sync_loses_nothing() {
        let conn = db();
        resource_type(&conn, "user");
        resource_type(&conn, "role");
        resource(&conn, "role", "owner", None);
        entitlement(&conn, "role", "owner", "assigned");
        for i in 0..1000 {
            let id = format!("u{i}");
            resource(&conn, "user", &id, None);
            grant(&conn, ("role", "owner", "assigned"), ("user", &id));
        }
        let settled = settle(&conn, "s", false).unwrap();
        assert_eq!(settled.dropped, Dropped::default());
        assert_eq!(ids(&conn, "v1_grants").len(), 1000);
    }

    #[test]
    fn examples_stop_at_the_maximum() {
        let conn = db();
        resource_type(&conn, "user");
        resource(&conn, "user", "u1", None);
        for i in 0..50 {
            grant(&conn, ("group", "g", &format!("e{i}")), ("user", "u1"));
        }
        let settled = settle(&conn, "s", false).unwrap();
        assert_eq!(settled.dropped.grants, 50);
        assert_eq!(settled.dropped.examples.len(), MAX_EXAMPLES);
    }

    #[test]
    fn lookups_go_through_the_indexes() {
        let conn = sample();
        conn.execute_batch("CREATE TEMP TABLE dangling_keys (a TEXT NOT NULL, b TEXT)")
            .unwrap();
        for check in CHECKS {
            for sql in [
                check.find_missing(),
                format!("DELETE FROM {} WHERE {}", check.table, check.referring()),
            ] {
                let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
                if stmt.parameter_count() == 1 {
                    stmt.raw_bind_parameter(1, "s").unwrap();
                }
                let mut rows = stmt.raw_query();
                let mut plan = Vec::new();
                while let Some(row) = rows.next().unwrap() {
                    plan.push(row.get::<_, String>(3).unwrap());
                }
                let scans: Vec<&String> = plan
                    .iter()
                    .filter(|p| p.starts_with("SCAN v1_") && !p.contains("COVERING INDEX"))
                    .collect();
                assert!(scans.is_empty(), "{sql}: {plan:?}");
            }
        }
    }
}

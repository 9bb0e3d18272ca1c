//! Finds references to objects missing from a sync (run by the writer before commit).
//!
//! Each check is one `NOT EXISTS` query per reference kind that uses the unique
//! `(external_id, sync_id)` indexes, so it costs an index probe per row.

use super::C1zError;
use rusqlite::{params, Connection};

/// How many examples are kept.
const MAX_EXAMPLES: usize = 20;

/// (what is referenced, the referring row's label, the missing key, FROM/WHERE clause).
const CHECKS: &[(&str, &str, &str, &str)] = &[
    (
        "resource type",
        "'resource ' || o.external_id",
        "o.resource_type_id",
        "v1_resources o WHERE o.sync_id = ?1 AND NOT EXISTS (SELECT 1 FROM v1_resource_types t \
         WHERE t.external_id = o.resource_type_id AND t.sync_id = ?1)",
    ),
    (
        "parent resource",
        "'resource ' || o.external_id",
        "o.parent_resource_type_id || ':' || o.parent_resource_id",
        "v1_resources o WHERE o.sync_id = ?1 AND o.parent_resource_id IS NOT NULL AND NOT EXISTS \
         (SELECT 1 FROM v1_resources p WHERE p.sync_id = ?1 \
         AND p.external_id = o.parent_resource_type_id || ':' || o.parent_resource_id)",
    ),
    (
        "resource",
        "'entitlement ' || o.external_id",
        "o.resource_type_id || ':' || o.resource_id",
        "v1_entitlements o WHERE o.sync_id = ?1 AND NOT EXISTS (SELECT 1 FROM v1_resources p \
         WHERE p.sync_id = ?1 AND p.external_id = o.resource_type_id || ':' || o.resource_id)",
    ),
    (
        "entitlement",
        "'grant ' || o.external_id",
        "o.entitlement_id",
        "v1_grants o WHERE o.sync_id = ?1 AND NOT EXISTS (SELECT 1 FROM v1_entitlements e \
         WHERE e.sync_id = ?1 AND e.external_id = o.entitlement_id)",
    ),
    (
        "principal",
        "'grant ' || o.external_id",
        "o.principal_resource_type_id || ':' || o.principal_resource_id",
        "v1_grants o WHERE o.sync_id = ?1 AND NOT EXISTS (SELECT 1 FROM v1_resources p \
         WHERE p.sync_id = ?1 \
         AND p.external_id = o.principal_resource_type_id || ':' || o.principal_resource_id)",
    ),
    (
        "entitlement resource",
        "'grant ' || o.external_id",
        "o.resource_type_id || ':' || o.resource_id",
        "v1_grants o WHERE o.sync_id = ?1 AND NOT EXISTS (SELECT 1 FROM v1_resources p \
         WHERE p.sync_id = ?1 AND p.external_id = o.resource_type_id || ':' || o.resource_id)",
    ),
];

/// Total number of dangling references in `sync_id` and up to [`MAX_EXAMPLES`] descriptions
/// such as `grant g1: principal user:u9 is not in the sync`.
pub fn find(conn: &Connection, sync_id: &str) -> Result<(u64, Vec<String>), C1zError> {
    let mut total = 0u64;
    let mut examples = Vec::new();
    for (what, label, key, from) in CHECKS {
        let n: i64 = conn.query_row(
            &format!("SELECT count(*) FROM {from}"),
            params![sync_id],
            |r| r.get(0),
        )?;
        if n == 0 {
            continue;
        }
        total += n as u64;
        let room = MAX_EXAMPLES.saturating_sub(examples.len());
        let mut stmt = conn.prepare(&format!(
            "SELECT {label}, {key} FROM {from} ORDER BY o.id LIMIT {room}"
        ))?;
        let rows = stmt.query_map(params![sync_id], |r| {
            Ok(format!(
                "{}: {what} {} is not in the sync",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?
            ))
        })?;
        for row in rows {
            examples.push(row?);
        }
    }
    Ok((total, examples))
}

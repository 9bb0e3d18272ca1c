//! [`References`]: finds references to objects missing from a sync, as the writer goes.
//!
//! Every reference a stored object makes (a resource's type and parent, an entitlement's
//! resource, a grant's entitlement, principal and resource) is checked when the object is
//! written, not in a scan of every table at the end: that scan cost an index probe per
//! reference after the last page, on the critical path of a sync. Most references name an
//! object written moments before (a grant's principal on the same page), which a small
//! cache of recent keys answers; the rest cost one index probe on the writer's thread.
//! A key not found yet (a user's role grant comes before the roles are listed) is kept,
//! once per distinct key, and looked up again at the end.

use std::collections::{HashMap, HashSet};

use rusqlite::{params, Connection, OptionalExtension};

use super::C1zError;

/// How many examples a summary keeps.
pub const MAX_EXAMPLES: usize = 20;
/// Keys per generation of the recent-keys cache (two generations are kept).
const RECENT_KEYS: usize = 4096;

/// What a reference points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// A resource type, by id.
    ResourceType,
    /// A resource, by `type:id`.
    Resource,
    /// An entitlement, by id.
    Entitlement,
}

impl Target {
    fn lookup(self) -> &'static str {
        match self {
            Target::ResourceType => {
                "SELECT 1 FROM v1_resource_types WHERE external_id = ?1 AND sync_id = ?2"
            }
            Target::Resource => {
                "SELECT 1 FROM v1_resources WHERE external_id = ?1 AND sync_id = ?2"
            }
            Target::Entitlement => {
                "SELECT 1 FROM v1_entitlements WHERE external_id = ?1 AND sync_id = ?2"
            }
        }
    }
}

/// A key not found when it was first referenced.
#[derive(Debug)]
struct Pending {
    /// References to it so far.
    count: u64,
    /// The first of them, e.g. `grant g1: principal user:ghost`.
    example: String,
    /// Order of first reference, so examples come in write order.
    order: usize,
}

/// The reference bookkeeping of one sync.
#[derive(Debug, Default)]
pub struct References {
    recent: HashSet<(Target, String)>,
    older: HashSet<(Target, String)>,
    pending: HashMap<(Target, String), Pending>,
}

impl References {
    /// Records an object just stored, so references to it need no lookup.
    pub fn stored(&mut self, target: Target, key: String) {
        let entry = (target, key);
        self.pending.remove(&entry);
        if self.recent.len() >= RECENT_KEYS {
            self.older = std::mem::take(&mut self.recent);
        }
        self.recent.insert(entry);
    }

    /// Checks one reference made by `referrer` (e.g. `grant g1`) as `what` (e.g. `principal`).
    pub fn check(
        &mut self,
        conn: &Connection,
        sync_id: &str,
        target: Target,
        key: String,
        referrer: impl FnOnce() -> String,
        what: &str,
    ) -> Result<(), C1zError> {
        let entry = (target, key);
        if self.recent.contains(&entry) || self.older.contains(&entry) {
            return Ok(());
        }
        if let Some(pending) = self.pending.get_mut(&entry) {
            pending.count += 1;
            return Ok(());
        }
        if exists(conn, sync_id, target, &entry.1)? {
            self.stored(target, entry.1);
            return Ok(());
        }
        let example = format!("{}: {what} {} is not in the sync", referrer(), entry.1);
        let order = self.pending.len();
        self.pending.insert(
            entry,
            Pending {
                count: 1,
                example,
                order,
            },
        );
        Ok(())
    }

    /// Looks the keys still missing up once more; returns how many references stay
    /// dangling and up to [`MAX_EXAMPLES`] examples, one per missing key.
    pub fn finish(self, conn: &Connection, sync_id: &str) -> Result<(u64, Vec<String>), C1zError> {
        let mut missing = Vec::new();
        for ((target, key), pending) in self.pending {
            if !exists(conn, sync_id, target, &key)? {
                missing.push(pending);
            }
        }
        missing.sort_by_key(|p| p.order);
        let total = missing.iter().map(|p| p.count).sum();
        let examples = missing
            .into_iter()
            .take(MAX_EXAMPLES)
            .map(|p| p.example)
            .collect();
        Ok((total, examples))
    }
}

fn exists(conn: &Connection, sync_id: &str, target: Target, key: &str) -> Result<bool, C1zError> {
    let mut stmt = conn.prepare_cached(target.lookup())?;
    Ok(stmt
        .query_row(params![key, sync_id], |_| Ok(()))
        .optional()?
        .is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(super::super::schema::TABLES).unwrap();
        conn
    }

    fn insert_resource(conn: &Connection, key: &str) {
        conn.execute(
            "INSERT INTO v1_resources (resource_type_id, external_id, data, sync_id, \
             discovered_at) VALUES ('user', ?1, x'', 's', '')",
            params![key],
        )
        .unwrap();
    }

    #[test]
    fn a_key_written_later_is_not_dangling_and_a_missing_one_is_counted_per_reference() {
        let conn = db();
        let mut refs = References::default();
        let check = |refs: &mut References, key: &str, by: &str| {
            refs.check(
                &conn,
                "s",
                Target::Resource,
                key.into(),
                || format!("grant {by}"),
                "principal",
            )
            .unwrap()
        };
        // Stored in the database (not through `stored`): found by lookup.
        insert_resource(&conn, "user:a");
        check(&mut refs, "user:a", "g1");
        // Missing when referenced, written before the end.
        check(&mut refs, "user:late", "g2");
        insert_resource(&conn, "user:late");
        // Missing to the end, referenced twice.
        check(&mut refs, "user:ghost", "g3");
        check(&mut refs, "user:ghost", "g4");
        let (total, examples) = refs.finish(&conn, "s").unwrap();
        assert_eq!(total, 2);
        assert_eq!(
            examples,
            vec!["grant g3: principal user:ghost is not in the sync".to_string()]
        );
    }

    #[test]
    fn recent_keys_are_bounded_and_answer_without_the_database() {
        let conn = db();
        let mut refs = References::default();
        for i in 0..3 * RECENT_KEYS {
            refs.stored(Target::Entitlement, format!("e{i}"));
        }
        assert!(refs.recent.len() + refs.older.len() <= 2 * RECENT_KEYS);
        // The newest keys are known although the database holds none of them.
        let last = format!("e{}", 3 * RECENT_KEYS - 1);
        refs.check(&conn, "s", Target::Entitlement, last, String::new, "x")
            .unwrap();
        // The oldest were forgotten: looked up, not found, pending.
        refs.check(
            &conn,
            "s",
            Target::Entitlement,
            "e0".into(),
            || "grant g".into(),
            "entitlement",
        )
        .unwrap();
        let (total, examples) = refs.finish(&conn, "s").unwrap();
        assert_eq!((total, examples.len()), (1, 1));
    }
}

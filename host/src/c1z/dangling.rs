//! [`References`]: finds references to objects missing from a sync, as the writer goes.
//!
//! Every reference a stored object makes (a resource's type and parent, an entitlement's
//! resource, a grant's entitlement, principal and resource) is checked when the object is
//! written, without touching the database: every stored key also goes into a fixed-size
//! Bloom filter, which answers "certainly not stored yet" or "stored". A key not stored
//! yet (a user's role grant comes before the roles are listed) is kept, once per distinct
//! key, and looked up in the database at the end.
//!
//! The filter is 4 MiB whatever the tenant size. Its one kind of error is a false
//! "stored": with 100k stored keys about one reference in a million to a missing object
//! goes unreported, with a million keys one in 1,600. That is a diagnostic missed, never
//! data lost or a reference wrongly reported, and it keeps index probes (and the page
//! reads they cost) off the writer's thread.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use rusqlite::{params, Connection, OptionalExtension};

use super::C1zError;

/// How many examples a summary keeps.
pub const MAX_EXAMPLES: usize = 20;
/// log2 of the filter's size in bits (2^25 bits = 4 MiB).
const FILTER_BITS_LOG2: u32 = 25;
/// Bits set per key.
const FILTER_PROBES: u64 = 3;

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

/// The key of a referenced object, borrowed from the message that names it (no string is
/// built unless the key turns out to be missing).
#[derive(Clone, Copy, Debug)]
pub struct Key<'a> {
    target: Target,
    /// The id, or a resource's type.
    first: &'a str,
    /// A resource's id.
    second: Option<&'a str>,
}

impl<'a> Key<'a> {
    /// A resource type by id.
    pub fn resource_type(id: &'a str) -> Key<'a> {
        Key {
            target: Target::ResourceType,
            first: id,
            second: None,
        }
    }

    /// A resource by type and id (stored as `type:id`).
    pub fn resource(resource_type: &'a str, id: &'a str) -> Key<'a> {
        Key {
            target: Target::Resource,
            first: resource_type,
            second: Some(id),
        }
    }

    /// An entitlement by id.
    pub fn entitlement(id: &'a str) -> Key<'a> {
        Key {
            target: Target::Entitlement,
            first: id,
            second: None,
        }
    }

    /// The `external_id` the key's row has.
    fn external_id(&self) -> String {
        match self.second {
            Some(second) => format!("{}:{second}", self.first),
            None => self.first.to_string(),
        }
    }

    /// A 64-bit digest of the key; `DefaultHasher::new` is deterministic, so a run's
    /// digests agree with each other.
    fn digest(&self) -> u64 {
        let mut h = DefaultHasher::new();
        self.target.hash(&mut h);
        self.first.hash(&mut h);
        self.second.hash(&mut h);
        h.finish()
    }
}

/// A key not found when it was first referenced.
#[derive(Debug)]
struct Pending {
    target: Target,
    /// Its `external_id`.
    external_id: String,
    /// References to it so far.
    count: u64,
    /// The first of them, e.g. `grant g1: principal user:ghost`.
    example: String,
    /// Order of first reference, so examples come in write order.
    order: usize,
}

/// The reference bookkeeping of one sync (no `Debug`: the filter is 4 MiB).
pub struct References {
    /// The Bloom filter of stored keys.
    filter: Vec<u64>,
    /// Keys referenced but not stored (yet), by digest: two missing keys with one digest
    /// would share an entry, a diagnostic at worst merged, at odds of one in 2^64.
    pending: HashMap<u64, Pending>,
}

impl Default for References {
    fn default() -> Self {
        References {
            filter: vec![0; 1 << (FILTER_BITS_LOG2 - 6)],
            pending: HashMap::new(),
        }
    }
}

impl References {
    /// Records an object just stored.
    pub fn stored(&mut self, key: Key<'_>) {
        let digest = key.digest();
        for bit in bits(digest) {
            self.filter[bit / 64] |= 1 << (bit % 64);
        }
        if !self.pending.is_empty() {
            self.pending.remove(&digest);
        }
    }

    /// Checks one reference made by `referrer` (e.g. `grant g1`) as `what` (e.g. `principal`).
    pub fn check(&mut self, key: Key<'_>, referrer: impl FnOnce() -> String, what: &str) {
        let digest = key.digest();
        if bits(digest).all(|bit| self.filter[bit / 64] & (1 << (bit % 64)) != 0) {
            return;
        }
        let order = self.pending.len();
        self.pending
            .entry(digest)
            .and_modify(|p| p.count += 1)
            .or_insert_with(|| {
                let external_id = key.external_id();
                Pending {
                    target: key.target,
                    example: format!("{}: {what} {external_id} is not in the sync", referrer()),
                    external_id,
                    count: 1,
                    order,
                }
            });
    }

    /// Looks the keys still missing up in the database (an object written without
    /// [`stored`](Self::stored) counts as written); returns how many references stay
    /// dangling and up to [`MAX_EXAMPLES`] examples, one per missing key.
    pub fn finish(self, conn: &Connection, sync_id: &str) -> Result<(u64, Vec<String>), C1zError> {
        let mut missing = Vec::new();
        for pending in self.pending.into_values() {
            if !exists(conn, sync_id, pending.target, &pending.external_id)? {
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

/// The filter bits of a digest (double hashing: bit i = h1 + i * h2).
fn bits(digest: u64) -> impl Iterator<Item = usize> {
    let (h1, h2) = (digest, (digest >> 32) | 1);
    let mask = (1u64 << FILTER_BITS_LOG2) - 1;
    (0..FILTER_PROBES).map(move |i| (h1.wrapping_add(i.wrapping_mul(h2)) & mask) as usize)
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
        let check = |refs: &mut References, id: &str, by: &str| {
            refs.check(
                Key::resource("user", id),
                || format!("grant {by}"),
                "principal",
            )
        };
        // Stored in the database (not through `stored`): found at the end.
        insert_resource(&conn, "user:a");
        check(&mut refs, "a", "g1");
        // Missing when referenced, written before the end.
        check(&mut refs, "late", "g2");
        insert_resource(&conn, "user:late");
        // Missing when referenced, then stored through the writer.
        check(&mut refs, "next", "g5");
        refs.stored(Key::resource("user", "next"));
        // Missing to the end, referenced twice.
        check(&mut refs, "ghost", "g3");
        check(&mut refs, "ghost", "g4");
        let (total, examples) = refs.finish(&conn, "s").unwrap();
        assert_eq!(total, 2);
        assert_eq!(
            examples,
            vec!["grant g3: principal user:ghost is not in the sync".to_string()]
        );
    }

    #[test]
    fn stored_keys_answer_without_the_database_and_targets_do_not_mix() {
        let conn = db();
        let mut refs = References::default();
        for i in 0..100_000 {
            refs.stored(Key::resource("user", &format!("u{i}")));
        }
        refs.stored(Key::entitlement("group:g:member"));
        for i in (0..100_000).step_by(7) {
            refs.check(Key::resource("user", &format!("u{i}")), String::new, "x");
        }
        refs.check(Key::entitlement("group:g:member"), String::new, "x");
        assert!(refs.pending.is_empty(), "{:?}", refs.pending.keys());
        // The same text as another target, and the same `type:id` split differently.
        refs.check(
            Key::resource_type("u1"),
            || "resource r".into(),
            "resource type",
        );
        refs.check(
            Key::resource("user:u1", ""),
            || "grant g".into(),
            "principal",
        );
        refs.check(
            Key::entitlement("user:u1"),
            || "grant h".into(),
            "entitlement",
        );
        let (total, examples) = refs.finish(&conn, "s").unwrap();
        assert_eq!(total, 3, "{examples:?}");
    }

    #[test]
    fn the_filter_rarely_says_stored_for_a_missing_key() {
        let mut refs = References::default();
        for i in 0..100_000 {
            refs.stored(Key::resource("user", &format!("u{i}")));
        }
        let missing = 100_000;
        for i in 0..missing {
            refs.check(
                Key::resource("user", &format!("absent-{i}")),
                String::new,
                "x",
            );
        }
        // The expected false "stored" rate at 100k keys is under one in a million.
        assert!(refs.pending.len() >= missing - 2, "{}", refs.pending.len());
    }
}

//! Stateless SCIM paging behind opaque page tokens, with duplicate detection.
//!
//! A page token is `v1.<type>.<generation>.<startIndex>.<received>.<total>`,
//! all decimal, `total` being `-` while unknown. The next `startIndex` is the
//! previous one plus the number of items received (not plus one page), and a
//! listing stops when the items received reach `totalResults` or a page comes
//! back empty, so a lying total can never make it loop.
//!
//! Notion does not sort, so an item can move between pages while a listing
//! runs. The guest remembers the ids seen by the current listing of each type
//! (ids only) and skips repeats with a warning. That memory is trusted only
//! when the token presented is exactly the last one this instance issued for
//! the type; any other token restarts it, so a replayed or foreign token can
//! cost a missed duplicate but never a wrongly skipped item.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::baton::connector::types::{ConnectorError, Page};
use crate::error::invalid_argument;
use crate::notes::Notes;
use crate::scim::model::ListResponse;

/// Where a listing stands; everything a page token encodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// Resource type id of the listing.
    pub type_id: String,
    /// Distinguishes listings of the same type started by this instance.
    pub generation: u64,
    /// The 1-based `startIndex` of the next request.
    pub start_index: u64,
    /// Items received so far, valid or not.
    pub received: u64,
    /// The last `totalResults` the server reported.
    pub total: Option<u64>,
}

impl Cursor {
    /// Encodes the cursor as an opaque page token.
    pub fn encode(&self) -> String {
        let total = self
            .total
            .map_or_else(|| "-".to_string(), |t| t.to_string());
        format!(
            "v1.{}.{}.{}.{}.{total}",
            self.type_id, self.generation, self.start_index, self.received
        )
    }

    /// Decodes a token issued for a listing of `type_id`.
    pub fn decode(token: &str, type_id: &str) -> Result<Self, ConnectorError> {
        let malformed =
            || invalid_argument(format!("malformed page token for `{type_id}`: {token:?}"));
        if token.len() > 128 {
            return Err(malformed());
        }
        let parts: Vec<&str> = token.split('.').collect();
        let ["v1", token_type, generation, start, received, total] = parts.as_slice() else {
            return Err(malformed());
        };
        if *token_type != type_id {
            return Err(invalid_argument(format!(
                "the page token belongs to a `{token_type}` listing, not `{type_id}`"
            )));
        }
        let cursor = Self {
            type_id: type_id.to_string(),
            generation: number(generation).ok_or_else(malformed)?,
            start_index: number(start).ok_or_else(malformed)?,
            received: number(received).ok_or_else(malformed)?,
            total: match *total {
                "-" => None,
                t => Some(number(t).ok_or_else(malformed)?),
            },
        };
        // Both are advanced by the same count, so anything else was not issued by us.
        if cursor.received.checked_add(1) != Some(cursor.start_index) {
            return Err(malformed());
        }
        Ok(cursor)
    }

    /// Applies the stop rule after a page of `len` items; `None` means done.
    fn advance(&self, len: u64, page_total: Option<u64>) -> Option<Self> {
        if len == 0 {
            return None;
        }
        let received = self.received.saturating_add(len);
        let total = page_total.or(self.total);
        if total.is_some_and(|t| received >= t) {
            return None;
        }
        Some(Self {
            start_index: received.saturating_add(1),
            received,
            total,
            ..self.clone()
        })
    }
}

/// Plain digits only: no sign, no blanks.
fn number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// What one listing of a type remembers between calls.
#[derive(Debug, Default)]
struct Listing {
    /// The token this instance issued last for the listing.
    issued: Option<String>,
    /// Ids seen so far.
    seen: HashSet<String>,
}

/// Per-type listing memory of this instance.
#[derive(Debug, Default)]
pub struct Listings {
    next_generation: u64,
    by_type: HashMap<String, Listing>,
}

/// One page of mapped items and the token of the next page.
#[derive(Debug)]
pub struct Fetched<T> {
    /// Items that were valid and not seen before in this listing.
    pub items: Vec<T>,
    /// `None` when the listing is complete.
    pub next_page_token: Option<String>,
}

impl Listings {
    /// Fetches one page of a paged SCIM listing.
    ///
    /// `fetch` makes the request for a `startIndex`; `map` turns a raw item
    /// into `(id, item)` or returns `None` (after logging) to skip it. `noun`
    /// names items in log lines (`user`, `group`).
    pub fn page<T>(
        &mut self,
        type_id: &str,
        noun: &str,
        token: &str,
        fetch: impl FnOnce(u64) -> Result<ListResponse, ConnectorError>,
        mut map: impl FnMut(Value, &mut Notes) -> Option<(String, T)>,
        notes: &mut Notes,
    ) -> Result<Fetched<T>, ConnectorError> {
        let cursor = self.begin(type_id, token, notes)?;
        let page = fetch(cursor.start_index)?;
        if let (Some(before), Some(now)) = (cursor.total, page.total_results) {
            if before != now {
                notes.warn(format!(
                    "Notion's {noun} count changed from {before} to {now} during the listing; \
                     the sync may miss or repeat some {noun}s"
                ));
            }
        }
        let len = page.resources.len() as u64;
        let seen = &mut self.by_type.entry(type_id.to_string()).or_default().seen;
        let (mut items, mut repeats) = (Vec::new(), 0u64);
        for raw in page.resources {
            let Some((id, item)) = map(raw, notes) else {
                continue;
            };
            if seen.insert(id.clone()) {
                items.push(item);
            } else {
                repeats += 1;
                notes.warn(format!(
                    "skipping {noun} {id}: the server returned it twice in one listing \
                     (unstable page order); the listing may be incomplete"
                ));
            }
        }
        let mut next = cursor.advance(len, page.total_results);
        // Without a total only an empty page stops the listing; a server that
        // ignores startIndex would then repeat its first page forever.
        if next.as_ref().is_some_and(|n| n.total.is_none()) && items.is_empty() && repeats > 0 {
            notes.warn(format!(
                "stopping the {noun} listing: a page held only {noun}s seen before and the \
                 server reports no totalResults"
            ));
            next = None;
        }
        if let Some(total) = cursor.total.filter(|t| len == 0 && cursor.received < *t) {
            notes.warn(format!(
                "the {noun} listing ended with an empty page after {} of {total} {noun}s",
                cursor.received
            ));
        }
        Ok(Fetched {
            items,
            next_page_token: self.finish(type_id, next),
        })
    }

    /// Starts a listing (empty token) or resumes one; returns its cursor.
    fn begin(
        &mut self,
        type_id: &str,
        token: &str,
        notes: &mut Notes,
    ) -> Result<Cursor, ConnectorError> {
        if token.is_empty() {
            self.next_generation += 1;
            self.by_type.insert(type_id.to_string(), Listing::default());
            return Ok(Cursor {
                type_id: type_id.to_string(),
                generation: self.next_generation,
                start_index: 1,
                received: 0,
                total: None,
            });
        }
        let cursor = Cursor::decode(token, type_id)?;
        let continues = self
            .by_type
            .get(type_id)
            .is_some_and(|l| l.issued.as_deref() == Some(token));
        if !continues {
            notes.debug(format!(
                "resuming a `{type_id}` listing this instance did not run; duplicate detection restarts here"
            ));
            self.by_type.insert(type_id.to_string(), Listing::default());
        }
        Ok(cursor)
    }

    /// Records the token handed out, or forgets a finished listing.
    fn finish(&mut self, type_id: &str, next: Option<Cursor>) -> Option<String> {
        match next {
            Some(cursor) => {
                let token = cursor.encode();
                self.by_type.entry(type_id.to_string()).or_default().issued = Some(token.clone());
                Some(token)
            }
            None => {
                self.by_type.remove(type_id);
                None
            }
        }
    }
}

/// A page with nothing in it and no next page.
pub fn empty_page() -> Page {
    Page {
        resources: Vec::new(),
        entitlements: Vec::new(),
        grants: Vec::new(),
        next_page_token: None,
    }
}

/// Rejects a page token for a listing that always fits in one page, since
/// such a listing never hands one out.
pub fn single_page(type_id: &str, token: &str) -> Result<(), ConnectorError> {
    if token.is_empty() {
        return Ok(());
    }
    Err(invalid_argument(format!(
        "unexpected page token for `{type_id}`: this listing has a single page"
    )))
}

thread_local! {
    static LISTINGS: RefCell<Listings> = RefCell::new(Listings::default());
}

/// Runs `f` with this instance's listing memory.
pub fn with_listings<R>(f: impl FnOnce(&mut Listings) -> R) -> R {
    LISTINGS.with(|l| f(&mut l.borrow_mut()))
}

/// Forgets every listing (a new configuration may point elsewhere).
pub fn reset() {
    with_listings(|l| *l = Listings::default());
}

#[cfg(test)]
#[path = "paging_tests.rs"]
mod tests;

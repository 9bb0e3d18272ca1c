//! Stateless SCIM paging behind opaque page tokens, with duplicate detection.
//!
//! A page token is `v1.<type>.<generation>.<startIndex>.<received>.<total>`,
//! all decimal, `total` being `-` while unknown. The next `startIndex` is the
//! previous one plus the number of items received (not plus one page, so short
//! pages before the end lose nothing; `itemsPerPage` is never trusted). A
//! listing stops at the first of:
//!
//! 1. an empty page (with a warning when it comes short of `totalResults`);
//! 2. the items received reaching the latest `totalResults`;
//! 3. without any `totalResults`, a page that brings no item not seen before
//!    (a server ignoring `startIndex` would otherwise repeat itself forever);
//! 4. the items received reaching twice the first `totalResults` plus a page
//!    ([`budget`]), so a total that keeps growing cannot keep it going;
//! 5. [`MAX_LISTING_ITEMS`] items received, whatever the server says.
//!
//! Every page brings at least one item or ends the listing, so it ends after
//! at most `min(2 * first total + page size, MAX_LISTING_ITEMS) + 1` pages once
//! a total is known, and after at most one page per distinct id before that.
//!
//! Notion does not sort, so an item can move between pages while a listing
//! runs. The guest remembers the ids seen by the current listing of each type
//! (ids only) to apply rule 3 and to warn about repeats; the repeats are still
//! returned, because the host keeps the first copy and counts the rest in the
//! sync's summary. That memory is trusted only when the token presented is
//! exactly the last one this instance issued for the type; any other token
//! restarts it, so a replayed or foreign token can cost a missed warning (and
//! a later stop under rule 3), never a lost item.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use serde::de::DeserializeOwned;

use crate::baton::connector::types::{ConnectorError, Page};
use crate::error::invalid_argument;
use crate::notes::Notes;
use crate::scim::model::{from_raw_item, ListResponse};
use crate::scim::PAGE_SIZE;

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

    /// The cursor after a page of `len` items (at least one), before the
    /// stop rule is applied.
    fn advance(&self, len: u64, page_total: Option<u64>) -> Self {
        let received = self.received.saturating_add(len);
        Self {
            start_index: received.saturating_add(1),
            received,
            total: page_total.or(self.total),
            ..self.clone()
        }
    }
}

/// Items one listing reads at most, whatever the server says (rule 5): a
/// hundred times the largest workspaces Notion serves.
pub const MAX_LISTING_ITEMS: u64 = 10_000_000;

/// Repeated items logged one by one per listing; the rest are only counted.
const REPEATS_LOGGED: u64 = 20;

/// Items a listing reads at most once the server has reported `first_total`
/// (rule 4): twice that plus a page leaves room for a workspace that grows
/// during the listing, but not for a server whose total runs ahead forever.
pub fn budget(first_total: u64, page_size: u32) -> u64 {
    first_total
        .saturating_mul(2)
        .saturating_add(u64::from(page_size))
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
    /// Repeated items returned so far.
    repeats: u64,
    /// The [`budget`] set by the first `totalResults` seen.
    budget: Option<u64>,
}

/// Per-type listing memory of this instance.
#[derive(Debug)]
pub struct Listings {
    next_generation: u64,
    by_type: HashMap<String, Listing>,
    /// Items asked for per request.
    page_size: u32,
    /// Rule 5's cap; smaller in tests.
    max_items: u64,
}

impl Default for Listings {
    fn default() -> Self {
        Self::with_limits(PAGE_SIZE, MAX_LISTING_ITEMS)
    }
}

/// A listed item mapped to contract records.
pub trait PageItem {
    /// The id its listing tells repeats apart by.
    fn id(&self) -> &str;
    /// Adds its resource, entitlements and grants to `page`.
    fn add_to(self, page: &mut Page);
}

/// The requests of a listing: `fetch` gets the page at a `startIndex` with a
/// count; `prefetch` sends that request ahead (see `Transport::prefetch`).
pub struct Requests<F, P> {
    /// Makes the request and parses the answer.
    pub fetch: F,
    /// Sends the request early; may do nothing.
    pub prefetch: P,
}

#[cfg(test)]
impl<F> Requests<F, fn(u64, u32)> {
    /// Requests that are never sent ahead.
    pub fn only(fetch: F) -> Self {
        Requests {
            fetch,
            prefetch: |_, _| {},
        }
    }
}

/// One page of mapped items and the token of the next page.
#[derive(Debug)]
pub struct Fetched<T> {
    /// Items that were valid, in page order, repeats of earlier pages included.
    pub items: Vec<T>,
    /// `None` when the listing is complete.
    pub next_page_token: Option<String>,
    /// The listing's size as the server last stated it (`totalResults`).
    pub total: Option<u64>,
}

impl Listings {
    /// Listing memory asking for `page_size` items per request and reading
    /// at most `max_items` per listing.
    pub fn with_limits(page_size: u32, max_items: u64) -> Self {
        Self {
            next_generation: 0,
            by_type: HashMap::new(),
            page_size: page_size.max(1),
            max_items,
        }
    }

    /// Fetches one page of a paged SCIM listing.
    ///
    /// `requests.fetch` makes the request for a `startIndex` and a count;
    /// `map` turns a raw item into `(id, item)` or returns `None` (after
    /// logging) to skip it. `noun` names items in log lines (`user`, `group`).
    /// `requests.prefetch` is given the next request before the items are
    /// mapped, when the total already says the listing goes on; it is exactly
    /// the request the call with the returned token makes.
    pub fn page<T>(
        &mut self,
        type_id: &str,
        noun: &str,
        token: &str,
        requests: Requests<
            impl FnOnce(u64, u32) -> Result<ListResponse, ConnectorError>,
            impl FnOnce(u64, u32),
        >,
        mut map: impl FnMut(&str, &mut Notes) -> Option<(String, T)>,
        notes: &mut Notes,
    ) -> Result<Fetched<T>, ConnectorError> {
        let cursor = self.begin(type_id, token, notes)?;
        let page = (requests.fetch)(cursor.start_index, self.page_size)?;
        let len = page.len() as u64;
        note_anomalies(&cursor, &page, noun, notes);
        let next = cursor.advance(len, page.total_results);
        let page_size = self.page_size;
        let listing = self.by_type.entry(type_id.to_string()).or_default();
        if listing.budget.is_none() && len > 0 {
            listing.budget = next.total.map(|t| budget(t, page_size));
        }
        let budget = listing.budget.unwrap_or(u64::MAX);
        // With a total, whether the listing goes on does not depend on the
        // items (rules 2, 4, 5): ask for the next page now, so that the server
        // prepares it while this one is mapped and handed back.
        let goes_on = next.total.is_some_and(|t| next.received < t)
            && next.received < budget
            && next.received < self.max_items;
        if len > 0 && goes_on {
            (requests.prefetch)(next.start_index, page_size);
        }
        let (mut items, mut repeats) = (Vec::new(), 0u64);
        for raw in page.items() {
            let Some((id, item)) = map(raw, notes) else {
                continue;
            };
            if !listing.seen.insert(id.clone()) {
                repeats += 1;
                // A server ignoring startIndex repeats whole pages; the
                // summary at the end counts what is not logged one by one.
                if listing.repeats + repeats <= REPEATS_LOGGED {
                    notes.warn(format!(
                        "{noun} {id} came twice in one listing (unstable page order); \
                         the listing may be incomplete"
                    ));
                }
            }
            items.push(item);
        }
        let fresh = items.len() as u64 - repeats;
        listing.repeats = listing.repeats.saturating_add(repeats);
        if len == 0 {
            if let Some(total) = page.total_results.or(cursor.total) {
                if cursor.received < total {
                    notes.warn(format!(
                        "the {noun} listing ended short of totalResults: an empty page came \
                         after {} of {total} {noun}s",
                        cursor.received
                    ));
                }
            }
            let total = page.total_results.or(cursor.total);
            return Ok(Fetched {
                total,
                ..self.done(type_id, noun, items, notes)
            });
        }
        // `Some(warning)` ends the listing; the warning is `None` for rule 2,
        // the normal end.
        let stop = match next.total {
            Some(total) if next.received >= total => Some(None),
            None if fresh == 0 => Some(Some(format!(
                "stopping the {noun} listing: a page held no {noun} not seen before and the \
                 server reports no totalResults"
            ))),
            _ if next.received >= budget => Some(Some(format!(
                "stopping the {noun} listing after {} {noun}s, more than twice the total the \
                 server first reported: its totalResults keeps growing",
                next.received
            ))),
            _ if next.received >= self.max_items => Some(Some(format!(
                "stopping the {noun} listing after {} {noun}s, the most one listing reads",
                next.received
            ))),
            _ => None,
        };
        if let Some(warning) = stop {
            if let Some(warning) = warning {
                notes.warn(warning);
            }
            return Ok(Fetched {
                total: next.total,
                ..self.done(type_id, noun, items, notes)
            });
        }
        if len < u64::from(page_size) {
            notes.debug(format!(
                "a page of {len} {noun}s where {page_size} were asked for came before the end \
                 ({} of {} received); continuing at startIndex {}",
                next.received,
                next.total
                    .map_or_else(|| "?".to_string(), |t| t.to_string()),
                next.start_index
            ));
        }
        Ok(Fetched {
            items,
            next_page_token: Some(self.issue(type_id, &next)),
            total: next.total,
        })
    }

    /// One page of a SCIM listing as contract records: each item is parsed as
    /// `S` (an item that is not an object is skipped with a warning) and
    /// mapped by `map`, which logs and returns `None` to skip it.
    pub fn records<S: DeserializeOwned, M: PageItem>(
        &mut self,
        type_id: &str,
        noun: &str,
        token: &str,
        requests: Requests<
            impl FnOnce(u64, u32) -> Result<ListResponse, ConnectorError>,
            impl FnOnce(u64, u32),
        >,
        map: impl Fn(S, &mut Notes) -> Option<M>,
        notes: &mut Notes,
    ) -> Result<Page, ConnectorError> {
        let map_raw = |raw: &str, notes: &mut Notes| {
            let Some(item) = from_raw_item::<S>(raw) else {
                notes.warn(format!("skipping a {noun} entry that is not a JSON object"));
                return None;
            };
            let mapped = map(item, notes)?;
            Some((mapped.id().to_string(), mapped))
        };
        let fetched = self.page(type_id, noun, token, requests, map_raw, notes)?;
        let mut page = empty_page();
        for item in fetched.items {
            item.add_to(&mut page);
        }
        page.next_page_token = fetched.next_page_token;
        page.total_estimate = fetched.total;
        Ok(page)
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

    /// Records the token handed out for the next page.
    fn issue(&mut self, type_id: &str, next: &Cursor) -> String {
        let token = next.encode();
        self.by_type.entry(type_id.to_string()).or_default().issued = Some(token.clone());
        token
    }

    /// Forgets a finished listing, saying how many repeats it returned.
    fn done<T>(
        &mut self,
        type_id: &str,
        noun: &str,
        items: Vec<T>,
        notes: &mut Notes,
    ) -> Fetched<T> {
        let repeats = self.by_type.remove(type_id).map_or(0, |l| l.repeats);
        if repeats > 0 {
            notes.warn(format!(
                "the {noun} listing returned {repeats} {noun}s more than once (the sync \
                 keeps one copy); {noun}s may have moved between pages and been missed"
            ));
        }
        Fetched {
            items,
            next_page_token: None,
            total: None,
        }
    }
}

/// Logs what a page says that paging does not rely on: a `totalResults`
/// that changed and an `itemsPerPage` that disagrees with the items.
fn note_anomalies(cursor: &Cursor, page: &ListResponse, noun: &str, notes: &mut Notes) {
    if let (Some(before), Some(now)) = (cursor.total, page.total_results) {
        if before != now {
            notes.warn(format!(
                "Notion's {noun} count changed from {before} to {now} during the listing; \
                 the sync may miss or repeat some {noun}s"
            ));
        }
    }
    let len = page.len() as u64;
    if let Some(stated) = page.items_per_page.filter(|n| *n != len) {
        notes.debug(format!(
            "a page says itemsPerPage {stated} but holds {len} {noun}s; paging counts the items"
        ));
    }
}

/// A page with nothing in it and no next page.
pub fn empty_page() -> Page {
    Page {
        resources: Vec::new(),
        entitlements: Vec::new(),
        grants: Vec::new(),
        next_page_token: None,
        total_estimate: None,
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

#[cfg(test)]
#[path = "paging_sim_tests.rs"]
mod sim_tests;

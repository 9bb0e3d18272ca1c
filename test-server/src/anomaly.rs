//! Pagination anomalies: switchable ways in which list pages stray from the spec
//! without the directory itself changing.
//!
//! They apply to unfiltered `GET /Users` and `GET /Groups` lists only: filtered
//! look-ups (a provisioning client checking whether an email exists) stay exact, so
//! that an anomaly never makes a write path ambiguous.
//!
//! Every anomaly is a pure function of `(true total, startIndex, count)`, so a
//! client sees the same pages on every run. A *correct client* here is one that
//! advances `startIndex` by the number of items it received, stops when
//! `startIndex - 1 >= totalResults` or on an empty page, and de-duplicates by `id`.
//!
//! | anomaly | lossless for a correct client? |
//! |---|---|
//! | [`Anomaly::TotalResultsDrift`] | yes: the total never drops below the true count |
//! | [`Anomaly::DuplicateAcrossPages`] | yes: the total grows by one per duplicate |
//! | [`Anomaly::ShortPages`] | yes |
//! | [`Anomaly::WrongItemsPerPage`] | yes: `Resources` is always right |
//! | [`Anomaly::EmptyPageBeforeEnd`] | **no**: the second half of the list is hidden |

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use serde_json::Value;

use crate::paging::Page;
use crate::scim::list_response;

/// One pagination anomaly. Several may be on at once; they compose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Anomaly {
    /// `totalResults` changes from page to page: page *k* (0-based, counted as
    /// `(startIndex - 1) / count`) reports the true total plus `0, 3, 1, 4, 2, 0, …`.
    /// Never below the true total, so a correct client reads everything (and may
    /// ask for one extra, empty page).
    TotalResultsDrift,
    /// Every page after the first starts with the last item of the previous page, as
    /// if a member had been inserted before the cursor: page *k* is shifted back by
    /// *k* items and reports `totalResults` = true total + *k*. Needs `count >= 2`
    /// (single-item pages are left alone, else a client could never advance).
    DuplicateAcrossPages,
    /// Pages hold at most `ceil(count / 2)` items although more remain.
    ShortPages,
    /// A page whose first item lies in the second half of the list
    /// (`startIndex - 1 >= ceil(total / 2)`) comes back empty, with the true
    /// `totalResults`. A client that stops on an empty page (as it must, to never
    /// loop) misses those items: lossy by nature, but detectable (`received < total`).
    EmptyPageBeforeEnd,
    /// `itemsPerPage` is one more than the number of `Resources` on the page.
    WrongItemsPerPage,
}

impl Anomaly {
    /// Every anomaly, in flag order.
    pub const ALL: [Anomaly; 5] = [
        Anomaly::TotalResultsDrift,
        Anomaly::DuplicateAcrossPages,
        Anomaly::ShortPages,
        Anomaly::EmptyPageBeforeEnd,
        Anomaly::WrongItemsPerPage,
    ];

    /// The `--anomaly` flag value, e.g. `"duplicate-across-pages"`.
    pub fn name(self) -> &'static str {
        match self {
            Anomaly::TotalResultsDrift => "total-drift",
            Anomaly::DuplicateAcrossPages => "duplicate-across-pages",
            Anomaly::ShortPages => "short-pages",
            Anomaly::EmptyPageBeforeEnd => "empty-page-before-end",
            Anomaly::WrongItemsPerPage => "wrong-items-per-page",
        }
    }

    /// Whether a correct client still ends with every item (see the module docs).
    pub fn is_lossless(self) -> bool {
        self != Anomaly::EmptyPageBeforeEnd
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Anomaly {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let wanted = s.trim();
        Anomaly::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| {
                let names: Vec<&str> = Anomaly::ALL.iter().map(|a| a.name()).collect();
                format!(
                    "unknown anomaly `{wanted}`; expected one of: {}",
                    names.join(", ")
                )
            })
    }
}

/// A set of anomalies, small enough to live in an atomic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Anomalies(pub(crate) u8);

/// How one list page is cut and labelled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Listing {
    /// The slice of the full list served.
    pub window: Range<usize>,
    /// `totalResults` as reported.
    pub total_results: usize,
    /// `itemsPerPage` as reported.
    pub items_per_page: usize,
}

impl Listing {
    /// Builds the ListResponse for `items` (the resources in `window`).
    pub fn response(&self, start_index: usize, items: Vec<Value>) -> Value {
        let mut v = list_response(self.total_results, start_index, items);
        v["itemsPerPage"] = Value::from(self.items_per_page);
        v
    }
}

impl Anomalies {
    /// No anomaly: pages exactly as the spec says.
    pub const NONE: Anomalies = Anomalies(0);

    pub fn with(self, a: Anomaly) -> Anomalies {
        Anomalies(self.0 | a.bit())
    }

    pub fn without(self, a: Anomaly) -> Anomalies {
        Anomalies(self.0 & !a.bit())
    }

    pub fn has(self, a: Anomaly) -> bool {
        self.0 & a.bit() != 0
    }

    pub fn to_vec(self) -> Vec<Anomaly> {
        Anomaly::ALL.into_iter().filter(|a| self.has(*a)).collect()
    }

    /// Cuts the page `page` of a list of `total` items.
    pub fn listing(self, total: usize, page: Page) -> Listing {
        let count = page.count;
        let skipped = page.start_index - 1;
        // The page number assuming constant `count`: what a paging client produces.
        let k = skipped.checked_div(count).unwrap_or(0);
        let shift = if self.has(Anomaly::DuplicateAcrossPages) && count >= 2 {
            k
        } else {
            0
        };
        let start = (skipped - shift).min(total);
        let len = if self.has(Anomaly::ShortPages) {
            count.div_ceil(2)
        } else {
            count
        };
        let mut window = start..start.saturating_add(len).min(total);
        if self.has(Anomaly::EmptyPageBeforeEnd) && start >= total.div_ceil(2) {
            window = start..start;
        }
        // The shifted window holds `shift` items already served, so the total must
        // grow by as much for a client counting raw items to still reach the end.
        let mut total_results = total.saturating_add(shift);
        if self.has(Anomaly::TotalResultsDrift) {
            total_results = total_results.saturating_add((k % 5) * 3 % 5);
        }
        let items_per_page = window.len() + usize::from(self.has(Anomaly::WrongItemsPerPage));
        Listing {
            window,
            total_results,
            items_per_page,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(list: &[Anomaly]) -> Anomalies {
        list.iter().fold(Anomalies::NONE, |s, a| s.with(*a))
    }

    /// The reference paging loop over the pure function: returns the item indexes
    /// served (with repeats) and the number of pages asked for.
    fn walk(set: Anomalies, total: usize, count: usize) -> (Vec<usize>, usize) {
        let (mut seen, mut start, mut pages) = (Vec::new(), 1usize, 0);
        loop {
            pages += 1;
            assert!(pages < 10_000, "paging never ends");
            let l = set.listing(total, Page::new(Some(start as i64), Some(count as i64)));
            if l.window.is_empty() {
                break;
            }
            start += l.window.len();
            seen.extend(l.window);
            // `start - 1` items were received: stop once that reaches the total.
            if start > l.total_results {
                break;
            }
        }
        (seen, pages)
    }

    fn unique(mut v: Vec<usize>) -> Vec<usize> {
        v.sort_unstable();
        v.dedup();
        v
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_listed() {
        for a in Anomaly::ALL {
            assert_eq!(a.name().parse::<Anomaly>(), Ok(a));
        }
        let err = "sideways".parse::<Anomaly>().unwrap_err();
        assert!(
            err.contains("`sideways`") && err.contains("short-pages"),
            "{err}"
        );
        let s = set(&[Anomaly::ShortPages, Anomaly::WrongItemsPerPage]);
        assert_eq!(
            s.to_vec(),
            vec![Anomaly::ShortPages, Anomaly::WrongItemsPerPage]
        );
        assert_eq!(
            s.without(Anomaly::ShortPages).to_vec(),
            vec![Anomaly::WrongItemsPerPage]
        );
    }

    #[test]
    fn no_anomaly_is_plain_paging() {
        let l = Anomalies::NONE.listing(250, Page::new(Some(201), Some(100)));
        assert_eq!(
            (l.window, l.total_results, l.items_per_page),
            (200..250, 250, 50)
        );
    }

    #[test]
    fn duplicates_repeat_the_previous_last_item_and_grow_the_total() {
        let s = set(&[Anomaly::DuplicateAcrossPages]);
        let p2 = s.listing(250, Page::new(Some(101), Some(100)));
        assert_eq!((p2.window, p2.total_results), (99..199, 251));
        let p3 = s.listing(250, Page::new(Some(201), Some(100)));
        assert_eq!((p3.window, p3.total_results), (198..250, 252));
        // Single-item pages cannot carry a duplicate and still advance.
        assert_eq!(s.listing(9, Page::new(Some(5), Some(1))).window, 4..5);
    }

    #[test]
    fn short_empty_and_wrong_counts() {
        let short = set(&[Anomaly::ShortPages]).listing(250, Page::new(Some(1), Some(100)));
        assert_eq!((short.window, short.total_results), (0..50, 250));
        let empty = set(&[Anomaly::EmptyPageBeforeEnd]);
        assert_eq!(
            empty.listing(250, Page::new(Some(101), Some(100))).window,
            100..200
        );
        let hidden = empty.listing(250, Page::new(Some(201), Some(100)));
        assert_eq!((hidden.window.len(), hidden.total_results), (0, 250));
        let wrong = set(&[Anomaly::WrongItemsPerPage]).listing(250, Page::new(Some(201), None));
        assert_eq!(wrong.items_per_page, 51);
        let drift = set(&[Anomaly::TotalResultsDrift]);
        let totals: Vec<usize> = (0..6)
            .map(|k| {
                drift
                    .listing(600, Page::new(Some(k * 100 + 1), Some(100)))
                    .total_results
            })
            .collect();
        assert_eq!(totals, vec![600, 603, 601, 604, 602, 600]);
    }

    #[test]
    fn a_correct_client_reads_everything_under_every_lossless_mix() {
        let lossless: Vec<Anomaly> = Anomaly::ALL
            .into_iter()
            .filter(|a| a.is_lossless())
            .collect();
        // Every subset of the lossless anomalies, over awkward sizes and page sizes.
        for mask in 0u32..(1 << lossless.len()) {
            let s = set(&lossless
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, a)| *a)
                .collect::<Vec<_>>());
            for total in [0, 1, 2, 5, 99, 100, 101, 199, 200, 250, 1001] {
                for count in [1, 2, 3, 10, 100] {
                    let (seen, _) = walk(s, total, count);
                    assert_eq!(
                        unique(seen),
                        (0..total).collect::<Vec<_>>(),
                        "{s:?} {total} {count}"
                    );
                }
            }
        }
    }

    #[test]
    fn an_empty_page_before_the_end_hides_the_tail_but_ends() {
        let s = set(&[Anomaly::EmptyPageBeforeEnd, Anomaly::DuplicateAcrossPages]);
        let (seen, pages) = walk(s, 250, 100);
        assert_eq!(unique(seen), (0..199).collect::<Vec<_>>());
        assert_eq!(pages, 3);
    }
}

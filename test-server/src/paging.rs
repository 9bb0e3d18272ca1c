//! Index-based pagination as Notion does it: 1-based `startIndex`, `count` capped at 100.

use std::ops::Range;

use crate::scim::MAX_COUNT;

/// Pagination parameters after clamping: `start_index >= 1`, `count <= 100`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    /// 1-based index of the first resource.
    pub start_index: usize,
    /// Maximum number of resources to return.
    pub count: usize,
}

impl Default for Page {
    fn default() -> Self {
        Page {
            start_index: 1,
            count: MAX_COUNT,
        }
    }
}

impl Page {
    /// Clamps raw query values the way Notion does: `startIndex < 1` means 1, `count`
    /// is capped at 100 and negative counts mean 0.
    pub fn new(start_index: Option<i64>, count: Option<i64>) -> Page {
        let start = start_index.unwrap_or(1).max(1);
        let count = count.unwrap_or(MAX_COUNT as i64).clamp(0, MAX_COUNT as i64);
        Page {
            start_index: usize::try_from(start).unwrap_or(usize::MAX),
            count: count as usize,
        }
    }

    /// The slice of `0..total` this page covers (possibly empty).
    pub fn window(&self, total: usize) -> Range<usize> {
        let start = (self.start_index - 1).min(total);
        start..start.saturating_add(self.count).min(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_math() {
        assert_eq!(Page::new(None, None), Page::default());
        assert_eq!(Page::new(Some(0), Some(500)).start_index, 1);
        assert_eq!(Page::new(Some(-5), Some(500)).count, 100);
        assert_eq!(Page::new(Some(3), Some(-1)).count, 0);
        assert_eq!(Page::new(Some(1), Some(100)).window(250), 0..100);
        assert_eq!(Page::new(Some(201), Some(100)).window(250), 200..250);
        assert_eq!(Page::new(Some(251), Some(100)).window(250), 250..250);
        assert_eq!(Page::new(Some(i64::MAX), Some(100)).window(250), 250..250);
        assert_eq!(Page::new(Some(5), Some(0)).window(250), 4..4);
    }
}

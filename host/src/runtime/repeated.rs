//! Warnings a connector reports for many objects of one run
//! (`host.warn-repeated`): the first of each kind is logged as it comes,
//! the others at debug level, and [`RepeatedWarning`] sums each kind up.

use std::collections::BTreeMap;
use std::fmt;

/// Example subjects kept per kind.
const EXAMPLES: usize = 5;

/// One kind of repeated warning, summed up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepeatedWarning {
    /// What the warning is, as the connector names it.
    pub kind: String,
    /// How many times it came.
    pub count: u64,
    /// How many times per detail, by detail.
    pub per_detail: BTreeMap<String, u64>,
    /// The first subjects it came for, at most 5.
    pub examples: Vec<String>,
}

impl fmt::Display for RepeatedWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.count, self.kind)?;
        let details: Vec<String> = self
            .per_detail
            .iter()
            .map(|(detail, n)| format!("{detail}: {n}"))
            .collect();
        if !details.is_empty() {
            write!(f, " ({})", details.join(", "))?;
        }
        write!(f, "; e.g. {}", self.examples.join(", "))
    }
}

/// The repeated warnings of one run, by kind in the order they first came.
#[derive(Debug, Default)]
pub(crate) struct RepeatedWarnings {
    kinds: Vec<RepeatedWarning>,
}

impl RepeatedWarnings {
    /// Counts one occurrence; true when it is the first of its kind.
    pub(crate) fn count(&mut self, kind: &str, detail: &str, subject: &str) -> bool {
        let index = match self.kinds.iter().position(|k| k.kind == kind) {
            Some(i) => i,
            None => {
                self.kinds.push(RepeatedWarning {
                    kind: kind.to_string(),
                    count: 0,
                    per_detail: BTreeMap::new(),
                    examples: Vec::new(),
                });
                self.kinds.len() - 1
            }
        };
        let entry = &mut self.kinds[index];
        entry.count += 1;
        if !detail.is_empty() {
            *entry.per_detail.entry(detail.to_string()).or_default() += 1;
        }
        if entry.examples.len() < EXAMPLES {
            entry.examples.push(subject.to_string());
        }
        entry.count == 1
    }

    /// The summaries so far.
    pub(crate) fn summaries(&self) -> Vec<RepeatedWarning> {
        self.kinds.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_detail_and_keeps_five_examples() {
        let mut w = RepeatedWarnings::default();
        let kind = "users have an unknown workspace role; no role grant for them";
        assert!(w.count(kind, "workspace_guest", "u0"));
        for i in 1..410 {
            assert!(!w.count(kind, "workspace_guest", &format!("u{i}")));
        }
        w.count(kind, "x", "v1");
        w.count(kind, "x", "v2");
        let [summary] = &w.summaries()[..] else {
            panic!()
        };
        assert_eq!(
            summary.to_string(),
            "412 users have an unknown workspace role; no role grant for them \
             (workspace_guest: 410, x: 2); e.g. u0, u1, u2, u3, u4"
        );
    }
}

//! When a scheduled fault fires ([`Schedule`]) and which requests it looks at ([`Scope`]).
//!
//! A schedule is evaluated on an *ordinal*: the 1-based position of a request among
//! the requests the rule has seen, i.e. those matching its scope since it was added
//! (see [`crate::ScheduledFault`]). Every schedule is a pure function of the ordinal,
//! so a sequential client is faulted on exactly the same requests on every run.

use crate::generator::mix;
use crate::routes::BASE_PATH;

/// Which of a rule's requests are faulted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Schedule {
    /// `count` consecutive requests starting with the `first`-th (1-based);
    /// `count: None` means every request from `first` on.
    Range {
        /// First faulted ordinal (1-based; 0 behaves like 1).
        first: u64,
        /// How many are faulted; `None` = no end.
        count: Option<u64>,
    },
    /// Every `n`-th request after the first `offset`: ordinals `offset + n`,
    /// `offset + 2n`, … (`n == 0` never fires).
    EveryNth {
        /// The period.
        n: u64,
        /// Requests skipped before the period starts.
        offset: u64,
    },
    /// Each request independently with probability `p` (clamped to `0..=1`),
    /// decided by hashing `(seed, ordinal)`: same seed, same requests faulted.
    Probability {
        /// Probability of a fault per request.
        p: f64,
        /// Seed of the decision hash.
        seed: u64,
    },
}

impl Schedule {
    /// Every request.
    pub fn always() -> Schedule {
        Schedule::Range {
            first: 1,
            count: None,
        }
    }

    /// The first `k` requests.
    pub fn first(k: u64) -> Schedule {
        Schedule::Range {
            first: 1,
            count: Some(k),
        }
    }

    /// `count` requests from the `first`-th on (`None` = forever).
    pub fn range(first: u64, count: Option<u64>) -> Schedule {
        Schedule::Range { first, count }
    }

    /// Every `n`-th request: the `n`-th, `2n`-th, …
    pub fn every_nth(n: u64) -> Schedule {
        Schedule::EveryNth { n, offset: 0 }
    }

    /// Each request with probability `p`, deterministically for a given `seed`.
    pub fn probability(p: f64, seed: u64) -> Schedule {
        Schedule::Probability { p, seed }
    }

    /// Whether the request with this 1-based ordinal is faulted.
    pub fn fires(&self, ordinal: u64) -> bool {
        match *self {
            Schedule::Range { first, count } => {
                let first = first.max(1);
                ordinal >= first && count.is_none_or(|c| ordinal - first < c)
            }
            Schedule::EveryNth { n, offset } => {
                n != 0 && ordinal > offset && (ordinal - offset).is_multiple_of(n)
            }
            Schedule::Probability { p, seed } => {
                // 53 random bits give a uniform float in [0, 1).
                let h = mix(seed ^ mix(ordinal ^ 0x243f_6a88_85a3_08d3));
                ((h >> 11) as f64 / (1u64 << 53) as f64) < p
            }
        }
    }
}

/// Restricts a rule to some requests; the default matches every request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    /// HTTP method, compared case-insensitively (`None` = any).
    pub method: Option<String>,
    /// Path pattern (`None` = any). Relative to the API base unless it starts with
    /// it: `/Users` and `/scim/v2/Users` are the same. Exact, unless it ends with `*`,
    /// which makes it a prefix: `/Users` is the list endpoint only, `/Users*` also
    /// every `/Users/{id}`.
    pub path: Option<String>,
}

impl Scope {
    /// Every request.
    pub fn any() -> Scope {
        Scope::default()
    }

    /// Whether a request with this method and path (no query) is in scope.
    pub fn matches(&self, method: &str, path: &str) -> bool {
        if let Some(m) = &self.method {
            if !m.eq_ignore_ascii_case(method) {
                return false;
            }
        }
        let Some(pattern) = &self.path else {
            return true;
        };
        let (pattern, prefix) = match pattern.strip_suffix('*') {
            Some(p) => (p, true),
            None => (pattern.as_str(), false),
        };
        // Make the pattern absolute so callers may leave out the mount point.
        let relative = path
            .strip_prefix(BASE_PATH)
            .filter(|_| !pattern.starts_with(BASE_PATH));
        let path = relative.unwrap_or(path);
        if prefix {
            path.starts_with(pattern)
        } else {
            path == pattern
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(s: Schedule, upto: u64) -> Vec<u64> {
        (1..=upto).filter(|&n| s.fires(n)).collect()
    }

    #[test]
    fn ranges_first_k_and_every_nth() {
        assert_eq!(hits(Schedule::first(3), 10), vec![1, 2, 3]);
        assert_eq!(hits(Schedule::range(4, Some(2)), 10), vec![4, 5]);
        assert_eq!(hits(Schedule::range(9, None), 10), vec![9, 10]);
        assert_eq!(hits(Schedule::range(0, Some(1)), 10), vec![1]);
        assert!(hits(Schedule::first(0), 10).is_empty());
        assert_eq!(hits(Schedule::always(), 3), vec![1, 2, 3]);
        assert_eq!(hits(Schedule::every_nth(3), 10), vec![3, 6, 9]);
        assert_eq!(hits(Schedule::every_nth(1), 3), vec![1, 2, 3]);
        assert_eq!(hits(Schedule::EveryNth { n: 4, offset: 1 }, 12), vec![5, 9]);
        assert!(hits(Schedule::every_nth(0), 10).is_empty());
    }

    #[test]
    fn probability_is_deterministic_per_seed_and_roughly_right() {
        let a = hits(Schedule::probability(0.1, 42), 10_000);
        assert_eq!(a, hits(Schedule::probability(0.1, 42), 10_000));
        assert_ne!(a, hits(Schedule::probability(0.1, 43), 10_000));
        assert!((850..1150).contains(&a.len()), "{} hits", a.len());
        assert!(hits(Schedule::probability(0.0, 1), 1000).is_empty());
        assert_eq!(hits(Schedule::probability(1.0, 1), 1000).len(), 1000);
        // A higher probability with the same seed faults a superset.
        let more = hits(Schedule::probability(0.3, 42), 10_000);
        assert!(a.iter().all(|n| more.contains(n)));
    }

    #[test]
    fn scopes_match_method_and_path() {
        let any = Scope::any();
        assert!(any.matches("DELETE", "/scim/v2/Groups/x"));
        let list = Scope {
            method: Some("get".into()),
            path: Some("/Users".into()),
        };
        assert!(list.matches("GET", "/scim/v2/Users"));
        assert!(!list.matches("POST", "/scim/v2/Users"));
        assert!(!list.matches("GET", "/scim/v2/Users/abc"));
        assert!(!list.matches("GET", "/scim/v2/Groups"));
        let all_users = Scope {
            method: None,
            path: Some("/scim/v2/Users*".into()),
        };
        assert!(all_users.matches("PATCH", "/scim/v2/Users/abc"));
        assert!(all_users.matches("GET", "/scim/v2/Users"));
        assert!(!all_users.matches("GET", "/scim/v2/Groups"));
        let outside = Scope {
            method: None,
            path: Some("/other".into()),
        };
        assert!(outside.matches("GET", "/other"));
    }
}

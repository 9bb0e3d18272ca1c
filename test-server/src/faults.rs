//! Fault injection: rate limiting, error statuses, slow responses and a dying server.
//!
//! Rules are keyed on the 1-based number of the request as it reaches the router
//! (every request counts, including unauthenticated and faulted ones), which makes
//! "fail the third page" or "die after the first sync" deterministic in tests.

use std::time::Duration;

/// What happens to a request a rule applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer `429 Too Many Requests` with `Retry-After: <secs>` and a SCIM error body.
    RateLimit {
        /// Value of the `Retry-After` header, in seconds.
        retry_after_secs: u64,
    },
    /// Answer with this status (e.g. 500, 502, 503, 529) and a SCIM error body.
    Status(u16),
    /// Wait this long, then handle the request normally (or apply another matching
    /// non-delay fault). Delays of several matching rules add up.
    Delay(Duration),
    /// Close the connection without sending any response bytes.
    Drop,
    /// Never answer: hold the request open until the server shuts down, then close
    /// the connection. Useful for client timeout tests.
    Hang,
}

/// A fault applied to a range of request numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultRule {
    /// The fault to inject.
    pub fault: Fault,
    /// First affected request number (1-based; see [`crate::TestServer::request_count`]).
    pub first_request: u64,
    /// How many consecutive requests are affected; `None` means every request from
    /// `first_request` on.
    pub count: Option<u64>,
}

impl FaultRule {
    /// A rule affecting `count` requests starting at `first_request` (`None` = forever).
    pub fn new(fault: Fault, first_request: u64, count: Option<u64>) -> Self {
        FaultRule {
            fault,
            first_request,
            count,
        }
    }

    /// A rule affecting every request from `first_request` on, e.g. to simulate the
    /// server dying mid-sync with [`Fault::Drop`].
    pub fn from_request(first_request: u64, fault: Fault) -> Self {
        FaultRule::new(fault, first_request, None)
    }

    /// Whether request number `n` is affected.
    pub fn applies_to(&self, n: u64) -> bool {
        if n < self.first_request {
            return false;
        }
        match self.count {
            None => true,
            Some(c) => n - self.first_request < c,
        }
    }
}

/// What the server does for one request, computed from all matching rules.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct FaultPlan {
    /// Total delay before anything else happens.
    pub delay: Duration,
    /// The first matching non-delay fault, in the order rules were added.
    pub action: Option<Fault>,
}

/// Combines the rules that apply to request `n`.
pub(crate) fn plan(rules: &[FaultRule], n: u64) -> FaultPlan {
    let mut out = FaultPlan::default();
    for rule in rules.iter().filter(|r| r.applies_to(n)) {
        match &rule.fault {
            Fault::Delay(d) => out.delay += *d,
            other => {
                if out.action.is_none() {
                    out.action = Some(other.clone());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_inclusive_of_first_and_sized_by_count() {
        let r = FaultRule::new(Fault::Status(503), 3, Some(2));
        let hits: Vec<u64> = (1..=6).filter(|&n| r.applies_to(n)).collect();
        assert_eq!(hits, vec![3, 4]);
        let forever = FaultRule::from_request(5, Fault::Drop);
        assert!(!forever.applies_to(4));
        assert!(forever.applies_to(5) && forever.applies_to(u64::MAX));
        assert!(!FaultRule::new(Fault::Drop, 1, Some(0)).applies_to(1));
    }

    #[test]
    fn delays_add_up_and_first_action_wins() {
        let rules = vec![
            FaultRule::new(Fault::Delay(Duration::from_millis(10)), 1, None),
            FaultRule::new(
                Fault::RateLimit {
                    retry_after_secs: 2,
                },
                2,
                Some(1),
            ),
            FaultRule::new(Fault::Status(500), 1, None),
            FaultRule::new(Fault::Delay(Duration::from_millis(5)), 2, None),
        ];
        assert_eq!(
            plan(&rules, 1),
            FaultPlan {
                delay: Duration::from_millis(10),
                action: Some(Fault::Status(500))
            }
        );
        assert_eq!(
            plan(&rules, 2),
            FaultPlan {
                delay: Duration::from_millis(15),
                action: Some(Fault::RateLimit {
                    retry_after_secs: 2
                })
            }
        );
        assert_eq!(plan(&[], 7), FaultPlan::default());
    }
}
